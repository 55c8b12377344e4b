"""Huawei Cloud AK/SK request signing, ``SDK-HMAC-SHA256`` (as huaweicloudsdkcore's Signer).

One implementation serves both sides: the profile signs its requests with it (``AkSkAuth``
for httpx, ``AkSkRequestsAuth`` for Schemathesis' requests session) and the mock verifies
signatures with it.  A test checks it against the official SDK signer byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Generator, Iterable, Mapping
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
import requests

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_AUTH = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)$"
)


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)


def signature(
    sk: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed: Iterable[str],
    body: bytes,
    date: str,
) -> str:
    lowered = {k.lower(): str(v).strip() for k, v in headers.items()}
    signed = list(signed)
    canonical_headers = "".join(f"{name}:{lowered.get(name, '')}\n" for name in signed)
    payload_hash = hashlib.sha256(body or b"").hexdigest()
    canonical = "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers,
            ";".join(signed),
            payload_hash,
        ]
    )
    to_sign = f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def sign_headers(
    ak: str,
    sk: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """The ``X-Sdk-Date`` and ``Authorization`` headers for a request."""
    parts = urlsplit(url)
    date = (now or dt.datetime.now(dt.UTC)).strftime(DATE_FORMAT)
    all_headers = {**headers, "X-Sdk-Date": date, "Host": parts.netloc}
    signed = sorted(k.lower() for k in all_headers if "_" not in k)
    sig = signature(sk, method, parts.path, parts.query, all_headers, signed, body, date)
    return {
        "X-Sdk-Date": date,
        "Authorization": f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed)}, Signature={sig}",
    }


def parse_authorization(value: str) -> tuple[str, list[str], str] | None:
    """(access key, signed header names, signature) of an ``SDK-HMAC-SHA256`` header, or None."""
    match = _AUTH.match(value.strip())
    if match is None:
        return None
    return match.group(1), match.group(2).split(";"), match.group(3)


def verify(
    secret_for: Mapping[str, str], method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> str | None:
    """Why a signed request is not valid, or None.  ``headers`` must be case-insensitive."""
    parsed = parse_authorization(headers.get("authorization", ""))
    if parsed is None:
        return "malformed Authorization header"
    ak, signed, sig = parsed
    sk = secret_for.get(ak)
    if sk is None:
        return f"ak not exist: {ak}"
    date = headers.get("x-sdk-date")
    if not date:
        return "missing X-Sdk-Date"
    expected = signature(sk, method, path, query, headers, signed, body, date)
    if not hmac.compare_digest(expected, sig.lower()):
        return "verify aksk signature fail"
    return None


_SKIP = {"content-length", "accept-encoding", "connection", "accept"}


class AkSkAuth(httpx.Auth):
    """httpx auth flow that signs each request."""

    requires_request_body = True

    def __init__(self, ak: str, sk: str) -> None:
        self.ak, self.sk = ak, sk

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        request.headers.update(
            sign_headers(self.ak, self.sk, request.method, str(request.url), headers, request.content)
        )
        yield request


class AkSkRequestsAuth(requests.auth.AuthBase):
    """The same signing for a ``requests`` session (Schemathesis' transport)."""

    def __init__(self, ak: str, sk: str) -> None:
        self.ak, self.sk = ak, sk

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        request.headers.update(
            sign_headers(self.ak, self.sk, request.method or "GET", request.url or "", headers, body)
        )
        return request

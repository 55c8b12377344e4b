"""Huawei IAM password tokens: ``POST /v3/auth/tokens`` -> ``X-Subject-Token`` (project-scoped).

Used when a run has ``--username/--password/--domain`` instead of a token or AK/SK.  The token
is renewed shortly before ``expires_at`` and whenever KMS answers 403 ``KMS.0303`` (expired).
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from conformance.auth.tokens import TokenError, TokenSource

RENEW_MARGIN_S = 60.0


def iam_url_for(kms_base_url: str) -> str:
    """https://kms.<region>.myhuaweicloud.com -> https://iam.<region>.myhuaweicloud.com; else the same host."""
    parts = urlsplit(kms_base_url)
    host = parts.hostname or ""
    if host.startswith("kms."):
        netloc = parts.netloc.replace(host, "iam." + host[len("kms.") :], 1)
        return urlunsplit((parts.scheme, netloc, "", "", ""))
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class HuaweiIamToken(TokenSource):
    def __init__(
        self,
        iam_url: str,
        username: str,
        password: str,
        domain: str,
        project_id: str,
        verify: ssl.SSLContext | bool | str = True,
        timeout: float = 10.0,
        transport: Callable[[], httpx.BaseTransport] | None = None,
    ) -> None:
        self.iam_url = iam_url.rstrip("/")
        self.transport = transport  # the run's guarded transport (deadline, size cap), if given
        self.username, self.password, self.domain, self.project_id = username, password, domain, project_id
        self.verify, self.timeout = verify, timeout
        self.expires_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.margin = RENEW_MARGIN_S
        self._fetch_lock = threading.Lock()
        super().__init__(self.fetch())

    def token(self) -> str:
        if (self.expires_at - dt.datetime.now(dt.UTC)).total_seconds() < self.margin:
            return self.renew()
        return super().token()

    def fetch(self) -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.username,
                            "password": self.password,
                            "domain": {"name": self.domain},
                        }
                    },
                },
                "scope": {"project": {"id": self.project_id}},
            }
        }
        with self._fetch_lock:
            try:
                transport = self.transport() if self.transport else None
                with httpx.Client(timeout=self.timeout, verify=self.verify, transport=transport) as client:
                    response = client.post(f"{self.iam_url}/v3/auth/tokens", json=body)
            except httpx.HTTPError as exc:
                raise TokenError(f"cannot reach Huawei IAM at {self.iam_url}: {exc}") from None
            token = response.headers.get("X-Subject-Token")
            if response.status_code >= 300 or not token:
                raise TokenError(
                    f"Huawei IAM at {self.iam_url} refused the username/password: HTTP {response.status_code}"
                )
            try:
                expires = response.json()["token"]["expires_at"]
                self.expires_at = dt.datetime.fromisoformat(expires.replace("Z", "+00:00"))
                lifetime = (self.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
                self.margin = min(RENEW_MARGIN_S, max(0.0, lifetime * 0.2))
            except (ValueError, KeyError, TypeError):
                self.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
            return token

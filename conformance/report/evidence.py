"""Request/response evidence and curl reproductions for failed checks, always redacted.

A credential never appears in a reproduction.  When a credential header carries one of the
run's own secrets (``--token``, ``--forbidden-token``, ``--expired-token``) the curl line names
the environment variable the CLI reads it from instead (``"${KMS_CONFORMANCE_TOKEN}"``), so
``export KMS_CONFORMANCE_TOKEN=...`` followed by the pasted line re-sends the request as it was.
Anything else in a credential header (signatures, cookies, fetched JWTs) stays ``[redacted]``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

import httpx

from conformance.redaction import CREDENTIAL_HEADERS, Redactor

# Settings field -> the environment variable a reproduction refers to.
SHELL_VARIABLES = {
    "token": "KMS_CONFORMANCE_TOKEN",
    "forbidden_token": "KMS_CONFORMANCE_FORBIDDEN_TOKEN",
    "expired_token": "KMS_CONFORMANCE_EXPIRED_TOKEN",
}
_SKIPPED_HEADERS = {"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"}


def shell_variables(settings: object) -> dict[str, str]:
    """Secret value -> environment variable name, for the run's settings."""
    found: dict[str, str] = {}
    for name, variable in SHELL_VARIABLES.items():
        value = getattr(settings, name, None)
        if isinstance(value, str) and len(value) >= 4:
            found[value] = variable
    return found


def _double_quoted(text: str) -> str:
    return '"' + re.sub(r'(["\\`$])', r"\\\1", text) + '"'


def _header_argument(name: str, value: str, redactor: Redactor, variables: Mapping[str, str]) -> str:
    if name.lower() in CREDENTIAL_HEADERS:
        for secret, variable in sorted(variables.items(), key=lambda kv: len(kv[0]), reverse=True):
            if secret in value:
                head, _, tail = value.partition(secret)
                return (
                    _double_quoted(f"{name}: {head}")[:-1] + "${" + variable + "}" + _double_quoted(tail)[1:]
                )
        return shlex.quote(f"{name}: {redactor.headers({name: value})[name]}")
    return shlex.quote(f"{name}: {redactor.text(value)}")


def curl_for(request: httpx.Request, redactor: Redactor, variables: Mapping[str, str] | None = None) -> str:
    parts = ["curl", "-sS", "-X", shlex.quote(request.method)]
    for name, value in dict(request.headers).items():
        if name.lower() in _SKIPPED_HEADERS:
            continue
        parts += ["-H", _header_argument(name, value, redactor, variables or {})]
    body = request.content
    if body:
        parts += ["--data-raw", shlex.quote(redactor.text(body.decode("utf-8", "replace")))]
    parts.append(shlex.quote(str(request.url)))
    return " ".join(parts)


def exchange_text(
    response: httpx.Response, redactor: Redactor, variables: Mapping[str, str] | None = None
) -> str:
    request = response.request
    body = request.content.decode("utf-8", "replace") if request.content else ""
    lines = [
        f"> {request.method} {request.url}",
        *(f"> {k}: {v}" for k, v in redactor.headers(dict(request.headers)).items()),
    ]
    if body:
        lines.append(f"> {redactor.text(body)[:2000]}")
    lines.append(f"< {response.status_code}")
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - evidence must never break a run
        text = "<undecodable body>"
    lines.append(f"< {redactor.text(text)[:2000]}")
    lines.append("reproduce: " + curl_for(request, redactor, variables))
    return "\n".join(lines)

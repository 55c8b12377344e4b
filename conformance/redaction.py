"""Removing credentials from anything a run writes down.

Redaction is by *value* (the run's own secrets) and by *header name* (credential-carrying
headers), never by a substring of a field name: KMS field names such as ``key_id`` and
``key_alias`` must stay readable (Schemathesis' default markers would hide them).  A reference
to an environment variable (``${KMS_CONFORMANCE_TOKEN}``, in curl reproductions) holds no secret
and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

PLACEHOLDER = "[redacted]"
CREDENTIAL_HEADERS = frozenset({"authorization", "x-auth-token", "x-security-token", "cookie", "set-cookie"})
_BEARER = re.compile(
    r"(?i)\b(Bearer|SDK-HMAC-SHA256)\s+(?!\$\{KMS_CONFORMANCE_[A-Z_]+\}(?:[\"'\s]|$))[^\s'\"]+(\s*,\s*SignedHeaders=[^\s,'\"]+)?(\s*,\s*Signature=[0-9a-fA-F]+)?"
)
_HEADER_LINE = re.compile(
    r"(?im)\b("
    + "|".join(re.escape(h) for h in sorted(CREDENTIAL_HEADERS))
    + r")(\s*[:=]\s*)(?!\s*(?:Bearer\s+)?\$\{KMS_CONFORMANCE_[A-Z_]+\}(?:[\"'\s]|$))([^'\"\n]+)"
)
_JSON_SECRET = re.compile(r'(?i)("(?:password|refresh_token|jwt|iamToken|sk|secret_key)"\s*:\s*)"[^"]*"')


# Secrets obtained during a run (renewed tokens, fetched JWTs): redacted like configured ones.
_LEARNT: set[str] = set()


def remember_secret(value: str) -> None:
    """Register a credential the run obtained, so every Redactor hides it too."""
    if value:
        _LEARNT.add(value)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in [*secrets, *_LEARNT] if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, PLACEHOLDER)
        value = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)}{PLACEHOLDER}", value)
        value = _BEARER.sub(lambda m: f"{m.group(1)} {PLACEHOLDER}", value)
        return _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{PLACEHOLDER}"', value)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            k: (PLACEHOLDER if k.lower() in CREDENTIAL_HEADERS else self.text(v)) for k, v in headers.items()
        }

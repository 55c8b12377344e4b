"""Renewable credentials: RenewingAuth renews once on expiry and never resends a fixed token."""

from __future__ import annotations

import httpx

from conformance.auth.tokens import RenewingAuth, TokenSource
from conformance.redaction import Redactor


class Counting(TokenSource):
    def __init__(self) -> None:
        self.n = 0
        super().__init__("token-0")

    def fetch(self) -> str:
        self.n += 1
        return f"token-{self.n}"


def _client(auth: httpx.Auth, valid: set[str], seen: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Auth-Token"])
        return httpx.Response(200 if request.headers["X-Auth-Token"] in valid else 401)

    return httpx.Client(transport=httpx.MockTransport(handler), auth=auth, base_url="http://kms.test")


def test_expired_token_is_renewed_and_request_resent() -> None:
    source = Counting()
    seen: list[str] = []
    client = _client(RenewingAuth(source, "X-Auth-Token"), {"token-1"}, seen)
    assert client.get("/x").status_code == 200
    assert seen == ["token-0", "token-1"]
    assert client.get("/y").status_code == 200
    assert seen[-1] == "token-1"


def test_fixed_token_is_not_resent() -> None:
    seen: list[str] = []
    client = _client(RenewingAuth(TokenSource("fixed-token"), "X-Auth-Token"), set(), seen)
    assert client.get("/x").status_code == 401
    assert seen == ["fixed-token"]


def test_renewed_tokens_are_redacted() -> None:
    source = Counting()
    source.renew()
    assert "token-1" not in Redactor().text("sent token-1 to the target")

"""Tokens that can be renewed during a run.

A run can outlive its credential (Huawei IAM tokens: 24 h; Yandex IAM tokens: up to 12 h;
CipherTrust JWTs: 5 min).  A ``TokenSource`` hands out the current token and fetches a new one
on demand; ``RenewingAuth`` (httpx) renews once when the target says the token expired and
resends the request.  Thales' JWT flow lives in its profile (it has a refresh grant).
"""

from __future__ import annotations

import shlex
import subprocess
import threading
from collections.abc import Callable, Generator

import httpx

from conformance.redaction import remember_secret


class TokenError(Exception):
    """A token could not be obtained (exit status 3)."""


class TokenSource:
    """A fixed token: what ``--token`` gives.  Renewal returns the same value."""

    def __init__(self, value: str) -> None:
        remember_secret(value)
        self._value = value
        self._lock = threading.Lock()

    def token(self) -> str:
        return self._value

    def renew(self) -> str:
        with self._lock:
            fresh = self.fetch()
            if fresh != self._value:
                remember_secret(fresh)
            self._value = fresh
            return fresh

    def fetch(self) -> str:
        return self._value


class CommandToken(TokenSource):
    """``--token-command``: a command that prints a token (e.g. ``yc iam create-token``), re-run on expiry."""

    def __init__(self, command: str, timeout: float = 30.0) -> None:
        self.command = command
        self.timeout = timeout
        super().__init__(self.fetch())

    def fetch(self) -> str:
        try:
            proc = subprocess.run(
                shlex.split(self.command),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TokenError(f"--token-command failed: {exc}") from None
        token = proc.stdout.strip()
        if proc.returncode != 0 or not token:
            raise TokenError(f"--token-command exited {proc.returncode} without printing a token")
        return token.splitlines()[-1].strip()


class RenewingAuth(httpx.Auth):
    """Puts the current token in ``header``; when ``expired(response)``, renews once and resends."""

    requires_response_body = True

    def __init__(
        self,
        source: TokenSource,
        header: str,
        template: str = "{token}",
        expired: Callable[[httpx.Response], bool] = lambda r: r.status_code == 401,
    ) -> None:
        self.source, self.header, self.template, self.expired = source, header, template, expired

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.template.format(token=self.source.token())
        response = yield request
        if self.expired(response):
            sent = request.headers[self.header]
            try:
                fresh = self.template.format(token=self.source.renew())
            except TokenError:
                return
            if fresh != sent:  # a fixed token cannot be renewed: keep the answer
                request.headers[self.header] = fresh
                yield request

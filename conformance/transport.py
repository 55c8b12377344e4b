"""Transport hygiene shared by every request the suite sends.

* a request-rate cap (``--max-rps``) that protects the target and the account's quota;
* HTTP 429 honoured: wait for ``Retry-After`` (bounded) and send again, so throttling is
  never counted as a failure.

One ``Throttle`` per run serves both transports: httpx (profiles) and requests (Schemathesis).
"""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

MAX_RETRIES_429 = 4
MAX_WAIT_429 = 30.0


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (generated writes and mock-only hooks are allowed there)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Throttle:
    def __init__(self, max_rps: float = 0.0) -> None:
        self.interval = 1.0 / max_rps if max_rps > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


def retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait before resending a throttled request."""
    if value:
        try:
            return min(MAX_WAIT_429, max(0.0, float(value)))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                return min(MAX_WAIT_429, max(0.0, parsed.timestamp() - time.time()))
    return min(MAX_WAIT_429, 0.5 * 2**attempt)


class PoliteTransport(httpx.BaseTransport):
    """httpx transport: rate cap and 429 backoff around a normal HTTPTransport."""

    def __init__(self, throttle: Throttle, **kwargs: Any) -> None:
        self.inner = httpx.HTTPTransport(**kwargs)
        self.throttle = throttle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(MAX_RETRIES_429 + 1):
            self.throttle.wait()
            response = self.inner.handle_request(request)
            if response.status_code != 429 or attempt == MAX_RETRIES_429:
                return response
            response.read()
            response.close()
            time.sleep(retry_after(response.headers.get("Retry-After"), attempt))
        return response  # pragma: no cover - loop always returns

    def close(self) -> None:
        self.inner.close()


class PoliteAdapter(HTTPAdapter):
    """requests adapter with the same rate cap and 429 backoff (for Schemathesis' session)."""

    def __init__(self, throttle: Throttle) -> None:
        super().__init__()
        self.throttle = throttle

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        for attempt in range(MAX_RETRIES_429 + 1):
            self.throttle.wait()
            response = super().send(request, *args, **kwargs)
            if response.status_code != 429 or attempt == MAX_RETRIES_429:
                return response
            time.sleep(retry_after(response.headers.get("Retry-After"), attempt))
        return response  # pragma: no cover


def polite_session(throttle: Throttle) -> requests.Session:
    session = requests.Session()
    adapter = PoliteAdapter(throttle)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

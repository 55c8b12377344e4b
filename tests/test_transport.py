"""Transport hygiene: 429 is honoured (Retry-After) and not a failure; the rate cap spaces requests."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conformance import transport
from conformance.mocks import RunningMock
from conformance.transport import PoliteTransport, Throttle, polite_session, retry_after


def _throttling_app(refusals: int) -> Starlette:
    seen = {"n": 0}

    async def endpoint(request: Request) -> JSONResponse:
        seen["n"] += 1
        if seen["n"] <= refusals:
            return JSONResponse({"code": 8}, status_code=429, headers={"Retry-After": "0"})
        return JSONResponse({"ok": True, "attempt": seen["n"]})

    return Starlette(routes=[Route("/x", endpoint)])


def test_httpx_transport_retries_after_429() -> None:
    with RunningMock(_throttling_app(2)) as server:
        with httpx.Client(base_url=server.url, transport=PoliteTransport(Throttle())) as client:
            response = client.get("/x")
    assert response.status_code == 200
    assert response.json()["attempt"] == 3


def test_requests_session_retries_after_429() -> None:
    with RunningMock(_throttling_app(1)) as server:
        session = polite_session(Throttle())
        response = session.get(server.url + "/x", timeout=5)
    assert response.status_code == 200 and response.json()["attempt"] == 2


def test_persistent_429_is_returned_after_bounded_retries() -> None:
    with RunningMock(_throttling_app(100)) as server:
        with httpx.Client(base_url=server.url, transport=PoliteTransport(Throttle())) as client:
            response = client.get("/x")
    assert response.status_code == 429


@pytest.mark.parametrize(("value", "attempt", "expected"), [("2", 0, 2.0), ("999", 0, transport.MAX_WAIT_429),
                                                             (None, 0, 0.5), (None, 2, 2.0), ("junk", 1, 1.0)])
def test_retry_after(value: str | None, attempt: int, expected: float) -> None:
    assert retry_after(value, attempt) == expected


def test_throttle_spaces_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 100.0}
    slept: list[float] = []
    monkeypatch.setattr(transport.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(transport.time, "sleep", lambda s: slept.append(round(s, 6)))
    throttle = Throttle(max_rps=4)
    for _ in range(3):
        throttle.wait()
    assert slept == [0.25, 0.5]

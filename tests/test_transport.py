"""The guarded transport: 429 honoured within a budget, whole-exchange deadlines, a size cap,
and a dead target stopping the run -- for httpx clients and Schemathesis' requests session alike."""

from __future__ import annotations

import gzip
import time

import httpx
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance import transport
from conformance.mocks import RunningMock
from conformance.transport import (
    MAX_CONSECUTIVE_FAILURES,
    GuardedTransport,
    Limits,
    ResponseTooLarge,
    TargetHealth,
    TargetStopped,
    TargetThrottled,
    Throttle,
    guarded_session,
    retry_after,
)
from tests.servers.hostile import HostileServer


def _client(url: str, **limits: float) -> httpx.Client:
    return httpx.Client(base_url=url, transport=GuardedTransport(TargetHealth(Limits(**limits))))  # type: ignore[arg-type]


def _throttling_app(refusals: int, retry: str = "0") -> Starlette:
    seen = {"n": 0}

    async def endpoint(request: Request) -> JSONResponse:
        seen["n"] += 1
        if seen["n"] <= refusals:
            return JSONResponse({"code": 8}, status_code=429, headers={"Retry-After": retry})
        return JSONResponse({"ok": True, "attempt": seen["n"]})

    async def gzipped(request: Request) -> Response:
        return Response(
            gzip.compress(b'{"zipped": true}'),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    return Starlette(routes=[Route("/x", endpoint), Route("/gz", gzipped)])


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """429 waits take no time: each is recorded, and the pauses' clock moves on by it instead."""
    slept: list[float] = []
    monkeypatch.setattr(transport, "sleep", lambda s: slept.append(s))
    monkeypatch.setattr(transport, "clock", lambda: time.monotonic() + sum(slept))
    return slept


def test_httpx_client_retries_after_429(no_sleep: list[float]) -> None:
    with RunningMock(_throttling_app(2)) as server, _client(server.url) as client:
        response = client.get("/x")
    assert response.status_code == 200 and response.json()["attempt"] == 3


def test_requests_session_retries_after_429(no_sleep: list[float]) -> None:
    with RunningMock(_throttling_app(1)) as server:
        session = guarded_session(GuardedTransport(TargetHealth(Limits())))
        response = session.get(server.url + "/x", timeout=5)
    assert response.status_code == 200 and response.json()["attempt"] == 2


def test_both_paths_decode_compressed_answers() -> None:
    with RunningMock(_throttling_app(0)) as server, _client(server.url) as client:
        assert client.get("/gz").json() == {"zipped": True}
        session = guarded_session(GuardedTransport(TargetHealth(Limits())))
        assert session.get(server.url + "/gz").json() == {"zipped": True}


def test_a_429_storm_ends_when_the_throttling_budget_is_spent(no_sleep: list[float]) -> None:
    """Retry-After: 0 forever must not loop forever: waits grow, and the budget bounds their sum."""
    with RunningMock(_throttling_app(10_000)) as server, _client(server.url, throttle_budget=20) as client:
        with pytest.raises(TargetThrottled, match="throttles every request"):
            client.get("/x")
    assert 0 < sum(no_sleep) <= 20


def test_a_retry_after_beyond_the_budget_stops_at_once(no_sleep: list[float]) -> None:
    with RunningMock(_throttling_app(10_000, retry="100000")) as server, _client(server.url) as client:
        with pytest.raises(TargetThrottled, match="asked to wait 100000 s"):
            client.get("/x")
    assert no_sleep == []


@pytest.mark.parametrize("path", ["httpx", "requests"])
def test_a_dribbling_body_is_cut_at_the_exchange_deadline(path: str) -> None:
    """One byte every half second for a minute: the per-read timeout alone would never fire."""
    with HostileServer("huawei", "http://127.0.0.1:9", "slow-body") as server:
        if path == "httpx":
            with _client(server.url, timeout=1.0) as client, pytest.raises(httpx.TimeoutException):
                client.get("/x")
        else:
            session = guarded_session(GuardedTransport(TargetHealth(Limits(timeout=1.0))))
            with pytest.raises(requests.exceptions.Timeout):
                session.get(server.url + "/x")


@pytest.mark.parametrize("path", ["httpx", "requests"])
def test_an_answer_over_the_size_cap_is_not_read(path: str) -> None:
    with HostileServer("huawei", "http://127.0.0.1:9", "huge") as server:
        if path == "httpx":
            with _client(server.url, max_response_bytes=1_000_000) as client, pytest.raises(ResponseTooLarge):
                client.get("/x")
        else:
            session = guarded_session(GuardedTransport(TargetHealth(Limits(max_response_bytes=1_000_000))))
            with pytest.raises(ResponseTooLarge, match="response too large"):
                session.get(server.url + "/x")


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    body = b"[" + b"1," * 600_000 + b"1]"

    async def big(request: Request) -> Response:
        return Response(body, media_type="application/json")

    with RunningMock(Starlette(routes=[Route("/big", big)])) as server:
        with (
            _client(server.url, max_response_bytes=1_000_000) as client,
            pytest.raises(ResponseTooLarge, match="1.1 MiB"),
        ):
            client.get("/big")


def test_consecutive_transport_failures_stop_the_target() -> None:
    health = TargetHealth(Limits(timeout=0.5))
    with HostileServer("huawei", "http://127.0.0.1:9", "reset") as server:
        client = httpx.Client(base_url=server.url, transport=GuardedTransport(health))
        for _ in range(MAX_CONSECUTIVE_FAILURES - 1):
            with pytest.raises(httpx.TransportError):
                client.get("/x")
        with pytest.raises(TargetStopped, match="stopped answering after 0 requests"):
            client.get("/x")
        sent = server.requests
        with pytest.raises(TargetStopped):
            client.get("/x")  # fails at once, nothing sent
        assert server.requests == sent
        health.resume()  # cleanup gets one more try
        with pytest.raises(TargetStopped):
            client.get("/x")


def test_an_answer_resets_the_failure_streak() -> None:
    health = TargetHealth(Limits())
    for _ in range(MAX_CONSECUTIVE_FAILURES - 1):
        health.failed(httpx.ReadTimeout("x"))
    health.answered()
    health.failed(httpx.ReadTimeout("x"))
    assert health.stopped is None


@pytest.mark.parametrize(("value", "expected"), [("2", 2.0), ("999", 999.0), (None, None), ("junk", None)])
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert retry_after(value) == expected


def test_throttle_spaces_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 100.0}
    slept: list[float] = []
    monkeypatch.setattr(transport.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(transport.time, "sleep", lambda s: slept.append(round(s, 6)))
    throttle = Throttle(max_rps=4)
    for _ in range(3):
        throttle.wait()
    assert slept == [0.25, 0.5]


def test_generated_requests_do_not_read_the_environment_another_thread_changes() -> None:
    """pytest sets and removes PYTEST_CURRENT_TEST for each check while generated checks send on
    other threads; a requests session that reads proxies from ``os.environ`` iterates it on every
    request and raises (KeyError / "dictionary changed size") when it changes meanwhile."""
    import os
    import sys
    import threading

    errors: list[BaseException] = []
    stop = threading.Event()
    with RunningMock(_throttling_app(0)) as server:
        session = guarded_session(GuardedTransport(TargetHealth(Limits())))
        assert session.trust_env is False

        def send() -> None:
            try:
                for _ in range(150):
                    session.get(f"{server.url}/x", timeout=5)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        names = [f"KMS_CONFORMANCE_TEST_CHURN_{i}" for i in range(50)]

        def churn() -> None:
            while not stop.is_set():
                for name in names:
                    os.environ[name] = "1"
                for name in names:
                    os.environ.pop(name, None)

        churner = threading.Thread(target=churn)
        switching = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # threads take turns often: the window is hit, if it is there
        churner.start()
        senders = [threading.Thread(target=send) for _ in range(3)]
        try:
            for thread in senders:
                thread.start()
            for thread in senders:
                thread.join(60)
        finally:
            stop.set()
            churner.join(5)
            sys.setswitchinterval(switching)
            session.close()
    assert errors == []

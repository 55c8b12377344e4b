"""Checks running concurrently against one target (``--concurrency``): same verdicts, same report
order, an exact ledger, one limiter for every thread.

The runs go against the bundled mocks behind a small ASGI wrapper that holds every request a
little and counts how many are in flight -- the only way to see that a run really overlaps its
requests, and that it never overlaps more than it was told.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance import transport
from conformance.concurrency import (
    LOOPBACK_DEFAULT,
    REMOTE_DEFAULT,
    AheadOfTime,
    Job,
    concurrency_for,
    run_all,
)
from conformance.ledger import Ledger
from conformance.mocks import RunningMock, mock_definition
from conformance.profiles import profile_class
from conformance.settings import Settings
from conformance.transport import GuardedTransport, Limits, TargetHealth
from conformance.verdict import Verdict
from tests.runs import run_mock, run_target


class InFlight:
    """ASGI wrapper: every HTTP request is held ``hold`` seconds; ``peak`` is the most at once."""

    def __init__(self, app: Any, hold: float = 0.003) -> None:
        self.app, self.hold = app, hold
        self.now = self.peak = self.total = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.hold)
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


@pytest.fixture
def counted_mock() -> Iterator[Any]:
    """``counted_mock(vendor, faults=())`` -> (url, credentials, InFlight) of a held, counted mock."""
    servers: list[RunningMock] = []

    def start(vendor: str, faults: tuple[str, ...] = ()) -> tuple[str, dict[str, str], InFlight]:
        definition = mock_definition(vendor)
        config = definition.config(list(faults), {})
        counter = InFlight(definition.create_app(config))
        server = RunningMock(counter).start()  # type: ignore[arg-type]
        servers.append(server)
        return server.url, definition.credentials(config), counter

    yield start
    for server in servers:
        server.stop()


def _order(report_dir: Path) -> list[str]:
    """The checks of a run in the order its JUnit file reports them."""
    tree = ET.parse(report_dir / "junit.xml")
    return [case.get("name", "") for case in tree.iter("testcase")]


def _statuses(summary: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["status"] for row in summary["requirements"]}


def test_default_concurrency_is_eight_remote_and_the_loopback_choice_on_this_machine() -> None:
    assert (
        concurrency_for(Settings(vendor="huawei", base_url="https://kms.example.com")) == REMOTE_DEFAULT == 8
    )
    assert concurrency_for(Settings(vendor="huawei", base_url="http://127.0.0.1:9")) == LOOPBACK_DEFAULT
    assert concurrency_for(Settings(vendor="huawei", base_url="https://kms.example.com", concurrency=3)) == 3


@pytest.mark.parametrize("vendor", ["huawei", "thales", "yandex"])
def test_a_concurrent_run_overlaps_requests_and_reports_like_a_sequential_one(
    tmp_path: Path, counted_mock: Any, vendor: str
) -> None:
    """Same rows, same order, same verdicts, every key cleaned -- and requests really overlap,
    never more than ``--concurrency`` at once (plus none: cleanup uses the same bound)."""
    runs = {}
    for concurrency in (1, 3):
        url, credentials, counter = counted_mock(vendor)
        run = run_target(vendor, url, tmp_path, concurrency=concurrency, scope="lifecycle", **credentials)
        assert run.code == 0, run.explain()
        runs[concurrency] = (run, counter.peak)
    (one, peak_one), (three, peak_three) = runs[1], runs[3]
    assert peak_one == 1
    assert 1 < peak_three <= 3
    # Every check completed in both -- the generated ones in their child process too.
    for run in (one, three):
        junit = ET.parse(run.report_dir / "junit.xml")
        assert [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None] == []
        assert [c.get("name") for c in junit.iter("testcase") if c.find("error") is not None] == []
    assert _order(one.report_dir) == _order(three.report_dir)
    assert _statuses(one.summary) == _statuses(three.summary)
    # Every key the run made -- its threads' and the generated checks' child's -- is cleaned.
    for run in (one, three):
        records = [json.loads(line) for line in (run.report_dir / "ledger.jsonl").read_text().splitlines()]
        made = {r["key_id"] for r in records if r["event"] == "created"}
        assert run.summary["cleanup"]["left"] == []
        assert set(run.summary["cleanup"]["cleaned"]) == made and made


# (Every fault of every vendor also runs at the default concurrency in test_faults.py.)
@pytest.mark.parametrize("vendor, fault", [("yandex", "primary-destroyable")])
def test_a_fault_fails_the_same_requirements_at_every_concurrency(
    tmp_path: Path, vendor: str, fault: str
) -> None:
    sequential = run_mock(vendor, tmp_path, faults=[fault], concurrency=1)
    concurrent = run_mock(vendor, tmp_path, faults=[fault], concurrency=4)
    assert sequential.failed, sequential.explain()
    assert _statuses(concurrent.summary) == _statuses(sequential.summary)
    assert _order(concurrent.report_dir) == _order(sequential.report_dir)
    # The failure's evidence is the failing check's own exchange, not another thread's.
    for requirement in sequential.failed:
        evidence = concurrent.row(requirement).get("evidence") or []
        assert evidence, f"{requirement} failed without evidence"


def test_keys_made_by_concurrent_checks_are_each_owned_ledgered_and_cleaned(tmp_path: Path) -> None:
    """Eight checks on four threads each make a key: every one is in the ledger once, owned, and
    confirmed cleaned; a key whose deletion the target refuses stays pending, saying why."""
    definition = mock_definition("huawei")
    config = definition.config([], {})
    ledger = tmp_path / "ledger.jsonl"
    with RunningMock(definition.create_app(config)) as server:
        settings = Settings(
            vendor="huawei", base_url=server.url, ledger=str(ledger), **definition.credentials(config)
        )
        profile = profile_class("huawei")(settings)
        made: list[str] = []

        def body(state: str, verdict: Verdict) -> None:
            made.append(profile.key_in(state))

        ahead = AheadOfTime(profile, 4, Verdict)
        states = ["enabled", "disabled", "pending-deletion", "enabled"] * 2
        ahead.start([Job(f"k{i}", body, {"state": state}) for i, state in enumerate(states)])
        results = [ahead.take(f"k{i}") for i in range(len(states))]
        ahead.stop()
        assert [r.error for r in results] == [None] * len(states)
        assert sorted(profile.created) == sorted(made) and len(set(made)) == len(states)

        refused = made[0]
        original = profile.cleanup_key

        def cleanup_key(key_id: str) -> None:
            if key_id == refused:
                raise RuntimeError("the target refused")
            original(key_id)

        profile.cleanup_key = cleanup_key  # type: ignore[method-assign]
        cleaned, left = profile.cleanup(workers=4)
        profile.close()
    assert left == [refused]
    assert cleaned == [key for key in profile.created if key != refused]  # creation order kept
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert sorted(r["key_id"] for r in records if r["event"] == "created") == sorted(made)
    assert [e.key_id for e in Ledger(ledger).pending()] == [refused]
    assert any(r["event"] == "left" and "refused" in r["detail"] for r in records)


def test_a_check_body_keeps_its_own_exchanges_as_evidence() -> None:
    """Each thread's history is its own: a body's result carries only what it sent."""
    seen: dict[str, list[str]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"path": request.url.path})

    class Fake:
        history: list[Any]

        def __init__(self) -> None:
            self._local = threading.local()
            self.health = TargetHealth(Limits())

        @property
        def history(self) -> list[Any]:  # type: ignore[override]
            return self._local.__dict__.setdefault("history", [])

        @history.setter
        def history(self, value: list[Any]) -> None:
            self._local.history = list(value)

    fake = Fake()
    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")

    def body(name: str, verdict: Verdict) -> None:
        for _ in range(3):
            fake.history.append(client.get(f"/{name}"))
            time.sleep(0.005)

    ahead = AheadOfTime(fake, 4, Verdict)
    ahead.start([Job(name, body, {"name": name}) for name in "abcd"])
    for name in "abcd":
        seen[name] = [r.request.url.path for r in ahead.take(name).history]
    ahead.stop()
    assert seen == {name: [f"/{name}"] * 3 for name in "abcd"}


def test_a_429_pauses_every_thread_and_spends_the_budget_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One exchange answered 429 with Retry-After: no other thread sends until the pause is over;
    four threads throttled at once spend the budget for one pause, not four."""
    monkeypatch.setattr(transport, "sleep", time.sleep)
    arrivals: list[tuple[str, float]] = []
    throttled = {"/slow": 1}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            arrivals.append((request.url.path, time.monotonic()))
            if throttled.get(request.url.path, 0) > 0:
                throttled[request.url.path] -= 1
                return httpx.Response(429, headers={"Retry-After": "0.4"}, json={})
        return httpx.Response(200, json={})

    health = TargetHealth(Limits(throttle_budget=5.0))
    guarded = GuardedTransport(health)
    guarded.inner = httpx.MockTransport(handler)  # type: ignore[assignment]
    client = httpx.Client(transport=guarded, base_url="http://t")
    first = threading.Thread(target=lambda: client.get("/slow"))
    first.start()
    while not arrivals:
        time.sleep(0.001)
    refused_at = arrivals[0][1]
    time.sleep(0.05)
    client.get("/other")  # another thread, after the 429: must wait out the pause
    first.join()
    other_at = next(at for path, at in arrivals if path == "/other")
    assert other_at - refused_at >= 0.35
    assert 0.35 <= health.throttled_s <= 0.45

    # Four threads refused at the same moment: one pause of 0.4 s, not 1.6 s of budget.
    health2 = TargetHealth(Limits(throttle_budget=5.0))
    barrier = threading.Barrier(4)

    def refused() -> None:
        barrier.wait()
        health2.wait_throttled(0.4, 0)

    threads = [threading.Thread(target=refused) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert health2.throttled_s < 0.6


def test_run_all_raises_a_noted_interrupt_and_starts_nothing_more(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.interrupts import INTERRUPTS

    started: list[int] = []

    def work(n: int) -> None:
        started.append(n)
        if n == 0:
            INTERRUPTS.signum, INTERRUPTS._pending = 2, True  # as the signal handler notes it
        time.sleep(0.05)

    try:
        with pytest.raises(KeyboardInterrupt):
            run_all(work, list(range(40)), 2, name="t")
    finally:
        INTERRUPTS.reset()
    assert len(started) < 40


def test_generated_checks_are_dealt_to_one_child_per_core_with_a_floor() -> None:
    from conformance.generation_process import split

    keys = [f"op{i}" for i in range(39)]
    assert split(keys, cores=2) == [keys[0::2], keys[1::2]]
    assert split(keys[:9], cores=2) == [keys[:9]]  # too few to pay for a second interpreter
    assert len(split(keys, cores=64)) == 4
    assert sorted(sum(split(keys, cores=3), [])) == sorted(keys)


def test_what_a_child_sends_back_crosses_processes_as_itself() -> None:
    import pickle

    from conformance.generation_process import BrokeOff, portable
    from conformance.transport import ResponseTooLarge, TargetStopped
    from conformance.verdict import StepFailed

    step = pickle.loads(pickle.dumps(portable(StepFailed("HW-API-001", "not served"))))
    assert isinstance(step, StepFailed) and (step.requirement, step.message) == ("HW-API-001", "not served")
    for exc in (TargetStopped("gone"), ResponseTooLarge("too large")):
        back = pickle.loads(pickle.dumps(portable(exc)))
        assert type(back) is type(exc) and str(back) == str(exc)
    other = pickle.loads(pickle.dumps(portable(ExceptionGroup("many", [ValueError("x")]))))
    assert isinstance(other, BrokeOff) and "many" in str(other)


def test_a_child_that_dies_ends_its_checks_as_not_completed_never_passed(tmp_path: Path) -> None:
    from conformance.generation_process import BrokeOff, GenerationProcess, SharedLimits

    definition = mock_definition("huawei")
    config = definition.config([], {})
    with RunningMock(definition.create_app(config)) as server:
        settings = Settings(
            vendor="huawei",
            base_url=server.url,
            ledger=str(tmp_path / "l.jsonl"),
            **definition.credentials(config),
        )
        child = GenerationProcess(
            settings, ["POST /v1.0/{project_id}/kms/create-key"], 2, SharedLimits.create(2)
        )
        child._process.kill()
        deadline = time.monotonic() + 30
        with pytest.raises(BrokeOff, match="ended abnormally"):
            while child.result(0.1) is None:
                assert time.monotonic() < deadline, "a dead child was never noticed"
        child.stop()


def test_generated_checks_whose_process_failed_are_blocked_never_passed(
    tmp_path: Path, counted_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance import generation_process

    def broken(self: Any, timeout: float) -> None:
        raise generation_process.BrokeOff("the generated checks' process ended abnormally: killed")

    monkeypatch.setattr(generation_process.GenerationProcess, "result", broken)
    url, credentials, _ = counted_mock("thales")
    run = run_target("thales", url, tmp_path, concurrency=3, scope="lifecycle", **credentials)
    generated = {row["id"] for row in run.summary["requirements"] if row["area"] == "generated"}
    assert generated and generated <= run.with_status("blocked", "failed"), run.explain()
    assert run.code != 0
    assert "ended abnormally" in run.row(sorted(generated)[0])["message"]


def test_hypothesis_tables_are_built_once_before_the_generation_processes_start(
    tmp_path: Path, counted_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each process that draws builds the Unicode tables it lacks (300 MB while it does): on a
    fresh machine they are built once (``warm_hypothesis_once``), before any child starts."""
    from conformance import generation_process, side_by_side

    events: list[str] = []
    monkeypatch.setattr(side_by_side, "warm_hypothesis_once", lambda fork: events.append("tables"))
    start = generation_process.GenerationProcess.__init__

    def started(self: Any, *args: Any, **kwargs: Any) -> None:
        events.append("child")
        start(self, *args, **kwargs)

    monkeypatch.setattr(generation_process.GenerationProcess, "__init__", started)
    url, credentials, _ = counted_mock("thales")
    run = run_target("thales", url, tmp_path, concurrency=3, scope="lifecycle", **credentials)
    assert run.code == 0, run.explain()
    assert events[0] == "tables" and events.count("tables") == 1 and "child" in events, events


def test_slots_a_stopped_child_held_do_not_block_cleanup() -> None:
    """A child terminated mid-exchange never releases its in-flight slot: once the children are
    stopped, the run's own exchanges (cleanup) get a fresh bound instead of waiting forever."""
    import multiprocessing

    class Child:
        def stop(self) -> None:
            pass

    class Owner:
        settings = Settings(vendor="huawei", base_url="http://127.0.0.1:9")
        health = TargetHealth(Limits())

        def adopt_ledgered(self) -> list[str]:
            return []

    owner = Owner()
    slots = multiprocessing.get_context("spawn").BoundedSemaphore(2)
    owner.health.share_slots(slots)
    assert slots.acquire(timeout=1) and slots.acquire(timeout=1)  # held by children now gone
    ahead = AheadOfTime(owner, 2, Verdict)
    ahead._processes = [Child()]
    ahead.stop()
    done = threading.Event()

    def exchange() -> None:
        with owner.health.slot():
            done.set()

    thread = threading.Thread(target=exchange, daemon=True)
    thread.start()
    assert done.wait(2), "an exchange after the children stopped waited for their slots"

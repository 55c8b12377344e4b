"""The suite against a server it has never seen: ``tests/servers/huawei_lite.py``.

The bundled mocks were written alongside the suite; this independent server takes the other
documented choice wherever the docs allow two (KMS 403 for missing credentials, a lenient
``pending_days``, ...).  A conformant server of that kind must pass, and the same server with one
documented behaviour broken must fail exactly the requirement that owns it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conformance.mocks.base import RunningMock
from tests.runs import Run, run_target
from tests.servers.huawei_lite import PROJECT_ID, TOKEN, create_app

# should-level requirements this server may fail by design: it accepts pending_days as a JSON
# number (HW-VAL-006 observes exactly that), which can also make a generated "invalid" case
# succeed (HW-GEN-004); HW-GEN-006 is the other inferred generated check.
ALLOWED_SHOULD_FAILURES = frozenset({"HW-VAL-006", "HW-GEN-004", "HW-GEN-006"})

Serve = Callable[..., RunningMock]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[RunningMock] = []

    def start(**flags: bool) -> RunningMock:
        server = RunningMock(create_app(**flags)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _run(server: RunningMock, tmp_path: Path) -> Run:
    return run_target("huawei", server.url, tmp_path, token=TOKEN, project_id=PROJECT_ID, scope="lifecycle")


def _ids(run: Run, level: str, *statuses: str) -> set[str]:
    return {r["id"] for r in run.summary["requirements"] if r["level"] == level and r["status"] in statuses}


def test_independent_server_passes(serve: Serve, tmp_path: Path) -> None:
    run = _run(serve(), tmp_path)
    assert run.code == 0, run.explain()
    assert run.summary["verdict"] == "pass", run.explain()
    assert _ids(run, "must", "failed", "blocked") == set(), run.explain()
    assert _ids(run, "should", "failed") <= ALLOWED_SHOULD_FAILURES, run.explain()


def test_cancel_to_enabled_fails_exactly_state_004(serve: Serve, tmp_path: Path) -> None:
    run = _run(serve(cancel_to_enabled=True), tmp_path)
    # HW-VAL-006 (should) fails for the healthy server too: it is the server's documented choice.
    assert run.failed - ALLOWED_SHOULD_FAILURES == {"HW-STATE-004"}, run.explain()
    assert _ids(run, "must", "failed", "blocked") == {"HW-STATE-004"}, run.explain()
    assert run.code == 1 and run.summary["verdict"] != "pass", run.explain()

"""Progress display: a status line on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
from types import SimpleNamespace

from conformance.progress import Progress, resolve_mode


def _report(nodeid: str, outcome: str) -> SimpleNamespace:
    return SimpleNamespace(
        nodeid=nodeid,
        when="call",
        passed=outcome == "passed",
        skipped=outcome == "skipped",
        failed=outcome == "failed",
    )


def _drive(progress: Progress) -> None:
    session = SimpleNamespace(items=[1, 2, 3])
    progress.pytest_collection(session)
    progress.pytest_collection_finish(session)
    for nodeid, outcome in (
        ("m.py::test_probe[HW-AUTH-001:none]", "passed"),
        ("m.py::test_transition[HW-STATE-004:cancel@pd->disabled]", "failed"),
        ("m.py::test_probe[HW-AUTH-004:forbidden]", "skipped"),
    ):
        progress.pytest_runtest_logstart(nodeid, None)
        progress.pytest_runtest_logreport(_report(nodeid, outcome))
    progress.pytest_sessionfinish(session, 1)


def test_lines_mode_is_quiet_and_line_oriented() -> None:
    stream = io.StringIO()
    _drive(Progress("huawei", "lines", stream))
    lines = stream.getvalue().splitlines()
    assert lines[:3] == [
        "[huawei] collecting",
        "[huawei] checks: 3 checks",
        "[huawei] FAILED test_transition[HW-STATE-004:cancel@pd->disabled]",
    ]
    # In the order things happen: the checks end, then the session's scratch keys are cleaned up.
    assert lines[3].startswith("[huawei] checks done: passed 1  failed 1  not covered 1 in ")
    assert lines[4] == "[huawei] cleanup: scratch keys"
    assert lines[5].startswith("[huawei] cleanup finished in ") and lines[5].endswith(" s; writing reports")
    assert len(lines) == 6 and "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_lines_mode_when_the_run_ends_before_its_last_check() -> None:
    """Interrupted or stopped: the checks end at the session's end, and cleanup is done there."""
    stream = io.StringIO()
    progress = Progress("huawei", "lines", stream)
    session = SimpleNamespace(items=[1, 2, 3])
    progress.pytest_collection(session)
    progress.pytest_collection_finish(session)
    progress.pytest_runtest_logreport(_report("m.py::test_probe[HW-AUTH-001:none]", "passed"))
    progress.pytest_sessionfinish(session, 2)
    lines = stream.getvalue().splitlines()
    assert lines[2].startswith("[huawei] checks done: passed 1 in ")
    assert lines[3] == "[huawei] cleanup finished; writing reports"
    assert len(lines) == 4


def test_tty_mode_rewrites_one_status_line() -> None:
    stream = io.StringIO()
    progress = Progress("huawei", "tty", stream)
    _drive(progress)
    text = stream.getvalue()
    # Redraws are rate-limited; the last one of the checks is always drawn, with the current check.
    assert "\r\x1b[2K[huawei] checks 3/3  passed 1  failed 1  not covered 1  HW-AUTH-004:forbidden" in text
    assert (
        "[huawei] FAILED test_transition[HW-STATE-004:cancel@pd->disabled]\n" in text
    )  # failures stay on screen
    assert text.endswith("\r\x1b[2K")  # the status line is cleared at the end


def test_auto_mode_follows_the_stream() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_mode("auto", io.StringIO()) == "lines"
    assert resolve_mode("auto", Tty()) in ("tty", "lines")  # "lines" when TERM=dumb
    assert resolve_mode("off") == "off"

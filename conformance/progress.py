"""What a long run is doing: vendor, phase, current check/requirement, counts.

Modes (``kms-conformance run --progress``, or ``KMS_CONFORMANCE_PROGRESS``):

* ``tty``: one status line on stderr, rewritten in place
  (``[huawei] checks 34/79  passed 31 failed 2 not covered 1  HW-STATE-004:cancel_deletion@...``);
* ``lines``: quiet and line-oriented for logs and CI -- a line when a phase starts, one per failed
  check, and one when the checks end.  No carriage returns, no colours.

In both, pytest's own terminal output (dots, tracebacks) is switched off unless ``--verbose``:
the runner's requirement table that follows says what failed and why.
* ``off``: nothing beyond pytest's own output.
* ``auto`` (default): ``tty`` when stderr is a terminal (and ``TERM`` is not ``dumb``), else ``lines``.

The reporter is a pytest plugin object; the runner registers it next to the ``RunContext``.
It writes to a duplicate of the original stderr descriptor, so pytest's output capturing
during a check cannot swallow it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any, TextIO

import pytest

MODES = ("auto", "tty", "lines", "off")
_mode = os.environ.get("KMS_CONFORMANCE_PROGRESS", "auto")


def set_mode(mode: str) -> None:
    """Chosen by the CLI (``--progress``) before any run starts."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"progress mode must be one of {', '.join(MODES)}")
    _mode = mode


def resolve_mode(mode: str | None = None, stream: TextIO | None = None) -> str:
    mode = mode or _mode
    if mode != "auto":
        return mode if mode in MODES else "lines"
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return "tty" if tty and os.environ.get("TERM", "") != "dumb" else "lines"


def _stream() -> TextIO:
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8", errors="replace")
    except (AttributeError, OSError, ValueError):
        return sys.stderr


class Progress:
    """A pytest plugin that reports progress of one vendor's check session."""

    def __init__(
        self, vendor: str, mode: str, stream: TextIO | None = None, quiet_pytest: bool = False
    ) -> None:
        self.vendor = vendor
        self.mode = mode
        self.quiet_pytest = quiet_pytest
        self.stream = stream or _stream()
        self.total = 0
        self.done = 0
        self.counts = {"passed": 0, "failed": 0, "not covered": 0}
        self.current = ""
        self.phase = ""
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._dirty = False
        self.checks_ended: float | None = None  # when the last check's result came in

    # -- output ----------------------------------------------------------------------------

    def _status(self) -> str:
        counts = "  ".join(f"{name} {n}" for name, n in self.counts.items() if n or name == "passed")
        where = f"{self.done}/{self.total}" if self.total else ""
        return f"[{self.vendor}] {self.phase} {where}  {counts}".rstrip()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = f"{self._status()}  {self.current}"
        self.stream.write("\r\x1b[2K" + text[:width])
        self.stream.flush()
        self._dirty = True

    def _line(self, text: str) -> None:
        if self.mode == "tty" and self._dirty:
            self.stream.write("\r\x1b[2K")
            self._dirty = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def set_phase(self, phase: str, detail: str = "") -> None:
        self.phase = phase
        if self.mode == "lines":
            self._line(f"[{self.vendor}] {phase}{': ' + detail if detail else ''}")
        elif self.mode == "tty":
            self.current = detail
            self._draw(force=True)

    def close(self) -> None:
        if self.mode == "tty" and self._dirty:
            self.stream.write("\r\x1b[2K")
            self._dirty = False
        self.stream.flush()

    # -- pytest hooks ----------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        if self.quiet_pytest:
            # The progress display replaces pytest's dots and tracebacks (as ``-p no:terminal``
            # would, but after the terminal plugin's options such as --tb were accepted).
            reporter = config.pluginmanager.getplugin("terminalreporter")
            if reporter is not None:
                config.pluginmanager.unregister(reporter)

    def pytest_collection(self, session: pytest.Session) -> None:
        self.set_phase("collecting")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)
        self.set_phase("checks", f"{self.total} checks")

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        name = nodeid.split("::")[-1]
        self.current = name[name.find("[") + 1 : -1] if "[" in name and name.endswith("]") else name
        if self.mode == "tty":
            self._draw()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.done += 1
            if report.passed:
                self.counts["passed"] += 1
            elif report.skipped:
                self.counts["not covered"] += 1
            else:
                self.counts["failed"] += 1
                if self.mode in ("lines", "tty"):
                    self._line(f"[{self.vendor}] FAILED {report.nodeid.split('::')[-1]}")
            if self.mode == "tty":
                self._draw(force=self.done == self.total)
            if self.total and self.done == self.total:
                # The last check's teardown is where session fixtures clean up their scratch keys:
                # the checks are done before it starts, so the log says so before "cleanup".
                self._checks_done()
                self.set_phase("cleanup", "scratch keys")

    def _checks_done(self) -> None:
        if self.checks_ended is not None:
            return
        self.checks_ended = time.monotonic()
        if self.mode == "lines":
            counts = self._status().split("  ", 1)[-1]
            self._line(f"[{self.vendor}] checks done: {counts} in {self.checks_ended - self.started:.1f} s")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # Called after the plugin's own sessionfinish, i.e. after cleanup (an interrupted or stopped
        # run cleans up there) and summary.json.
        cleanup_started = self.checks_ended
        self._checks_done()  # a run that ended before its last check
        if self.mode == "lines":
            took = f" in {time.monotonic() - cleanup_started:.1f} s" if cleanup_started is not None else ""
            self._line(f"[{self.vendor}] cleanup finished{took}; writing reports")
        self.close()


def progress_plugins(vendor: str, verbose: bool = False) -> list[Progress]:
    """The progress plugin for one run (none when the mode is ``off``)."""
    mode = resolve_mode()
    return [] if mode == "off" else [Progress(vendor, mode, quiet_pytest=not verbose)]

"""How a run answers Ctrl-C and SIGTERM: it stops at a safe point, cleans up, reports -- and ends.

``Interrupts`` (``INTERRUPTS``, one per process) notes the signal and raises it as a
KeyboardInterrupt at the next safe point: before an exchange, before a check, in a 429 wait.

``InterruptWatchdog`` is the last line behind the run's own bounds: from the signal on, the run
gets a grace period; if the process is still alive after it, every thread's stack goes to a file
in the report directory, one line on stderr says where the keys not confirmed deleted are (the
ledger, with the command that finishes them), and the process exits 130.  It sees the signal
through the interpreter's wakeup file descriptor, which the C-level signal handler writes to at
once -- so it works even while the main thread is blocked in C code.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

EXIT_INTERRUPTED = 130
WATCHED = frozenset({signal.SIGINT, signal.SIGTERM})


class Interrupts:
    """Ctrl-C and SIGTERM during a run: noted at once, raised as KeyboardInterrupt at a safe point.

    Python runs a signal handler between any two bytecodes -- inside a finalizer or a garbage
    collection callback too, where a raised KeyboardInterrupt is printed as "ignored" and lost
    (the run then went on to a verdict, exit 0) or leaves a lock taken.  So the handler only notes
    the signal; the transport raises it before the next exchange (``checkpoint``), and the plugin
    before the next check (``pytest_runtest_setup``).  It is raised once: cleanup after it talks to the target as usual.  A
    second signal raises at once, for someone who wants out now.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._pending = False
        self._local = threading.local()

    def mark_check_thread(self) -> None:
        """This thread runs checks ahead of pytest: once a signal is noted, its next safe point
        raises it, even after the main thread has (a cleanup thread goes on talking)."""
        self._local.check = True

    def reset(self) -> None:
        self.signum, self._pending = None, False

    def handler(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt(self._describe(signum))
        self.signum, self._pending = signum, True

    def checkpoint(self) -> None:
        """Raise the noted interrupt here, once (on the main thread).

        On another thread -- a check running ahead, a cleanup worker -- a noted interrupt that the
        main thread has not raised yet is raised too, without using it up: that thread's work
        stops at its next exchange, and the main thread still raises it where it waits.  A check
        thread (``mark_check_thread``) keeps raising it after that; a cleanup thread does not.
        """
        if threading.current_thread() is not threading.main_thread():
            stopping = self.signum is not None and getattr(self._local, "check", False)
            if self._pending or stopping:
                raise KeyboardInterrupt(self._describe(self.signum))
            return
        if self._pending:
            self._pending = False
            raise KeyboardInterrupt(self._describe(self.signum))

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` in short slices, so a noted interrupt is raised within 0.1 s."""
        deadline = time.monotonic() + seconds
        while True:
            self.checkpoint()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))

    @staticmethod
    def _describe(signum: int | None) -> str:
        return "Ctrl-C" if signum == signal.SIGINT else f"signal {signum}"

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The handler for SIGINT and SIGTERM around a run (main thread only); a signal noted
        but never raised (it came after the last check) is raised on the way out."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.reset()
        previous = {number: signal.signal(number, self.handler) for number in WATCHED}
        try:
            yield
            self.checkpoint()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


INTERRUPTS = Interrupts()  # one per process, as signal handlers are


class InterruptWatchdog:
    """``with InterruptWatchdog(grace_s, report_dir, ledger):`` around a run (main thread only)."""

    def __init__(self, grace_s: float, report_dir: Path, ledger: Path) -> None:
        self.grace_s = grace_s
        self.report_dir = report_dir
        self.ledger = ledger
        self._finished = threading.Event()
        self._fds: tuple[int, int] | None = None
        self._previous_fd = -1
        self._thread: threading.Thread | None = None

    def __enter__(self) -> InterruptWatchdog:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only: a run in a thread is not watched
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        try:
            self._previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except ValueError:
            os.close(read_fd)
            os.close(write_fd)
            return self
        self._fds = (read_fd, write_fd)
        self._thread = threading.Thread(target=self._watch, name="kms-interrupt-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._finished.set()
        if self._fds is None:
            return
        signal.set_wakeup_fd(self._previous_fd)
        read_fd, write_fd = self._fds
        os.close(write_fd)  # the watching thread reads end-of-file and returns
        if self._thread is not None:
            self._thread.join(timeout=1)
        os.close(read_fd)
        self._fds = None

    def _watch(self) -> None:
        assert self._fds is not None
        read_fd = self._fds[0]
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data:
                return  # the run ended: __exit__ closed the pipe
            if any(number in WATCHED for number in data):
                break
        if self._finished.wait(self.grace_s):
            return
        self._expire()

    def _expire(self) -> None:
        where = self.report_dir / "interrupt-stacks.txt"
        try:
            self.report_dir.mkdir(parents=True, exist_ok=True)
            with where.open("w", encoding="utf-8") as out:
                faulthandler.dump_traceback(file=out, all_threads=True)
            stacks = f"; every thread's stack is in {where}"
        except OSError:
            stacks = ""
        sys.stderr.write(
            f"kms-conformance: the run did not end within {self.grace_s:g} s of the interrupt{stacks}; "
            f"keys not confirmed deleted are in the ledger -- finish with: "
            f"kms-conformance cleanup --ledger {self.ledger}\n"
        )
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)


def grace_for(timeout_s: float) -> float:
    """How long an interrupted run may take to clean up and report: a few exchange deadlines."""
    return max(30.0, 4 * timeout_s + 15.0)

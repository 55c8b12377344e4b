"""Interrupts end a run at a safe point, and a run stuck after one still ends (conformance/interrupts.py).

A child process enters the watchdog with a one-second grace and then refuses to end: its SIGINT
handler does nothing.  After SIGINT it must exit 130 within the grace (plus start-up), with one
stderr line naming the ledger and the command that finishes it, and every thread's stack in the
report directory.  A run that ends by itself leaves no watching thread and the wakeup fd as it was.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

STUCK = """
import signal, sys, time
from pathlib import Path
from conformance.interrupts import InterruptWatchdog
report = Path(sys.argv[1])
signal.signal(signal.SIGINT, lambda *_: None)  # a stuck run: the interrupt arrives, nothing ends
with InterruptWatchdog(1.0, report, report / "ledger.jsonl"):
    print("watching", flush=True)
    time.sleep(60)
"""

ENDS = """
import signal, threading
from pathlib import Path
from conformance.interrupts import InterruptWatchdog
with InterruptWatchdog(1.0, Path("."), Path("ledger.jsonl")):
    assert any(t.name == "kms-interrupt-watchdog" for t in threading.enumerate())
assert signal.set_wakeup_fd(-1) == -1, "the wakeup fd was not given back"
assert not any(t.name == "kms-interrupt-watchdog" for t in threading.enumerate())
print("clean")
"""


def test_a_stuck_interrupted_run_exits_130_after_the_grace(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "watching"
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the watchdog did not end the stuck process") from None
    assert proc.returncode == 130, err
    assert time.monotonic() - signalled >= 1.0  # the grace was given
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kms-conformance: the run did not end within 1 s")
    assert f"kms-conformance cleanup --ledger {tmp_path / 'ledger.jsonl'}" in lines[0]
    assert "most recent call first" in (tmp_path / "interrupt-stacks.txt").read_text()


def test_a_run_that_ends_leaves_nothing_behind(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ENDS], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert done.returncode == 0 and done.stdout.strip() == "clean", done.stderr


def test_an_interrupt_is_raised_once_at_the_next_checkpoint() -> None:
    """The handler only notes the signal (a raise inside a finalizer would be lost); the next
    checkpoint raises it, once, so cleanup can still talk to the target; a second signal raises."""
    import pytest

    from conformance.interrupts import Interrupts

    interrupts = Interrupts()
    interrupts.checkpoint()  # nothing noted: nothing raised
    interrupts.handler(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt, match="Ctrl-C"):
        interrupts.checkpoint()
    interrupts.checkpoint()  # raised once: cleanup goes on
    with pytest.raises(KeyboardInterrupt, match="Ctrl-C"):
        interrupts.handler(signal.SIGINT, None)
    interrupts.reset()
    interrupts.handler(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
        interrupts.sleep(5)  # a 429 wait ends at once

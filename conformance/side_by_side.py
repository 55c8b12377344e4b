"""``--vendor all``: the vendors' runs side by side, one child process per vendor.

A run spends a second and a half of a core importing what it needs (pytest, Schemathesis,
Hypothesis, Starlette and uvicorn for the mock, the report writers).  On Linux the children are
forked from a parent that has imported all of it once (``preload``), so a child starts checking
at once and the children share those modules' memory; elsewhere, or when the parent already runs
threads (forking then can copy a lock some other thread holds), each child is a fresh
interpreter, as ``python -m conformance run --vendor NAME`` would be.

Either way a child is a whole vendor run: its own mock, pytest session, reports and exit
status.  Its output is kept in a file and printed whole, in vendor order, once it has finished,
so the vendors' lines never interleave.  Secrets reach a child through its environment, never its
command line.  Ctrl-C reaches the children from the terminal as it reaches the parent: the parent
starts no further child and waits for the running ones to clean up and end.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import IO, TextIO

# What a run imports beyond the CLI itself, as measured (each vendor's profile and mock, and
# pytest's own plugins, are added by ``preload``).  A name missing here costs a child its import;
# a name that no longer exists is skipped.
RUN_MODULES = (
    "hypothesis",
    "hypothesis.stateful",
    "hypothesis.strategies._internal.flatmapped",
    "hypothesis.strategies._internal.random",
    "hypothesis.strategies._internal.regex",
    "schemathesis",
    "schemathesis.core.control",
    "schemathesis.engine.errors",
    "schemathesis.generation.hypothesis.examples",
    "schemathesis.generation.hypothesis.reporting",
    "schemathesis.generation.jsonschema.strategy",
    "schemathesis.openapi.checks",
    "schemathesis.openapi.generation.filters",
    "schemathesis.python.asgi",
    "schemathesis.reporting.html",
    "schemathesis.specs.openapi._hypothesis",
    "schemathesis.specs.openapi.checks",
    "schemathesis.specs.openapi.coverage",
    "schemathesis.specs.openapi.examples",
    "schemathesis.specs.openapi.negative",
    "schemathesis.specs.openapi.schemas",
    "schemathesis.specs.openapi.stateful",
    "schemathesis.specs.openapi.stateful.dependencies",
    "schemathesis.specs.openapi.stateful.inference",
    "schemathesis.transport.asgi",
    "schemathesis.transport.wsgi",
    "pyrate_limiter",
    "werkzeug",
    "anyio._backends._asyncio",
    "uvicorn",
    "uvicorn.lifespan.off",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.websockets.auto",
    "pytest_html.hooks",
    "pytest_html.plugin",
    "pytest_metadata.hooks",
    "pytest_metadata.plugin",
    "cryptography.hazmat.backends.openssl",
    "email.policy",
    "encodings.unicode_escape",
    "http.server",
    "multiprocessing.managers",
    "multiprocessing.pool",
    "multiprocessing.shared_memory",
    "multiprocessing.spawn",
    "packaging.version",
    "pdb",
    "sqlite3",
    "conformance.fuzz",
    "conformance.checks.test_generated",
    "conformance.checks.test_probes",
    "conformance.checks.test_state_machine",
    "conformance.report.chart",
    "conformance.report.html",
    "conformance.report.outputs",
)


# A fresh child's interpreter and entry point, ahead of its ``kms-conformance`` arguments.
CHILD_COMMAND = (sys.executable, "-m", "conformance")


def can_fork() -> bool:
    """Whether children may be forked from this process: Linux, and no other thread running."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def preload(vendors: list[str]) -> None:
    """Import what the vendors' runs will import, then freeze the imported objects.

    ``gc.freeze`` moves every object alive now out of the collector's sight: they live as long as
    the process anyway, the children's collections skip them, and pages shared with the parent
    stay shared instead of being copied when a collection touches them.  A run makes many short-
    lived objects (every drawn case, request and response): collecting the youngest generation
    every 10,000 allocations instead of 700 cuts the time spent collecting by a third, for a few more
    megabytes of garbage waiting at any time.
    """
    from _pytest.config import default_plugins, essential_plugins

    from conformance import vendors as registry
    from conformance.runner import use_hypothesis_home

    use_hypothesis_home()  # before any import writes to Hypothesis' default, ./.hypothesis

    pytest_plugins = [f"_pytest.{name}" for name in (*essential_plugins, *default_plugins)]
    for name in (*RUN_MODULES, *pytest_plugins):
        try:
            import_module(name)
        except ImportError:  # an optional piece missing here: the child imports (or lacks) it itself
            continue
    for vendor in vendors:
        entry = registry.get(vendor)
        entry.profile_class()
        entry.mock()
    gc.freeze()
    gc.set_threshold(10_000, 50, 1000)


@dataclass
class Child:
    """One vendor's run in its own process, its output in two files until it has ended."""

    vendor: str
    out: IO[bytes]
    err: IO[bytes]
    poll: Callable[[], int | None]  # its exit status once it has ended, else None

    def output(self) -> tuple[str, str]:
        texts = []
        for stream in (self.out, self.err):
            stream.seek(0)
            texts.append(stream.read().decode("utf-8", "replace"))
            stream.close()
        return texts[0], texts[1]


def run_side_by_side(
    vendors: list[str],
    root: Path,
    passthrough: list[str],
    workers: int,
    out: TextIO = sys.stdout,
    *,
    secrets: Mapping[str, str] | None = None,
) -> list[int]:
    """One child run per vendor against its bundled mock, ``workers`` at a time; their exit
    statuses in vendor order (fewer when an interrupt stopped the run before every vendor ran)."""
    forking = can_fork()
    if forking:
        preload(vendors)
    warm_hypothesis_once(fork=forking)
    start = _fork if forking else _spawn
    waiting = list(vendors)
    started: list[Child] = []
    codes: dict[str, int] = {}
    printed = 0
    interrupted = False
    while printed < len(started) or (waiting and not interrupted):
        try:
            while waiting and not interrupted and sum(c.vendor not in codes for c in started) < workers:
                vendor = waiting.pop(0)
                argv = ["run", "--vendor", vendor, "--report-dir", str(root / vendor), *passthrough]
                started.append(start(vendor, argv, dict(secrets or {})))
            for child in started:
                if child.vendor not in codes:
                    status = child.poll()
                    if status is not None:
                        codes[child.vendor] = status
            while printed < len(started) and started[printed].vendor in codes:
                _print(started[printed], out)
                printed += 1
            if printed < len(started):
                time.sleep(POLL_S)
        except KeyboardInterrupt:  # the children got the same Ctrl-C: let them clean up and end
            interrupted = True
    return [codes[c.vendor] for c in started]


# How often the parent looks for ended children: small beside a run's seconds.
POLL_S = 0.05


def _print(child: Child, out: TextIO) -> None:
    stdout, stderr = child.output()
    out.write(stdout)
    if stderr.strip():
        sys.stderr.write(stderr)
    out.flush()


def warm_hypothesis_once(*, fork: bool) -> None:
    """Build Hypothesis' Unicode tables once, before the processes of a run would each build them.

    Every process that draws builds the tables it lacks, some 300 MB while it does: the vendors'
    children of ``--vendor all``, and the generation processes of a run against a remote target
    (``conformance.generation_process``; a cold Huawei run at 100 ms peaked at 705 MB PSS with
    three builders).  So the tables are built first, in a child of its own, forked or fresh: the
    parent would otherwise keep that memory -- and hand it to every child forked after it.  Tables
    already built are only read from disk, and a parent that can fork reads them itself: its
    forked children then share them.
    """
    from conformance.runner import hypothesis_warm, warm_hypothesis

    if not hypothesis_warm():
        if fork:
            _in_forked_child(warm_hypothesis, WARM_TIMEOUT_S)
        else:
            # A warm-up that fails or hangs costs only its own time: each process then builds the
            # tables it lacks, as it would have without it.
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        "from conformance.runner import warm_hypothesis; warm_hypothesis()",
                    ],
                    capture_output=True,
                    stdin=subprocess.DEVNULL,
                    timeout=WARM_TIMEOUT_S,
                )
    if fork and hypothesis_warm():
        warm_hypothesis()


def _in_forked_child(work: Callable[[], None], timeout_s: float) -> None:
    """Run ``work`` in a forked child and wait for it; kill it after ``timeout_s``."""

    def run() -> int:
        work()
        return 0

    pid = _forked(run)
    deadline = time.monotonic() + timeout_s
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        time.sleep(POLL_S)


def _forked(work: Callable[[], int]) -> int:
    """Fork a child that runs ``work`` and ends with its status (1 if it raised); the child's pid.

    The child never returns into the parent's code, whatever ``work`` does."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or the child would write the parent's buffered text again
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = work()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    return pid


# The Unicode tables take a few seconds; a machine that needs longer gets no head start (each
# process that draws then builds them itself, as without a warm-up).
WARM_TIMEOUT_S = 120.0


def _files() -> tuple[IO[bytes], IO[bytes]]:
    return tempfile.TemporaryFile(prefix="kms-conformance-out-"), tempfile.TemporaryFile(
        prefix="kms-conformance-err-"
    )


def _spawn(vendor: str, argv: list[str], secrets: dict[str, str]) -> Child:
    out, err = _files()
    proc = subprocess.Popen(
        [*CHILD_COMMAND, *argv],
        stdout=out,
        stderr=err,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **secrets},
    )
    return Child(vendor, out, err, proc.poll)


def _fork(vendor: str, argv: list[str], secrets: dict[str, str]) -> Child:
    out, err = _files()

    def run() -> int:
        try:
            return _child(argv, secrets, out, err)
        except BaseException:  # noqa: BLE001 -- whatever happened, said in the child's own stderr
            traceback.print_exc()
            return 1

    pid = _forked(run)

    def poll() -> int | None:
        ended, status = os.waitpid(pid, os.WNOHANG)
        return os.waitstatus_to_exitcode(status) if ended else None

    return Child(vendor, out, err, poll)


def _child(argv: list[str], secrets: dict[str, str], out: IO[bytes], err: IO[bytes]) -> int:
    """A forked child: its output into its files, then the run, as ``kms-conformance`` would."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    # Python's own streams may not be fds 1 and 2 (a caller that captures output): new ones that are.
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.update(secrets)
    from conformance.cli import main

    sys.argv = ["kms-conformance", *argv]
    try:
        main()
    except SystemExit as exc:
        return _status(exc.code)
    return 0


def _status(code: object) -> int:
    """``SystemExit.code`` as an exit status, as the interpreter would turn it into one."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1

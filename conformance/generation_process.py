"""The generated layer in a process of its own, beside the run's: a second core for Hypothesis.

Drawing and judging generated cases is most of a run's computation, and one interpreter computes
on one core however many threads wait on the network.  So whenever checks run concurrently
against a target in another process (a remote one, a server on this machine),
``GenerationProcess`` runs generated checks (``test_generated``) in a child process -- one
child per core (``split``), each running its share concurrently behind its own baton -- while
the run's own threads do the scenario checks.  The child sends back each check's verdict and how it ended; pytest reports
them in the usual order, as for any check that ran ahead (``conformance.concurrency``).

What stays exact across the two processes:

* the child's profile writes every key it creates to the run's ledger at once (appends of one
  line each, atomic between processes), and the run adopts every pending ledger key before
  cleanup (``Profile.adopt_ledgered``) -- so a key made by the child, even by one that was
  killed, is cleaned by the run or reported left;
* a 429 pauses every process: their ``TargetHealth`` share the pause and the budget
  (``SharedLimits``, made once per run);
* ``--concurrency`` bounds the exchanges in flight in all processes together (one shared
  semaphore), and ``--max-rps`` is a cap for one process's requests, so a run with a cap keeps one process;
* Ctrl-C is the run's: the child ignores it and is terminated when the run stops;
* the child's request count is added to the run's, each check's under that check.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance import case_cache
from conformance.parity import har
from conformance.settings import Settings
from conformance.transport import ResponseTooLarge, TargetUnusable
from conformance.verdict import StepFailed


class BrokeOff(Exception):
    """A generated check in the child ended with an exception that does not cross processes as
    itself (Hypothesis and Schemathesis errors): its one-line text, as the report would say it."""


def wanted(settings: Settings, workers: int, *, target_in_process: bool) -> bool:
    """Whether this run moves its generated checks to a child process: when more than one check
    is in flight, no ``--max-rps`` cap is set (it caps one process's requests), and the target is
    not the bundled mock serving from this very process (``target_in_process``) -- that mock
    answers the child's requests on this process's core too, so the child would only add its
    start-up to the run."""
    return workers > 1 and not settings.max_rps and not target_in_process


# Operations per child at least: each child costs an interpreter's start (imports, the spec).
MIN_PER_CHILD = 8


def split(keys: list[str], cores: int | None = None) -> list[list[str]]:
    """The generated checks (in order, heaviest first) dealt to one child per core, round-robin --
    but never fewer than ``MIN_PER_CHILD`` to a child, and at most four children."""
    cores = cores or os.cpu_count() or 1
    children = max(1, min(4, cores, len(keys) // MIN_PER_CHILD))
    return [keys[i::children] for i in range(children)]


@dataclass(frozen=True)
class SharedLimits:
    """The run's 429 pause and in-flight slots in shared memory: made once per run (``create``),
    installed in the ``TargetHealth`` of the run and of every child (``install``)."""

    pacing: Any  # [paused_until, throttled_s]: see ``TargetHealth.share_pacing``
    slots: Any  # a semaphore of ``--concurrency`` slots: see ``TargetHealth.slot``

    @classmethod
    def create(cls, workers: int) -> SharedLimits:
        context = multiprocessing.get_context("spawn")
        return cls(context.Array("d", 2), context.BoundedSemaphore(workers))

    def install(self, health: Any) -> None:
        health.share_pacing(self.pacing)
        health.share_slots(self.slots)


@dataclass
class Portable:
    """What one generated check left, in a form that crosses processes."""

    label: str
    results: dict[str, list[str]]
    notes: dict[str, list[str]]
    error: BaseException | None = None
    requests: int = 0  # sent by this check's body


@dataclass
class Batch:
    """Every generated check the child ran, and the requests it sent."""

    done: dict[str, Portable] = field(default_factory=dict)
    requests: int = 0
    cases: dict[str, int] = field(default_factory=dict)  # checks whose cases were drawn / cached


def portable(exc: BaseException | None) -> BaseException | None:
    """``exc`` as an exception that pickles and reads the same in the report."""
    if exc is None:
        return None
    if isinstance(exc, StepFailed):
        return StepFailed(exc.requirement, exc.message)
    if isinstance(exc, (TargetUnusable, ResponseTooLarge)):
        return type(exc)(str(exc))  # its kind says why the run stopped, or what was too large
    return BrokeOff(str(exc).strip() or type(exc).__name__)


def _child(
    connection: Any, settings: Settings, labels: list[str], workers: int, shared: SharedLimits
) -> None:
    """The child's whole life: run the batch, send it (or why it failed) back, and end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run handles Ctrl-C and ends this process
    try:
        outcome: Any = run_batch(settings, labels, workers, shared)
    except BaseException as exc:  # noqa: BLE001 - the run reports it for every generated check
        outcome = BrokeOff(f"{type(exc).__name__}: {exc}")
    connection.send(outcome)
    connection.close()


def run_batch(
    settings: Settings, labels: Sequence[str], workers: int, shared: SharedLimits | None = None
) -> Batch:
    """In the child: the generated checks for ``labels``, ``workers`` at a time, under the run's
    ``shared`` pause and in-flight bound."""
    from conformance.concurrency import run_all
    from conformance.fuzz import GeneratedRun, selected_operations
    from conformance.metrics import REQUESTS
    from conformance.profiles import profile_class
    from conformance.verdict import Verdict

    profile = profile_class(settings.vendor)(settings)
    if shared is not None:
        shared.install(profile.health)
    operations = {op.label: op for op in selected_operations(type(profile), settings)}
    batch = Batch()
    lock = threading.Lock()

    def one(label: str) -> None:
        verdict = Verdict()
        error: BaseException | None = None
        har.set_check(f"generated[{label}]")
        try:
            with REQUESTS.attributed(label):
                GeneratedRun(profile, operations[label], verdict).run()
        except BaseException as exc:  # noqa: BLE001 - reported by the run, like any check's end
            error = portable(exc)
        sent = REQUESTS.snapshot().get(label, 0)
        with lock:
            batch.done[label] = Portable(label, verdict.results, verdict.notes, error, sent)

    parts = har.child_part_dir()  # the run records (--record): this process's exchanges too
    recorder = har.Recorder(har.run_credentials(settings)) if parts is not None else None
    if recorder is not None:
        har.install(recorder)
    try:
        run_all(one, list(labels), workers, name="kms-generated")
    finally:
        profile.close()
        if parts is not None and recorder is not None:
            har.write_part(parts, recorder)
    batch.requests = REQUESTS.value
    batch.cases = case_cache.SOURCES.snapshot()
    return batch


class GenerationProcess:
    """A child process running one batch of generated checks; ``result()`` waits for it.

    A plain process and a pipe, not a pool: a child that dies (killed, out of memory) is seen at
    once -- its end of the pipe closes -- instead of leaving a result that never comes.
    """

    def __init__(self, settings: Settings, labels: Sequence[str], workers: int, shared: SharedLimits) -> None:
        context = multiprocessing.get_context("spawn")  # a clean interpreter: no copied threads or locks
        # Held for the child's life: a semaphore the parent frees is unlinked before the child
        # has reopened it (``Process.start`` drops its arguments once the child is spawned).
        self._shared = shared
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child,
            args=(send, settings, list(labels), workers, shared),
            name="kms-generated",
            daemon=True,
        )
        self._process.start()
        send.close()  # the child holds the only sending end: its exit closes the pipe
        self._batch: Batch | None = None
        self._failure: str | None = None

    def result(self, timeout: float) -> Batch | None:
        """The batch, or None while the child is still at it (after ``timeout`` seconds)."""
        if self._batch is None and self._failure is None:
            if not self._receive.poll(timeout):
                return None
            try:
                outcome = self._receive.recv()
            except (EOFError, OSError):
                self._process.join(5)
                outcome = BrokeOff(f"it ended without an answer (exit code {self._process.exitcode})")
            if isinstance(outcome, Batch):
                self._batch = outcome
            else:
                self._failure = str(outcome)
        if self._failure is not None:
            raise BrokeOff(f"the generated checks' process ended abnormally: {self._failure}")
        return self._batch

    def stop(self) -> None:
        """End the child now (a finished one has nothing left to do; a running one is cut off)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._receive.close()

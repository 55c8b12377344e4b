"""Checks run concurrently against one target; pytest still reports them one by one, in order.

Against a remote target a run spends nearly all its time waiting: every request costs a round
trip.  So the bodies of the conformance checks run ahead of pytest on a pool of ``--concurrency``
threads, each with a ``Verdict`` and an exchange history of its own (``AheadOfTime``); pytest then
walks its items in the usual order and each item takes its body's result -- the verdict, the
evidence, the exception the body ended with -- instead of running the body itself.  A concurrent
run therefore reports the same rows in the same order with the same verdicts as a sequential one:
the checks' judgement is the same code on the same answers, only the waiting overlaps.

That is sound because every check owns its scratch keys (``Profile.key_in`` makes fresh ones) and
judges only the answers about them.  What the threads share is made safe where it lives: the
profile's client and credentials, its list of owned keys and the ledger are locked, and
``TargetHealth`` is the one limiter every thread waits on (``--max-rps``; a 429 pauses them all).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conformance import case_cache
from conformance.interrupts import INTERRUPTS
from conformance.metrics import REQUESTS
from conformance.parity import har

T = TypeVar("T")

# Concurrency when ``--concurrency`` is 0 (automatic).  A remote target: eight checks in flight,
# a load any account's rate limits take (and ``--max-rps`` caps it further).  On loopback the
# client and the target share this machine's cores: more threads only add switching.
REMOTE_DEFAULT = 8
LOOPBACK_DEFAULT = 1


def concurrency_for(settings: Any) -> int:
    """The number of checks in flight at once for ``settings`` (``--concurrency``, 0: automatic)."""
    from conformance.transport import is_loopback

    if settings.concurrency > 0:
        return int(settings.concurrency)
    return LOOPBACK_DEFAULT if is_loopback(settings.base_url) else REMOTE_DEFAULT


def run_all(work: Callable[[T], None], items: Sequence[T], workers: int, *, name: str) -> None:
    """``work(item)`` for every item, ``workers`` at a time (in this thread when that is 1).

    ``work`` handles its own errors.  A Ctrl-C while waiting cancels what has not started and is
    raised here once what is running has finished (each exchange is bounded by ``--timeout``).
    """
    if workers <= 1 or len(items) < 2:
        for item in items:
            work(item)
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix=name)
    counted_as = REQUESTS.current()  # the pool's requests count where the caller's would

    def attributed(item: T) -> None:
        with REQUESTS.attributed(counted_as):
            work(item)

    try:
        futures = [pool.submit(attributed, item) for item in items]
        for future in futures:
            wait_for(future)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def wait_for(future: Future[T]) -> T:
    """The future's result, waiting in short slices so a noted Ctrl-C is raised within 0.1 s."""
    while True:
        INTERRUPTS.checkpoint()
        try:
            return future.result(timeout=0.1)
        except FutureTimeout:
            continue


@dataclass
class Done:
    """What one check's body left: its verdict, its last exchanges, and how it ended."""

    results: dict[str, list[str]]
    notes: dict[str, list[str]]
    history: list[Any]
    error: BaseException | None = None


class NotStarted(Exception):
    """The run stopped before this check's body started; pytest runs nothing for it."""


@dataclass
class Job:
    """One check's body, ready to run: the test function and its arguments but the verdict."""

    key: str
    function: Callable[..., Any]
    arguments: Mapping[str, Any]
    cost: int = 1  # a rough weight: the heaviest bodies start first


@dataclass
class AheadOfTime:
    """A pool running check bodies (``Job``) ahead of pytest; ``take`` hands over a result, in order.

    ``profile`` is the session's profile: each body's exchange history is read from it on the
    thread that ran the body.  ``stop()`` cancels the bodies not started and waits for the rest,
    so nothing is still talking to the target when cleanup begins.
    """

    profile: Any
    workers: int
    new_verdict: Callable[[], Any]
    _futures: dict[str, Future[Done]] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    # Generated checks sent to child processes (``conformance.generation_process``): key ->
    # (the child, the operation label); a child's request count is added once, when first read.
    _elsewhere: dict[str, tuple[Any, str]] = field(default_factory=dict)
    _processes: list[Any] = field(default_factory=list)
    _counted: set[int] = field(default_factory=set)

    def start(self, jobs: Iterable[Job], elsewhere: Mapping[str, str] | None = None) -> None:
        """Start every job on the pool, heaviest first; ``elsewhere`` (job key -> operation label):
        the generated checks to run in child processes instead (their jobs are not run here).

        At most ``workers`` exchanges are in flight at once across the run and its children:
        every exchange takes one of ``workers`` slots (``TargetHealth.slot``).
        """
        jobs = list(jobs)
        if elsewhere:
            from conformance.generation_process import GenerationProcess, SharedLimits, split
            from conformance.side_by_side import can_fork, warm_hypothesis_once

            warm_hypothesis_once(fork=can_fork())  # else each child builds the tables it lacks
            shared = SharedLimits.create(self.workers)  # one pause and one bound for every process
            shared.install(self.profile.health)
            settings = self.profile.settings
            for keys in split(list(elsewhere)):
                child = GenerationProcess(settings, [elsewhere[key] for key in keys], self.workers, shared)
                self._processes.append(child)
                self._elsewhere.update({key: (child, elsewhere[key]) for key in keys})
            jobs = [job for job in jobs if job.key not in self._elsewhere]
        else:
            self.profile.health.share_slots(threading.BoundedSemaphore(self.workers))
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="kms-check")
        ordered = sorted(jobs, key=lambda job: -job.cost)  # stable: equal costs keep pytest's order
        for job in ordered:
            self._futures[job.key] = self._pool.submit(self._run, job)

    def owns(self, key: str) -> bool:
        return key in self._futures or key in self._elsewhere

    def take(self, key: str) -> Done:
        """The result of the body for ``key`` (waiting for it); raises ``NotStarted`` after ``stop``."""
        if key in self._elsewhere:
            return self._take_elsewhere(key)
        future = self._futures.pop(key)
        if future.cancelled():
            raise NotStarted(key)
        return wait_for(future)

    def _take_elsewhere(self, key: str) -> Done:
        child, label = self._elsewhere.pop(key)
        while True:
            INTERRUPTS.checkpoint()
            batch = child.result(0.1)
            if batch is not None:
                break
        if id(child) not in self._counted:  # the child's requests, each check's under that check
            self._counted.add(id(child))
            keys = {lab: k for k, (c, lab) in [*self._elsewhere.items(), (key, (child, label))] if c is child}
            for lab, done_there in batch.done.items():
                REQUESTS.add(done_there.requests, check=keys.get(lab, lab))
            REQUESTS.add(batch.requests - sum(d.requests for d in batch.done.values()))
            for source, n in batch.cases.items():
                case_cache.SOURCES.add(source, n)
        done = batch.done.get(label)
        if done is None:
            raise NotStarted(key)
        return Done(done.results, done.notes, [], done.error)

    def _run(self, job: Job) -> Done:
        if self._stopping.is_set():
            raise NotStarted(job.key)
        INTERRUPTS.mark_check_thread()
        verdict = self.new_verdict()
        self.profile.history = []
        error: BaseException | None = None
        har.set_check(job.key)  # a recording names the check each exchange came from
        try:
            with REQUESTS.attributed(job.key):
                job.function(**job.arguments, verdict=verdict)
        except BaseException as exc:  # noqa: BLE001 - handed to pytest on the main thread as is
            error = exc
        return Done(verdict.results, verdict.notes, list(self.profile.history), error)

    def stop(self) -> None:
        """Cancel the bodies not started; wait for the running ones (each exchange is bounded)."""
        self._stopping.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()
        if self._processes:
            for child in self._processes:
                child.stop()
            self._processes.clear()
            # A child ended mid-exchange never gave its slot back: the run's own (cleanup next)
            # gets a fresh bound, which no one else holds now that the children are gone.
            self.profile.health.share_slots(threading.BoundedSemaphore(self.workers))
            self.profile.adopt_ledgered()  # keys the children made are cleaned by this run


class Baton:
    """One thread at a time runs the generated layer's own code; it lets go while it waits.

    Hypothesis and Schemathesis are not safe to run on several threads at once here (CPython
    3.11's ``ast`` module, among others, keeps per-process state they share).  A generated check
    holds the baton while it draws and judges cases and lets go while a case is sent
    (``GeneratedRun``), so several generated checks still overlap their waits for the target --
    which is all a remote run waits for -- and the other checks never take it.  The main thread
    takes it while pytest builds a check's report: showing a failure parses source with ``ast``.

    It is let go only around a case's exchange, where the thread holds no other lock: letting go
    inside a token refresh (which holds the profile's token lock) could deadlock against a thread
    that holds the baton and waits for the token.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if getattr(self._local, "held", False):
            yield
            return
        self._lock.acquire()
        self._local.held = True
        try:
            yield
        finally:
            self._local.held = False
            self._lock.release()

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Let go for the length of the block, if this thread holds the baton."""
        if not getattr(self._local, "held", False):
            yield
            return
        self._local.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._local.held = True


GENERATION = Baton()  # held by generated checks (``conformance.fuzz``)

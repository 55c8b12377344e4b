"""Counters a run reports: the HTTP requests sent to the target, and which check sent them.

Every exchange is counted once (``REQUESTS.add``) under the check whose body sent it -- the
thread's current check (``attributed``) -- or under a named part of the run outside any check
(``"run"``: the preflight, token fetches at start; ``"cleanup"``).  summary.json prints the
breakdown per layer and per requirement, so "where do the requests go" has an answer.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

OUTSIDE = "run"  # requests sent outside any check


class Tally:
    """Counts by name, from any thread: the shape of every counter a run reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def reset(self) -> None:
        with self._lock:
            self.counts = Counter()


class RequestCounter:
    """Requests sent, by the check that sent them (``OUTSIDE``: the run itself)."""

    def __init__(self) -> None:
        self._tally = Tally()
        self._local = threading.local()

    @property
    def value(self) -> int:
        """Every request counted."""
        return sum(self._tally.snapshot().values())

    def add(self, n: int = 1, check: str | None = None) -> None:
        self._tally.add(check or getattr(self._local, "check", None) or OUTSIDE, n)

    def snapshot(self) -> dict[str, int]:
        return self._tally.snapshot()

    def reset(self) -> None:
        self._tally.reset()

    def current(self) -> str | None:
        """The check this thread's requests count under (None: outside any check)."""
        return getattr(self._local, "check", None)

    @contextmanager
    def attributed(self, check: str | None) -> Iterator[None]:
        """Count this thread's requests under ``check`` until the block ends."""
        before = getattr(self._local, "check", None)
        self._local.check = check
        try:
            yield
        finally:
            self._local.check = before


REQUESTS = RequestCounter()

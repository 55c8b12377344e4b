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


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.value = 0
        self.by_check: Counter[str] = Counter()

    def add(self, n: int = 1, check: str | None = None) -> None:
        key = check or getattr(self._local, "check", None) or OUTSIDE
        with self._lock:
            self.value += n
            self.by_check[key] += n

    def reset(self) -> None:
        with self._lock:
            self.value = 0
            self.by_check = Counter()

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

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.by_check)


REQUESTS = RequestCounter()

"""Counters a run reports (HTTP requests sent to the target)."""

from __future__ import annotations

import threading


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.value += n

    def reset(self) -> None:
        with self._lock:
            self.value = 0


REQUESTS = RequestCounter()

"""How a profile waits for a target to finish something: polls with growing pauses, bounded.

Yandex answers changes with an Operation to poll until ``done``; a Huawei key may first read as
"to be activated" before it is enabled.  Both wait the same way, with one set of numbers per
profile (a class attribute ``polling``), so a test can make every wait quick in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Polling:
    """The first poll goes out at once; the pause before each next one starts at ``first_delay``
    and grows by ``factor`` up to ``max_delay``.  The wait ends after ``deadline()`` seconds.

    The defaults are what real targets get; a test may set a faster one on the profile (its
    ``polling`` class attribute, or on one instance).
    """

    first_delay: float = 0.02
    factor: float = 2.0
    max_delay: float = 1.0
    deadline_loopback: float = 10.0  # a target on this machine (the bundled mock, a local server)
    deadline_remote: float = 120.0  # any other target, the real API among them
    # Once one wait ran out, its requirement has failed: later waits get only this long.
    deadline_after_stuck: float = 0.2

    def deadline(self, *, loopback: bool, stuck_before: bool = False) -> float:
        limit = self.deadline_loopback if loopback else self.deadline_remote
        return min(limit, self.deadline_after_stuck) if stuck_before else limit

    def delays(self) -> Iterator[float]:
        """The pauses between polls: first_delay, then each ``factor`` times the last, capped."""
        delay = self.first_delay
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_delay)

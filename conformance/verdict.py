"""Per-requirement results: what each test proved, and the roll-up into a run verdict.

A test names requirements in three ways: a ``requirement`` marker, a parametrized row
(``Transition``/``Probe``) with a ``requirement`` field, or ``verdict.require(id, ok, msg)``
calls.  ``Verdict`` is the soft-assertion object tests use so one test can prove several
requirements (a transition and the error envelope, say) and fail only the ones it broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSED, FAILED, ALLOWED, NOT_COVERED = "passed", "failed", "allowed", "not_covered"


@dataclass
class Verdict:
    """Soft assertions keyed by requirement id, collected during one test."""

    results: dict[str, list[str]] = field(default_factory=dict)

    def require(self, requirement: str, ok: bool, message: str = "") -> bool:
        failures = self.results.setdefault(requirement, [])
        if not ok:
            failures.append(message or "requirement not met")
        return ok

    def covered(self, requirement: str) -> None:
        self.results.setdefault(requirement, [])

    @property
    def failures(self) -> dict[str, list[str]]:
        return {req: msgs for req, msgs in self.results.items() if msgs}

    def failure_text(self) -> str:
        return "\n".join(f"[{req}] {msg}" for req, msgs in self.failures.items() for msg in msgs)


@dataclass
class RequirementRecord:
    """Everything the run learnt about one requirement."""

    status: str = NOT_COVERED
    tests: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    skip_reasons: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # request/response/curl of failures
    failed_tests: list[str] = field(default_factory=list)  # the tests that broke it (report locations)

    def add(self, test: str, outcome: str, message: str = "", evidence: str = "") -> None:
        if test not in self.tests:
            self.tests.append(test)
        if outcome == FAILED:
            self.status = FAILED
            if test not in self.failed_tests:
                self.failed_tests.append(test)
            if message:
                self.messages.append(message)
            if evidence:
                self.evidence.append(evidence)
        elif outcome == PASSED:
            if self.status == NOT_COVERED:
                self.status = PASSED
        elif outcome == NOT_COVERED and message:
            self.skip_reasons.append(message)

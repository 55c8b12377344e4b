"""Per-requirement results: what each test proved, and the roll-up into a run verdict.

A test names requirements in three ways: a ``requirement`` marker, a parametrized row
(``Transition``/``Probe``) with a ``requirement`` field, or ``verdict.require(id, ok, msg)``
calls.  ``Verdict`` is the soft-assertion object tests use so one test can prove several
requirements (a transition and the error envelope, say) and fail only the ones it broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSED, FAILED, BLOCKED, ALLOWED, NOT_COVERED = "passed", "failed", "blocked", "allowed", "not_covered"
# Every status a requirement can end in, in report order.  ``blocked``: a check for it could not
# complete -- a step it depends on failed (``blocked_by`` names that requirement) or the check
# itself broke off (a transport error, say).  Blocked is never passed, and fails the gate.
STATUSES = (PASSED, FAILED, BLOCKED, ALLOWED, NOT_COVERED)
# Statuses that fail the gate for a requirement at a gate level.
GATE_FAILING = (FAILED, BLOCKED)


class StepFailed(Exception):
    """A step a check depends on broke a requirement of its own, so the check cannot go on.

    Raised by profiles while making scratch keys, driving them to a state, waiting for an
    asynchronous operation or calling an operation the target does not serve.  The plugin
    fails ``requirement`` (the one that owns the step) and reports the check's own
    requirements as blocked by it -- instead of blaming them for somebody else's failure.
    """

    def __init__(self, requirement: str, message: str) -> None:
        super().__init__(message)
        self.requirement = requirement
        self.message = message

    def __reduce__(self) -> tuple[type[StepFailed], tuple[str, str]]:
        return (type(self), (self.requirement, self.message))  # it crosses processes (concurrency)


class Unsettled(Exception):
    """The target still shows a change running when the check's wait for it ends (a documented
    transient state, such as AWS's Updating while a multi-Region primary moves).

    The check cannot judge the change, so its requirements are blocked: never passed, and never
    failed either, since the docs give the change no deadline.
    """


@dataclass
class Verdict:
    """Soft assertions keyed by requirement id, collected during one test."""

    results: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # said in the report even when passed

    def note(self, requirement: str, message: str) -> None:
        """Something the report should say about a passing requirement (e.g. exempt operations)."""
        self.covered(requirement)
        if message not in self.notes.setdefault(requirement, []):
            self.notes[requirement].append(message)

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


class VerdictFailed(AssertionError):
    """Raised after a check whose ``Verdict`` recorded failures (the check itself completed)."""


@dataclass
class RequirementRecord:
    """Everything the run learnt about one requirement."""

    status: str = NOT_COVERED
    tests: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    skip_reasons: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # request/response/curl of failures
    failed_tests: list[str] = field(default_factory=list)  # the tests that broke it (report locations)
    blocked_by: list[str] = field(default_factory=list)  # requirements whose failure stopped a check
    blocked_reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a passing check wants said (exemptions)

    def add(
        self, test: str, outcome: str, message: str = "", evidence: str = "", blocked_by: str = ""
    ) -> None:
        """Fold one check's outcome in: failed beats blocked beats passed beats not covered."""
        if test not in self.tests:
            self.tests.append(test)
        if outcome == BLOCKED:
            if self.status != FAILED:
                self.status = BLOCKED
            if blocked_by and blocked_by not in self.blocked_by:
                self.blocked_by.append(blocked_by)
            if message:
                self.blocked_reasons.append(message)
        elif outcome == FAILED:
            self.status = FAILED
            if test not in self.failed_tests:
                self.failed_tests.append(test)
            if message:
                self.messages.append(message)
            if evidence:
                self.evidence.append(evidence)
        elif outcome == PASSED:
            if message and message not in self.notes:
                self.notes.append(message)
            if self.status == NOT_COVERED:
                self.status = PASSED
        elif outcome == NOT_COVERED and message:
            self.skip_reasons.append(message)

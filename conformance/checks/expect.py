"""Expectations shared by the scenario checks: a documented answer, and its error envelope."""

from __future__ import annotations

from collections.abc import Set

from conformance.profiles.base import Outcome, Profile
from conformance.verdict import Verdict


def expect_answer(
    verdict: Verdict,
    profile: Profile,
    requirement: str,
    outcome: Outcome,
    status: Set[int],
    codes: Set[str],
    what: str,
) -> bool:
    """The status is one of ``status`` and, for an error, the code one of ``codes`` (empty: any).

    The code is read from the error envelope: when the body is no documented envelope, there is
    no code to compare and the envelope requirement (``expect_envelope``) owns that failure.
    """
    ok = verdict.require(
        requirement,
        outcome.status in status,
        f"{what}: expected HTTP {sorted(status)}, got {outcome.describe()}",
    )
    unreadable = outcome.code is None and profile.envelope_problem(outcome) is not None
    if codes and outcome.status >= 400 and not unreadable:
        ok = (
            verdict.require(
                requirement,
                outcome.code in codes,
                f"{what}: error code should be one of {sorted(codes)}, got {outcome.code!r}",
            )
            and ok
        )
    return ok


def expect_envelope(verdict: Verdict, profile: Profile, outcome: Outcome) -> None:
    """Every error body is one of the vendor's documented envelopes."""
    problem = profile.envelope_problem(outcome)
    verdict.require(profile.envelope_requirement, problem is None, problem or "")


def expect_transport(verdict: Verdict, profile: Profile, outcome: Outcome) -> None:
    """The transport rules every vendor shares (one place for all: see ``Profile.transport_problem``).

    The outcome also proves the operation is served (``Profile.call`` raised otherwise).
    """
    if profile.served_requirement:
        verdict.covered(profile.served_requirement)
    if profile.transport_requirement:
        problem = profile.transport_problem(outcome)
        verdict.require(profile.transport_requirement, problem is None, problem or "")

"""The documented state machine: each operation from each reachable state.

Rows come from ``Profile.transitions``; each proves the requirement it names.
"""

from __future__ import annotations

import pytest

from conformance.profiles.base import NotCovered, Profile, Transition
from conformance.verdict import Verdict


def test_transition(kms_profile: Profile, transition: Transition, verdict: Verdict) -> None:
    try:
        key_id = kms_profile.key_in(transition.from_state)
    except NotCovered as exc:  # a state the target cannot be driven to (e.g. a mock-only clock)
        pytest.skip(str(exc))
    outcome = kms_profile.call(transition.operation, key_id)
    req = transition.requirement
    after = kms_profile.key_state(key_id)
    if transition.to_state is not None:
        verdict.require(
            req,
            outcome.status in transition.status,
            f"{transition.operation} from {transition.from_state}: expected HTTP {sorted(transition.status)}, got {outcome.describe()}",
        )
        verdict.require(
            req,
            after == transition.to_state,
            f"{transition.operation} from {transition.from_state}: key should be {transition.to_state}, is {after}",
        )
        return
    verdict.require(
        req,
        outcome.status in transition.status,
        f"{transition.operation} from {transition.from_state} must be refused with HTTP {sorted(transition.status)}, got {outcome.describe()}",
    )
    if transition.codes and outcome.status >= 400:
        verdict.require(
            req,
            outcome.code in transition.codes,
            f"{transition.operation} from {transition.from_state}: error code should be one of {sorted(transition.codes)}, got {outcome.code!r}",
        )
    verdict.require(
        req,
        after == transition.from_state,
        f"refused {transition.operation} changed the key from {transition.from_state} to {after}",
    )
    problem = kms_profile.envelope_problem(outcome)
    verdict.require(kms_profile.envelope_requirement, problem is None, problem or "")

"""The documented state machine: each operation from each reachable state.

Rows come from ``Profile.transitions``; each proves the requirement it names.
"""

from __future__ import annotations

import pytest

from conformance.checks.expect import expect_answer, expect_envelope, expect_transport
from conformance.profiles.base import NotCovered, Profile, Transition
from conformance.verdict import Verdict


def test_transition(kms_profile: Profile, transition: Transition, verdict: Verdict) -> None:
    try:
        key_id = kms_profile.key_in(transition.from_state)
    except NotCovered as exc:  # a state the target cannot be driven to (e.g. a mock-only clock)
        pytest.skip(str(exc))
    outcome = kms_profile.call(transition.operation, key_id)
    req = transition.requirement
    expect_transport(verdict, kms_profile, outcome)
    after = kms_profile.key_state(key_id)
    kms_profile.settled(key_id, after)  # the row's last exchange with the key: cleanup may need none
    what = f"{transition.operation} from {transition.from_state}"
    expect_answer(verdict, kms_profile, req, outcome, transition.status, transition.codes, what)
    if transition.to_state is not None:
        verdict.require(
            req, after == transition.to_state, f"{what}: key should be {transition.to_state}, is {after}"
        )
        return
    verdict.require(req, after == transition.from_state, f"refused {what} changed the key to {after}")
    expect_envelope(verdict, kms_profile, outcome)

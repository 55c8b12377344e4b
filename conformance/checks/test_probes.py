"""Probes: one request with one thing changed, answered as the docs say.

Rows come from ``Profile.probes`` -- auth failures, request constraints and their boundaries,
unknown vs malformed ids, response shapes.  Every documented alternative is accepted.
"""

from __future__ import annotations

import pytest

from conformance.checks.expect import expect_answer, expect_envelope, expect_transport
from conformance.profiles.base import NotCovered, Probe, Profile
from conformance.verdict import Verdict


def _key_for(profile: Profile, probe: Probe) -> str | None:
    if probe.key == "none":
        return None
    if probe.key == "unknown":
        return profile.unknown_key_id()
    if probe.key == "malformed":
        return profile.malformed_key_id()
    return profile.key_in(probe.key)


def test_probe(kms_profile: Profile, probe: Probe, verdict: Verdict) -> None:
    try:
        kms_profile.require(probe.needs)
        key_id = _key_for(kms_profile, probe)
        outcome = kms_profile.call(probe.operation, key_id, probe.body, auth=probe.auth, raw=probe.raw)
    except NotCovered as exc:
        pytest.skip(str(exc))
    req = probe.requirement
    if outcome.status not in probe.status and key_id is not None:
        moved = kms_profile.moved_on(probe.key, key_id)
        if moved:
            pytest.skip(f"{probe.name}: {moved}, so the request did not test the row")
    expect_transport(verdict, kms_profile, outcome)
    expect_answer(verdict, kms_profile, req, outcome, probe.status, probe.codes, probe.name)
    if probe.check is not None and outcome.status in probe.status:
        problem = probe.check(outcome)
        verdict.require(req, problem is None, f"{probe.name}: {problem}")
    if probe.hides_key and key_id and 200 <= outcome.status < 300:
        verdict.require(req, key_id not in outcome.text, f"{probe.name}: the answer names key {key_id}")
    if probe.unchanged and key_id and probe.key not in ("none", "unknown", "malformed"):
        after = kms_profile.key_state(key_id)
        verdict.require(req, after == probe.key, f"{probe.name}: the key is now {after}, was {probe.key}")
    expect_envelope(verdict, kms_profile, outcome)

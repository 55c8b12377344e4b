"""Generated cases (Schemathesis) for every selected operation of the vendor's spec."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.fuzz import GeneratedRun
from conformance.profiles.base import Profile
from conformance.verdict import Verdict


def test_generated(kms_profile: Profile, api_operation: Any, verdict: Verdict) -> None:
    GeneratedRun(kms_profile, api_operation, verdict).run()


def test_stateful(kms_profile: Profile, kms_settings: Any, verdict: Verdict) -> None:
    """Sequences through the spec's links, on keys the run creates (writes: loopback or --destructive-fuzzing)."""
    from conformance.fuzz import selected_operations
    from conformance.transport import is_loopback

    if kms_settings.read_only or not (kms_settings.destructive_fuzzing or is_loopback(kms_settings.base_url)):
        pytest.skip("stateful sequences change keys: run against loopback or pass --destructive-fuzzing")
    operations = selected_operations(type(kms_profile), kms_settings)
    GeneratedRun(kms_profile, None, verdict).run_stateful(operations)

"""Generated cases (Schemathesis) for every selected operation of the vendor's spec."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.fuzz import GeneratedRun
from conformance.profiles.base import Profile
from conformance.verdict import Verdict


def test_generated(kms_profile: Profile, api_operation: Any, verdict: Verdict, request: pytest.FixtureRequest) -> None:
    GeneratedRun(kms_profile, api_operation, verdict).run()

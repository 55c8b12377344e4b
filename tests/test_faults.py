"""Mutation testing of the suite: every mock fault fails exactly the requirements it declares.

A fault turns one documented behaviour off.  The run must fail the requirement(s) that
behaviour owns (``Fault.fails``) and nothing else -- except generated-check requirements the
fault declares as ``may_also`` (whether sampled inputs show the fault depends on the draw).
Other requirements may at most be blocked by those.  A fault that "breaks everything" can no longer count as caught, and a check that blames
the wrong requirement shows up as an extra failure.  The verdict is FAIL exactly when one of the
declared requirements is a ``must`` (a should-level fault is reported, not gated).
"""

from __future__ import annotations

import pytest

from conformance.mocks import available, mock_definition
from conformance.requirements import load_catalogue
from tests.runs import run_mock

FAULTS = [(vendor, fault) for vendor in available() for fault in mock_definition(vendor).faults]


@pytest.mark.parametrize(("vendor", "fault"), FAULTS, ids=[f"{v}-{f.name}" for v, f in FAULTS])
def test_fault_fails_exactly_its_requirements(tmp_path, vendor: str, fault) -> None:
    run = run_mock(vendor, tmp_path, faults=[fault.name])
    assert set(fault.fails) <= run.failed <= set(fault.may_fail), run.explain()
    for row in run.summary["requirements"]:
        if row["status"] == "blocked":
            assert set(row.get("blocked_by", [])) <= set(fault.may_fail), (row["id"], row["message"])
    levels = {load_catalogue(vendor)[req].level for req in fault.fails}
    assert run.summary["verdict"] == ("fail" if "must" in levels else "pass")
    assert run.code == (1 if "must" in levels else 0)


@pytest.mark.parametrize("vendor", available())
def test_fault_declarations_name_catalogue_requirements(vendor: str) -> None:
    catalogue = load_catalogue(vendor)
    for fault in mock_definition(vendor).faults:
        assert fault.may_fail <= set(catalogue), fault.name
        assert all("-GEN-" in req for req in fault.may_also), fault.name

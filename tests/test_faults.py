"""Mutation testing of the suite: every mock fault fails exactly the requirements it declares.

A fault turns one documented behaviour off.  The run must fail the requirement(s) that
behaviour owns (``Fault.fails``) and nothing else -- except generated-check requirements the
fault declares as ``may_also`` (whether sampled inputs show the fault depends on the draw).
Other requirements may at most be blocked by those.  A fault that "breaks everything" can no longer count as caught, and a check that blames
the wrong requirement shows up as an extra failure.  The verdict is FAIL exactly when one of the
declared requirements is a ``must`` (a should-level fault is reported, not gated).

Each run is limited to the checks that name the fault's requirements (``--requirement``: the
table rows that own them, the generated checks for a generated-check requirement, every check for
the shared envelope/transport/served requirements), and the exact-set assertion holds over
everything those checks recorded -- their requirements and whatever they met along the way.  The
whole suite against a faulted mock, where no check outside the fault's rows may blame anything
either, is ``tests/test_conformance_runs.py::test_fault_is_caught`` (one fault per vendor, through
the CLI) and ``tests/test_verdicts.py::test_blocked_is_reported_everywhere``.
"""

from __future__ import annotations

import pytest

from conformance.mocks import available, mock_definition
from conformance.profiles import profile_class
from conformance.requirements import load_catalogue
from conformance.runner import UsageProblem
from tests.runs import run_mock

FAULTS = [(vendor, fault) for vendor in available() for fault in mock_definition(vendor).faults]
# Faults whose own rows catch them only after other checks ran: these get the whole suite.
WHOLE_SUITE = {
    # HW-SHAPE-006's probe (list-keys with limit "1") creates one key: a limit is visibly ignored
    # only when the account holds a second key, which earlier checks of a whole run have created.
    ("huawei", "list-ignores-limit"),
}


@pytest.mark.parametrize(("vendor", "fault"), FAULTS, ids=[f"{v}-{f.name}" for v, f in FAULTS])
def test_fault_fails_exactly_its_requirements(tmp_path, vendor: str, fault) -> None:
    selected = () if (vendor, fault.name) in WHOLE_SUITE else tuple(sorted(fault.fails))
    # Whether a drawn case shows a fault matters only for the generated-check requirements it
    # fails: those runs draw the default number of cases; the others (generated checks run there
    # only because an envelope/transport requirement or the whole suite selects every check) draw
    # two per operation.
    drawn = set(fault.fails) & set(profile_class(vendor).generated_requirements.values())
    examples = {} if drawn else {"max_examples": 2}
    run = run_mock(vendor, tmp_path, faults=[fault.name], requirement=selected, **examples)
    assert set(fault.fails) <= run.failed <= set(fault.may_fail), run.explain()
    assert run.summary["totals"]["tests"] > 0
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


# Requirements the tables name that no fault breaks yet: nothing proves the suite would notice
# them broken (each wants a mock fault).  The set may only shrink -- a fault deleted or renamed
# away from the last requirement it guarded fails the test below.
NOT_YET_FAULTED = {
    "huawei": set(
        "HW-API-001 HW-AUTH-002 HW-GEN-002 HW-GEN-003 HW-GEN-004 HW-GEN-005 HW-GEN-006 "
        "HW-SHAPE-001 HW-SHAPE-003 HW-SHAPE-007 HW-STATE-001 HW-STATE-005 HW-STATE-009 "
        "HW-STATE-010 HW-STATE-011 HW-STATE-012 HW-VAL-002 HW-VAL-004 HW-VAL-005 HW-VAL-011 "
        "HW-VAL-012 HW-VAL-013 HW-VAL-014".split()
    ),
    "thales": set(
        "TH-API-001 TH-AUTH-001 TH-AUTH-004 TH-AUTH-005 TH-AUTH-007 TH-AUTH-008 TH-GEN-002 "
        "TH-GEN-003 TH-GEN-004 TH-GEN-005 TH-PAG-002 TH-PAG-004 TH-SHAPE-003 TH-SHAPE-004 "
        "TH-STATE-001 TH-STATE-002 TH-STATE-004 TH-STATE-006 TH-TRANSPORT-001 TH-VAL-001 "
        "TH-VAL-005 TH-VAL-006 TH-VAL-007".split()
    ),
    "yandex": set(
        "YC-API-001 YC-ASYNC-005 YC-GEN-004 YC-GEN-005 YC-SHAPE-004 YC-STATE-004 "
        "YC-TRANSPORT-001 YC-VAL-002 YC-VAL-004 YC-VAL-006 YC-VAL-007 YC-VAL-009".split()
    ),
}


@pytest.mark.parametrize("vendor", available())
def test_every_faulted_requirement_keeps_a_fault(vendor: str) -> None:
    """Mutation coverage only grows: every requirement the tables name is broken by some fault,
    except those ``NOT_YET_FAULTED`` lists."""
    named = set(profile_class(vendor).named_requirements())
    faulted = {req for fault in mock_definition(vendor).faults for req in fault.fails}
    assert named - faulted <= NOT_YET_FAULTED.get(vendor, set()), sorted(named - faulted)


def test_requirement_selection_runs_the_rows_that_name_it(tmp_path) -> None:
    """``--requirement``: only the checks naming the id run; the rest of the catalogue says why it
    was not checked (never failed, never blocked, never "no check ran")."""
    run = run_mock("huawei", tmp_path, requirement=("HW-STATE-00[34]",))
    assert run.code == 0 and run.summary["verdict"] == "pass", run.explain()
    assert {"HW-STATE-003", "HW-STATE-004"} <= run.with_status("passed")
    transitions = [
        t for t in profile_class("huawei").transitions if t.requirement in ("HW-STATE-003", "HW-STATE-004")
    ]
    assert run.summary["totals"]["tests"] == len(transitions)
    for row in run.summary["requirements"]:
        if row["status"] != "passed":
            assert row["status"] == "not_covered" and row["message"].startswith("not selected"), row


def test_requirement_selection_of_an_unknown_id_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageProblem, match="HW-NOPE-1"):
        run_mock("huawei", tmp_path, requirement=("HW-STATE-001", "HW-NOPE-1"))

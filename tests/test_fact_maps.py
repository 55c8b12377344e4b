"""Each vendor's fact map, catalogue and spec agree: the map is the honest list of what the docs promise.

- every requirement the map names exists in the catalogue, and every catalogue requirement is
  named by at least one fact (a requirement no documented behaviour asks for is a suite opinion);
- every operation of the spec has at least one fact (a whole operation is not silently unmapped);
- every row has a decision: requirement ids, or a reason from the fixed list.
"""

from __future__ import annotations

import pytest

from conformance import facts, vendors
from conformance.requirements import load_catalogue
from conformance.specs import load_spec

MAPPED = [v for v in vendors.names() if facts.load_facts(v)]


def _operations(vendor: str) -> set[str]:
    spec = load_spec(vendors.get(vendor).spec)
    return {
        op["operationId"]
        for item in spec.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def test_every_bundled_vendor_has_a_fact_map() -> None:
    assert MAPPED == list(vendors.names())


@pytest.mark.parametrize("vendor", MAPPED)
def test_map_names_only_catalogued_requirements(vendor: str) -> None:
    catalogue = load_catalogue(vendor)
    unknown = sorted({r for f in facts.load_facts(vendor) for r in f.requirements} - set(catalogue))
    assert not unknown, f"{vendor}/facts.toml names requirements the catalogue lacks: {unknown}"


@pytest.mark.parametrize("vendor", MAPPED)
def test_every_requirement_answers_a_fact(vendor: str) -> None:
    named = {r for f in facts.load_facts(vendor) for r in f.requirements}
    unmapped = sorted(set(load_catalogue(vendor)) - named)
    assert not unmapped, f"no fact in {vendor}/facts.toml is checked by: {unmapped}"


@pytest.mark.parametrize("vendor", MAPPED)
def test_every_spec_operation_is_mapped(vendor: str) -> None:
    mapped = {f.operation for f in facts.load_facts(vendor)}
    missing = sorted(_operations(vendor) - mapped)
    assert not missing, f"operations of specs/{vendor}.yaml without a fact: {missing}"
    unknown = sorted(mapped - _operations(vendor) - {"*"})
    assert not unknown, f"facts name operations the spec lacks: {unknown}"


@pytest.mark.parametrize("vendor", MAPPED)
def test_must_requirements_rest_on_documented_facts(vendor: str) -> None:
    """A ``must`` is a doc sentence: at least one documented fact must be checked by it."""
    catalogue = load_catalogue(vendor)
    documented = {r for f in facts.load_facts(vendor) if f.documented for r in f.requirements}
    only_inferred = sorted(r for r, req in catalogue.items() if req.level == "must" and r not in documented)
    assert not only_inferred, f"must requirements backed only by inferred facts: {only_inferred}"


def test_a_row_without_a_decision_is_refused(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "facts.toml"
    bad.write_text(
        '[[fact]]\nid = "X-1"\noperation = "*"\nkind = "state"\nstatement = "s"\n'
        'source = "https://example.test/doc"\ndocumented = true\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(facts, "path_for", lambda vendor: bad)
    facts.load_facts.cache_clear()
    try:
        with pytest.raises(facts.FactMapError, match="needs a reason"):
            facts.load_facts("huawei")
    finally:
        facts.load_facts.cache_clear()


# -- the report shows coverage -------------------------------------------------------------------


def test_a_fact_is_as_good_as_the_worst_of_its_requirements() -> None:
    vendor = MAPPED[0]
    checked = [f for f in facts.load_facts(vendor) if f.documented and f.checked]
    everything = {r: "passed" for f in checked for r in f.requirements}
    held = facts.run_coverage(vendor, everything)
    assert held is not None and held["this_run"] == {"passed": len(checked), "failed": 0, "not_covered": 0}
    broken = checked[0].requirements[0]
    owning = sum(broken in f.requirements for f in checked)
    for status, bucket in (("failed", "failed"), ("blocked", "failed"), ("not_covered", "not_covered")):
        run = facts.run_coverage(vendor, {**everything, broken: status})
        assert run is not None
        assert run["this_run"][bucket] == owning and run["this_run"]["passed"] == len(checked) - owning
    assert held["checked"] + sum(held["not_checked"].values()) == held["documented"]


def test_summary_terminal_and_report_show_coverage(tmp_path) -> None:
    from tests.runs import run_mock

    vendor = MAPPED[0]
    run = run_mock(vendor, tmp_path, requirement=(next(iter(load_catalogue(vendor))),))
    coverage = run.summary["coverage"]
    expected = facts.coverage(vendor)
    assert expected is not None and coverage["documented"] == expected.documented
    assert coverage["this_run"]["not_covered"] > 0  # a run limited to one requirement covers little
    line = facts.coverage_line(coverage)
    assert f"coverage: {line}" in run.output
    html = (run.report_dir / "report.html").read_text(encoding="utf-8")
    assert "documented behaviours have a requirement" in html


def test_a_broken_fact_map_stops_the_run_before_any_check(tmp_path, monkeypatch) -> None:
    from conformance.runner import UsageProblem
    from tests.runs import run_mock

    bad = tmp_path / "facts.toml"
    bad.write_text("[[fact]]\nid = 'X'\nkind = 'nonsense'\n", encoding="utf-8")
    monkeypatch.setattr(facts, "path_for", lambda vendor: bad)
    facts.load_facts.cache_clear()
    try:
        with pytest.raises(UsageProblem, match="facts.toml"):
            run_mock("huawei", tmp_path)
    finally:
        facts.load_facts.cache_clear()

"""The tolerance matrix: every documented alternative (and every undocumented choice) passes.

Each mock option is a choice the vendor docs leave open.  The suite must pass the mock in every
value of every option and in a pairwise combination of them (every pair of values of two options
appears in some run).  Where an option's value is an undocumented choice, the suite may observe it
at ``should`` level -- only the requirements the option declares (``Option.may_fail``), never a
``must``.

The runs draw ``MAX_EXAMPLES`` generated cases per operation: an option changes how the mock
answers documented requests, which the scenario rows send in full either way.  The faithful
mock with the default draw (10 cases per operation) is ``tests/test_conformance_runs.py``.
"""

from __future__ import annotations

import pytest

from conformance.mocks import available, mock_definition
from conformance.requirements import load_catalogue
from conformance.settings import SECRET_FIELDS
from tests.runs import pairwise, run_mock


def _combinations(vendor: str) -> list[dict[str, str]]:
    options = mock_definition(vendor).options
    rows = pairwise({o.name: [o.default, *(c for c in o.choices if c != o.default)] for o in options})
    defaults = {o.name: o.default for o in options}
    return rows if defaults in rows else [defaults, *rows]


def _defaults(vendor: str) -> dict[str, str]:
    return {o.name: o.default for o in mock_definition(vendor).options}


# The all-defaults row is the faithful mock: tests/test_conformance_runs.py::test_faithful_mock_passes
# runs it through the CLI at the default draw and holds it to more (every requirement passed, no
# credential in any output), so it is not run again here.
CASES = [(v, combo) for v in available() for combo in _combinations(v) if combo != _defaults(v)]
MAX_EXAMPLES = 1


def _label(vendor: str, combo: dict[str, str]) -> str:
    defaults = {o.name: o.default for o in mock_definition(vendor).options}
    changed = [f"{k}={v}" for k, v in combo.items() if defaults[k] != v]
    return f"{vendor}-{'-'.join(changed)}"


@pytest.mark.parametrize(("vendor", "combo"), CASES, ids=[_label(v, c) for v, c in CASES])
def test_every_documented_alternative_passes(tmp_path, vendor: str, combo: dict[str, str]) -> None:
    run = run_mock(vendor, tmp_path, options=combo, max_examples=MAX_EXAMPLES)
    allowed = {req for o in mock_definition(vendor).options for req in o.may_fail.get(combo[o.name], ())}
    assert run.code == 0 and run.summary["verdict"] == "pass", run.explain()
    assert run.failed <= allowed, run.explain()
    assert run.with_status("blocked") == set(), run.explain()
    # No credential of the run reaches any output (reports, JUnit, SARIF, ledger, terminal).
    definition = mock_definition(vendor)
    secrets = [
        v
        for k, v in definition.credentials(definition.config((), combo)).items()
        if k in SECRET_FIELDS and len(v) >= 6
    ]
    written = "\n".join(p.read_text(errors="replace") for p in run.report_dir.rglob("*") if p.is_file())
    assert not [s for s in secrets if s in written + run.output]


@pytest.mark.parametrize("vendor", available())
def test_every_switch_builds_a_mock(vendor: str) -> None:
    """Each fault and each value of each option builds the mock's app (in this process, no
    server): a switch the code reads but no longer declares fails here, not in a run."""
    definition = mock_definition(vendor)
    configs = [definition.config()] + [definition.config([f.name]) for f in definition.faults]
    configs += [definition.config((), {o.name: c}) for o in definition.options for c in o.choices]
    for config in configs:
        assert definition.create_app(config) is not None, (config.faults, dict(config.options))


@pytest.mark.parametrize("vendor", available())
def test_pairwise_covers_every_pair(vendor: str) -> None:
    options = {o.name: list(o.choices) for o in mock_definition(vendor).options}
    rows = _combinations(vendor)
    names = list(options)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for va in options[a]:
                for vb in options[b]:
                    assert any(r[a] == va and r[b] == vb for r in rows), (a, va, b, vb)


@pytest.mark.parametrize("vendor", available())
def test_observed_choices_are_should_requirements(vendor: str) -> None:
    """An option may only ever fail should-level requirements: undocumented is never a must."""
    catalogue = load_catalogue(vendor)
    for option in mock_definition(vendor).options:
        assert set(option.may_fail) <= set(option.choices), option.name
        for requirements in option.may_fail.values():
            for req in requirements:
                assert catalogue[req].level == "should", (option.name, req)

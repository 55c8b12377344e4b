"""The suite against the bundled mocks, both directions (mutation testing of the suite).

A faithful mock must pass with every requirement covered; each fault switch turns off one
documented behaviour and must make the run fail (exit 1) with the matching requirement failed.
"""

from __future__ import annotations

import pytest

from conformance.mocks import available, mock_definition
from conformance.settings import SECRET_FIELDS

VENDORS = available()
FAULTS = [(vendor, fault.name) for vendor in VENDORS for fault in mock_definition(vendor).faults]
MODES = [(vendor, ()) for vendor in VENDORS]
MODES += [(v, (f"{o.name}={c}",)) for v in VENDORS for o in mock_definition(v).options for c in o.choices if c != o.default]


@pytest.mark.parametrize(("vendor", "options"), MODES, ids=[f"{v}-{'-'.join(o) or 'default'}" for v, o in MODES])
def test_faithful_mock_passes(cli, vendor: str, options: tuple[str, ...]) -> None:
    args = ["run", "--vendor", vendor]
    for option in options:
        args += ["--mock-option", option]
    result = cli(*args)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.summary
    assert summary["verdict"] == "pass"
    not_passed = [(r["id"], r["status"], r["message"][:200]) for r in summary["requirements"] if r["status"] != "passed"]
    assert not_passed == []
    assert "verdict: PASS" in result.stdout
    assert (result.report_dir / "report.html").exists() and (result.report_dir / "junit.xml").exists()
    # No credential of the run reaches any output (reports, JUnit, SARIF, ledger, terminal).
    secrets = [v for k, v in mock_definition(vendor).credentials(mock_definition(vendor).config()).items()
               if k in SECRET_FIELDS and len(v) >= 6]
    written = "\n".join(p.read_text(errors="replace") for p in result.report_dir.rglob("*") if p.is_file())
    leaked = [s for s in secrets if s in written + result.stdout + result.stderr]
    assert not leaked


@pytest.mark.parametrize(("vendor", "fault"), FAULTS, ids=[f"{v}-{f}" for v, f in FAULTS])
def test_fault_is_caught(cli, vendor: str, fault: str) -> None:
    requirement = mock_definition(vendor).fault(fault).requirement
    result = cli("run", "--vendor", vendor, "--mock-fault", fault)
    assert result.code == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.summary["verdict"] == "fail"
    assert result.status(requirement) == "failed", f"{fault} should fail {requirement}"

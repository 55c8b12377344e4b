"""End to end through the real CLI: one faithful and one faulted run per vendor.

The full mutation matrix (every fault, exact set of failed requirements) is
``tests/test_faults.py`` and the tolerance matrix (every option value, pairwise) is
``tests/test_tolerance.py``, both in-process; this file proves the command line around them:
exit codes, report files, and that no credential reaches any output.
"""

from __future__ import annotations

import pytest

from conformance.mocks import available, mock_definition
from conformance.settings import SECRET_FIELDS

VENDORS = available()
# One must-level fault per vendor (exit 1 through the CLI).
FAULTS = [("huawei", "cancel-to-enabled"), ("thales", "cancel-to-enabled"), ("yandex", "no-deactivate")]
MODES = [(vendor, ()) for vendor in VENDORS]


@pytest.mark.parametrize(
    ("vendor", "options"), MODES, ids=[f"{v}-{'-'.join(o) or 'default'}" for v, o in MODES]
)
def test_faithful_mock_passes(cli, vendor: str, options: tuple[str, ...]) -> None:
    args = ["run", "--vendor", vendor]
    for option in options:
        args += ["--mock-option", option]
    result = cli(*args)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.summary
    assert summary["verdict"] == "pass"
    not_passed = [
        (r["id"], r["status"], r["message"][:200]) for r in summary["requirements"] if r["status"] != "passed"
    ]
    assert not_passed == []
    assert "verdict: PASS" in result.stdout
    assert (result.report_dir / "report.html").exists() and (result.report_dir / "junit.xml").exists()
    # No credential of the run reaches any output (reports, JUnit, SARIF, ledger, terminal).
    secrets = [
        v
        for k, v in mock_definition(vendor).credentials(mock_definition(vendor).config()).items()
        if k in SECRET_FIELDS and len(v) >= 6
    ]
    written = "\n".join(p.read_text(errors="replace") for p in result.report_dir.rglob("*") if p.is_file())
    leaked = [s for s in secrets if s in written + result.stdout + result.stderr]
    assert not leaked


@pytest.mark.parametrize(("vendor", "fault"), FAULTS, ids=[f"{v}-{f}" for v, f in FAULTS])
def test_fault_is_caught(cli, vendor: str, fault: str) -> None:
    declared = mock_definition(vendor).fault(fault)
    # A scenario fault: two generated cases per operation keep the whole suite in the run.
    result = cli("run", "--vendor", vendor, "--mock-fault", fault, "--max-examples", "2")
    assert result.code == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.summary["verdict"] == "fail"
    failed = {r["id"] for r in result.summary["requirements"] if r["status"] == "failed"}
    assert declared.fails <= failed <= declared.may_fail
    assert f"bundled mock with fault {fault}" in result.stdout

"""Gate controls: baseline (expiry, signatures, --baseline-update), --strict, --level."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conformance.report.baseline import (
    REASON_PLACEHOLDER,
    BaselineEntry,
    BaselineError,
    load_baseline,
    updated_baseline,
)
from conformance.report.summary import build_summary
from conformance.requirements import Requirement
from conformance.verdict import FAILED, PASSED, RequirementRecord

TODAY = dt.date(2026, 11, 22)
CATALOGUE = {
    "X-STATE-001": Requirement("X-STATE-001", "must", "state", "a state rule", "https://doc.example/state"),
    "X-GEN-001": Requirement("X-GEN-001", "must", "generated", "no 5xx", "https://doc.example/gen"),
    "X-SHAPE-001": Requirement("X-SHAPE-001", "should", "shape", "a shape rule", "https://doc.example/shape"),
}
GEN_FAILURE = "POST /v1/keys: ST101 Server error\n  reproduce: curl -X POST http://127.0.0.1/v1/keys"


def _records(*failed: str) -> dict[str, RequirementRecord]:
    records = {}
    for req in CATALOGUE:
        record = RequirementRecord()
        if req in failed:
            record.add(f"test[{req}]", FAILED, GEN_FAILURE if req == "X-GEN-001" else "expected 400, got 200")
        else:
            record.add(f"test[{req}]", PASSED)
        records[req] = record
    return records


def _summary(
    failed: tuple[str, ...],
    baseline: dict[str, BaselineEntry] | None = None,
    gate: tuple[str, ...] = ("must",),
) -> dict:
    return build_summary(
        vendor="x",
        target="http://t",
        started_at=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
        duration_s=1,
        catalogue=CATALOGUE,
        records=_records(*failed),
        baseline=baseline,
        gate_levels=gate,
        today=TODAY,
    )


def _status(summary: dict, req: str) -> str:
    return next(r["status"] for r in summary["requirements"] if r["id"] == req)


def test_active_entry_allows_and_expired_entry_fails_again() -> None:
    active = {"X-STATE-001": BaselineEntry("X-STATE-001", "known", TODAY)}  # expires today: still active
    summary = _summary(("X-STATE-001",), active)
    assert _status(summary, "X-STATE-001") == "allowed" and summary["verdict"] == "pass"
    expired = {"X-STATE-001": BaselineEntry("X-STATE-001", "known", TODAY - dt.timedelta(days=1))}
    summary = _summary(("X-STATE-001",), expired)
    assert _status(summary, "X-STATE-001") == "failed" and summary["verdict"] == "fail"
    assert "expired on 2026-11-21" in summary["requirements"][0]["message"]


def test_signatures_allow_only_the_known_generated_failures() -> None:
    matching = {"X-GEN-001": BaselineEntry("X-GEN-001", "known 500", None, ("POST /v1/keys: ST101 *",))}
    assert _status(_summary(("X-GEN-001",), matching), "X-GEN-001") == "allowed"
    other = {"X-GEN-001": BaselineEntry("X-GEN-001", "known 500", None, ("GET /v1/keys: ST101 *",))}
    summary = _summary(("X-GEN-001",), other)
    assert (
        _status(summary, "X-GEN-001") == "failed"
        and "outside the baseline entry's signatures" in summary["requirements"][1]["message"]
    )
    assert summary["requirements"][1]["signatures"] == ["POST /v1/keys: ST101 Server error"]


def test_level_should_gates_should_requirements() -> None:
    assert _summary(("X-SHAPE-001",), gate=("must",))["verdict"] == "pass"
    assert _summary(("X-SHAPE-001",), gate=("must", "should"))["verdict"] == "fail"


def test_update_keeps_explained_entries_and_adds_placeholders() -> None:
    existing = {
        "X-STATE-001": BaselineEntry("X-STATE-001", "vendor ticket 42", dt.date(2027, 1, 1)),
        "X-SHAPE-001": BaselineEntry("X-SHAPE-001", "fixed since", dt.date(2027, 1, 1)),
        "Y-OTHER-001": BaselineEntry("Y-OTHER-001", "another vendor", None),
    }
    summary = _summary(("X-STATE-001", "X-GEN-001"), existing)
    entries = updated_baseline(existing, [summary], today=TODAY)
    assert entries["X-STATE-001"] == existing["X-STATE-001"]
    assert "X-SHAPE-001" not in entries  # passes now
    assert entries["Y-OTHER-001"] == existing["Y-OTHER-001"]  # not part of this run
    new = entries["X-GEN-001"]
    assert new.reason == REASON_PLACEHOLDER and new.expires == TODAY + dt.timedelta(days=90)
    assert new.signatures == ("POST /v1/keys: ST101 Server error",)


def test_bad_signatures_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"entries": [{"id": "X", "reason": "r", "signatures": "not a list"}]}))
    with pytest.raises(BaselineError):
        load_baseline(path)


# -- through the CLI -------------------------------------------------------------------------------

FAST = ("--scope", "lifecycle", "--max-examples", "2", "--progress", "off")
# Once the first run has shown HW-STATE-004 is the fault's only failure, the gate runs need only
# its rows (--requirement through the CLI): the gate reads the same summary either way.
ITS_ROWS = (*FAST, "--requirement", "HW-STATE-004")


def test_baseline_update_then_gate_then_strict(cli, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    first = cli(
        "run",
        "--vendor",
        "huawei",
        "--mock-fault",
        "cancel-to-enabled",
        *FAST,
        "--baseline",
        str(baseline),
        "--baseline-update",
    )
    assert first.code == 1, first.stderr[-2000:]
    assert f"baseline: wrote 1 entries to {baseline}" in first.stdout
    entries = load_baseline(baseline)
    assert set(entries) == {"HW-STATE-004"}
    assert all(
        e.reason == REASON_PLACEHOLDER and e.expires == dt.date.today() + dt.timedelta(days=90)
        for e in entries.values()
    )

    allowed = cli(
        "run",
        "--vendor",
        "huawei",
        "--mock-fault",
        "cancel-to-enabled",
        *ITS_ROWS,
        "--baseline",
        str(baseline),
    )
    assert allowed.code == 0, allowed.stdout[-2000:]
    assert allowed.status("HW-STATE-004") == "allowed"
    html = (allowed.report_dir / "report.html").read_text()
    assert "allowed by baseline" in html
    sarif = json.loads((allowed.report_dir / "report.sarif").read_text())
    assert all(r["suppressions"][0]["kind"] == "external" for r in sarif["runs"][0]["results"])

    strict = cli(
        "run",
        "--vendor",
        "huawei",
        "--mock-fault",
        "cancel-to-enabled",
        *ITS_ROWS,
        "--baseline",
        str(baseline),
        "--strict",
    )
    assert strict.code == 1 and strict.status("HW-STATE-004") == "failed"

    data = json.loads(baseline.read_text())
    for row in data["entries"]:
        row["expires"] = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    baseline.write_text(json.dumps(data))
    expired = cli(
        "run",
        "--vendor",
        "huawei",
        "--mock-fault",
        "cancel-to-enabled",
        *ITS_ROWS,
        "--baseline",
        str(baseline),
    )
    assert expired.code == 1 and expired.status("HW-STATE-004") == "failed"
    assert "baseline entry expired" in next(
        r["message"] for r in expired.summary["requirements"] if r["id"] == "HW-STATE-004"
    )


def test_baseline_update_needs_a_file(cli) -> None:
    result = cli("run", "--vendor", "huawei", "--baseline-update")
    assert result.code == 2 and "--baseline-update needs --baseline" in result.stderr


def test_level_option_reaches_the_gate(cli) -> None:
    # That a faithful mock passes every requirement, should-level ones included, is
    # tests/test_conformance_runs.py; here the option's way to the gate.
    result = cli("run", "--vendor", "huawei", *ITS_ROWS, "--level", "should")
    assert result.code == 0, result.stdout[-2000:]
    assert result.summary["gate_levels"] == ["must", "should"]

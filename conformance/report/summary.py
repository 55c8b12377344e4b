"""summary.json (schema ``kms-conformance/summary/v1``, see docs/design.md) from requirement records."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.report.baseline import BaselineEntry, failure_signatures
from conformance.requirements import Requirement
from conformance.verdict import (
    ALLOWED,
    BLOCKED,
    FAILED,
    GATE_FAILING,
    NOT_COVERED,
    PASSED,
    STATUSES,
    RequirementRecord,
)

SCHEMA = "kms-conformance/summary/v1"


def build_summary(
    *,
    vendor: str,
    target: str,
    started_at: dt.datetime,
    duration_s: float,
    catalogue: Mapping[str, Requirement],
    records: Mapping[str, RequirementRecord],
    baseline: Mapping[str, BaselineEntry] | None = None,
    tests: int = 0,
    requests: int = 0,
    requests_by_check: Mapping[str, int] | None = None,
    gate_levels: tuple[str, ...] = ("must",),
    today: dt.date | None = None,
) -> dict[str, Any]:
    today = today or dt.date.today()
    baseline = baseline or {}
    by_test = {_test_name(check): n for check, n in (requests_by_check or {}).items()}
    rows = []
    # An outcome recorded under an id the catalogue lacks is a defect of the suite; it is shown
    # (as a must, so a failure still fails the gate) instead of silently dropped.
    unlisted = [
        Requirement(
            rid, "must", "uncatalogued", f"{rid} (recorded by a check, missing from the catalogue)", ""
        )
        for rid in records
        if rid not in catalogue
    ]
    for req in [*catalogue.values(), *unlisted]:
        record = records.get(req.id, RequirementRecord())
        status = record.status
        message = "; ".join(dict.fromkeys(record.messages))
        entry = baseline.get(req.id)
        failures = failure_signatures(record.messages) if status == FAILED else []
        signatures = failures if req.area == "generated" else []
        if status == FAILED and entry is not None:
            if not entry.active(today):
                message = f"baseline entry expired on {entry.expires}: {message}"
            elif not entry.covers(failures):
                message = f"failures outside the baseline entry's signatures: {message}"
            else:
                status = ALLOWED
                message = f"allowed by baseline: {entry.reason} (failure: {message})"
        if status == NOT_COVERED:
            message = "; ".join(dict.fromkeys(record.skip_reasons)) or "no check ran for this requirement"
        elif status == BLOCKED:
            message = "; ".join(dict.fromkeys(record.blocked_reasons)) or "a check for it did not complete"
        elif status == PASSED and record.notes:
            message = "; ".join(dict.fromkeys(record.notes))
        rows.append(
            {
                "id": req.id,
                "level": req.level,
                "area": req.area,
                "title": req.title,
                "source": req.source,
                "basis": req.basis,
                "status": status,
                **({"blocked_by": record.blocked_by} if status == BLOCKED and record.blocked_by else {}),
                "tests": record.tests,
                "requests": sum(by_test.get(test, 0) for test in record.tests),
                "message": message,
                "evidence": record.evidence[:3],
                "failed_tests": record.failed_tests,
                **({"signatures": signatures} if signatures else {}),
            }
        )
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    gate_failures = [r for r in rows if r["status"] in GATE_FAILING and r["level"] in gate_levels]
    return {
        "schema": SCHEMA,
        "vendor": vendor,
        "target": target,
        "started_at": started_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(duration_s, 2),
        "verdict": "fail" if gate_failures else "pass",
        "gate_levels": list(gate_levels),
        "totals": {
            "requirements": len(rows),
            **counts,
            "tests": tests,
            "requests": requests,
            "requests_by_layer": requests_by_layer(by_test),
            "by_level": {
                level: {s: sum(1 for r in rows if r["level"] == level and r["status"] == s) for s in counts}
                for level in ("must", "should")
            },
            "by_area": {
                area: {s: sum(1 for r in rows if r["area"] == area and r["status"] == s) for s in counts}
                for area in dict.fromkeys(r["area"] for r in rows)
            },
        },
        "requirements": rows,
        "requests_by_test": dict(sorted(by_test.items(), key=lambda item: (-item[1], item[0]))),
    }


# A check's layer, by the name of the check function (``conformance/checks``).
LAYERS = {
    "test_generated": "generated",
    "test_stateful": "stateful",
    "test_transition": "transitions",
    "test_probe": "probes",
    "run": "run",
    "cleanup": "cleanup",
}


def _test_name(check: str) -> str:
    return check.split("::", 1)[-1]


def requests_by_layer(by_test: Mapping[str, int]) -> dict[str, int]:
    """Requests per layer: generated, stateful, transitions, probes, outside any check (``run``:
    preflight and credentials), ``cleanup``; anything else is ``other``."""
    layers: dict[str, int] = {}
    for test, n in by_test.items():
        layer = LAYERS.get(test.split("[", 1)[0], "other")
        layers[layer] = layers.get(layer, 0) + n
    return dict(sorted(layers.items(), key=lambda item: -item[1]))


def mock_switches(info: Mapping[str, Any]) -> list[str]:
    """The faults and non-default options of a summary's ``mock`` record, as words."""
    return [
        *(f"fault {f}" for f in info.get("faults", [])),
        *(f"{k}={v}" for k, v in info.get("changed_options", {}).items()),
    ]


# Settings a reproduction repeats for a real target: what selects the target and the scratch
# keys' home, never a credential (those come from KMS_CONFORMANCE_* variables).
REPRODUCED_SETTINGS = (
    "project_id",
    "domain",
    "iam_url",
    "kms",
    "region",
    "folder_id",
    "operation_url",
    "other_project_id",
    "other_folder_id",
    "other_kms",
    "other_region",
)


def reproduction_options(settings: object) -> dict[str, Any]:
    """The run's non-default, non-secret settings that a reproduction command repeats."""
    found: dict[str, Any] = {}
    for name in REPRODUCED_SETTINGS:
        value = getattr(settings, name, None)
        if value not in (None, ""):
            found[name] = value
    return found


def reproduce_command(summary: Mapping[str, Any], requirement_id: str) -> str:
    """One command that reproduces a requirement's outcome from scratch.

    For a bundled-mock run it starts the same mock with the same faults and options; for a
    real target it names the target, the run's non-secret options (``summary["run_options"]``)
    and leaves credentials to ``KMS_CONFORMANCE_*`` variables, which never enter a report.
    """
    import shlex

    words = ["kms-conformance", "run", "--vendor", summary["vendor"]]
    mock = summary.get("mock")
    if mock:
        for fault in mock.get("faults", []):
            words += ["--mock-fault", fault]
        for name, value in mock.get("changed_options", {}).items():
            words += ["--mock-option", f"{name}={value}"]
    else:
        words += ["--base-url", summary["target"]]
    for name, value in (summary.get("run_options") or {}).items():
        words += ["--" + name.replace("_", "-"), str(value)]
    transport = summary.get("transport") or {}
    if transport.get("scope", "full") != "full":
        words += ["--scope", transport["scope"]]
    if transport.get("read_only"):
        words.append("--read-only")
    if transport.get("tls_verify") is False:
        words.append("--insecure")
    words += ["--requirement", requirement_id]
    return " ".join(shlex.quote(w) for w in words)


def write_summary(summary: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

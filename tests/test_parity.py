"""Parity: ``run --record`` writes a HAR file, ``parity`` replays it against another target.

No real cloud is reachable here, so each test records a run against the bundled mock under one
set of faults and options and replays it against the mock under others: the same settings match
every exchange; a fault diverges exactly at the exchanges it acts on; calibration finds the
option the recording was made with; no credential reaches the HAR file or the parity output.
Recordings are kept small (a few requirements each) so the replays stay quick.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from conformance.mocks import mock_definition
from conformance.parity import har
from conformance.parity.session import ParityRequest, run_parity
from conformance.runner import RunRequest
from tests.runs import Run, _run

# A few requirements per vendor whose checks create, change and read keys.
SUBSET = {"huawei": ("HW-STATE-*",), "thales": ("TH-STATE-00*",), "yandex": ("YC-STATE-00*",)}


def record(
    vendor: str,
    tmp_path: Path,
    requirement: tuple[str, ...],
    faults: tuple[str, ...] = (),
    options: Mapping[str, str] | None = None,
) -> tuple[Path, Run]:
    path = tmp_path / f"{vendor}-{len(list(tmp_path.iterdir()))}.har"
    values = {"requirement": requirement, "max_examples": 1}
    run = _run(
        vendor,
        tmp_path,
        lambda report_dir: RunRequest(
            vendor, values, report_dir, mock_faults=faults, mock_options=dict(options or {}), record=path
        ),
    )
    assert path.is_file(), run.explain()
    return path, run


def replay(
    vendor: str,
    recording: Path,
    tmp_path: Path,
    faults: tuple[str, ...] = (),
    options: Mapping[str, str] | None = None,
    calibrate: bool = False,
) -> tuple[int, dict[str, Any], str]:
    out_dir = tmp_path / f"parity-{len(list(tmp_path.iterdir()))}"
    out = io.StringIO()
    request = ParityRequest(
        recording,
        vendor,
        {},
        faults,
        dict(options or {}),
        out_dir,
        calibrate=calibrate,
        calibration_budget=120,
    )
    code = run_parity(request, out=out)
    return code, json.loads((out_dir / "parity.json").read_text(encoding="utf-8")), out.getvalue()


def _entries(recording: Path) -> list[dict[str, Any]]:
    return har.read(recording)["entries"]


@pytest.mark.parametrize("vendor", sorted(SUBSET))
def test_the_same_settings_match_every_exchange(tmp_path: Path, vendor: str) -> None:
    recording, run = record(vendor, tmp_path, SUBSET[vendor])
    assert run.code == 0, run.explain()
    code, data, out = replay(vendor, recording, tmp_path)
    totals = data["totals"]
    assert code == 0 and data["verdict"] == "match", out
    assert totals["exchanges"] == len(_entries(recording)) > 10
    assert totals["diverged"] == 0, totals
    assert totals["matched"] + totals["folded"] + totals["skipped"] == totals["exchanges"], totals
    skipped = {r["path"] for r in data["exchanges"] if r["outcome"] == "skipped"}
    assert all("/auth/tokens" in path or "/tokens" in path for path in skipped), skipped  # credential fetches


# (vendor, fault, the request path suffix the fault acts on): a cancel answers the key Enabled.
FAULTS = [
    ("huawei", "cancel-to-enabled", "/kms/cancel-key-deletion"),
    ("thales", "cancel-to-enabled", "/cancel-deletion"),
]


@pytest.mark.parametrize(("vendor", "fault", "acts_on"), FAULTS, ids=[f"{v}-{f}" for v, f, _ in FAULTS])
def test_a_fault_diverges_exactly_where_it_acts(
    tmp_path: Path, vendor: str, fault: str, acts_on: str
) -> None:
    recording, _ = record(vendor, tmp_path, SUBSET[vendor] + ("*-SHAPE-*",))
    code, data, out = replay(vendor, recording, tmp_path, faults=(fault,))
    assert code == 1 and data["verdict"] == "diverge", out
    rows = data["exchanges"]
    # the cancels the recording saw succeed (a refused cancel is refused under the fault too)
    acting = {r["sequence"] for r in rows if r["path"].endswith(acts_on) and r["recorded"]["status"] < 300}
    checks_acting = {r["check"] for r in rows if r["sequence"] in acting}
    diverged = [r for r in rows if r["outcome"] == "diverged"]
    assert acting and acting <= {r["sequence"] for r in diverged}, "every exchange the fault acts on diverges"
    # ... and nothing else does, except later reads of a cancelled key within the same check
    assert {r["check"] for r in diverged} <= checks_acting, [r["path"] for r in diverged]
    first = min(acting)
    assert all(r["sequence"] >= first for r in diverged)


# (vendor, the option recorded, requirements whose checks show it)
CALIBRATIONS = [
    ("huawei", {"missing-credentials": "kms-403"}, ("HW-AUTH-*",)),
    ("thales", {"create-status": "201"}, ("TH-STATE-001",)),
    ("yandex", {"precondition-code": "3"}, ("YC-STATE-*",)),
]


@pytest.mark.parametrize(("vendor", "options", "requirement"), CALIBRATIONS, ids=[c[0] for c in CALIBRATIONS])
def test_calibration_recovers_the_recorded_option(
    tmp_path: Path, vendor: str, options: dict[str, str], requirement: tuple[str, ...]
) -> None:
    recording, _ = record(vendor, tmp_path, requirement, options=options)
    code, data, out = replay(vendor, recording, tmp_path, calibrate=True)
    assert code == 1 and data["totals"]["diverged"] > 0, out  # the defaults differ from the recording
    calibration = data["calibration"]
    assert calibration["best"] == options and calibration["diverged"] == 0, calibration
    code, again, _ = replay(vendor, recording, tmp_path, options=calibration["best"])
    assert code == 0 and again["totals"]["diverged"] == 0


@pytest.mark.parametrize("vendor", sorted(SUBSET))
def test_no_credential_reaches_the_recording_or_the_parity_output(tmp_path: Path, vendor: str) -> None:
    definition = mock_definition(vendor)
    credentials = definition.credentials(definition.config([], {}))
    secret_names = ("token", "password", "sk", "other_token", "forbidden_token", "expired_token")
    secrets = [v for k, v in credentials.items() if k in secret_names and v]
    assert secrets
    recording, _ = record(vendor, tmp_path, SUBSET[vendor] + ("*-AUTH-*",))
    replay(vendor, recording, tmp_path, faults=("cancel-to-enabled",) if vendor != "yandex" else ())
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".har", ".json", ".html")]
    assert any(p.suffix == ".har" for p in written) and any(p.name == "parity.html" for p in written)
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        for secret in secrets:
            assert secret not in text, f"{path.name} holds a credential"


def test_a_file_that_is_not_a_recording_is_one_line_and_exit_2(tmp_path: Path, cli) -> None:
    bad = tmp_path / "garbage.har"
    bad.write_bytes(b"\x00not json{")
    result = cli("parity", str(bad), "--vendor", "huawei", "--output", str(tmp_path / "out"))
    assert result.code == 2, result.stderr
    assert "not a HAR file" in result.stderr and "Traceback" not in result.stderr + result.stdout
    other = tmp_path / "thales.har"
    recording, _ = record("thales", tmp_path, ("TH-STATE-001",))
    other.write_bytes(recording.read_bytes())
    result = cli("parity", str(other), "--vendor", "huawei", "--output", str(tmp_path / "out"))
    assert result.code == 2 and "--vendor thales" in result.stderr, result.stderr


def test_the_mock_fixture_takes_its_options_from_a_recording(tmp_path: Path, kms_mock) -> None:
    import httpx

    recording, _ = record("huawei", tmp_path, ("HW-AUTH-001",), options={"missing-credentials": "kms-403"})
    mock = kms_mock("huawei", calibrated_from=recording)
    answer = httpx.post(f"{mock.url}/v1.0/{mock.credentials['project_id']}/kms/describe-key", json={})
    assert answer.status_code == 403, answer.text  # the faithful default is the gateway's 401
    assert (
        kms_mock("huawei").credentials
        and httpx.post(
            f"{kms_mock('huawei').url}/v1.0/{mock.credentials['project_id']}/kms/describe-key", json={}
        ).status_code
        == 401
    )

"""A fourth vendor is one folder and one registry line.

``tests/example_vendor/`` holds a three-operation spec, a profile, a catalogue and a mock.  The
tests register it the way a plug-in package would -- an entry point in the
``kms_conformance.vendors`` group, here in a throw-away distribution on ``PYTHONPATH`` -- and run
``kms-conformance`` on it: a faithful mock passes every requirement, a faulted one fails exactly
the requirement its fault names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process in which the example vendor is registered."""
    site = tmp_path_factory.mktemp("site")
    info = site / "kms_conformance_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kms-conformance-example\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[kms_conformance.vendors]\nexample = tests.example_vendor:VENDOR\n"  # the one registry line
    )
    path = os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_registered_vendor_is_listed_everywhere(registered: dict[str, str]) -> None:
    listed = _cli(registered, "requirements", "--vendor", "example")
    assert listed.returncode == 0, listed.stderr
    assert "EX-STATE-002" in listed.stdout and "11 requirements" in listed.stdout
    switches = _cli(registered, "mock", "--vendor", "example", "--list")
    assert "fault  delete-twice-allowed [EX-STATE-003]" in switches.stdout


def test_faithful_example_mock_passes_every_requirement(registered: dict[str, str], tmp_path: Path) -> None:
    result = _cli(
        registered, "run", "--vendor", "example", "--report-dir", str(tmp_path), "--max-examples", "3"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {r["status"] for r in summary["requirements"]} == {"passed"}, summary["requirements"]
    assert len(summary["requirements"]) == 11


def test_example_fault_fails_exactly_its_requirement(registered: dict[str, str], tmp_path: Path) -> None:
    result = _cli(
        registered,
        "run",
        "--vendor",
        "example",
        "--report-dir",
        str(tmp_path),
        "--max-examples",
        "3",
        "--mock-fault",
        "delete-twice-allowed",
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {r["id"] for r in summary["requirements"] if r["status"] != "passed"} == {"EX-STATE-003"}


def test_unregistered_vendor_is_one_line_usage_error() -> None:
    result = _cli(dict(os.environ), "run", "--vendor", "example")
    assert result.returncode == 2
    assert "Invalid value for '--vendor'" in result.stderr and "Traceback" not in result.stderr

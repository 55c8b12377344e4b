"""The curl line a report shows for a failure reproduces it against the (still running) target."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli


def test_curl_from_the_report_reproduces_the_failure(kms_mock, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    mock = kms_mock("huawei", faults=["cancel-to-enabled"])
    token, project = mock.credentials["token"], mock.credentials["project_id"]
    report_dir = tmp_path / "run"
    result = run_cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        mock.url,
        "--project-id",
        project,
        "--token",
        token,
        "--scope",
        "lifecycle",
        "--max-examples",
        "1",
        report_dir=report_dir,
    )
    assert result.code == 1, result.stdout[-2000:] + result.stderr[-2000:]
    row = next(r for r in result.summary["requirements"] if r["id"] == "HW-STATE-004")
    assert row["status"] == "failed"
    for path in report_dir.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path.name
    html = (report_dir / "report.html").read_text()
    curls = re.findall(r"<pre class='kms-curl'>([^<]*)</pre>", html)
    cancel = next(c for c in curls if "cancel-key-deletion" in c and mock.url in c)
    import html as html_lib

    command = html_lib.unescape(cancel)
    assert command == next(
        line.removeprefix("reproduce: ")
        for line in row["evidence"][0].splitlines()
        if line.startswith("reproduce: ") and "cancel-key-deletion" in line
    )
    env = {"PATH": os.environ["PATH"], "KMS_CONFORMANCE_TOKEN": token}
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    # The run's cleanup scheduled the key for deletion again; cancelling it shows the same fault:
    # the key comes back enabled ("2") where the docs say disabled ("3").
    assert answer["key_state"] == "2", answer
    without = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=30, env={"PATH": os.environ["PATH"]}
    )
    assert json.loads(without.stdout).get("error_code") or json.loads(without.stdout).get("error")  # refused

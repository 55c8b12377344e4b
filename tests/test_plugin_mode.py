"""Plugin mode keeps the CLI's safety rules: run id, ledger, cleanup, redaction.

``pytest --pyargs conformance.checks --kms-vendor ...`` creates scratch keys exactly like
``kms-conformance run``; it must write a ledger as they appear, clean them at the end, say so on
the terminal, and keep credentials out of everything it writes.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from conformance import vendors
from conformance.ledger import Ledger
from conformance.mocks import RunningMock, mock_definition
from conformance.options import plugin_spelling
from tests.servers.hostile import HostileServer


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        "conformance.checks",
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(tmp_path),
        "-c",
        str(tmp_path / "pytest.ini"),
        "--kms-scope",
        "lifecycle",
        "--kms-max-examples",
        "1",
        # No assertion rewriting of the plugin packages (kms-conformance, hypothesis: some hundred
        # modules, 6 s a run where bytecode is not cached): what is checked here is the ledger.
        "--assert=plain",
        *args,
    ]
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=300, cwd=tmp_path, stdin=subprocess.DEVNULL
    )


def test_plugin_mode_writes_a_ledger_and_cleans_up(tmp_path: Path) -> None:
    summary = tmp_path / "out" / "summary.json"
    proc = _pytest(tmp_path, "--kms-vendor", "huawei", "--kms-summary", str(summary))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    ledger = summary.parent / "ledger.jsonl"
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    created = {r["key_id"] for r in records if r["event"] == "created"}
    assert created and Ledger(ledger).pending() == []
    assert set(json.loads(summary.read_text())["cleanup"]["cleaned"]) == created
    assert f"cleanup: {len(created)} scratch keys scheduled for deletion" in proc.stdout


def test_plugin_mode_keys_left_are_named_with_the_command_to_finish(tmp_path: Path) -> None:
    """Against a real-looking target that refuses deletions: the ledger keeps the keys pending and
    the terminal names the ledger and the cleanup command; no secret reaches any output."""
    definition = mock_definition("thales")
    config = definition.config([])
    creds = definition.credentials(config)
    ledger = tmp_path / "keys.jsonl"
    with (
        RunningMock(definition.create_app(config)) as mock,
        HostileServer("thales", mock.url, "refuse-deletion") as hostile,
    ):
        args = [
            "--kms-vendor",
            "thales",
            "--kms-base-url",
            hostile.url,
            "--kms-ledger",
            str(ledger),
            "--kms-timeout",
            "5",
            "-k",
            "STATE-002",
        ]
        for name, value in creds.items():
            args += [f"--kms-{name.replace('_', '-')}", value]
        proc = _pytest(tmp_path, *args)
        created = hostile.created
    pending = {e.key_id for e in Ledger(ledger).pending()}
    assert created and pending == created, proc.stdout[-3000:]
    assert f"{len(pending)} left -- finish with: kms-conformance cleanup --ledger {ledger}" in proc.stdout
    assert creds["password"] not in proc.stdout + proc.stderr + ledger.read_text()


def test_summary_in_a_missing_folder_is_written_there(tmp_path: Path) -> None:
    """``--kms-summary`` in folders that do not exist yet: they are created, as the CLI creates
    ``--report-dir`` (the ledger elsewhere, so it is not the ledger that creates them)."""
    summary = tmp_path / "not" / "yet" / "summary.json"
    ledger = tmp_path / "keys.jsonl"
    args = ["--kms-summary", str(summary), "--kms-ledger", str(ledger), "--kms-requirement", "HW-AUTH-004"]
    proc = _pytest(tmp_path, "--kms-vendor", "huawei", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert json.loads(summary.read_text())["vendor"] == "huawei"


def test_summary_folder_that_cannot_be_created_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    summary = tmp_path / "a-file" / "summary.json"
    proc = _pytest(tmp_path, "--kms-vendor", "huawei", "--kms-summary", str(summary))
    assert proc.returncode == 4, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        f"ERROR: kms-conformance: --kms-summary {summary}: {summary.parent} is a file, not a folder"
    ]
    assert " passed" not in proc.stdout and " failed" not in proc.stdout


def test_unknown_vendor_is_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "--kms-vendor", "nosuch")
    assert proc.returncode == 4, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    known = ", ".join(vendors.names())
    assert lines == [f"ERROR: kms-conformance: unknown vendor 'nosuch' (registered: {known})"]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_target_ends_the_session_before_any_check(tmp_path: Path) -> None:
    """The CLI's preflight: one redacted line, exit 3, no check run, no summary written."""
    token = "plugin-mode-secret-token-5f1c"
    url = f"http://user:{token}@127.0.0.1:{_closed_port()}"
    summary = tmp_path / "out" / "summary.json"
    args = [
        "--kms-base-url",
        url,
        "--kms-project-id",
        "p1",
        "--kms-token",
        token,
        "--kms-summary",
        str(summary),
    ]
    proc = _pytest(tmp_path, "--kms-vendor", "huawei", *args)
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output and token not in output
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "kms-conformance: the target cannot be used: cannot connect to" in lines[0], (
        output
    )
    assert " passed" not in proc.stdout and " failed" not in proc.stdout
    assert not summary.exists()


def test_plugin_reasons_name_the_plugin_options(tmp_path: Path) -> None:
    """A real-looking target without a forbidden token: the not-covered reason names the option
    the plugin takes (``--kms-forbidden-token``), in summary.json and in pytest's skip line
    (``tests/test_huawei_targets.py`` holds the CLI to ``--forbidden-token``)."""
    definition = mock_definition("huawei")
    creds = definition.credentials(definition.config([]))
    summary = tmp_path / "summary.json"
    with RunningMock(definition.create_app(definition.config([]))) as mock:
        args = [
            "--kms-base-url",
            mock.url,
            "--kms-project-id",
            creds["project_id"],
            "--kms-token",
            creds["token"],
        ]
        proc = _pytest(
            tmp_path,
            "--kms-vendor",
            "huawei",
            *args,
            "--kms-requirement",
            "HW-AUTH-004",
            "--kms-summary",
            str(summary),
            "-rs",
        )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    rows = {r["id"]: r for r in json.loads(summary.read_text())["requirements"]}
    assert rows["HW-AUTH-004"]["status"] == "not_covered"
    assert "no --kms-forbidden-token given" in rows["HW-AUTH-004"]["message"]
    assert "limited to --kms-requirement HW-AUTH-004" in rows["HW-AUTH-001"]["message"]
    assert "no --kms-forbidden-token given" in proc.stdout
    assert "no --forbidden-token" not in proc.stdout + summary.read_text()


def test_plugin_spelling_changes_only_option_names_the_plugin_has() -> None:
    assert plugin_spelling("no --username/--password given") == "no --kms-username/--kms-password given"
    assert plugin_spelling("--token-command failed") == "--kms-token-command failed"
    kept = "see --kms-summary, --report-dir, --workers, --data-raw, x--timeout, --timeouts, -- token"
    assert plugin_spelling(kept) == kept

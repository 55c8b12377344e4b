"""The command-line contract: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from conformance import vendors
from conformance.cli import overall_status, overall_verdict
from conformance.options import rows_for
from conformance.runner import UsageProblem, check_target_settings


def _one_line(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) == 1 and "Traceback" not in text


def test_unreachable_target_exits_3(cli) -> None:
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        "http://127.0.0.1:1",
        "--project-id",
        "p",
        "--token",
        "t0ken-value",
    )
    assert result.code == 3
    assert _one_line(result.stderr), result.stderr
    assert "127.0.0.1:1" in result.stderr
    assert "t0ken-value" not in result.stderr + result.stdout


def test_unknown_vendor_is_a_usage_error(cli) -> None:
    result = cli("run", "--vendor", "aws")
    assert result.code == 2
    assert _one_line(result.stderr), result.stderr


def test_missing_project_id_is_a_usage_error(cli) -> None:
    result = cli("run", "--vendor", "huawei", "--base-url", "http://127.0.0.1:1", "--token", "t")
    assert result.code == 2
    assert _one_line(result.stderr) and "--project-id" in result.stderr


def test_every_missing_setting_is_named_in_one_line(cli) -> None:
    """Not one at a time: the project id and the credentials together, spelt as the real options."""
    result = cli("run", "--vendor", "huawei", "--base-url", "http://127.0.0.1:1")
    assert result.code == 2 and _one_line(result.stderr), result.stderr
    assert result.stderr.strip() == (
        "kms-conformance: error: --vendor huawei with --base-url needs --project-id, and credentials: "
        "--token or --token-command or --ak and --sk or --username and --password"
    )


def test_missing_credentials_and_write_settings_together(cli) -> None:
    result = cli("run", "--vendor", "thales", "--base-url", "http://127.0.0.1:1")
    assert result.code == 2 and _one_line(result.stderr), result.stderr
    assert result.stderr.strip() == (
        "kms-conformance: error: --vendor thales with --base-url needs credentials: --token or "
        "--username and --password, and --kms and --region to create scratch keys (or use --read-only)"
    )
    read_only = cli("run", "--vendor", "thales", "--base-url", "http://127.0.0.1:1", "--read-only")
    assert read_only.code == 2 and _one_line(read_only.stderr), read_only.stderr
    assert "credentials: --token or --username and --password" in read_only.stderr
    assert "--kms" not in read_only.stderr


def test_missing_settings_are_spelt_as_the_cli_options() -> None:
    """Every name in the message is an option ``run`` accepts (``--token-command``, not ``--token_command``)."""
    flags = {row.flag for row in rows_for("run")}
    for vendor in vendors.names():
        with pytest.raises(UsageProblem) as caught:
            check_target_settings(vendor, {})
        named = set(re.findall(r"--[\w-]+", str(caught.value)))
        assert named - {"--vendor", "--base-url", "--read-only"} <= flags, (vendor, caught.value)
        assert "_" not in "".join(named), caught.value


def test_bad_base_url_is_a_usage_error(cli) -> None:
    result = cli(
        "run", "--vendor", "huawei", "--base-url", "kms.example", "--project-id", "p", "--token", "t"
    )
    assert result.code == 2 and _one_line(result.stderr)


def test_unknown_mock_fault_is_a_usage_error(cli) -> None:
    result = cli("run", "--vendor", "huawei", "--mock-fault", "no-such-fault")
    assert result.code == 2 and _one_line(result.stderr) and "no-such-fault" in result.stderr


def test_bad_baseline_is_a_usage_error(cli, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text("{not json")
    result = cli("run", "--vendor", "huawei", "--baseline", str(baseline))
    assert result.code == 2 and _one_line(result.stderr)


def test_config_file_supplies_options(cli, tmp_path: Path) -> None:
    config = tmp_path / "kms.toml"
    config.write_text(
        '[tool.kms-conformance]\nbase-url = "http://127.0.0.1:1"\nproject-id = "p"\ntoken = "t"\n'
    )
    result = cli("run", "--vendor", "huawei", "--config", str(config))
    assert result.code == 3, result.stderr


def test_environment_supplies_options(cli) -> None:
    env = {
        "KMS_CONFORMANCE_BASE_URL": "http://127.0.0.1:1",
        "KMS_CONFORMANCE_PROJECT_ID": "p",
        "KMS_CONFORMANCE_TOKEN": "t",
    }
    result = cli("run", "--vendor", "huawei", env=env)
    assert result.code == 3, result.stderr


def test_lint_accepts_bundled_specs(cli) -> None:
    result = cli("lint")
    assert result.code == 0, result.stdout
    assert "huawei.yaml: ok" in result.stdout


def test_lint_rejects_an_invalid_spec(cli, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {}\npaths: {}\n")
    result = cli("lint", str(spec))
    assert result.code == 1 and "INVALID" in result.stdout


def test_lint_of_a_missing_file_is_a_usage_error(cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = cli("lint", str(missing))
    assert result.code == 2 and _one_line(result.stderr), result.stderr
    assert f"cannot read {missing}" in result.stderr and result.stdout == ""


def test_lint_of_a_file_that_is_not_utf8_is_an_invalid_spec(cli, tmp_path: Path) -> None:
    spec = tmp_path / "binary.yaml"
    spec.write_bytes(b"\xff\xfe\x00openapi")
    result = cli("lint", str(spec))
    assert result.code == 1 and "INVALID" in result.stdout and "Traceback" not in result.stderr


def test_requirements_lists_the_catalogue(cli) -> None:
    result = cli("requirements", "--vendor", "huawei")
    assert result.code == 0
    assert "HW-STATE-003" in result.stdout


def test_mock_lists_its_switches(cli) -> None:
    result = cli("mock", "--vendor", "huawei", "--list")
    assert result.code == 0
    assert "fault  cancel-to-enabled [HW-STATE-004]" in result.stdout


FAST = ("--scope", "lifecycle", "--max-examples", "1", "--progress", "lines")


def _dot_files(root: Path) -> list[Path]:
    return list(root.rglob(".*"))


def test_a_lines_run_logs_in_order_and_leaves_only_its_outputs(tmp_path: Path) -> None:
    """One log (stdout and stderr together, as CI shows it): the checks end, then cleanup, then the
    verdict; and the report folder holds the run's outputs, no pytest ini file."""
    report_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_CONFORMANCE_")}
    argv = [sys.executable, "-m", "conformance", "run", "--vendor", "huawei", *FAST]
    proc = subprocess.run(
        [*argv, "--report-dir", str(report_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    lines = proc.stdout.splitlines()

    def first(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    order = [
        first("[huawei] checks done: "),
        first("[huawei] cleanup: scratch keys"),
        first("[huawei] cleanup finished"),
        first("cleanup: "),
        first("verdict: "),
        first("report: "),
    ]
    assert order == sorted(order), "\n".join(lines[order[0] :])
    assert _dot_files(report_dir) == []
    assert {"summary.json", "report.html", "junit.xml", "ledger.jsonl"} <= {
        p.name for p in report_dir.iterdir()
    }


def test_vendor_all_ends_with_an_overall_verdict(tmp_path: Path) -> None:
    root = tmp_path / "all"
    result = run_cli("run", "--vendor", "all", *FAST, report_dir=root)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == f"combined report: {root / 'report.html'}"
    assert lines[-1] == f"verdict: PASS ({len(vendors.names())} vendors)"
    assert _dot_files(root) == []
    for vendor in vendors.names():
        assert (root / vendor / "summary.json").exists()
        progress = [line for line in result.stderr.splitlines() if line.startswith(f"[{vendor}] ")]
        ends = progress[-3:]
        assert ends[0].startswith(f"[{vendor}] checks done: "), progress
        assert ends[1] == f"[{vendor}] cleanup: scratch keys", progress
        assert ends[2].startswith(f"[{vendor}] cleanup finished in "), progress


def test_overall_verdict_says_pass_only_when_the_exit_status_is_0() -> None:
    names = ["huawei", "thales", "yandex"]
    assert overall_verdict(names, [0, 0, 0], overall_status([0, 0, 0])) == "verdict: PASS (3 vendors)"
    assert overall_verdict(names, [0, 1, 0], 1) == "verdict: FAIL (3 vendors: thales failed)"
    assert overall_status([0, 3, 1]) == 3
    assert overall_verdict(names, [0, 3, 1], 3) == (
        "verdict: FAIL (3 vendors: thales target unusable, yandex failed)"
    )
    assert overall_status([0, 130]) == 130
    assert overall_verdict(names, [0, 130], 130) == (
        "verdict: FAIL (3 vendors: thales interrupted, yandex not run)"
    )
    assert overall_status([0, -9, 0]) == 1  # a child killed by a signal is no pass
    assert overall_verdict(names, [0, -9, 0], 1) == "verdict: FAIL (3 vendors: thales exit -9)"
    for codes in itertools.product((0, 1, 2, 3, 130, -9), repeat=3):
        status = overall_status(list(codes))
        verdict = overall_verdict(names, list(codes), status)
        assert verdict.startswith("verdict: PASS") == (status == 0), (codes, verdict)


def _marking_hooks(marker: Path) -> str:
    """A pytest plugin's source whose only effect is to create ``marker``."""
    return f"def pytest_configure(config):\n    open({str(marker)!r}, 'w').close()\n"


def _run_one_row(cwd: Path, env: dict[str, str] | None = None) -> None:
    """A short Huawei run (one requirement) from ``cwd``, with ``env`` added; it must pass."""
    args = ("run", "--vendor", "huawei", *FAST, "--requirement", "HW-STATE-001")
    result = run_cli(*args, report_dir=cwd / "report", timeout=300, env=env, cwd=cwd)
    assert result.code == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_a_run_loads_no_conftest_of_the_working_directory(tmp_path: Path) -> None:
    """pytest loads test*/conftest.py under the working directory before collecting: a user's own
    test hooks (here: one that would mark the run) must not run inside a conformance run."""
    marker = tmp_path / "conftest-ran"
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text(_marking_hooks(marker), encoding="utf-8")
    _run_one_row(tmp_path)
    assert not marker.exists()
    # Nor does the run leave anything in the working directory (Hypothesis' ./.hypothesis).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "tests"]


def test_a_run_loads_no_pytest_plugin_installed_beside_the_suite(tmp_path: Path) -> None:
    """pytest loads every installed ``pytest11`` plugin: one installed next to the suite (here a
    distribution on PYTHONPATH whose plugin marks the run) must not run inside a conformance run,
    while the run's own reports (checks.html needs pytest-html) are still written."""
    marker = tmp_path / "plugin-ran"
    site = tmp_path / "site"
    (site / "stray_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "stray_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: stray-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (site / "stray_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[pytest11]\nstray = stray_plugin\n", encoding="utf-8"
    )
    (site / "stray_plugin.py").write_text(_marking_hooks(marker), encoding="utf-8")
    env = {"PYTHONPATH": str(site)}
    probe = subprocess.run(  # the stray plugin is installed: plain pytest would load it
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", str(site)],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert marker.exists(), probe.stdout[-2000:] + probe.stderr[-2000:]
    marker.unlink()
    _run_one_row(tmp_path, env)
    assert not marker.exists()
    assert (tmp_path / "report" / "checks.html").stat().st_size > 0

"""Huawei runs against an external target URL: AK/SK signing, read-only mode, secrets kept out."""

from __future__ import annotations

from pathlib import Path

from conformance.mocks import mock_definition


def _outputs(report_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in report_dir.rglob("*") if p.is_file())


def test_aksk_signing_run_passes(cli, kms_mock) -> None:
    mock = kms_mock("huawei")
    c = mock.credentials
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        mock.url,
        "--project-id",
        c["project_id"],
        "--ak",
        c["ak"],
        "--sk",
        c["sk"],
        "--forbidden-token",
        c["forbidden_token"],
        "--expired-token",
        c["expired_token"],
    )
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    text = _outputs(result.report_dir) + result.stdout + result.stderr
    for secret in (c["sk"], c["forbidden_token"], c["expired_token"]):
        assert secret not in text


def test_read_only_run_changes_nothing(cli, kms_mock) -> None:
    mock = kms_mock("huawei")
    c = mock.credentials
    kms = mock.server.app.state.kms
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        mock.url,
        "--project-id",
        c["project_id"],
        "--token",
        c["token"],
        "--read-only",
    )
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert kms.keys(c["project_id"]) == {}
    assert c["token"] not in _outputs(result.report_dir)
    statuses = {r["id"]: r["status"] for r in result.summary["requirements"]}
    assert statuses["HW-STATE-001"] == "not_covered"  # needs a key of its own
    assert statuses["HW-VAL-008"] == "passed"


def test_without_forbidden_token_403_is_not_covered(cli, kms_mock) -> None:
    mock = kms_mock("huawei")
    c = mock.credentials
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        mock.url,
        "--project-id",
        c["project_id"],
        "--token",
        c["token"],
        "--scope",
        "lifecycle",
    )
    assert result.code == 0, result.stdout[-3000:]
    row = next(r for r in result.summary["requirements"] if r["id"] == "HW-AUTH-004")
    assert row["status"] == "not_covered" and "--forbidden-token" in row["message"]


def test_kms_403_option_is_accepted_as_documented_alternative(cli) -> None:
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--mock-option",
        "missing-credentials=kms-403",
        "--mock-option",
        "invalid-token=kms-403",
        "--scope",
        "lifecycle",
    )
    assert result.code == 0, result.stdout[-3000:]


def test_every_fault_names_a_catalogued_must_requirement() -> None:
    from conformance.requirements import load_catalogue

    catalogue = load_catalogue("huawei")
    for fault in mock_definition("huawei").faults:
        assert catalogue[fault.requirement].level == "must", fault.name


def test_iam_password_tokens_are_renewed_mid_run(cli, kms_mock) -> None:
    mock = kms_mock("huawei", options={"iam-token-lifetime": "3"})
    c = mock.credentials
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        mock.url,
        "--project-id",
        c["project_id"],
        "--username",
        c["username"],
        "--password",
        c["password"],
        "--domain",
        c["domain"],
        "--scope",
        "lifecycle",
    )
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-1500:]
    issued = mock.server.app.state.kms.iam_tokens
    assert len(issued) > 1, "tokens living 3 s must be renewed during the run"
    text = _outputs(result.report_dir) + result.stdout + result.stderr
    assert c["password"] not in text
    assert not any(token in text for token in issued)


def test_token_command_supplies_the_token(cli, kms_mock) -> None:
    mock = kms_mock("huawei")
    c = mock.credentials
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        mock.url,
        "--project-id",
        c["project_id"],
        "--token-command",
        f"echo {c['token']}",
        "--scope",
        "lifecycle",
        "--read-only",
    )
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-1500:]


def test_failing_token_command_exits_3(cli) -> None:
    result = cli(
        "run",
        "--vendor",
        "huawei",
        "--base-url",
        "http://127.0.0.1:1",
        "--project-id",
        "p",
        "--token-command",
        "false",
    )
    assert result.code == 3
    assert "token-command" in result.stderr and len(result.stderr.strip().splitlines()) == 1

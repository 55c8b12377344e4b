"""Huawei runs against an external target URL: AK/SK signing, read-only mode, secrets kept out.

The CLI runs need a real socket (``kms_mock``); the checks of the mock's own answers at the end go
through Starlette's TestClient, no server.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.mocks import mock_definition

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 behind TestClient; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


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
        # Every operation of the spec is signed (full scope); two cases each are enough for that.
        "--max-examples",
        "2",
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
        "--max-examples",
        "2",
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
        "--max-examples",
        "1",
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
        "--max-examples",
        "1",
    )
    assert result.code == 0, result.stdout[-3000:]


# Faults whose requirement is a should (inferred behaviour): test_faults holds them to a passing
# verdict that still reports the failure.  Every other Huawei fault breaks a documented (must) one.
SHOULD_FAULTS = {"datakey-ignores-key-state"}  # HW-STATE-013: the codes are documented, their calls inferred


def test_every_fault_names_a_catalogued_must_requirement() -> None:
    from conformance.requirements import load_catalogue

    catalogue = load_catalogue("huawei")
    for fault in mock_definition("huawei").faults:
        expected = "should" if fault.name in SHOULD_FAULTS else "must"
        assert catalogue[fault.requirement].level == expected, fault.name


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


# -- the bundled mock's own answers, in-process ---------------------------------------------------
UNKNOWN_KEY = "0000dead-0000-4000-8000-00000000c0de"
DEFAULT = "token"


def _mock_client(faults: tuple[str, ...] = (), options: Mapping[str, str] | None = None) -> TestClient:
    definition = mock_definition("huawei")
    return TestClient(definition.create_app(definition.config(faults, options)))


def _credentials() -> dict[str, str]:
    definition = mock_definition("huawei")
    return definition.credentials(definition.config())


def _kms(client: TestClient, action: str, body: dict[str, Any], token: str | None = DEFAULT) -> Any:
    c = _credentials()
    headers = {} if token is None else {"X-Auth-Token": c["token"] if token == DEFAULT else token}
    return client.post(f"/v1.0/{c['project_id']}/kms/{action}", json=body, headers=headers)


def test_mock_error_envelopes_kms_wrapped_gateway_flat() -> None:
    client = _mock_client()
    kms = _kms(client, "describe-key", {"key_id": UNKNOWN_KEY})
    assert kms.status_code == 404
    assert kms.json() == {"error": {"error_code": "KMS.0207", "error_msg": "The key does not exist."}}
    gateway = _kms(client, "describe-key", {"key_id": UNKNOWN_KEY}, token=None)
    assert gateway.status_code == 401
    assert gateway.json() == {
        "error_code": "APIGW.0301",
        "error_msg": "Incorrect IAM authentication information: x-auth-token not found",
        "request_id": gateway.headers["x-request-id"],
    }


def test_mock_envelope_switches_combine() -> None:
    flat = _mock_client(("kms-errors-flat",), {"gateway-envelope": "wrapped"})
    kms = _kms(flat, "describe-key", {"key_id": UNKNOWN_KEY}).json()
    assert kms == {
        "error_code": "KMS.0207",
        "error_msg": "The key does not exist.",
        "request_id": kms["request_id"],
    }
    gateway = _kms(flat, "describe-key", {"key_id": UNKNOWN_KEY}, token=None).json()
    assert gateway["error"]["error_code"] == "APIGW.0301"
    # bare-error-body replaces every envelope, whatever the other switches chose
    bare = _mock_client(("kms-errors-flat", "bare-error-body"), {"gateway-envelope": "wrapped"})
    assert _kms(bare, "describe-key", {"key_id": UNKNOWN_KEY}).json() == {
        "message": "The key does not exist."
    }
    assert set(_kms(bare, "describe-key", {"key_id": UNKNOWN_KEY}, token=None).json()) == {"message"}


def test_mock_transition_faults_change_rows_of_one_table() -> None:
    client = _mock_client(("schedule-twice", "schedule-refuses-disabled", "cancel-to-enabled"))
    key_id = _kms(client, "create-key", {"key_alias": "rows"}).json()["key_info"]["key_id"]
    assert _kms(client, "disable-key", {"key_id": key_id}).json()["key_info"]["key_state"] == "3"
    refused = _kms(client, "schedule-key-deletion", {"key_id": key_id, "pending_days": "7"})
    assert (refused.status_code, refused.json()["error"]["error_code"]) == (400, "KMS.0308")
    assert _kms(client, "enable-key", {"key_id": key_id}).json()["key_info"]["key_state"] == "2"
    for _ in range(2):  # schedule-twice: a key pending deletion may be scheduled again
        scheduled = _kms(client, "schedule-key-deletion", {"key_id": key_id, "pending_days": "7"})
        assert (scheduled.status_code, scheduled.json()) == (200, {"key_id": key_id, "key_state": "4"})
    assert _kms(client, "cancel-key-deletion", {"key_id": key_id}).json()["key_state"] == "2"
    assert client.app.state.kms.keys(_credentials()["project_id"])[key_id].state == "2"

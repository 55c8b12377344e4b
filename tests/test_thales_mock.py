"""The Thales CCKM mock, driven directly over HTTP: token flow, the AWS KeyState machine,
errors and envelopes, pagination, options and faults.

Requests go through Starlette's TestClient (in-process, no socket); only the tests that drive
the mock with the Thales profile start a real server, because the profile builds its own
transport from a base URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from cckm import KEYS, Cckm, start
from openapi_spec_validator import validate

from conformance.mocks.base import MockConfig, RunningMock
from conformance.requirements import load_catalogue
from conformance.settings import Settings
from conformance.specs import spec_path
from conformance.vendors.thales.mock import MOCK, PASSWORD, USERNAME, mint_jwt, read_jwt
from conformance.vendors.thales.mock.exceptions import AwsRefusal
from conformance.vendors.thales.mock.faults import EFFECTS, Behaviour, behaviour
from conformance.vendors.thales.mock.models import CckmBackend
from conformance.vendors.thales.profile import PROFILE, ThalesProfile


def _start(faults: tuple[str, ...] = (), options: dict[str, str] | None = None) -> Iterator[Cckm]:
    yield from start(Cckm, faults, options)


@pytest.fixture
def cckm() -> Iterator[Cckm]:
    yield from _start()


@pytest.fixture
def mock_with(request: pytest.FixtureRequest) -> Iterator[Cckm]:
    faults, options = request.param
    yield from _start(faults, options)


@pytest.fixture
def served() -> Iterator[Cckm]:
    """A fresh mock on a loopback port, for the profile (which connects to a base URL itself)."""
    config = MOCK.config()
    with (
        RunningMock(MOCK.create_app(config)) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        yield Cckm(http, MOCK.credentials(config), server.url)


def _envelope(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body["code"], int)
    assert isinstance(body["codeDesc"], str) and body["codeDesc"].startswith("NCERR")
    assert isinstance(body["message"], str)
    assert isinstance(body["requestID"], str) and body["requestID"]
    return body


# -- the spec, catalogue and definitions agree ------------------------------------------------


def test_spec_is_valid_and_loads_in_schemathesis() -> None:
    import schemathesis

    document = yaml.safe_load(spec_path("thales.yaml").read_text())
    validate(document)
    operations = [
        result.ok()
        for result in schemathesis.openapi.from_path(str(spec_path("thales.yaml"))).get_all_operations()
    ]
    ids = {op.definition.raw["operationId"] for op in operations}
    assert len(operations) == 33
    assert {
        "createToken",
        "createAwsKey",
        "listAwsKeys",
        "getAwsKey",
        "deleteAwsKey",
        "enableAwsKey",
        "disableAwsKey",
        "scheduleAwsKeyDeletion",
        "cancelAwsKeyDeletion",
        "refreshAwsKey",
        "uploadAwsKey",
        "startAwsSyncJob",
        "listAwsSyncJobs",
        "getAwsSyncJob",
        "cancelAwsSyncJob",
        "replicateAwsKey",
        "updateAwsKeyPrimaryRegion",
        "enableAwsKeyRotationJob",
        "disableAwsKeyRotationJob",
        "getAwsKeyRotationStatus",
        "rotateAwsKeyMaterial",
        "listAwsKeyRotations",
    } <= ids
    for op in operations:
        raw = op.definition.raw
        assert raw["x-doc-url"].startswith("https://"), raw["operationId"]
        errors = [code for code in raw["responses"] if code.startswith(("4", "5"))]
        assert errors, raw["operationId"]


def test_faults_and_profile_name_catalogued_requirements() -> None:
    catalogue = load_catalogue("thales")
    assert len(MOCK.faults) >= 12
    assert len({f.name for f in MOCK.faults}) == len(MOCK.faults)
    for fault in MOCK.faults:
        assert fault.may_fail <= set(catalogue), fault.name
    for row in (*PROFILE.transitions, *PROFILE.probes):
        assert row.requirement in catalogue, row.id
    for requirement in PROFILE.generated_requirements.values():
        assert requirement in catalogue
    assert PROFILE.envelope_requirement in catalogue


# -- token flow ---------------------------------------------------------------------------------


def test_password_grant_issues_a_signed_jwt_per_login(cckm: Cckm) -> None:
    first = cckm.login.json()
    assert first["duration"] == 300 and first["token_type"] == "Bearer"
    assert first["refresh_token"] and first["refresh_token_expires_in"] > 0 and first["client_id"]
    payload = read_jwt(first["jwt"])
    assert payload is not None and payload["preferred_username"] == USERNAME
    assert payload["exp"] - payload["iat"] == 300
    second = cckm.token(username=USERNAME, password=PASSWORD).json()
    assert second["jwt"] != first["jwt"]  # never a guessable constant
    assert cckm.list().status_code == 200


def test_password_grant_variants(cckm: Cckm) -> None:
    # grant_type defaults to password; legacy "name"; trailing slash; form-encoded body
    assert (
        cckm.http.post("/api/v1/auth/tokens", json={"username": USERNAME, "password": PASSWORD}).status_code
        == 200
    )
    assert (
        cckm.http.post("/api/v1/auth/tokens", json={"name": USERNAME, "password": PASSWORD}).status_code
        == 200
    )
    assert (
        cckm.http.post("/api/v1/auth/tokens/", json={"username": USERNAME, "password": PASSWORD}).status_code
        == 200
    )
    form = cckm.http.post(
        "/api/v1/auth/tokens", data={"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    )
    assert form.status_code == 200 and form.json()["jwt"]


@pytest.mark.parametrize(
    "body", [{"username": USERNAME, "password": "wrong"}, {"username": "nobody", "password": PASSWORD}, {}]
)
def test_wrong_credentials_are_401(cckm: Cckm, body: dict[str, str]) -> None:
    response = cckm.token(**body)
    assert response.status_code == 401
    error = _envelope(response)
    assert error["code"] == 5 and error["codeDesc"].startswith("NCERRUnauthorizedAccess")
    assert error["message"] == "Wrong username or password."


def test_bad_token_request_values_are_400(cckm: Cckm) -> None:
    response = cckm.http.post("/api/v1/auth/tokens", json={"grant_type": "magic"})
    assert response.status_code == 400 and _envelope(response)["code"] == 9
    response = cckm.http.post(
        "/api/v1/auth/tokens", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and _envelope(response)["code"] == 15


def test_refresh_grant_keeps_the_refresh_token(cckm: Cckm) -> None:
    refresh = cckm.login.json()["refresh_token"]
    response = cckm.http.post(
        "/api/v1/auth/tokens", json={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] == refresh
    assert response.json()["jwt"] != cckm.login.json()["jwt"]
    bad = cckm.http.post("/api/v1/auth/tokens", json={"grant_type": "refresh_token", "refresh_token": "nope"})
    assert bad.status_code == 401 and _envelope(bad)["message"] == "Invalid token"


@pytest.mark.parametrize("mock_with", [((), {"refresh-token-rotation": "new"})], indirect=True)
def test_option_refresh_token_rotation_new(mock_with: Cckm) -> None:
    refresh = mock_with.login.json()["refresh_token"]
    body = {"grant_type": "refresh_token", "refresh_token": refresh}
    response = mock_with.http.post("/api/v1/auth/tokens", json=body)
    assert response.status_code == 200 and response.json()["refresh_token"] != refresh
    assert mock_with.http.post("/api/v1/auth/tokens", json=body).status_code == 401  # the old one is spent


@pytest.mark.parametrize("mock_with", [((), {"token-duration": "60"})], indirect=True)
def test_option_token_duration(mock_with: Cckm) -> None:
    assert mock_with.login.json()["duration"] == 60
    payload = read_jwt(mock_with.login.json()["jwt"])
    assert payload is not None and payload["exp"] - payload["iat"] == 60


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "Token is missing"),
        ({"Authorization": "Basic abc"}, "Bearer token malformed"),
        ({"Authorization": "Bearer garbage"}, "Invalid token"),
    ],
)
def test_cckm_calls_need_a_valid_bearer(cckm: Cckm, headers: dict[str, str], message: str) -> None:
    response = cckm.http.get(KEYS, headers=headers)
    assert response.status_code == 401
    assert _envelope(response)["message"] == message


def test_expired_and_forbidden_tokens(cckm: Cckm) -> None:
    expired = cckm.http.get(KEYS, headers={"Authorization": f"Bearer {cckm.creds['expired_token']}"})
    assert expired.status_code == 401 and "expired" in _envelope(expired)["message"]
    forbidden = cckm.http.get(KEYS, headers={"Authorization": f"Bearer {cckm.creds['forbidden_token']}"})
    assert forbidden.status_code == 403 and _envelope(forbidden)["codeDesc"].startswith("NCERRForbidden")


def test_a_token_signed_elsewhere_is_refused(cckm: Cckm) -> None:
    token = mint_jwt(USERNAME, 0, 2**40)
    head, body, _ = token.split(".")
    assert cckm.http.get(KEYS, headers={"Authorization": f"Bearer {head}.{body}.AAAA"}).status_code == 401


@pytest.mark.parametrize("mock_with", [((), {"unauthorized-code": "1"})], indirect=True)
def test_option_unauthorized_code(mock_with: Cckm) -> None:
    error = _envelope(mock_with.http.get(KEYS))
    assert error["code"] == 1 and error["codeDesc"].startswith("NCERRUnauthorized:")


# -- keys and the state machine ------------------------------------------------------------------


def test_created_key_shape(cckm: Cckm) -> None:
    key = cckm.create(Alias="my-key", Description="d", Tags=[{"TagKey": "a", "TagValue": "b"}])
    aws = key["aws_param"]
    assert key["uri"] == f"kylo:kylo:cckm:aws-key:{key['id']}"
    assert key["kms"] == cckm.creds["kms"] and key["region"] == cckm.creds["region"]
    assert aws["KeyID"] != key["id"] and aws["Arn"].endswith(f":key/{aws['KeyID']}")
    assert aws["KeyState"] == "Enabled" and aws["Enabled"] is True
    assert (
        aws["KeyManager"] == "CUSTOMER"
        and aws["Origin"] == "AWS_KMS"
        and aws["KeyUsage"] == "ENCRYPT_DECRYPT"
    )
    assert aws["Alias"] == ["alias/my-key"] and aws["Tags"] == [{"TagKey": "a", "TagValue": "b"}]
    assert json.loads(aws["Policy"])["Statement"]  # a JSON string by default
    assert "DeletionDate" not in aws


def test_external_key_starts_pending_import_and_imports(cckm: Cckm) -> None:
    key = cckm.create(Origin="EXTERNAL")
    assert key["aws_param"]["KeyState"] == "PendingImport" and key["aws_param"]["Enabled"] is False
    imported = cckm.act(
        key["id"], "import-material", {"source_key_tier": "local", "source_key_identifier": "k1"}
    )
    assert imported.status_code == 200 and imported.json()["aws_param"]["KeyState"] == "Enabled"
    assert imported.json()["key_material_origin"] == "cckm"
    removed = cckm.act(key["id"], "delete-material", {})
    assert removed.json()["aws_param"]["KeyState"] == "PendingImport"
    native = cckm.create()
    refused = cckm.act(native["id"], "import-material", {"source_key_tier": "local"})
    assert refused.status_code == 400 and "UnsupportedOperationException" in _envelope(refused)["message"]


# (operation, from state) -> resulting state, or None when refused with KMSInvalidStateException
MACHINE = {
    ("enable", "Enabled"): "Enabled",
    ("enable", "Disabled"): "Enabled",
    ("enable", "PendingDeletion"): None,
    ("enable", "PendingImport"): None,
    ("disable", "Enabled"): "Disabled",
    ("disable", "Disabled"): "Disabled",
    ("disable", "PendingDeletion"): None,
    ("disable", "PendingImport"): None,
    ("schedule-deletion", "Enabled"): "PendingDeletion",
    ("schedule-deletion", "Disabled"): "PendingDeletion",
    ("schedule-deletion", "PendingImport"): "PendingDeletion",
    ("schedule-deletion", "PendingDeletion"): None,
    ("cancel-deletion", "PendingDeletion"): "Disabled",
    ("cancel-deletion", "Enabled"): None,
    ("cancel-deletion", "Disabled"): None,
    ("cancel-deletion", "PendingImport"): None,
}


def _key_in(cckm: Cckm, state: str) -> str:
    key = cckm.create(Origin="EXTERNAL") if state == "PendingImport" else cckm.create()
    if state == "Disabled":
        cckm.act(key["id"], "disable")
    if state == "PendingDeletion":
        cckm.act(key["id"], "schedule-deletion", {"days": 7})
    assert cckm.state(key["id"]) == state
    return key["id"]


@pytest.mark.parametrize("operation, state", list(MACHINE), ids=[f"{o}@{s}" for o, s in MACHINE])
def test_state_machine(cckm: Cckm, operation: str, state: str) -> None:
    key_id = _key_in(cckm, state)
    response = cckm.act(key_id, operation, {"days": 7} if operation == "schedule-deletion" else None)
    expected = MACHINE[(operation, state)]
    if expected is None:
        assert response.status_code == 400
        error = _envelope(response)
        assert error["message"].startswith("KMSInvalidStateException: arn:aws:kms:")
        assert cckm.state(key_id) == state
    else:
        assert response.status_code == 200, response.text
        aws = response.json()["aws_param"]
        assert aws["KeyState"] == expected and aws["Enabled"] is (expected == "Enabled")
        assert ("DeletionDate" in aws) is (expected == "PendingDeletion")


def test_schedule_twice_says_pending_deletion(cckm: Cckm) -> None:
    key_id = _key_in(cckm, "PendingDeletion")
    assert "is pending deletion" in cckm.act(key_id, "schedule-deletion", {"days": 7}).json()["message"]


@pytest.mark.parametrize(
    "days, status",
    [(6, 400), (7, 200), (30, 200), (31, 400), (0, 400), (7.5, 400), ("7", 400), ("abc", 400), (None, 400)],
)
def test_days_boundaries(cckm: Cckm, days: Any, status: int) -> None:
    response = cckm.act(cckm.create()["id"], "schedule-deletion", {"days": days})
    assert response.status_code == status, response.text
    if status == 400:
        assert _envelope(response)["codeDesc"].startswith("NCERRInvalidParamValue")


def test_missing_days_defaults_to_30(cckm: Cckm) -> None:
    response = cckm.act(cckm.create()["id"], "schedule-deletion", {})
    assert response.status_code == 200 and response.json()["aws_param"]["KeyState"] == "PendingDeletion"


def test_other_actions(cckm: Cckm) -> None:
    key_id = cckm.create()["id"]
    assert (
        cckm.act(key_id, "update-description", {"description": "new"}).json()["aws_param"]["Description"]
        == "new"
    )
    assert "alias/extra" in cckm.act(key_id, "add-alias", {"alias": "extra"}).json()["aws_param"]["Alias"]
    assert (
        "alias/extra" not in cckm.act(key_id, "delete-alias", {"alias": "extra"}).json()["aws_param"]["Alias"]
    )
    assert cckm.act(key_id, "delete-alias", {"alias": "extra"}).status_code == 400  # NotFoundException
    tagged = cckm.act(key_id, "add-tags", {"tags": [{"tag_key": "k", "tag_value": "v"}]}).json()
    assert {"TagKey": "k", "TagValue": "v"} in tagged["aws_param"]["Tags"]
    assert cckm.act(key_id, "remove-tags", {"tags": ["k"]}).json()["aws_param"]["Tags"] == []
    rotation = cckm.act(key_id, "enable-auto-rotation", {"rotation_period_in_days": 90}).json()["aws_param"]
    assert rotation["KeyRotationEnabled"] is True and rotation["RotationPeriodInDays"] == 90
    assert cckm.act(key_id, "disable-auto-rotation").json()["aws_param"]["KeyRotationEnabled"] is False
    policy = {"Version": "2012-10-17", "Statement": []}
    assert json.loads(cckm.act(key_id, "policy", {"policy": policy}).json()["aws_param"]["Policy"]) == policy
    refreshed = cckm.act(key_id, "refresh")
    assert refreshed.json() == {"message": f"AWS key '{key_id}' will be refreshed and persisted"}
    rotated = cckm.act(key_id, "rotate", {"retain_alias": True}).json()
    assert rotated["id"] != key_id and rotated["rotated_from"] == key_id
    cckm.act(key_id, "disable")
    disabled = cckm.act(key_id, "enable-auto-rotation", {})
    assert disabled.status_code == 400 and "DisabledException" in disabled.json()["message"]
    cckm.act(key_id, "schedule-deletion", {"days": 7})
    refused = cckm.act(key_id, "update-description", {"description": "x"})
    assert refused.status_code == 400 and "KMSInvalidStateException" in refused.json()["message"]
    assert cckm.http.delete(f"{KEYS}/{key_id}", headers=cckm.headers).status_code == 204
    assert cckm.get(key_id).status_code == 404


def test_duplicate_alias_is_refused(cckm: Cckm) -> None:
    cckm.create(Alias="taken")
    response = cckm.http.post(
        KEYS,
        json={"kms": cckm.creds["kms"], "region": cckm.creds["region"], "aws_param": {"Alias": "taken"}},
        headers=cckm.headers,
    )
    assert response.status_code == 400 and "AlreadyExistsException" in response.json()["message"]


def test_unknown_ids_and_bad_values(cckm: Cckm) -> None:
    missing = cckm.get("00000000-0000-4000-8000-000000000000")
    error = _envelope(missing)
    assert (
        missing.status_code == 404
        and error["code"] == 16
        and error["codeDesc"] == "NCERRResourceNotFound: Resource not found"
    )
    assert cckm.act("00000000-0000-4000-8000-000000000000", "enable").status_code == 404
    no_kms = cckm.http.post(KEYS, json={"region": "us-east-1"}, headers=cckm.headers)
    assert no_kms.status_code == 400 and _envelope(no_kms)["code"] == 9
    other_kms = cckm.http.post(KEYS, json={"kms": "other", "region": "us-east-1"}, headers=cckm.headers)
    assert other_kms.status_code == 404
    bad_region = cckm.http.post(
        KEYS, json={"kms": cckm.creds["kms"], "region": "mars-1"}, headers=cckm.headers
    )
    assert bad_region.status_code == 400
    bad_origin = cckm.http.post(
        KEYS,
        json={"kms": cckm.creds["kms"], "region": "us-east-1", "aws_param": {"Origin": "X"}},
        headers=cckm.headers,
    )
    assert bad_origin.status_code == 400
    assert cckm.http.get("/api/v1/nothing-here", headers=cckm.headers).status_code == 404
    assert _envelope(cckm.http.put(KEYS, headers=cckm.headers))["code"] == 15


def test_list_pagination_and_filters(cckm: Cckm) -> None:
    ids = [cckm.create()["id"] for _ in range(3)]
    external = cckm.create(Origin="EXTERNAL")["id"]
    page = cckm.list(limit=2).json()
    assert page["skip"] == 0 and page["limit"] == 2 and page["total"] == 4 and len(page["resources"]) == 2
    rest = cckm.list(limit=2, skip=2).json()
    assert rest["total"] == 4 and {k["id"] for k in page["resources"] + rest["resources"]} == {*ids, external}
    assert cckm.list().json()["limit"] == 10
    assert len(cckm.list(limit=-1).json()["resources"]) == 4
    assert cckm.list(skip=100, limit=1).json() == {"skip": 100, "limit": 1, "total": 4, "resources": []}
    assert [k["id"] for k in cckm.list(origin="EXTERNAL").json()["resources"]] == [external]
    assert cckm.list(id=ids[0]).json()["total"] == 1
    cckm.act(ids[1], "disable")
    assert cckm.list(enabled="false").json()["total"] == 2
    assert cckm.list(keystate="Disabled").json()["resources"][0]["id"] == ids[1]
    ordered = cckm.list(sort="-createdAt", limit=-1).json()["resources"]
    assert [k["createdAt"] for k in ordered] == sorted((k["createdAt"] for k in ordered), reverse=True)
    assert cckm.list(sort="no_such_field").status_code == 200
    for bad in ({"limit": "x"}, {"skip": -1}, {"limit": -2}, {"enabled": "yes"}, {"origin": "X"}):
        response = cckm.list(**bad)
        assert response.status_code == 400 and _envelope(response)["code"] == 9, bad


# -- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mock_with",
    [((), {"create-status": "201", "policy-format": "object", "deletion-date-in": "top"})],
    indirect=True,
)
def test_options_create_status_policy_and_deletion_date(mock_with: Cckm) -> None:
    key = mock_with.create()
    assert isinstance(key["aws_param"]["Policy"], dict)
    scheduled = mock_with.act(key["id"], "schedule-deletion", {"days": 7}).json()
    assert "DeletionDate" not in scheduled["aws_param"] and scheduled["deletion_date"]


@pytest.mark.parametrize("mock_with", [((), {"deletion-date-in": "both"})], indirect=True)
def test_option_deletion_date_both(mock_with: Cckm) -> None:
    scheduled = mock_with.act(mock_with.create()["id"], "schedule-deletion", {"days": 7}).json()
    assert scheduled["deletion_date"] == scheduled["aws_param"]["DeletionDate"]


@pytest.mark.parametrize(
    "mock_with",
    [((), {"state-error-status": "409", "validation-status": "422", "missing-days": "reject"})],
    indirect=True,
)
def test_options_statuses_and_missing_days(mock_with: Cckm) -> None:
    key_id = mock_with.create()["id"]
    assert mock_with.act(key_id, "cancel-deletion").status_code == 409
    assert mock_with.act(key_id, "schedule-deletion", {"days": 6}).status_code == 422
    assert mock_with.act(key_id, "schedule-deletion", {}).status_code == 422


def test_config_rejects_unknown_switches() -> None:
    with pytest.raises(ValueError):
        MOCK.config(["no-such-fault"])
    with pytest.raises(ValueError):
        MOCK.config([], {"create-status": "202"})


def test_switch_names_are_kebab_case_and_snake_case_is_an_alias() -> None:
    for name in [f.name for f in MOCK.faults] + [o.name for o in MOCK.options]:
        assert name == name.lower() and "_" not in name, name
    old = MOCK.config(["cancel_to_enabled"], {"create_status": "201"})
    assert old == MOCK.config(["cancel-to-enabled"], {"create-status": "201"})
    assert behaviour(old) == behaviour(MockConfig(frozenset({"cancel_to_enabled"}), {"create_status": "201"}))


def test_switch_defaults_are_the_declared_ones() -> None:
    """``Behaviour()`` (what the model and app use without a config) is what OPTIONS declare."""
    assert behaviour(MOCK.config()) == Behaviour() == behaviour(MockConfig())
    assert set(EFFECTS) == {f.name for f in MOCK.faults}
    for fault in MOCK.faults:  # every fault changes something
        assert behaviour(MOCK.config([fault.name])) != Behaviour(), fault.name


def test_model_works_without_http() -> None:
    model = CckmBackend()
    key = model.create_key("aws-conformance", "us-east-1", {}, {})
    assert model.schedule_key_deletion(key.id, 7).state == "PendingDeletion"
    with pytest.raises(AwsRefusal, match="is pending deletion"):
        model.enable_key(key.id)
    assert model.cancel_key_deletion(key.id).state == "Disabled"
    cancelled = model.get_key(key.id)
    cancelled.aws["KeyState"] = "Enabled"  # a snapshot: the stored key is not touched
    assert model.get_key(key.id).state == "Disabled"


# -- faults (each breaks one behaviour; the suite-level fault runs live with the runner) ---------


@pytest.mark.parametrize("mock_with", [(("cancel-to-enabled",), None)], indirect=True)
def test_fault_cancel_to_enabled(mock_with: Cckm) -> None:
    key_id = _key_in(mock_with, "PendingDeletion")
    assert mock_with.act(key_id, "cancel-deletion").json()["aws_param"]["KeyState"] == "Enabled"


@pytest.mark.parametrize(
    "mock_with", [(("expired-token-accepted", "envelope-missing-codedesc"), None)], indirect=True
)
def test_faults_expired_token_and_envelope(mock_with: Cckm) -> None:
    assert (
        mock_with.http.get(
            KEYS, headers={"Authorization": f"Bearer {mock_with.creds['expired_token']}"}
        ).status_code
        == 200
    )
    assert "codeDesc" not in mock_with.get("nope").json()


@pytest.mark.parametrize(
    "mock_with", [(("total-is-page-size", "server-error-on-unknown-sort"), None)], indirect=True
)
def test_faults_pagination(mock_with: Cckm) -> None:
    mock_with.create()
    mock_with.create()
    assert mock_with.list(limit=1).json()["total"] == 1
    assert mock_with.list(sort="zzz").status_code == 500


# -- the profile against the mock -------------------------------------------------------------------


def _profile(cckm: Cckm, **extra: Any) -> ThalesProfile:
    return ThalesProfile(Settings(vendor="thales", base_url=cckm.url, **{**cckm.creds, **extra}))


def test_profile_drives_every_state(served: Cckm) -> None:
    profile = _profile(served)
    profile.preflight()
    for state in ("enabled", "disabled", "pending-deletion", "pending-import"):
        key_id = profile.key_in(state)
        assert profile.key_state(key_id) == state
    assert len(profile.created) == 4
    for key_id in profile.created:
        profile.cleanup_key(key_id)
        assert profile.key_state(key_id) == "pending-deletion"
    profile.close()


def test_profile_refreshes_before_the_jwt_runs_out(served: Cckm) -> None:
    profile = _profile(served)
    first = profile.bearer()
    assert profile.bearer() == first  # fresh: reused
    profile._expires_at = 0.0  # pretend the 300 s are over
    second = profile.bearer()
    assert second and second != first
    assert profile.call("list").status == 200
    profile.close()


def test_profile_recovers_from_a_revoked_jwt(served: Cckm) -> None:
    profile = _profile(served)
    profile.bearer()
    profile._jwt = "revoked.jwt.value"
    assert profile.call("list").status == 200  # one 401, renewal, retry
    profile.close()


def test_profile_preflight_errors(served: Cckm) -> None:
    from conformance.profiles.base import TargetError

    with pytest.raises(TargetError, match="refused the username/password"):
        _profile(served, password="wrong").preflight()
    with pytest.raises(TargetError, match="cannot connect"):
        ThalesProfile(
            Settings(vendor="thales", base_url="http://127.0.0.1:9", username="u", password="p", timeout=2)
        ).preflight()
    with pytest.raises(TargetError, match="refused the credentials"):
        ThalesProfile(Settings(vendor="thales", base_url=served.url, token="static-garbage")).preflight()


def test_profile_static_token_and_error_codes(served: Cckm) -> None:
    jwt = served.login.json()["jwt"]
    profile = ThalesProfile(Settings(vendor="thales", base_url=served.url, token=jwt))
    profile.preflight()
    assert profile.headers_for("valid") == {"Authorization": f"Bearer {jwt}"}
    assert (
        profile.error_code({"code": 16, "codeDesc": "NCERRResourceNotFound: Resource not found"})
        == "NCERRResourceNotFound"
    )
    assert profile.error_code({"code": 16}) == "NCERRResourceNotFound"
    assert profile.error_code(
        {"code": 15, "codeDesc": "NCERRBadRequest", "message": "KMSInvalidStateException: x"}
    ) == ("KMSInvalidStateException")
    assert profile.error_code({"code": 77}) == "77"
    from conformance.profiles.base import NotCovered

    with pytest.raises(NotCovered):
        profile.call("token_password", auth="none")
    profile.close()


def test_option_unknown_query_parameters(cckm: Cckm) -> None:
    response = cckm.list(kms_name="x")
    assert response.status_code == 400 and "unknown query parameter" in _envelope(response)["message"]


@pytest.mark.parametrize("mock_with", [((), {"unknown-query-parameters": "ignore"})], indirect=True)
def test_option_unknown_query_parameters_ignored(mock_with: Cckm) -> None:
    assert mock_with.list(kms_name="x").status_code == 200

"""Thales mock: ``POST /api/v1/cckm/aws/upload-key`` (upload a CipherTrust Manager, DSM, Luna HSM
or external CM key to AWS KMS).  The uploaded key is an EXTERNAL key holding the source's
material, so it starts Enabled and then lives as any imported key: delete-material sends it to
PendingImport, import-material brings it back, and the state machine refuses as elsewhere.
In-process, through Starlette's TestClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cckm import KEYS, Cckm, refusal, start

from conformance.settings import Settings
from conformance.vendors.thales.mock import ACCOUNT
from conformance.vendors.thales.profile import ThalesProfile

UPLOAD = "/api/v1/cckm/aws/upload-key"


class Client(Cckm):
    def upload_raw(self, body: Any = None, **fields: Any) -> httpx.Response:
        if body is None:
            body = {"kms": self.creds["kms"], "region": self.creds["region"], **fields}
        return self.http.post(UPLOAD, json=body, headers=self.headers)

    def upload(self, **fields: Any) -> dict[str, Any]:
        response = self.upload_raw(
            source_key_identifier=fields.pop("source_key_identifier", "cm-key"), **fields
        )
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture
def cckm() -> Iterator[Client]:
    yield from start(Client)


@pytest.fixture
def mock_with(request: pytest.FixtureRequest) -> Iterator[Client]:
    yield from start(Client, options=request.param)


def _refusal(response: httpx.Response, status: int, code: int) -> str:
    """The refusal's message; code 9 for an invalid value, 15 for a refusal AWS passes through."""
    return refusal(response, status, code)


def test_upload_creates_an_enabled_external_key_with_the_source(cckm: Client) -> None:
    key = cckm.upload(
        source_key_tier="dsm",
        source_key_identifier="dsm-aes-1",
        aws_param={"Alias": "uploaded", "Description": "from DSM"},
    )
    aws = key["aws_param"]
    assert aws["Origin"] == "EXTERNAL" and aws["KeyState"] == "Enabled" and aws["Enabled"] is True
    assert aws["Alias"] == ["alias/uploaded"] and aws["Description"] == "from DSM"
    assert aws["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" and "ValidTo" not in aws
    assert key["key_material_origin"] == "cckm" and key["key_source"] == "dsm"
    assert key["local_key_name"] == "dsm-aes-1" and key["local_key_id"]
    assert key["kms"] == cckm.creds["kms"] and key["region"] == cckm.creds["region"]
    # the list's key_source filter names the tier's source
    listed = cckm.http.get(KEYS, params={"key_source": "DSM"}, headers=cckm.headers).json()
    assert [k["id"] for k in listed["resources"]] == [key["id"]]


def test_upload_defaults_to_the_local_tier_and_overrides_origin(cckm: Client) -> None:
    key = cckm.upload(aws_param={"Origin": "AWS_KMS"})
    assert key["key_source"] == "local" and key["aws_param"]["Origin"] == "EXTERNAL"


@pytest.mark.parametrize("flag", ["key_expiration", "KeyExpiration"])
def test_upload_with_expiring_material(cckm: Client, flag: str) -> None:
    key = cckm.upload(**{flag: True, "valid_to": "2031-01-01T00:00:00Z"})
    assert key["aws_param"]["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert key["aws_param"]["ValidTo"] == "2031-01-01T00:00:00Z"
    unflagged = cckm.upload(valid_to="2031-01-01T00:00:00Z")
    assert unflagged["aws_param"]["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"


def test_uploaded_key_lives_as_an_imported_key(cckm: Client) -> None:
    key_id = cckm.upload()["id"]
    assert cckm.act(key_id, "disable").json()["aws_param"]["KeyState"] == "Disabled"
    assert cckm.act(key_id, "enable").json()["aws_param"]["KeyState"] == "Enabled"
    assert cckm.act(key_id, "delete-material", {}).json()["aws_param"]["KeyState"] == "PendingImport"
    refused = cckm.act(key_id, "enable")
    assert "KMSInvalidStateException" in _refusal(refused, 400, 15)
    back = cckm.act(key_id, "import-material", {"source_key_identifier": "cm-key"})
    assert back.json()["aws_param"]["KeyState"] == "Enabled"
    scheduled = cckm.act(key_id, "schedule-deletion", {"days": 7})
    assert scheduled.json()["aws_param"]["KeyState"] == "PendingDeletion"
    assert "is pending deletion" in _refusal(cckm.act(key_id, "import-material", {}), 400, 15)
    assert cckm.act(key_id, "cancel-deletion").json()["aws_param"]["KeyState"] == "Disabled"
    assert cckm.state(key_id) == "Disabled"
    # an uploaded key is EXTERNAL, which AWS automatic rotation does not take
    cckm.act(key_id, "enable")
    refused = cckm.act(key_id, "enable-auto-rotation", {})
    assert "UnsupportedOperationException" in _refusal(refused, 400, 15)


def test_upload_principals_and_template(cckm: Client) -> None:
    users = cckm.upload(key_users=["alice"])
    assert users["key_users"] == [f"arn:aws:iam::{ACCOUNT}:user/alice"]
    templated = cckm.upload(policytemplate="tpl-1")
    assert {"TagKey": "cckm_policy_template_id", "TagValue": "tpl-1"} in templated["aws_param"]["Tags"]


@pytest.mark.parametrize(
    "fields",
    [
        {},  # no source_key_identifier
        {"source_key_identifier": ""},
        {"source_key_identifier": "k", "source_key_tier": "vault"},
        {"source_key_identifier": "k", "valid_to": "tomorrow"},
        {"source_key_identifier": 5},
        {"source_key_identifier": "k", "policytemplate": "t", "key_users": ["bob"]},
        {"source_key_identifier": "k", "aws_param": {"Policy": {"Statement": []}}, "key_admins": ["c"]},
    ],
)
def test_upload_invalid_bodies_are_code_9(cckm: Client, fields: dict[str, Any]) -> None:
    _refusal(cckm.upload_raw(**fields), 400, 9)


def test_upload_missing_connection_region_and_bad_json(cckm: Client) -> None:
    _refusal(cckm.upload_raw({"region": "us-east-1", "source_key_identifier": "k"}), 400, 9)
    _refusal(cckm.upload_raw({"kms": "nope", "region": "us-east-1", "source_key_identifier": "k"}), 404, 16)
    unknown_region = {"kms": cckm.creds["kms"], "region": "mars-1", "source_key_identifier": "k"}
    _refusal(cckm.upload_raw(unknown_region), 400, 9)
    _refusal(cckm.upload_raw([1, 2]), 400, 9)
    raw = cckm.http.post(UPLOAD, content=b"{", headers={**cckm.headers, "Content-Type": "application/json"})
    _refusal(raw, 400, 15)
    assert cckm.http.post(UPLOAD, json={}).status_code == 401


def test_upload_duplicate_alias_is_already_exists(cckm: Client) -> None:
    cckm.upload(aws_param={"Alias": "taken"})
    message = _refusal(cckm.upload_raw(source_key_identifier="k", aws_param={"Alias": "taken"}), 400, 15)
    assert "AlreadyExistsException" in message


@pytest.mark.parametrize(
    "mock_with",
    [{"create-status": "201", "validation-status": "422", "state-error-status": "409"}],
    indirect=True,
)
def test_upload_follows_the_status_options(mock_with: Client) -> None:
    created = mock_with.upload_raw(source_key_identifier="k", aws_param={"Alias": "a"})
    assert created.status_code == 201
    _refusal(mock_with.upload_raw(source_key_tier="vault", source_key_identifier="k"), 422, 9)
    again = mock_with.upload_raw(source_key_identifier="k", aws_param={"Alias": "a"})
    assert again.status_code == 409 and "AlreadyExistsException" in again.json()["message"]


def test_profile_owns_keys_the_generated_layer_uploads() -> None:
    """A key made by upload-key is a scratch key of the run: the cleanup schedules it for deletion."""
    profile = ThalesProfile(Settings(vendor="thales", base_url="http://127.0.0.1:9"))
    assert profile.created_key_id("uploadAwsKey", {"id": "k-1"}) == "k-1"
    assert profile.created_key_id("uploadAwsKey", [{"id": "k-1"}]) is None

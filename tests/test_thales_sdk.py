"""The real ``ciphertrust-sdk`` client (PyPI ``ciphertrust-sdk``, import ``ciphertrust``) against the mock.

The SDK builds every URL as ``https://{hostname}/api/v1/...`` from the two templates
``ciphertrust.config.AUTH`` and ``ciphertrust.config.API_URL``, and refuses any ``hostname``
that is not a bare DNS name (``validators.domain``: no port, no IP address).  A loopback mock
on an ephemeral port can therefore only be reached by pointing those two SDK templates at
the mock; everything else (login, JWT decoding of ``exp``/``iat``, the refresh grant, the
Bearer header, JSON bodies, error handling) is the SDK's own code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

ciphertrust = pytest.importorskip("ciphertrust")
try:
    from ciphertrust.api import API
except ModuleNotFoundError as exc:  # the SDK imports python-dateutil without declaring it
    raise ImportError(
        f"ciphertrust-sdk cannot be imported ({exc}); install python-dateutil alongside it"
    ) from exc

from conformance.mocks.base import RunningMock  # noqa: E402
from conformance.vendors.thales.mock import MOCK  # noqa: E402

HOSTNAME = "cm.example.com"  # passes the SDK's hostname check; never resolved


@pytest.fixture
def sdk_target(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, str], RunningMock]]:
    options = getattr(request, "param", None)
    config = MOCK.config([], options)
    with RunningMock(MOCK.create_app(config)) as server:
        monkeypatch.setattr(ciphertrust.config, "AUTH", f"{server.url}/api/v1/auth/tokens")
        monkeypatch.setattr(ciphertrust.config, "API_URL", f"{server.url}/api/v1/{{1}}")
        yield MOCK.credentials(config), server


def _api(creds: dict[str, str], **extra: Any) -> API:
    return API(
        hostname=HOSTNAME, username=creds["username"], password=creds["password"], verify=False, **extra
    )


def test_sdk_drives_the_key_life_cycle(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    creds, _ = sdk_target
    api = _api(creds)
    assert api.auth.message == "Generated Auth Token"
    assert api.auth.token_type == "Bearer" and api.auth.duration == 300

    created = api.post.call(
        "cckm/aws/keys",
        json={
            "kms": creds["kms"],
            "region": creds["region"],
            "aws_param": {"Alias": "sdk-key", "Description": "via ciphertrust-sdk"},
        },
    )
    assert created["response_statistics"]["status_code"] == 200
    key_id = created["id"]
    assert created["aws_param"]["KeyState"] == "Enabled"

    disabled = api.post.call(f"cckm/aws/keys/{key_id}/disable")
    assert disabled["aws_param"]["KeyState"] == "Disabled" and disabled["aws_param"]["Enabled"] is False

    scheduled = api.post.call(f"cckm/aws/keys/{key_id}/schedule-deletion", json={"days": 7})
    assert scheduled["aws_param"]["KeyState"] == "PendingDeletion" and scheduled["aws_param"]["DeletionDate"]

    cancelled = api.post.call(f"cckm/aws/keys/{key_id}/cancel-deletion")
    assert cancelled["aws_param"]["KeyState"] == "Disabled"

    fetched = api.get.call(f"cckm/aws/keys/{key_id}")
    assert fetched["id"] == key_id
    assert fetched["aws_param"]["KeyState"] == "Disabled" and "DeletionDate" not in fetched["aws_param"]

    listed = api.get.call("cckm/aws/keys", params={"limit": 10, "skip": 0})
    assert listed["total"] == 1 and listed["resources"][0]["id"] == key_id

    # A refused transition surfaces through the SDK's error path with the AWS exception text.
    refused = api.post.call(f"cckm/aws/keys/{key_id}/cancel-deletion")
    assert refused["response_statistics"]["status_code"] == 400
    assert "KMSInvalidStateException" in refused["error_response"]


def test_sdk_unknown_key_is_404(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    creds, _ = sdk_target
    result = _api(creds).get.call("cckm/aws/keys/00000000-0000-4000-8000-000000000000")
    assert result["response_statistics"]["status_code"] == 404
    assert "NCERRResourceNotFound" in result["error_response"]


def test_sdk_wrong_password_gets_no_token(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    creds, _ = sdk_target
    api = _api({**creds, "password": "wrong"})
    assert api.auth.response.status_code == 401
    assert getattr(api.auth, "token", None) is None  # gen_token records the error instead of raising


@pytest.mark.parametrize("sdk_target", [{"token-duration": "5"}], indirect=True)
def test_sdk_refresh_grant(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    """With a 5 s JWT the SDK's 15 s safety offset makes every call refresh first (refresh grant)."""
    creds, _ = sdk_target
    api = _api(creds)
    first = api.auth.token
    listed = api.get.call("cckm/aws/keys")
    assert listed["response_statistics"]["status_code"] == 200
    assert api.auth.message == "Generated Refresh Token"
    assert api.auth.token != first


def test_sdk_create_with_template_and_principals_then_filter(
    sdk_target: tuple[dict[str, str], RunningMock],
) -> None:
    """Create with policytemplate and key_users names, list by the documented filters, and the
    mutually exclusive policy inputs refused -- all through the SDK's own request code."""
    creds, _ = sdk_target
    api = _api(creds)
    where = {"kms": creds["kms"], "region": creds["region"]}
    created = api.post.call(
        "cckm/aws/keys",
        json={
            **where,
            "aws_param": {"CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"},
            "policytemplate": "tpl-sdk",
        },
    )
    assert created["response_statistics"]["status_code"] == 200
    assert {"TagKey": "cckm_policy_template_id", "TagValue": "tpl-sdk"} in created["aws_param"]["Tags"]
    users = api.post.call("cckm/aws/keys", json={**where, "aws_param": {}, "key_users": ["alice"]})
    assert users["key_users"] == ["arn:aws:iam::123456789012:user/alice"]

    for params, expected in [
        ({"cckm_policy_template_id": "tpl-sdk"}, 1),
        ({"cckm_policy_template_id": "other"}, 0),
        ({"CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"}, 2),
        ({"tags": "tpl-sdk"}, 1),
        ({"key_source": "DSM"}, 0),
    ]:
        listed = api.get.call("cckm/aws/keys", params=params)
        assert listed["response_statistics"]["status_code"] == 200, params
        assert listed["total"] == expected, params

    refused = api.post.call(
        "cckm/aws/keys", json={**where, "aws_param": {"Policy": {"Statement": []}}, "key_admins": ["carol"]}
    )
    assert refused["response_statistics"]["status_code"] == 400
    assert "NCERRInvalidParamValue" in refused["error_response"]


def test_sdk_drives_every_key_action(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    """Through the SDK's own request code: every CCKM AWS key action the spec defines, with the
    answers checked (fields changed, states moved, refusals parsed), then the delete."""
    creds, _ = sdk_target
    api = _api(creds)
    where = {"kms": creds["kms"], "region": creds["region"]}
    key_id = api.post.call("cckm/aws/keys", json={**where, "aws_param": {"Alias": "acts"}})["id"]

    def act(action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        kwargs = {"json": body} if body is not None else {}
        return api.post.call(f"cckm/aws/keys/{key_id}/{action}", **kwargs)

    assert act("update-description", {"description": "new"})["aws_param"]["Description"] == "new"
    assert "alias/extra" in act("add-alias", {"alias": "extra"})["aws_param"]["Alias"]
    assert "alias/extra" not in act("delete-alias", {"alias": "extra"})["aws_param"]["Alias"]
    missing_alias = act("delete-alias", {"alias": "extra"})
    assert missing_alias["response_statistics"]["status_code"] == 400
    assert "NotFoundException" in missing_alias["error_response"]
    tagged = act("add-tags", {"tags": [{"tag_key": "team", "tag_value": "kms"}]})
    assert {"TagKey": "team", "TagValue": "kms"} in tagged["aws_param"]["Tags"]
    assert act("remove-tags", {"tags": ["team"]})["aws_param"]["Tags"] == []
    policy = {"Version": "2012-10-17", "Statement": []}
    assert json.loads(act("policy", {"policy": policy})["aws_param"]["Policy"]) == policy
    users = act("policy", {"key_users": ["alice"]})
    assert users["key_users"] == ["arn:aws:iam::123456789012:user/alice"]
    rotation = act("enable-auto-rotation", {"rotation_period_in_days": 90})["aws_param"]
    assert rotation["KeyRotationEnabled"] is True and rotation["RotationPeriodInDays"] == 90
    status = act("get-key-rotation-status")
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert status["KeyId"] == rotation["Arn"] and status["NextRotationDate"] == rotation["NextRotationDate"]
    assert act("disable-auto-rotation")["aws_param"]["KeyRotationEnabled"] is False
    assert act("get-key-rotation-status")["KeyRotationEnabled"] is False
    assert act("refresh")["message"] == f"AWS key '{key_id}' will be refreshed and persisted"
    assert act("enable")["aws_param"]["KeyState"] == "Enabled"
    rotated = act("rotate", {"retain_alias": True})
    assert rotated["id"] != key_id and rotated["rotated_from"] == key_id
    assert rotated["aws_param"]["Alias"] == ["alias/acts"]
    assert api.get.call(f"cckm/aws/keys/{key_id}")["aws_param"]["Alias"] == []
    not_external = act("import-material", {"source_key_identifier": "k"})
    assert not_external["response_statistics"]["status_code"] == 400
    assert "UnsupportedOperationException" in not_external["error_response"]

    external = api.post.call("cckm/aws/keys", json={**where, "aws_param": {"Origin": "EXTERNAL"}})
    assert external["aws_param"]["KeyState"] == "PendingImport"
    key_id = external["id"]
    imported = act("import-material", {"source_key_tier": "hsm-luna", "source_key_identifier": "luna-1"})
    assert imported["aws_param"]["KeyState"] == "Enabled" and imported["key_source"] == "hsm-luna"
    assert act("delete-material", {})["aws_param"]["KeyState"] == "PendingImport"
    refused = act("disable")
    assert refused["response_statistics"]["status_code"] == 400
    assert "KMSInvalidStateException" in refused["error_response"]

    deleted = api.delete.call(f"cckm/aws/keys/{key_id}")
    assert deleted["response_statistics"]["status_code"] == 204 and deleted["id"] == key_id
    gone = api.get.call(f"cckm/aws/keys/{key_id}")
    assert gone["response_statistics"]["status_code"] == 404


def test_sdk_uploads_a_key(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    """upload-key through the SDK: an Enabled EXTERNAL key holding the source's material, found by
    the key_source filter; a body without the source key and a duplicate alias are refused."""
    creds, _ = sdk_target
    api = _api(creds)
    where = {"kms": creds["kms"], "region": creds["region"]}
    uploaded = api.post.call(
        "cckm/aws/upload-key",
        json={
            **where,
            "source_key_tier": "dsm",
            "source_key_identifier": "dsm-aes-1",
            "key_expiration": True,
            "valid_to": "2031-01-01T00:00:00Z",
            "aws_param": {"Alias": "uploaded"},
        },
    )
    assert uploaded["response_statistics"]["status_code"] == 200
    aws = uploaded["aws_param"]
    assert aws["Origin"] == "EXTERNAL" and aws["KeyState"] == "Enabled" and aws["Alias"] == ["alias/uploaded"]
    assert aws["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and aws["ValidTo"] == "2031-01-01T00:00:00Z"
    assert uploaded["key_source"] == "dsm" and uploaded["local_key_name"] == "dsm-aes-1"
    listed = api.get.call("cckm/aws/keys", params={"key_source": "DSM"})
    assert [k["id"] for k in listed["resources"]] == [uploaded["id"]]

    no_source = api.post.call("cckm/aws/upload-key", json=where)
    assert no_source["response_statistics"]["status_code"] == 400
    assert "NCERRInvalidParamValue" in no_source["error_response"]
    duplicate = api.post.call(
        "cckm/aws/upload-key",
        json={**where, "source_key_identifier": "k", "aws_param": {"Alias": "uploaded"}},
    )
    assert duplicate["response_statistics"]["status_code"] == 400
    assert "AlreadyExistsException" in duplicate["error_response"]


def test_sdk_runs_and_cancels_synchronization_jobs(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    """Synchronization jobs through the SDK: start, status, list, cancel (abort) and the refusal of a
    second cancel; the finished job has synced the key of its region."""
    creds, _ = sdk_target
    api = _api(creds)
    key = api.post.call("cckm/aws/keys", json={"kms": creds["kms"], "region": "ap-south-1", "aws_param": {}})
    job = api.post.call(
        "cckm/aws/synchronization-jobs", json={"kms": [creds["kms"]], "regions": ["ap-south-1"]}
    )
    assert job["response_statistics"]["status_code"] == 200 and job["overall_status"] == "in_progress"
    done = api.get.call(f"cckm/aws/synchronization-jobs/{job['id']}")
    assert done["overall_status"] == "completed" and done["abort"] is False
    assert api.get.call(f"cckm/aws/keys/{key['id']}")["synced_at"] == done["completed_at"]

    running = api.post.call("cckm/aws/synchronization-jobs", json={"synchronize_all": True})
    cancelled = api.post.call(f"cckm/aws/synchronization-jobs/{running['id']}/cancel")
    assert cancelled["abort"] is True and cancelled["overall_status"] == "in_progress"
    listed = api.get.call("cckm/aws/synchronization-jobs", params={"skip": 0, "limit": 10})
    assert listed["total"] == 2 and [j["id"] for j in listed["resources"]] == [running["id"], job["id"]]
    # The listing shows the cancelled job as it is; its next read by id completes it, aborted.
    assert [j["overall_status"] for j in listed["resources"]] == ["in_progress", "completed"]
    aborted = api.get.call(f"cckm/aws/synchronization-jobs/{running['id']}")
    assert aborted["overall_status"] == "completed" and aborted["abort"] is True
    again = api.post.call(f"cckm/aws/synchronization-jobs/{running['id']}/cancel")
    assert again["response_statistics"]["status_code"] == 400
    assert "not in progress" in again["error_response"] and "NCERRBadRequest" in again["error_response"]
    both = api.post.call(
        "cckm/aws/synchronization-jobs", json={"synchronize_all": True, "kms": [creds["kms"]]}
    )
    assert both["response_statistics"]["status_code"] == 400


def test_sdk_replicates_and_moves_the_primary_region(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    """replicate-key and update-primary-region through the SDK: the replica shares the KeyID, the
    roles swap, and a second replica in the same region is refused with AlreadyExistsException."""
    creds, _ = sdk_target
    api = _api(creds)
    where = {"kms": creds["kms"], "region": creds["region"]}
    primary = api.post.call("cckm/aws/keys", json={**where, "aws_param": {"MultiRegion": True}})
    replica = api.post.call(
        f"cckm/aws/keys/{primary['id']}/replicate-key", json={"replica_region": "eu-west-1"}
    )
    assert replica["response_statistics"]["status_code"] == 200
    assert replica["aws_param"]["KeyID"] == primary["aws_param"]["KeyID"] and replica["region"] == "eu-west-1"
    assert replica["aws_param"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    twice = api.post.call(
        f"cckm/aws/keys/{primary['id']}/replicate-key", json={"replica_region": "eu-west-1"}
    )
    assert (
        twice["response_statistics"]["status_code"] == 400
        and "AlreadyExistsException" in twice["error_response"]
    )

    moved = api.post.call(
        f"cckm/aws/keys/{replica['id']}/update-primary-region", json={"PrimaryRegion": "eu-west-1"}
    )
    assert moved["aws_param"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    former = api.get.call(f"cckm/aws/keys/{primary['id']}")["aws_param"]["MultiRegionConfiguration"]
    assert former["MultiRegionKeyType"] == "REPLICA" and former["PrimaryKey"]["Region"] == "eu-west-1"


def test_sdk_rotation_jobs(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    """enable-rotation-job / disable-rotation-job through the SDK, read back with the list filter."""
    creds, _ = sdk_target
    api = _api(creds)
    key = api.post.call(
        "cckm/aws/keys", json={"kms": creds["kms"], "region": creds["region"], "aws_param": {}}
    )
    enabled = api.post.call(f"cckm/aws/keys/{key['id']}/enable-rotation-job", json={"job_config_id": "job-9"})
    assert enabled["labels"] == {"job_config_id": "job-9"}
    assert api.get.call("cckm/aws/keys", params={"rotation_job_enabled": "true"})["total"] == 1
    assert api.post.call(f"cckm/aws/keys/{key['id']}/disable-rotation-job")["labels"] == {}
    refused = api.post.call(f"cckm/aws/keys/{key['id']}/enable-rotation-job", json={})
    assert refused["response_statistics"]["status_code"] == 400
    assert "NCERRInvalidParamValue" in refused["error_response"]


def test_sdk_rotates_key_material_and_lists_rotations(sdk_target: tuple[dict[str, str], RunningMock]) -> None:
    """rotate-material and the rotations list through the SDK, as Thales's Terraform provider uses
    them (the material id changes, the list's total grows); a key pending deletion has rotation
    status false and refuses rotate-material."""
    creds, _ = sdk_target
    api = _api(creds)
    key = api.post.call(
        "cckm/aws/keys", json={"kms": creds["kms"], "region": creds["region"], "aws_param": {}}
    )
    before = api.get.call(f"cckm/aws/keys/{key['id']}/rotations", params={"limit": -1})
    rotated = api.post.call(f"cckm/aws/keys/{key['id']}/rotate-material")
    assert rotated["response_statistics"]["status_code"] == 200
    assert rotated["aws_param"]["CurrentKeyMaterialId"] != key["aws_param"]["CurrentKeyMaterialId"]
    after = api.get.call(f"cckm/aws/keys/{key['id']}/rotations", params={"limit": -1})
    assert (before["total"], after["total"]) == (1, 2)
    assert after["resources"][0]["aws_param"]["RotationType"] == "ON_DEMAND"
    api.post.call(f"cckm/aws/keys/{key['id']}/enable-auto-rotation", json={})
    api.post.call(f"cckm/aws/keys/{key['id']}/schedule-deletion", json={"days": 7})
    assert api.post.call(f"cckm/aws/keys/{key['id']}/get-key-rotation-status")["KeyRotationEnabled"] is False
    refused = api.post.call(f"cckm/aws/keys/{key['id']}/rotate-material")
    assert refused["response_statistics"]["status_code"] == 400
    assert "KMSInvalidStateException" in refused["error_response"]

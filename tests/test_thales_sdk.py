"""The real ``ciphertrust-sdk`` client (PyPI ``ciphertrust-sdk``, import ``ciphertrust``) against the mock.

The SDK builds every URL as ``https://{hostname}/api/v1/...`` from the two templates
``ciphertrust.config.AUTH`` and ``ciphertrust.config.API_URL``, and refuses any ``hostname``
that is not a bare DNS name (``validators.domain``: no port, no IP address).  A loopback mock
on an ephemeral port can therefore only be reached by pointing those two SDK templates at
the mock; everything else (login, JWT decoding of ``exp``/``iat``, the refresh grant, the
Bearer header, JSON bodies, error handling) is the SDK's own code.
"""

from __future__ import annotations

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

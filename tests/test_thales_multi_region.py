"""Thales mock: multi-Region keys -- ``replicate-key`` (a replica of a multi-Region primary in
another region) and ``update-primary-region`` (a replica becomes the primary).  Shared properties,
MultiRegionConfiguration on every member, the states each call is refused in, and the refusals'
codes.  In-process, through Starlette's TestClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cckm import KEYS, Cckm, refusal, start

Client = Cckm


@pytest.fixture
def cckm() -> Iterator[Client]:
    yield from start(Client)


@pytest.fixture
def mock_with(request: pytest.FixtureRequest) -> Iterator[Client]:
    yield from start(Client, options=request.param)


def _refusal(response: httpx.Response, status: int, code: int) -> str:
    return refusal(response, status, code)


def _config(key: dict[str, Any]) -> dict[str, Any]:
    return key["aws_param"]["MultiRegionConfiguration"]  # type: ignore[no-any-return]


def test_replicate_shares_the_primary_and_configures_both(cckm: Client) -> None:
    primary = cckm.create(MultiRegion=True, Alias="p")
    assert primary["aws_param"]["KeyID"].startswith("mrk-")
    assert _config(primary) == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": primary["aws_param"]["Arn"], "Region": "us-east-1"},
        "ReplicaKeys": [],
    }
    answer = cckm.act(
        primary["id"],
        "replicate-key",
        {
            "replica_region": "eu-west-1",
            "aws_param": {"Alias": "r", "Description": "replica"},
            "key_users": ["al"],
        },
    )
    assert answer.status_code == 200, answer.text
    replica = answer.json()
    aws = replica["aws_param"]
    assert replica["id"] != primary["id"] and replica["region"] == "eu-west-1"
    assert replica["uri"] == f"kylo:kylo:cckm:aws-replica-key:{replica['id']}"
    assert aws["KeyID"] == primary["aws_param"]["KeyID"] and aws["MultiRegion"] is True
    assert aws["Arn"] == f"arn:aws:kms:eu-west-1:123456789012:key/{aws['KeyID']}"
    assert aws["KeyState"] == "Enabled" and aws["Origin"] == "AWS_KMS"
    assert aws["Alias"] == ["alias/r"] and aws["Description"] == "replica"
    assert replica["key_users"] == ["arn:aws:iam::123456789012:user/al"]
    assert _config(replica)["MultiRegionKeyType"] == "REPLICA"
    assert _config(replica)["PrimaryKey"]["Region"] == "us-east-1"
    assert _config(cckm.get(primary["id"]).json())["ReplicaKeys"] == [
        {"Arn": aws["Arn"], "Region": "eu-west-1"}
    ]
    listed = cckm.http.get(KEYS, params={"multi_region_key_type": "REPLICA"}, headers=cckm.headers).json()
    assert [k["id"] for k in listed["resources"]] == [replica["id"]]


def test_replica_of_an_external_primary_waits_for_material(cckm: Client) -> None:
    primary = cckm.create(MultiRegion=True, Origin="EXTERNAL")
    cckm.act(primary["id"], "import-material", {"source_key_identifier": "k"})
    replica = cckm.act(primary["id"], "replicate-key", {"replica_region": "ap-south-1"}).json()
    assert (
        replica["aws_param"]["Origin"] == "EXTERNAL" and replica["aws_param"]["KeyState"] == "PendingImport"
    )
    imported = cckm.act(replica["id"], "import-material", {"source_key_identifier": "k"})
    assert imported.json()["aws_param"]["KeyState"] == "Enabled"


def test_replicate_refusals(cckm: Client) -> None:
    single = cckm.create()
    message = _refusal(cckm.act(single["id"], "replicate-key", {"replica_region": "eu-west-1"}), 400, 15)
    assert "UnsupportedOperationException" in message
    primary = cckm.create(MultiRegion=True)
    replica = cckm.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"}).json()
    for region in ("eu-west-1", "us-east-1"):  # a member is already there
        again = cckm.act(primary["id"], "replicate-key", {"replica_region": region})
        assert "AlreadyExistsException" in _refusal(again, 400, 15)
    from_replica = cckm.act(replica["id"], "replicate-key", {"replica_region": "ap-south-1"})
    assert "UnsupportedOperationException" in _refusal(from_replica, 400, 15)
    _refusal(cckm.act(primary["id"], "replicate-key", {"replica_region": "mars-1"}), 400, 9)
    _refusal(cckm.act(primary["id"], "replicate-key", {}), 400, 9)
    _refusal(cckm.act(primary["id"], "replicate-key", {"replica_region": ""}), 400, 9)
    both = {"replica_region": "ap-south-1", "policytemplate": "t", "key_users": ["b"]}
    _refusal(cckm.act(primary["id"], "replicate-key", both), 400, 9)
    _refusal(
        cckm.act("00000000-0000-4000-8000-000000000000", "replicate-key", {"replica_region": "x"}), 404, 16
    )


@pytest.mark.parametrize("state", ["Disabled", "PendingDeletion"])
def test_replicate_by_primary_state(cckm: Client, state: str) -> None:
    primary = cckm.create(MultiRegion=True)
    if state == "Disabled":
        cckm.act(primary["id"], "disable")
    else:
        cckm.act(primary["id"], "schedule-deletion", {"days": 7})
    answer = cckm.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"})
    if state == "Disabled":
        assert (
            answer.status_code == 200
            and cckm.get(primary["id"]).json()["aws_param"]["KeyState"] == "Disabled"
        )
    else:
        assert "is pending deletion" in _refusal(answer, 400, 15)


@pytest.mark.parametrize("by", ["replica", "primary"])
def test_update_primary_region_swaps_the_roles(cckm: Client, by: str) -> None:
    primary = cckm.create(MultiRegion=True)
    replica = cckm.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"}).json()
    other = cckm.act(primary["id"], "replicate-key", {"replica_region": "ap-south-1"}).json()
    called = replica if by == "replica" else primary
    answer = cckm.act(called["id"], "update-primary-region", {"PrimaryRegion": "eu-west-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == called["id"]
    new, old, third = (
        cckm.get(replica["id"]).json(),
        cckm.get(primary["id"]).json(),
        cckm.get(other["id"]).json(),
    )
    assert _config(new)["MultiRegionKeyType"] == "PRIMARY" and _config(old)["MultiRegionKeyType"] == "REPLICA"
    for member in (new, old, third):
        assert _config(member)["PrimaryKey"] == {"Arn": new["aws_param"]["Arn"], "Region": "eu-west-1"}
    assert {r["Region"] for r in _config(new)["ReplicaKeys"]} == {"us-east-1", "ap-south-1"}
    assert [s["aws_param"]["KeyState"] for s in (new, old, third)] == ["Enabled"] * 3
    # the new primary replicates, the old one no longer does
    cckm.act(other["id"], "schedule-deletion", {"days": 7})
    assert "UnsupportedOperationException" in _refusal(
        cckm.act(old["id"], "replicate-key", {"replica_region": "ap-south-1"}), 400, 15
    )


def test_update_primary_region_refusals(cckm: Client) -> None:
    single = cckm.create()
    message = _refusal(
        cckm.act(single["id"], "update-primary-region", {"PrimaryRegion": "eu-west-1"}), 400, 15
    )
    assert "UnsupportedOperationException" in message
    primary = cckm.create(MultiRegion=True)
    replica = cckm.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"}).json()
    absent = cckm.act(primary["id"], "update-primary-region", {"PrimaryRegion": "ap-south-1"})
    assert "NotFoundException" in _refusal(absent, 400, 15)
    already = cckm.act(replica["id"], "update-primary-region", {"PrimaryRegion": "us-east-1"})
    assert "already the primary" in _refusal(already, 400, 15)
    _refusal(cckm.act(primary["id"], "update-primary-region", {}), 400, 9)
    _refusal(cckm.act(primary["id"], "update-primary-region", {"PrimaryRegion": 1}), 400, 9)
    cckm.act(replica["id"], "schedule-deletion", {"days": 7})
    pending = cckm.act(primary["id"], "update-primary-region", {"PrimaryRegion": "eu-west-1"})
    assert "is pending deletion" in _refusal(pending, 400, 15)
    assert _config(cckm.get(primary["id"]).json())["MultiRegionKeyType"] == "PRIMARY"


@pytest.mark.parametrize(
    "mock_with", [{"state-error-status": "409", "validation-status": "422"}], indirect=True
)
def test_multi_region_refusals_follow_the_status_options(mock_with: Client) -> None:
    primary = mock_with.create(MultiRegion=True)
    mock_with.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"})
    again = mock_with.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"})
    assert "AlreadyExistsException" in _refusal(again, 409, 15)
    _refusal(mock_with.act(primary["id"], "update-primary-region", {}), 422, 9)


def test_profile_owns_replicas_the_generated_layer_makes() -> None:
    """A replica made by replicate-key is a scratch key of the run: the cleanup schedules it for deletion."""
    from conformance.settings import Settings
    from conformance.vendors.thales.profile import ThalesProfile

    profile = ThalesProfile(Settings(vendor="thales", base_url="http://127.0.0.1:9"))
    assert profile.created_key_id("replicateAwsKey", {"id": "r-1"}) == "r-1"

"""Thales mock and profile: the rows that closed the fact map's last gaps -- source_key_tier and
tag-value refusals, the tags filter, the rotations list's filters and record uris, the policy
inputs on the policy call and create with principals.  In-process, through Starlette's TestClient
(the mock) and the profile against the bundled mock (its probes pass there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cckm import KEYS, Cckm, start

from conformance.vendors.thales.profile import PROBES, ThalesProfile

SYNC = "/api/v1/cckm/aws/synchronization-jobs"


def _client(faults: list[str] | None = None) -> Iterator[Cckm]:
    yield from start(faults=tuple(faults or ()))


@pytest.fixture
def cckm() -> Iterator[Cckm]:
    yield from _client()


def _invalid(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500 and response.status_code not in (401, 403, 404), response.text
    assert {"code", "codeDesc"} <= set(response.json())


def test_upload_refuses_an_unknown_source_tier(cckm: Cckm) -> None:
    body = {
        "kms": cckm.creds["kms"],
        "region": cckm.creds["region"],
        "source_key_tier": "no-such-tier",
        "source_key_identifier": "k",
        "aws_param": {},
    }
    _invalid(cckm.http.post("/api/v1/cckm/aws/upload-key", json=body, headers=cckm.headers))
    body["source_key_tier"] = "dsm"
    assert cckm.http.post("/api/v1/cckm/aws/upload-key", json=body, headers=cckm.headers).status_code == 200


def test_import_refuses_an_unknown_source_tier(cckm: Cckm) -> None:
    key = cckm.create(Origin="EXTERNAL")
    _invalid(cckm.act(key["id"], "import-material", {"source_key_tier": "no-such-tier"}))
    assert cckm.read(f"{KEYS}/{key['id']}").json()["aws_param"]["KeyState"] == "PendingImport"
    assert cckm.act(key["id"], "import-material", {"source_key_tier": "local"}).status_code == 200


def test_a_tag_value_outside_the_documented_characters_is_refused(cckm: Cckm) -> None:
    key = cckm.create()
    _invalid(cckm.act(key["id"], "add-tags", {"tags": [{"tag_key": "k", "tag_value": "a*b"}]}))
    fine = cckm.act(key["id"], "add-tags", {"tags": [{"tag_key": "k", "tag_value": "a_b.c/d=e+f-g@h"}]})
    assert fine.status_code == 200, fine.text


def test_the_policy_call_and_create_refuse_mixed_policy_inputs(cckm: Cckm) -> None:
    key = cckm.create()
    policy = {"Version": "2012-10-17", "Statement": []}
    _invalid(cckm.act(key["id"], "policy", {"policy": policy, "policytemplate": "t"}))
    _invalid(cckm.act(key["id"], "policy", {"policy": policy, "key_users": ["u"]}))
    _invalid(cckm.post_key({"Policy": policy}, key_admins=["admin"]))


def test_the_rotations_list_filters_and_uris(cckm: Cckm) -> None:
    key = cckm.create()
    assert cckm.act(key["id"], "rotate-material").status_code == 200
    path = f"{KEYS}/{key['id']}/rotations"
    records = cckm.read(path, limit="-1").json()["resources"]
    assert len(records) == 2
    assert all(r["uri"] == f"kylo:kylo:cckm:aws-key-rotation:{r['id']}" for r in records)
    on_demand = cckm.read(path, RotationType="ON_DEMAND").json()["resources"]
    assert [r["aws_param"]["RotationType"] for r in on_demand] == ["ON_DEMAND"]
    old = cckm.read(path, KeyMaterialState="NON_CURRENT").json()["resources"]
    assert [r["aws_param"]["KeyMaterialState"] for r in old] == ["NON_CURRENT"]
    material = on_demand[0]["aws_param"]["KeyMaterialId"]
    assert [r["id"] for r in cckm.read(path, KeyMaterialId=material).json()["resources"]] == [
        on_demand[0]["id"]
    ]
    assert cckm.read(path, KeyMaterialId="0" * 64).json()["resources"] == []


@pytest.mark.parametrize(
    "fault",
    ["rotations-ignore-rotation-type", "rotations-ignore-material-state", "rotations-ignore-material-id"],
)
def test_a_rotation_filter_fault_lists_the_other_records(fault: str) -> None:
    filters = {
        "rotations-ignore-rotation-type": {"RotationType": "ON_DEMAND"},
        "rotations-ignore-material-state": {"KeyMaterialState": "NON_CURRENT"},
        "rotations-ignore-material-id": {"KeyMaterialId": "0" * 64},
    }
    for cckm in _client([fault]):
        key = cckm.create()
        assert len(cckm.read(f"{KEYS}/{key['id']}/rotations", **filters[fault]).json()["resources"]) == 1


def test_the_tags_filter_matches_nothing_for_an_unknown_tag(cckm: Cckm) -> None:
    key = cckm.create(Tags=[{"TagKey": "team", "TagValue": "blue"}])
    assert cckm.read(KEYS, id=key["id"], tags="kms-conformance-no-such-tag").json()["resources"] == []
    assert [k["id"] for k in cckm.read(KEYS, id=key["id"], tags="blue").json()["resources"]] == [key["id"]]


@pytest.mark.parametrize(
    "name",
    [
        "tags-filter",
        "rotation-record-uri",
        "rotations-rotation-type-filter",
        "rotations-material-state-filter",
        "rotations-material-id-filter",
    ],
)
def test_the_read_rows_pass_against_the_mock(thales_mock, name: str) -> None:
    profile = ThalesProfile(thales_mock.settings)
    probe = next(p for p in PROBES if p.name == name)
    key_id = profile.key_in(probe.key)
    outcome = profile.call(probe.operation, key_id, probe.body)
    assert outcome.status in probe.status, outcome.describe()
    assert probe.check is not None and probe.check(outcome) is None


def test_delete_answers_no_content_and_drops_the_key(cckm: Cckm) -> None:
    key = cckm.create()
    assert cckm.act(key["id"], "schedule-deletion", {"days": 7}).status_code == 200
    response = cckm.http.delete(f"{KEYS}/{key['id']}", headers=cckm.headers)
    assert response.status_code == 204
    assert cckm.read(f"{KEYS}/{key['id']}").status_code == 404


def test_delete_answers_not_found_with_the_fault() -> None:
    for cckm in _client(["delete-answers-not-found"]):
        key = cckm.create()
        assert cckm.http.delete(f"{KEYS}/{key['id']}", headers=cckm.headers).status_code == 404
        assert cckm.read(f"{KEYS}/{key['id']}").status_code == 404


def test_multi_region_sets_read_as_documented(cckm: Cckm) -> None:
    primary = cckm.create(MultiRegion=True)
    config = primary["aws_param"]["MultiRegionConfiguration"]
    assert (
        config["MultiRegionKeyType"] == "PRIMARY"
        and config["PrimaryKey"]["Arn"] == primary["aws_param"]["Arn"]
    )
    replica = cckm.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"}).json()
    assert replica["uri"] == f"kylo:kylo:cckm:aws-replica-key:{replica['id']}"
    again = cckm.read(f"{KEYS}/{primary['id']}").json()["aws_param"]["MultiRegionConfiguration"]
    assert again["MultiRegionKeyType"] == "PRIMARY"
    assert [r["Region"] for r in again["ReplicaKeys"]] == ["eu-west-1"]
    moved = cckm.act(replica["id"], "update-primary-region", {"PrimaryRegion": "eu-west-1"})
    assert moved.status_code == 200, moved.text
    former = cckm.read(f"{KEYS}/{primary['id']}").json()["aws_param"]["MultiRegionConfiguration"]
    assert former["MultiRegionKeyType"] == "REPLICA" and former["PrimaryKey"]["Region"] == "eu-west-1"


@pytest.mark.parametrize(
    ("fault", "seen"),
    [
        ("new-primary-unconfigured", lambda aws: "MultiRegionConfiguration" not in aws),
        ("primary-forgets-replicas", lambda aws: aws["MultiRegionConfiguration"]["ReplicaKeys"] == []),
        (
            "former-primary-stays-primary",
            lambda aws: aws["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY",
        ),
    ],
)
def test_the_multi_region_faults_show_on_the_primary(fault: str, seen: Any) -> None:
    for cckm in _client([fault]):
        primary = cckm.create(MultiRegion=True)
        if fault != "new-primary-unconfigured":
            replica = cckm.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"}).json()
        if fault == "former-primary-stays-primary":
            cckm.act(replica["id"], "update-primary-region", {"PrimaryRegion": "eu-west-1"})
        assert seen(cckm.read(f"{KEYS}/{primary['id']}").json()["aws_param"])


def test_an_asymmetric_key_keeps_its_spec_and_has_rotation_off(cckm: Cckm) -> None:
    key = cckm.create(CustomerMasterKeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    aws = cckm.read(f"{KEYS}/{key['id']}").json()["aws_param"]
    assert (aws["CustomerMasterKeySpec"], aws["KeyUsage"]) == ("RSA_2048", "SIGN_VERIFY")
    assert cckm.act(key["id"], "get-key-rotation-status").json()["KeyRotationEnabled"] is False


def test_the_job_list_carries_kms_and_holds_at_most_limit(cckm: Cckm) -> None:
    body = {"kms": [cckm.creds["kms"]], "regions": ["ap-south-1"]}
    for _ in range(2):
        assert cckm.http.post(SYNC, json=body, headers=cckm.headers).status_code == 200
    listed = cckm.read(SYNC, limit="1").json()
    assert len(listed["resources"]) == 1 and listed["total"] == 2
    assert listed["resources"][0]["kms"] == [cckm.creds["kms"]]
    for faulted in _client(["sync-list-ignores-limit", "listed-jobs-without-kms"]):
        for _ in range(2):
            faulted.http.post(SYNC, json=body, headers=faulted.headers)
        jobs = faulted.read(SYNC, limit="1").json()["resources"]
        assert len(jobs) == 2 and all("kms" not in job for job in jobs)


def _tags_filter_refused(app: Any) -> Any:
    """A server that takes no tags filter syntax of the row's kind: the key list answers it 400."""
    body = b'{"code": 15, "codeDesc": "NCERRInvalidParamValue: Invalid parameter value", "message": "tags"}'

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == KEYS and b"tags=" in scope.get("query_string", b""):
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapped


def test_a_server_refusing_the_tags_syntax_passes_the_tags_row(tmp_path: Any) -> None:
    from tests import wrappers
    from tests.runs import run_target

    with wrappers.serve("thales", _tags_filter_refused) as (url, credentials):
        run = run_target("thales", url, tmp_path, requirement=("TH-LIST-015",), **credentials)
    assert run.row("TH-LIST-015")["status"] == "passed", run.explain()

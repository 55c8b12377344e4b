"""Key tags, the project's counts and quotas, the rotation status fields and list-keys' paging
codes on the bundled Huawei mock, and the rows that check them (issue #17).

In-process: what show-kms-tags, list-kms-tags and list-kms-by-tags show after the tag calls, the
documented tag refusals (KMS.0409, KMS.0406, KMS.0401, KMS.0416), user-instances, user-quotas,
get-key-rotation-status and KMS.1601/1602; then each new row against the faithful mock and
against the fault that breaks its behaviour; the profile's requests for the calls that are not a
POST (GET, DELETE, the key id in the path).  Through the official SDK: the tag calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import BASE, TOKEN, Kms, row_holds, sdk_client, start

from conformance.vendors.huawei.profile import HuaweiProfile

HEADERS = {"X-Auth-Token": TOKEN}


@pytest.fixture
def kms() -> Iterator[Any]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def _tags(kms: Any, key_id: str) -> dict[str, str]:
    answer = kms.client.get(f"{BASE}/{key_id}/tags", headers=HEADERS).json()
    assert answer["existTagsNum"] == len(answer["tags"])
    return {t["key"]: t["value"] for t in answer["tags"]}


def test_tag_calls_show_in_the_key_and_project_listings(kms: Any) -> None:
    key_id, _untagged = kms.key(), kms.key()
    tag = {"key": "team", "value": "blue"}
    assert kms.client.post(f"{BASE}/{key_id}/tags", json={"tag": tag}, headers=HEADERS).status_code == 204
    assert _tags(kms, key_id) == {"team": "blue"}
    listed = kms.client.get(f"{BASE}/tags", headers=HEADERS).json()["tags"]
    assert {"key": "team", "values": ["blue"]} in listed

    def search(action: str, values: list[str]) -> Any:
        body = {"action": action, "tags": [{"key": "team", "values": values}]}
        return kms.client.post(f"{BASE}/resource_instances/action", json=body, headers=HEADERS).json()

    assert [r["resource_id"] for r in search("filter", ["blue"])["resources"]] == [key_id]
    assert search("filter", ["red"])["resources"] == []  # nor the untagged key
    assert search("count", ["blue"]) == {"total_count": 1}
    batch = {"action": "delete", "tags": [tag]}
    assert kms.client.post(f"{BASE}/{key_id}/tags/action", json=batch, headers=HEADERS).status_code == 204
    assert _tags(kms, key_id) == {}
    kms.client.post(f"{BASE}/{key_id}/tags", json={"tag": tag}, headers=HEADERS)
    assert kms.client.delete(f"{BASE}/{key_id}/tags/team", headers=HEADERS).status_code == 204
    assert _tags(kms, key_id) == {}
    assert _error(kms.client.delete(f"{BASE}/{key_id}/tags/team", headers=HEADERS)) == (404, "KMS.0416")


def test_tag_refusals(kms: Any) -> None:
    key_id = kms.key()
    ten = {"action": "create", "tags": [{"key": f"t{n}", "value": "v"} for n in range(10)]}
    assert kms.client.post(f"{BASE}/{key_id}/tags/action", json=ten, headers=HEADERS).status_code == 204
    eleventh = kms.client.post(
        f"{BASE}/{key_id}/tags", json={"tag": {"key": "t10", "value": "v"}}, headers=HEADERS
    )
    assert _error(eleventh) == (400, "KMS.0409")
    long_key = {"tag": {"key": "k" * 37, "value": "v"}}
    assert _error(kms.client.post(f"{BASE}/{key_id}/tags", json=long_key, headers=HEADERS)) == (
        400,
        "KMS.0406",
    )
    empty = {"action": "create", "tags": []}
    assert _error(kms.client.post(f"{BASE}/{key_id}/tags/action", json=empty, headers=HEADERS)) == (
        400,
        "KMS.0401",
    )


def test_counts_quotas_rotation_fields_and_paging_codes(kms: Any) -> None:
    key_id = kms.key()
    assert kms.client.get(f"{BASE}/user-instances", headers=HEADERS).json() == {"instance_num": 1}
    quotas = kms.client.get(f"{BASE}/user-quotas", headers=HEADERS).json()["quotas"]["resources"]
    assert {"type": "CMK", "used": 1, "quota": quotas[0]["quota"]} in quotas
    status = kms.ok("get-key-rotation-status", {"key_id": key_id})
    assert set(status) == {
        "key_rotation_enabled",
        "rotation_interval",
        "last_rotation_time",
        "number_of_rotations",
    }
    assert _error(kms.post("list-keys", {"limit": "abc"})) == (400, "KMS.1601")
    assert _error(kms.post("list-keys", {"limit": "1", "marker": "-1"})) == (400, "KMS.1602")


def test_the_profile_sends_tag_calls_with_their_verbs_and_paths(kms_mock: Any) -> None:
    profile = HuaweiProfile(kms_mock("huawei").settings)
    key_id = profile.key_in("tagged")
    shown = profile.call("show_tags", key_id)
    request = shown.response.request
    assert (request.method, request.url.path) == (
        "GET",
        f"/v1.0/{profile.settings.project_id}/kms/{key_id}/tags",
    )
    assert request.content == b""
    gone = profile.call("delete_tag", key_id)
    assert (gone.response.request.method, gone.status) == ("DELETE", 204)
    assert profile.call("show_tags", key_id).body["tags"] == []


ROWS = {
    "tag-shown": "tag-not-stored",
    "eleventh-tag": "tags-unbounded",
    "tag-key-37": "tag-key-unchecked",
    "batch-deleted-tag-gone": "batch-delete-ignored",
    "empty-tag-list": "empty-tag-list-accepted",
    "deleted-tag-gone": "delete-tag-not-removed",
    "delete-unknown-tag": "delete-unknown-tag-accepted",
    "project-tags-listed": "project-tags-empty",
    "tag-filter-excludes": "tag-filter-ignored",
    "tag-count": "tag-count-zero",
    "instances-count": "instances-zero",
    "quotas-shape": "quotas-flat",
    "rotation-status-fields": "rotation-status-partial",
    "list-limit-abc": "list-limit-code-0308",
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_row_passes_the_mock_and_fails_its_fault(kms_mock: Any, name: str) -> None:
    assert row_holds(HuaweiProfile(kms_mock("huawei").settings), name)
    assert not row_holds(HuaweiProfile(kms_mock("huawei", faults=[ROWS[name]]).settings), name)


def test_the_sdk_adds_lists_and_deletes_tags(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-tags"))
    ).key_info.key_id
    tag = sdk.TagItem(key="team/dev", value="blue")
    client.create_kms_tag(sdk.CreateKmsTagRequest(key_id=key_id, body=sdk.CreateKmsTagRequestBody(tag=tag)))
    shown = client.show_kms_tags(sdk.ShowKmsTagsRequest(key_id=key_id))
    assert [(t.key, t.value) for t in shown.tags] == [("team/dev", "blue")]
    client.delete_tag(sdk.DeleteTagRequest(key_id=key_id, key="team/dev"))
    assert client.show_kms_tags(sdk.ShowKmsTagsRequest(key_id=key_id)).tags == []

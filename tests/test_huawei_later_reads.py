"""What later reads show on the bundled Huawei mock, and the rows that check it (issue #17).

create-key, update-key-alias / -description, schedule / cancel-key-deletion as describe-key shows
them afterwards; list-keys' key_spec and key_state filters; a symmetric encrypt-data / decrypt-data
round trip; the rotation calls as get-key-rotation-status shows them.  In-process against the mock
(each documented behaviour, then the fault that breaks it, seen through the profile's own row),
and the rotation calls through the official SDK.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import Kms, row_holds, sdk_client, start

from conformance.vendors.huawei.profile import HuaweiProfile


@pytest.fixture
def kms() -> Iterator[Any]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def _info(kms: Any, key_id: str) -> dict[str, Any]:
    return dict(kms.ok("describe-key", {"key_id": key_id})["key_info"])


def test_describe_shows_what_create_and_the_updates_sent(kms: Any) -> None:
    key_id = kms.key(key_description="first words")
    info = _info(kms, key_id)
    assert (info["key_alias"], info["key_description"]) == ("key-1", "first words")
    assert (info["key_spec"], info["origin"]) == ("AES_256", "kms")
    kms.ok("update-key-alias", {"key_id": key_id, "key_alias": "renamed-1"})
    kms.ok("update-key-description", {"key_id": key_id, "key_description": "second words"})
    info = _info(kms, key_id)
    assert (info["key_alias"], info["key_description"]) == ("renamed-1", "second words")


def test_the_deletion_date_follows_pending_days_and_a_cancel_clears_it(kms: Any) -> None:
    key_id = kms.key()
    kms.ok("schedule-key-deletion", {"key_id": key_id, "pending_days": "10"})
    ahead = (int(_info(kms, key_id)["scheduled_deletion_date"]) / 1000 - time.time()) / 86400
    assert 9.9 < ahead < 10.1
    kms.ok("cancel-key-deletion", {"key_id": key_id})
    assert _info(kms, key_id)["scheduled_deletion_date"] == ""


def test_list_keys_filters_by_key_spec_and_key_state(kms: Any) -> None:
    aes, ec = kms.key(), kms.key(key_spec="EC_P256")
    kms.ok("disable-key", {"key_id": aes})

    def listed(**body: str) -> list[str]:
        return list(kms.ok("list-keys", body)["keys"])

    assert listed() == [aes]  # without key_spec: AES_256 only
    assert set(listed(key_spec="ALL")) == {aes, ec}
    assert listed(key_spec="ALL", key_state="2") == [ec]
    assert listed(key_state="3") == [aes]
    assert listed(key_state="2") == []


def test_a_symmetric_ciphertext_decrypts_without_a_key_id(kms: Any) -> None:
    key_id = kms.key()
    sealed = kms.ok("encrypt-data", {"key_id": key_id, "plain_text": "hello"})["cipher_text"]
    opened = kms.ok("decrypt-data", {"cipher_text": sealed})
    assert (opened["key_id"], opened["plain_text"]) == (key_id, "hello")


def test_rotation_calls_show_in_the_rotation_status(kms: Any) -> None:
    key_id = kms.key()

    def status() -> tuple[bool, int]:
        shown = kms.ok("get-key-rotation-status", {"key_id": key_id})
        return shown["key_rotation_enabled"], shown["rotation_interval"]

    assert status() == (False, 365)
    kms.ok("enable-key-rotation", {"key_id": key_id})
    assert status() == (True, 365)
    assert _error(kms.post("enable-key-rotation", {"key_id": key_id})) == (400, "KMS.2901")
    for days in (29, 366):
        refused = kms.post("update-key-rotation-interval", {"key_id": key_id, "rotation_interval": days})
        assert _error(refused) == (400, "KMS.3001")
    kms.ok("update-key-rotation-interval", {"key_id": key_id, "rotation_interval": 30})
    assert status() == (True, 30)
    kms.ok("disable-key-rotation", {"key_id": key_id})
    assert status() == (False, 30)
    external = kms.key(origin="external")
    assert _error(kms.post("enable-key-rotation", {"key_id": external})) == (400, "KMS.0312")


# The new rows, each against the faithful mock (passes) and against the fault that breaks its
# behaviour (its check, or its answer, fails).
ROWS = {
    "create-persists-alias-description": "create-drops-description",
    "create-defaults": "default-key-spec-sm4",
    "alias-updated-shown": "update-alias-not-stored",
    "description-updated-shown": "update-description-not-stored",
    "deletion-date-pending-days": "deletion-date-30-days",
    "list-default-aes-only": "list-every-spec",
    "list-all-asymmetric": "list-all-only-aes",
    "list-key-state-filter-excludes": "list-ignores-key-state",
    "symmetric-round-trip": "symmetric-decrypt-drops-byte",
    "rotation-off-by-default": "rotation-on-by-default",
    "rotation-enabled-shown": "enable-rotation-not-stored",
    "enable-rotation-twice": "enable-rotation-twice",
    "rotation-interval-29": "rotation-interval-unchecked",
    "rotation-interval-shown": "rotation-interval-not-stored",
    "rotation-disabled-shown": "disable-rotation-not-stored",
    "rotation-external-refused": "rotation-external-allowed",
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_row_passes_the_mock_and_fails_its_fault(kms_mock: Any, name: str) -> None:
    assert row_holds(HuaweiProfile(kms_mock("huawei").settings), name)
    fault = ROWS[name]
    if fault is not None:
        assert not row_holds(HuaweiProfile(kms_mock("huawei", faults=[fault]).settings), name)


def test_the_sdk_sees_rotation_and_the_updated_description(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-later-reads"))
    ).key_info.key_id
    body = sdk.OperateKeyRequestBody(key_id=key_id)
    client.enable_key_rotation(sdk.EnableKeyRotationRequest(body=body))
    client.update_key_rotation_interval(
        sdk.UpdateKeyRotationIntervalRequest(
            body=sdk.UpdateKeyRotationIntervalRequestBody(key_id=key_id, rotation_interval=90)
        )
    )
    shown = client.show_key_rotation_status(sdk.ShowKeyRotationStatusRequest(body=body))
    assert (shown.key_rotation_enabled, shown.rotation_interval) == (True, 90)
    client.update_key_description(
        sdk.UpdateKeyDescriptionRequest(
            body=sdk.UpdateKeyDescriptionRequestBody(key_id=key_id, key_description="via the sdk")
        )
    )
    details = client.list_key_detail(sdk.ListKeyDetailRequest(body=body)).key_info
    assert details.key_description == "via the sdk"

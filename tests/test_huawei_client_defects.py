"""Defects found driving the bundled Huawei mock with real clients, each pinned in-process
(Starlette TestClient) and, where cheap, through the official SDK (huaweicloudsdkkms).

- every legal encrypt-data plaintext (1 to 4096 *bytes*, UTF-8) round-trips through decrypt-data;
- create-datakey's key_spec AES_256 / AES_128 make 256 / 128-bit data keys (hex: 64 / 32 chars);
- datakey_length not a multiple of 8 answers KMS.1903, an empty batch tag list KMS.0401;
- a tag key with "/" (percent-encoded in the delete-tag path) can be deleted;
- pending_days / limit / datakey_length as JSON numbers: option json-numbers (reject | accept).
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import BASE, start
from huawei_kms import Kms as BaseKms
from huawei_kms import sdk_client as build_sdk_client

from conformance.vendors.huawei.mock import TOKEN


class Kms(BaseKms):
    alias = "defects"
    ok_statuses = (200, 204)


def _kms(options: dict[str, str] | None = None) -> Iterator[Kms]:
    yield from start(Kms, options)


@pytest.fixture
def kms() -> Iterator[Kms]:
    yield from _kms()


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


# -- 1. plaintexts are counted in bytes and every legal one round-trips -------------------------

LEGAL_PLAINTEXTS = {
    "ascii-1": "a",
    "ascii-4096": "a" * 4096,
    "two-byte-4096": "é" * 2048,  # 2048 characters, 4096 UTF-8 bytes
    "three-byte-4095": "€" * 1365,  # 4095 bytes
    "four-byte-4096": "😀" * 1024,  # 4096 bytes
    "mixed-4096": "a" + "€" * 1365,  # 4096 bytes
    "newline-and-tab": "line one\nline two\t\u2028end",
}


@pytest.mark.parametrize("plain", LEGAL_PLAINTEXTS.values(), ids=LEGAL_PLAINTEXTS.keys())
def test_every_legal_plaintext_round_trips(kms: Kms, plain: str) -> None:
    key_id = kms.key()
    cipher = kms.ok("encrypt-data", {"key_id": key_id, "plain_text": plain})["cipher_text"]
    # The documented size: 124 + ceil(bytes / 16) * 16 bytes, then Base64.
    blocks = -(-len(plain.encode()) // 16)
    assert len(base64.b64decode(cipher)) == 124 + 16 * blocks
    back = kms.ok("decrypt-data", {"cipher_text": cipher})
    assert back["key_id"] == key_id
    assert back["plain_text"] == plain
    assert base64.b64decode(back["plain_text_base64"]) == plain.encode()


@pytest.mark.parametrize("plain", ["a" * 4097, "é" * 2049, "😀" * 1025, "€" * 1366], ids=str.__len__)
def test_a_plaintext_over_4096_bytes_is_refused(kms: Kms, plain: str) -> None:
    answer = kms.post("encrypt-data", {"key_id": kms.key(), "plain_text": plain})
    assert _error(answer) == (400, "KMS.2101")


def test_an_empty_plaintext_is_refused(kms: Kms) -> None:
    assert _error(kms.post("encrypt-data", {"key_id": kms.key(), "plain_text": ""})) == (400, "KMS.2101")


# -- 2. data key sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "bits"),
    [
        ({"key_spec": "AES_256"}, 256),
        ({"key_spec": "AES_128"}, 128),
        ({}, 256),
        ({"datakey_length": "512"}, 512),
        ({"datakey_length": "8"}, 8),
        ({"key_spec": "AES_128", "datakey_length": "64"}, 64),  # with both, datakey_length wins
    ],
)
def test_data_key_sizes(kms: Kms, body: dict[str, str], bits: int) -> None:
    answer = kms.ok("create-datakey", {"key_id": kms.key(), **body})
    assert len(answer["plain_text"]) == bits // 4  # hex, two characters per byte
    int(answer["plain_text"], 16)


# -- 3. documented codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "code"),
    [("12", "KMS.1903"), ("8191", "KMS.1903"), ("0", "KMS.1901"), ("8200", "KMS.1901")],
)
def test_datakey_length_codes(kms: Kms, length: str, code: str) -> None:
    answer = kms.post("create-datakey", {"key_id": kms.key(), "datakey_length": length})
    assert _error(answer) == (400, code)


@pytest.mark.parametrize("action", ["create", "delete"])
def test_an_empty_batch_tag_list_answers_kms_0401(kms: Kms, action: str) -> None:
    key_id = kms.key()
    answer = kms.post(f"{key_id}/tags/action", {"action": action, "tags": []})
    assert _error(answer) == (400, "KMS.0401")


def test_an_invalid_tag_key_in_a_batch_still_answers_kms_0406(kms: Kms) -> None:
    key_id = kms.key()
    answer = kms.post(f"{key_id}/tags/action", {"action": "create", "tags": [{"key": "a*b", "value": ""}]})
    assert _error(answer) == (400, "KMS.0406")


# -- 4. tag keys with "/" can be deleted ----------------------------------------------------------


@pytest.mark.parametrize("name", ["team/dev", "a/b/c", "percent%2Fsign", "space and ü"])
def test_a_percent_encoded_tag_key_can_be_deleted(kms: Kms, name: str) -> None:
    key_id = kms.key()
    kms.ok(f"{key_id}/tags", {"tag": {"key": name, "value": "v"}})
    encoded = urllib.parse.quote(name, safe="")  # what huaweicloudsdkcore puts in the path
    answer = kms.client.delete(f"{BASE}/{key_id}/tags/{encoded}", headers={"X-Auth-Token": TOKEN})
    assert answer.status_code == 204, answer.text
    tags = kms.client.get(f"{BASE}/{key_id}/tags", headers={"X-Auth-Token": TOKEN}).json()["tags"]
    assert tags == []
    again = kms.client.delete(f"{BASE}/{key_id}/tags/{encoded}", headers={"X-Auth-Token": TOKEN})
    assert _error(again) == (404, "KMS.0416")


# -- 5. JSON numbers for documented string fields: a declared option ------------------------------

NUMBER_BODIES = [
    ("schedule-key-deletion", {"pending_days": 7}),
    ("list-keys", {"limit": 2}),
    ("create-datakey", {"datakey_length": 256}),
]


@pytest.mark.parametrize(("action", "body"), NUMBER_BODIES, ids=[a for a, _ in NUMBER_BODIES])
def test_numbers_are_refused_by_default_with_the_fields_code(action: str, body: dict[str, Any]) -> None:
    codes = {"pending_days": "KMS.1401", "limit": "KMS.1601", "datakey_length": "KMS.1901"}
    for kms in _kms():
        key_body = {"key_id": kms.key()} if action != "list-keys" else {}
        answer = kms.post(action, {**key_body, **body})
        assert _error(answer) == (400, codes[next(iter(body))])


@pytest.mark.parametrize(("action", "body"), NUMBER_BODIES, ids=[a for a, _ in NUMBER_BODIES])
def test_numbers_are_read_as_strings_with_json_numbers_accept(action: str, body: dict[str, Any]) -> None:
    for kms in _kms({"json-numbers": "accept"}):
        key_body = {"key_id": kms.key()} if action != "list-keys" else {}
        answer = kms.ok(action, {**key_body, **body})
        if action == "create-datakey":
            assert len(answer["plain_text"]) == 64


def test_accepted_numbers_still_meet_the_documented_ranges() -> None:
    for kms in _kms({"json-numbers": "accept"}):
        key_id = kms.key()
        assert _error(kms.post("schedule-key-deletion", {"key_id": key_id, "pending_days": 6})) == (
            400,
            "KMS.1401",
        )
        assert _error(kms.post("create-datakey", {"key_id": key_id, "datakey_length": 12})) == (
            400,
            "KMS.1903",
        )
        for odd in (7.5, True, -7):
            answer = kms.post("schedule-key-deletion", {"key_id": key_id, "pending_days": odd})
            assert answer.status_code == 400


# -- the same through the official SDK ------------------------------------------------------------


@pytest.fixture
def sdk_client(huawei_mock: Any) -> Any:
    pytest.importorskip("huaweicloudsdkkms.v2")
    return build_sdk_client(huawei_mock)


def _sdk_key(client: Any, alias: str) -> str:
    from huaweicloudsdkkms.v2 import CreateKeyRequest, CreateKeyRequestBody

    return client.create_key(CreateKeyRequest(body=CreateKeyRequestBody(key_alias=alias))).key_info.key_id


def test_sdk_round_trips_a_4096_byte_non_ascii_plaintext(sdk_client: Any) -> None:
    from huaweicloudsdkkms.v2 import (
        DecryptDataRequest,
        DecryptDataRequestBody,
        EncryptDataRequest,
        EncryptDataRequestBody,
    )

    key_id = _sdk_key(sdk_client, "sdk-utf8")
    plain = "€" * 1365 + "a"
    cipher = sdk_client.encrypt_data(
        EncryptDataRequest(body=EncryptDataRequestBody(key_id=key_id, plain_text=plain))
    ).cipher_text
    back = sdk_client.decrypt_data(DecryptDataRequest(body=DecryptDataRequestBody(cipher_text=cipher)))
    assert back.plain_text == plain


def test_sdk_data_key_specs(sdk_client: Any) -> None:
    from huaweicloudsdkkms.v2 import CreateDatakeyRequest, CreateDatakeyRequestBody

    key_id = _sdk_key(sdk_client, "sdk-datakey")
    for spec, hex_chars in (("AES_256", 64), ("AES_128", 32)):
        made = sdk_client.create_datakey(
            CreateDatakeyRequest(body=CreateDatakeyRequestBody(key_id=key_id, key_spec=spec))
        )
        assert len(made.plain_text) == hex_chars, spec


def test_sdk_sees_kms_1903_and_kms_0401(sdk_client: Any) -> None:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkkms.v2 import (
        BatchCreateKmsTagsRequest,
        BatchCreateKmsTagsRequestBody,
        CreateDatakeyRequest,
        CreateDatakeyRequestBody,
    )

    key_id = _sdk_key(sdk_client, "sdk-codes")
    with pytest.raises(ClientRequestException) as odd:
        sdk_client.create_datakey(
            CreateDatakeyRequest(body=CreateDatakeyRequestBody(key_id=key_id, datakey_length="12"))
        )
    assert (odd.value.status_code, odd.value.error_code) == (400, "KMS.1903")
    with pytest.raises(ClientRequestException) as empty:
        sdk_client.batch_create_kms_tags(
            BatchCreateKmsTagsRequest(
                key_id=key_id, body=BatchCreateKmsTagsRequestBody(tags=[], action="create")
            )
        )
    assert (empty.value.status_code, empty.value.error_code) == (400, "KMS.0401")


def test_sdk_deletes_a_tag_key_with_a_slash(sdk_client: Any) -> None:
    from huaweicloudsdkkms.v2 import (
        CreateKmsTagRequest,
        CreateKmsTagRequestBody,
        DeleteTagRequest,
        ShowKmsTagsRequest,
        TagItem,
    )

    key_id = _sdk_key(sdk_client, "sdk-slash-tag")
    sdk_client.create_kms_tag(
        CreateKmsTagRequest(
            key_id=key_id, body=CreateKmsTagRequestBody(tag=TagItem(key="team/dev", value="x"))
        )
    )
    sdk_client.delete_tag(DeleteTagRequest(key_id=key_id, key="team/dev"))
    assert not sdk_client.show_kms_tags(ShowKmsTagsRequest(key_id=key_id)).tags


@pytest.mark.parametrize("choice", ["reject", "accept"])
def test_sdk_ints_follow_the_json_numbers_option(kms_mock: Any, choice: str) -> None:
    """The SDK sends pending_days / datakey_length given as ints as JSON numbers."""
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    mock = kms_mock("huawei", options={"json-numbers": choice})
    client = build_sdk_client(mock)
    key_id = _sdk_key(client, f"sdk-numbers-{choice}")
    datakey = sdk.CreateDatakeyRequest(body=sdk.CreateDatakeyRequestBody(key_id=key_id, datakey_length=256))
    schedule = sdk.DeleteKeyRequest(body=sdk.ScheduleKeyDeletionRequestBody(key_id=key_id, pending_days=7))
    if choice == "reject":
        with pytest.raises(ClientRequestException) as refused:
            client.create_datakey(datakey)
        assert (refused.value.status_code, refused.value.error_code) == (400, "KMS.1901")
        with pytest.raises(ClientRequestException) as refused:
            client.delete_key(schedule)
        assert (refused.value.status_code, refused.value.error_code) == (400, "KMS.1401")
    else:
        assert len(client.create_datakey(datakey).plain_text) == 64
        assert client.delete_key(schedule).key_state == "4"


def test_odd_input_gets_the_documented_envelope(kms: Kms) -> None:
    key_id = kms.key()
    surrogate = kms.client.post(
        f"{BASE}/encrypt-data",
        content=b'{"key_id": "' + key_id.encode() + b'", "plain_text": "\\ud800"}',
        headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json"},
    )
    assert _error(surrogate) == (400, "KMS.2101")
    for segment in ("%ZZ", "%FF", "%C3%28"):
        answer = kms.client.delete(f"{BASE}/{key_id}/tags/{segment}", headers={"X-Auth-Token": TOKEN})
        assert _error(answer) == (404, "KMS.0416"), segment
    assert _error(kms.post("decrypt-data", {"cipher_text": "A" * 188})) == (400, "KMS.2201")

"""create-datakey-without-plaintext, encrypt-datakey, decrypt-datakey and gen-random on the bundled
Huawei mock: in-process (documented fields, validation codes, key states) and through the official
SDK's request classes (huaweicloudsdkkms)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import Kms as BaseKms
from huawei_kms import TestClient, sdk_client, start

from conformance.vendors.huawei.mock import MOCK, create_app


class Kms(BaseKms):
    alias = "dek"


@pytest.fixture
def kms() -> Iterator[Kms]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def _with_digest(plain_hex: str) -> str:
    return plain_hex + hashlib.sha256(bytes.fromhex(plain_hex)).hexdigest()


def test_a_data_key_round_trips_through_encrypt_and_decrypt_datakey(kms: Kms) -> None:
    key_id = kms.key()
    dek = kms.ok("create-datakey", {"key_id": key_id, "key_spec": "AES_256"})["plain_text"]
    sealed = kms.ok(
        "encrypt-datakey", {"key_id": key_id, "plain_text": _with_digest(dek), "datakey_plain_length": "32"}
    )
    assert sealed["key_id"] == key_id and sealed["datakey_length"] == "32"
    int(sealed["cipher_text"], 16)
    back = kms.ok(
        "decrypt-datakey",
        {"key_id": key_id, "cipher_text": sealed["cipher_text"], "datakey_cipher_length": "32"},
    )
    assert back == {
        "data_key": dek,
        "datakey_length": "32",
        "datakey_dgst": hashlib.sha256(bytes.fromhex(dek)).hexdigest(),
    }


def test_create_datakey_ciphertext_decrypts_and_without_plaintext_has_no_plaintext(kms: Kms) -> None:
    key_id = kms.key()
    made = kms.ok("create-datakey", {"key_id": key_id, "datakey_length": "512"})
    back = kms.ok(
        "decrypt-datakey",
        {"key_id": key_id, "cipher_text": made["cipher_text"], "datakey_cipher_length": "64"},
    )
    assert back["data_key"] == made["plain_text"]
    bare = kms.ok("create-datakey-without-plaintext", {"key_id": key_id, "key_spec": "AES_128"})
    assert set(bare) == {"key_id", "cipher_text"}
    length = kms.ok(
        "decrypt-datakey",
        {"key_id": key_id, "cipher_text": bare["cipher_text"], "datakey_cipher_length": "16"},
    )
    assert len(length["data_key"]) == 32  # 128 bits


def test_documented_validation_codes(kms: Kms) -> None:
    key_id, other = kms.key(), kms.key()
    dek = "ab" * 32
    cases = [
        ("create-datakey-without-plaintext", {"key_id": key_id, "datakey_length": "12"}, "KMS.2001"),
        ("create-datakey-without-plaintext", {"key_id": key_id, "datakey_length": "8200"}, "KMS.2001"),
        ("encrypt-datakey", {"key_id": key_id, "plain_text": "xyz", "datakey_plain_length": "32"}, "KMS.2101"),
        ("encrypt-datakey", {"key_id": key_id, "plain_text": _with_digest(dek), "datakey_plain_length": "0"},
         "KMS.2102"),
        ("encrypt-datakey", {"key_id": key_id, "plain_text": _with_digest(dek), "datakey_plain_length": "16"},
         "KMS.2102"),
        ("encrypt-datakey", {"key_id": key_id, "plain_text": dek + "00" * 32, "datakey_plain_length": "32"},
         "KMS.2103"),
        ("decrypt-datakey", {"key_id": key_id, "cipher_text": "zz", "datakey_cipher_length": "32"}, "KMS.2201"),
        ("decrypt-datakey", {"key_id": key_id, "cipher_text": "00" * 80, "datakey_cipher_length": "32"},
         "KMS.2201"),
        ("decrypt-datakey", {"key_id": key_id, "cipher_text": "ab", "datakey_cipher_length": "2000"}, "KMS.2202"),
        ("gen-random", {"random_data_length": "12"}, "KMS.1801"),
        ("gen-random", {"random_data_length": "0"}, "KMS.1801"),
        ("gen-random", {}, "KMS.0204"),
        ("encrypt-datakey", {"key_id": key_id, "plain_text": _with_digest(dek)}, "KMS.0204"),
    ]  # fmt: skip
    for action, body, code in cases:
        assert _error(kms.post(action, body)) == (400, code), (action, body)
    made = kms.ok("create-datakey", {"key_id": key_id, "datakey_length": "256"})["cipher_text"]
    wrong_length = {"key_id": key_id, "cipher_text": made, "datakey_cipher_length": "16"}
    assert _error(kms.post("decrypt-datakey", wrong_length)) == (400, "KMS.2202")
    tampered = made[:-2] + ("00" if made[-2:] != "00" else "11")
    body = {"key_id": key_id, "cipher_text": tampered, "datakey_cipher_length": "32"}
    assert _error(kms.post("decrypt-datakey", body)) == (400, "KMS.2203")
    other_key = {"key_id": other, "cipher_text": made, "datakey_cipher_length": "32"}
    assert _error(kms.post("decrypt-datakey", other_key)) == (400, "KMS.2201")


@pytest.mark.parametrize(
    ("steps", "code"), [(["disable-key"], "KMS.0209"), (["schedule-key-deletion"], "KMS.0210")]
)
def test_key_states_refuse_every_data_key_operation(kms: Kms, steps: list[str], code: str) -> None:
    key_id = kms.key()
    made = kms.ok("create-datakey", {"key_id": key_id, "datakey_length": "256"})
    for step in steps:
        kms.ok(step, {"key_id": key_id, "pending_days": "7"} if "schedule" in step else {"key_id": key_id})
    calls = [
        ("create-datakey-without-plaintext", {"key_id": key_id}),
        ("encrypt-datakey", {"key_id": key_id, "plain_text": _with_digest(made["plain_text"]),
                             "datakey_plain_length": "32"}),
        ("decrypt-datakey", {"key_id": key_id, "cipher_text": made["cipher_text"], "datakey_cipher_length": "32"}),
    ]  # fmt: skip
    for action, body in calls:
        assert _error(kms.post(action, body)) == (400, code), action
    unknown = "0000dead-0000-4000-8000-00000000c0de"
    assert _error(kms.post("create-datakey-without-plaintext", {"key_id": unknown})) == (404, "KMS.0207")


@pytest.mark.parametrize("bits", ["8", "512", "8192"])
def test_gen_random_sizes(kms: Kms, bits: str) -> None:
    random = kms.ok("gen-random", {"random_data_length": bits})["random_data"]
    assert len(random) == int(bits) // 4
    int(random, 16)


def test_the_sdk_request_classes_drive_the_data_key_operations(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-datakeys"))
    ).key_info.key_id
    bare = client.create_datakey_without_plaintext(
        sdk.CreateDatakeyWithoutPlaintextRequest(
            body=sdk.CreateDatakeyRequestBody(key_id=key_id, datakey_length="512")
        )
    )
    assert bare.key_id == key_id and bare.cipher_text
    dek = "5a" * 32
    sealed = client.encrypt_datakey(
        sdk.EncryptDatakeyRequest(
            body=sdk.EncryptDatakeyRequestBody(
                key_id=key_id, plain_text=_with_digest(dek), datakey_plain_length="32"
            )
        )
    )
    assert sealed.datakey_length == "32"
    back = client.decrypt_datakey(
        sdk.DecryptDatakeyRequest(
            body=sdk.DecryptDatakeyRequestBody(
                key_id=key_id, cipher_text=sealed.cipher_text, datakey_cipher_length="32"
            )
        )
    )
    assert (back.data_key, back.datakey_dgst) == (dek, hashlib.sha256(bytes.fromhex(dek)).hexdigest())
    random = client.create_random(
        sdk.CreateRandomRequest(body=sdk.GenRandomRequestBody(random_data_length="512"))
    )
    assert len(random.random_data) == 128
    with pytest.raises(ClientRequestException) as refused:
        client.create_random(sdk.CreateRandomRequest(body=sdk.GenRandomRequestBody(random_data_length="12")))
    assert (refused.value.status_code, refused.value.error_code) == (400, "KMS.1801")


def test_lengths_as_json_numbers_follow_the_json_numbers_option() -> None:
    """otcextensions sends datakey_plain_length and random_data_length as ints."""
    for choice, expected in (("reject", 400), ("accept", 200)):
        with TestClient(create_app(MOCK.config(options={"json-numbers": choice}))) as client:
            kms = Kms(client)
            key_id = kms.key()
            dek = "11" * 16
            body = {"key_id": key_id, "plain_text": _with_digest(dek), "datakey_plain_length": 16}
            sealed = kms.post("encrypt-datakey", body)
            assert sealed.status_code == expected, sealed.text
            assert kms.post("gen-random", {"random_data_length": 512}).status_code == expected
            if choice == "accept":
                back = {
                    "key_id": key_id,
                    "cipher_text": sealed.json()["cipher_text"],
                    "datakey_cipher_length": 16,
                }
                assert kms.ok("decrypt-datakey", back)["data_key"] == dek
            else:
                assert _error(sealed) == (400, "KMS.2102")

"""Documented refusals and answer shapes of the Huawei data-key, import, signing and grant
operations on the bundled mock, and the rows that check them (issue #17).

In-process: each documented code (KMS.1101/1103 on the updates, encrypt-data's 4096-byte limit,
KMS.2605/0311/2602/0310/2606 on import, KMS.2001/2103/2102 on data keys, KMS.2402 on grants),
then each new row against the faithful mock and against the fault that breaks its behaviour.
Through the official SDK: create-datakey-without-plaintext and the datakey_length rule.
"""

from __future__ import annotations

import base64
import hashlib
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


def test_updates_validate_like_create(kms: Any) -> None:
    key_id = kms.key()
    assert _error(kms.post("update-key-alias", {"key_id": key_id, "key_alias": "bad alias!"})) == (
        400,
        "KMS.1101",
    )
    refused = kms.post("update-key-description", {"key_id": key_id, "key_description": "d" * 256})
    assert _error(refused) == (400, "KMS.1103")
    assert kms.ok("update-key-description", {"key_id": key_id, "key_description": ""}) is not None


def test_encrypt_data_counts_bytes_not_characters(kms: Any) -> None:
    key_id = kms.key()
    assert kms.ok("encrypt-data", {"key_id": key_id, "plain_text": "\u00e9" * 2048})  # 4096 bytes
    refused = kms.post("encrypt-data", {"key_id": key_id, "plain_text": "\u00e9" * 2049})
    assert _error(refused) == (400, "KMS.2101")


def test_data_key_refusals_and_the_length_rule(kms: Any) -> None:
    key_id = kms.key()
    made = kms.ok("create-datakey", {"key_id": key_id, "key_spec": "AES_128", "datakey_length": "512"})
    assert len(made["plain_text"]) == 128
    sealed = kms.ok("create-datakey-without-plaintext", {"key_id": key_id})
    assert set(sealed) == {"key_id", "cipher_text"}
    too_long = kms.post("create-datakey-without-plaintext", {"key_id": key_id, "datakey_length": "8200"})
    assert _error(too_long) == (400, "KMS.2001")
    data_key = bytes(range(32))
    wrong_digest = {"key_id": key_id, "plain_text": data_key.hex() + "00" * 32, "datakey_plain_length": "32"}
    assert _error(kms.post("encrypt-datakey", wrong_digest)) == (400, "KMS.2103")
    good = data_key.hex() + hashlib.sha256(data_key).hexdigest()
    too_many = {"key_id": key_id, "plain_text": good, "datakey_plain_length": "1025"}
    assert _error(kms.post("encrypt-datakey", too_many)) == (400, "KMS.2102")


def test_grant_refusals_and_answers(kms: Any) -> None:
    key_id = kms.key()
    body = {"key_id": key_id, "grantee_principal": "bad principal!", "operations": ["describe-key"]}
    assert _error(kms.post("create-grant", body)) == (400, "KMS.2402")
    grant_id = kms.ok("create-grant", {**body, "grantee_principal": "0d0466b0" * 4})["grant_id"]
    assert len(grant_id) == 64 and int(grant_id, 16) >= 0
    page = kms.ok("list-grants", {"key_id": key_id})
    assert (page["truncated"], page["total"], page["next_marker"]) == ("false", 1, "")


def test_sign_refuses_keys_that_do_not_sign(kms: Any) -> None:
    message = base64.b64encode(b"m").decode()
    aes, rsa = kms.key(), kms.key(key_spec="RSA_2048", key_usage="ENCRYPT_DECRYPT")
    ec = kms.key(key_spec="EC_P256", key_usage="SIGN_VERIFY")
    body = {"message": message, "message_type": "RAW"}
    assert kms.post("sign", {**body, "key_id": aes, "signing_algorithm": "ECDSA_SHA_256"}).status_code == 400
    assert (
        kms.post("sign", {**body, "key_id": rsa, "signing_algorithm": "RSASSA_PSS_SHA_256"}).status_code
        == 400
    )
    long = {
        **body,
        "key_id": ec,
        "signing_algorithm": "ECDSA_SHA_256",
        "message": base64.b64encode(b"m" * 4096).decode(),
    }
    assert kms.post("sign", long).status_code == 400
    assert kms.ok("sign", {**long, "message": base64.b64encode(b"m" * 4095).decode()})["signature"]


ROWS = {
    "update-alias-bad-characters": "update-alias-unchecked",
    "plain_text-4098-bytes": "plaintext-counts-characters",
    "import-unissued-token": "import-token-unchecked",
    "import-unwrappable-material": "unwrap-failure-2604",
    "import-past-expiration": "import-expiry-unchecked",
    "import-again": "import-twice",
    "reimport-other-material": "reimport-any-material",
    "import-parameters-shape": "import-public-key-pem",
    "sign-encrypt-decrypt-key": "sign-ignores-usage",
    "sign-message-4096": "sign-message-4096",
    "datakey-length-wins": "datakey-length-ignored",
    "datakey-without-plaintext-shape": "without-plaintext-leaks",
    "without-plaintext-length-8200": "without-plaintext-length-code-1901",
    "datakey-digest-mismatch": "datakey-digest-unchecked",
    "datakey_plain_length-1025": "datakey-plain-length-code-2101",
    "grant-id-shape": "grant-id-uuid",
    "grant-bad-grantee": "grantee-code-0308",
    "list-grants-shape": "grants-truncated-boolean",
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_row_passes_the_mock_and_fails_its_fault(kms_mock: Any, name: str) -> None:
    assert row_holds(HuaweiProfile(kms_mock("huawei").settings), name)
    assert not row_holds(HuaweiProfile(kms_mock("huawei", faults=[ROWS[name]]).settings), name)


def test_the_sdk_sees_the_data_key_rules(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-refusals"))
    ).key_info.key_id
    made = client.create_datakey(
        sdk.CreateDatakeyRequest(
            body=sdk.CreateDatakeyRequestBody(key_id=key_id, key_spec="AES_128", datakey_length="512")
        )
    )
    assert len(made.plain_text) == 128
    sealed = client.create_datakey_without_plaintext(
        sdk.CreateDatakeyWithoutPlaintextRequest(body=sdk.CreateDatakeyRequestBody(key_id=key_id))
    )
    assert sealed.cipher_text and not getattr(sealed, "plain_text", None)


@pytest.mark.parametrize(("size", "expected"), [(1, 140), (15, 140), (16, 140), (17, 156), (4096, 4220)])
def test_the_ciphertext_has_the_documented_size(kms: Any, size: int, expected: int) -> None:
    key_id = kms.key()
    sealed = kms.ok("encrypt-data", {"key_id": key_id, "plain_text": "x" * size})["cipher_text"]
    assert len(base64.b64decode(sealed)) == expected
    assert kms.ok("decrypt-data", {"cipher_text": sealed})["plain_text"] == "x" * size


def test_the_ciphertext_size_row_fails_an_unpadded_ciphertext(kms_mock: Any) -> None:
    assert row_holds(HuaweiProfile(kms_mock("huawei").settings), "ciphertext-size")
    assert not row_holds(
        HuaweiProfile(kms_mock("huawei", faults=["ciphertext-unpadded"]).settings), "ciphertext-size"
    )


def test_a_prepared_key_without_steps_reads_its_state_once(kms_mock: Any) -> None:
    profile = HuaweiProfile(kms_mock("huawei").settings)
    sent: list[str] = []
    original = profile.call

    def counting(operation: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(operation)
        return original(operation, *args, **kwargs)

    profile.call = counting  # type: ignore[method-assign]
    profile.key_in("signing-key")
    assert sent == ["create_signing", "describe"]
    sent.clear()
    profile.key_in("rotating")
    assert sent == ["create", "describe", "enable_rotation", "describe"]

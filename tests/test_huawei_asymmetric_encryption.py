"""encrypt-data / decrypt-data with an RSA ENCRYPT_DECRYPT key on the bundled Huawei mock: real
RSAES-OAEP-SHA-256 (a ciphertext made locally with get-publickey's key decrypts), decrypt-data naming
the key_id and the algorithm, and the refusals (usage, algorithm, plaintext size, tampering, key
state); symmetric encryption is unchanged; through the official SDK too."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import Kms as BaseKms
from huawei_kms import sdk_client, start

serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
ALG = "RSAES_OAEP_SHA_256"


class Kms(BaseKms):
    alias = "rsa-enc"

    def rsa_key(self, usage: str = "ENCRYPT_DECRYPT") -> str:
        return self.key(key_spec="RSA_2048", key_usage=usage)


@pytest.fixture
def kms() -> Iterator[Kms]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def test_rsa_ciphertext_round_trips_and_is_real_oaep(kms: Kms) -> None:
    key_id = kms.rsa_key()
    sealed = kms.ok("encrypt-data", {"key_id": key_id, "plain_text": "héllo", "encryption_algorithm": ALG})
    assert sealed["key_id"] == key_id
    assert len(base64.b64decode(sealed["cipher_text"])) == 256  # one RSA-2048 block
    back = kms.ok(
        "decrypt-data", {"cipher_text": sealed["cipher_text"], "key_id": key_id, "encryption_algorithm": ALG}
    )
    assert (back["key_id"], back["plain_text"]) == (key_id, "héllo")
    assert base64.b64decode(back["plain_text_base64"]) == "héllo".encode()
    pem = kms.ok("get-publickey", {"key_id": key_id})["public_key"]
    public = serialization.load_pem_public_key(pem.encode())
    local = base64.b64encode(public.encrypt(b"made locally", OAEP)).decode()
    opened = kms.ok("decrypt-data", {"cipher_text": local, "key_id": key_id, "encryption_algorithm": ALG})
    assert opened["plain_text"] == "made locally"


def test_refusals(kms: Kms) -> None:
    key_id, signer, aes = kms.rsa_key(), kms.rsa_key("SIGN_VERIFY"), kms.key()
    sealed = kms.ok("encrypt-data", {"key_id": key_id, "plain_text": "x", "encryption_algorithm": ALG})
    cipher = sealed["cipher_text"]
    tampered = base64.b64encode(
        bytes([base64.b64decode(cipher)[0] ^ 1]) + base64.b64decode(cipher)[1:]
    ).decode()
    cases = [
        ("encrypt-data", {"key_id": key_id, "plain_text": "x"}, "KMS.0308"),  # SYMMETRIC_DEFAULT
        ("encrypt-data", {"key_id": signer, "plain_text": "x", "encryption_algorithm": ALG}, "KMS.0308"),
        ("encrypt-data", {"key_id": aes, "plain_text": "x", "encryption_algorithm": ALG}, "KMS.0308"),
        (
            "encrypt-data",
            {"key_id": key_id, "plain_text": "x" * 191, "encryption_algorithm": ALG},
            "KMS.2101",
        ),
        ("decrypt-data", {"cipher_text": cipher, "key_id": key_id}, "KMS.0308"),  # SYMMETRIC_DEFAULT
        ("decrypt-data", {"cipher_text": cipher, "encryption_algorithm": ALG}, "KMS.0308"),  # no key_id
        (
            "decrypt-data",
            {"cipher_text": tampered, "key_id": key_id, "encryption_algorithm": ALG},
            "KMS.2201",
        ),
    ]
    for action, body, code in cases:
        assert _error(kms.post(action, body)) == (400, code), (action, body)
    assert kms.ok("encrypt-data", {"key_id": key_id, "plain_text": "x" * 190, "encryption_algorithm": ALG})
    kms.ok("disable-key", {"key_id": key_id})
    assert _error(
        kms.post("decrypt-data", {"cipher_text": cipher, "key_id": key_id, "encryption_algorithm": ALG})
    ) == (
        400,
        "KMS.0209",
    )


def test_symmetric_ciphertext_ignores_a_symmetric_key_id(kms: Kms) -> None:
    aes = kms.key()
    cipher = kms.ok("encrypt-data", {"key_id": aes, "plain_text": "plain"})["cipher_text"]
    assert kms.ok("decrypt-data", {"cipher_text": cipher, "key_id": aes})["plain_text"] == "plain"
    assert kms.ok("decrypt-data", {"cipher_text": cipher})["plain_text"] == "plain"


def test_the_sdk_encrypts_and_decrypts_with_an_rsa_key(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(
            body=sdk.CreateKeyRequestBody(
                key_alias="sdk-rsa-enc", key_spec="RSA_2048", key_usage="ENCRYPT_DECRYPT"
            )
        )
    ).key_info.key_id
    sealed = client.encrypt_data(
        sdk.EncryptDataRequest(
            body=sdk.EncryptDataRequestBody(
                key_id=key_id, plain_text="sdk plaintext", encryption_algorithm=ALG
            )
        )
    )
    opened = client.decrypt_data(
        sdk.DecryptDataRequest(
            body=sdk.DecryptDataRequestBody(
                cipher_text=sealed.cipher_text, encryption_algorithm=ALG, key_id=key_id
            )
        )
    )
    assert (opened.key_id, opened.plain_text) == (key_id, "sdk plaintext")
    with pytest.raises(ClientRequestException) as refused:
        client.decrypt_data(
            sdk.DecryptDataRequest(
                body=sdk.DecryptDataRequestBody(
                    cipher_text=sealed.cipher_text, encryption_algorithm="SYMMETRIC_DEFAULT", key_id=key_id
                )
            )
        )
    assert (refused.value.status_code, refused.value.error_code) == (400, "KMS.0308")

"""Asymmetric keys on the bundled Huawei mock: create-key with RSA / EC key specs, get-publickey (a
PEM public key that the `cryptography` package loads), sign (signatures that verify with that public
key), verify, and the refusals (key usage, algorithm for the key spec, key state); through the
official SDK (huaweicloudsdkkms) too."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import Kms as BaseKms
from huawei_kms import sdk_client, start

serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils  # noqa: E402

HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
MESSAGE = b"kms-conformance signs this"


class Kms(BaseKms):
    alias = "asym"

    def key(self, spec: str, **extra: str) -> str:
        self.made += 1
        body = {"key_alias": f"asym-{self.made}", "key_spec": spec, **extra}
        return str(self.ok("create-key", body)["key_info"]["key_id"])

    def public(self, key_id: str) -> Any:
        pem = self.ok("get-publickey", {"key_id": key_id})["public_key"]
        assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
        return serialization.load_pem_public_key(pem.encode())

    def sign(self, key_id: str, algorithm: str, message: bytes, message_type: str | None = "RAW") -> bytes:
        body = {
            "key_id": key_id,
            "message": base64.b64encode(message).decode(),
            "signing_algorithm": algorithm,
        }
        if message_type is not None:
            body["message_type"] = message_type
        answer = self.ok("sign", body)
        assert answer["key_id"] == key_id
        return base64.b64decode(answer["signature"])

    def verify(
        self, key_id: str, algorithm: str, message: bytes, signature: bytes, message_type: str = "RAW"
    ) -> str:
        body = {
            "key_id": key_id,
            "message": base64.b64encode(message).decode(),
            "signature": base64.b64encode(signature).decode(),
            "signing_algorithm": algorithm,
            "message_type": message_type,
        }
        return str(self.ok("verify", body)["signature_valid"])


@pytest.fixture
def kms() -> Iterator[Kms]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def _check_rsa(public: Any, algorithm: str, signature: bytes, message: bytes) -> None:
    digest = HASHES[algorithm[-3:]]
    if "_PSS_" in algorithm:
        pad: Any = padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.AUTO)
    else:
        pad = padding.PKCS1v15()
    public.verify(signature, message, pad, digest)


@pytest.mark.parametrize(
    "algorithm",
    [f"RSASSA_{s}_SHA_{b}" for s in ("PSS", "PKCS1_V1_5") for b in ("256", "384", "512")],
)
def test_rsa_signatures_verify_with_the_public_key(kms: Kms, algorithm: str) -> None:
    key_id = kms.key("RSA_2048")
    info = kms.ok("describe-key", {"key_id": key_id})["key_info"]
    assert (info["key_spec"], info["key_usage"], info["key_state"]) == ("RSA_2048", "SIGN_VERIFY", "2")
    public = kms.public(key_id)
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    signature = kms.sign(key_id, algorithm, MESSAGE)
    _check_rsa(public, algorithm, signature, MESSAGE)
    assert kms.verify(key_id, algorithm, MESSAGE, signature) == "true"
    assert kms.verify(key_id, algorithm, MESSAGE + b"!", signature) == "false"
    digest = hashlib.new("sha" + algorithm[-3:], MESSAGE).digest()
    over_digest = kms.sign(key_id, algorithm, digest, "DIGEST")
    _check_rsa(public, algorithm, over_digest, MESSAGE)
    assert kms.verify(key_id, algorithm, digest, over_digest, "DIGEST") == "true"


@pytest.mark.parametrize(
    ("spec", "algorithm", "curve"),
    [
        ("EC_P256", "ECDSA_SHA_256", ec.SECP256R1),
        ("EC_P384", "ECDSA_SHA_384", ec.SECP384R1),
        ("SECP256K1", "ECDSA_SHA_256", ec.SECP256K1),
    ],
)
def test_ecdsa_signatures_verify_with_the_public_key(kms: Kms, spec: str, algorithm: str, curve: Any) -> None:
    key_id = kms.key(spec)
    public = kms.public(key_id)
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, curve)
    digest_type = HASHES[algorithm[-3:]]
    signature = kms.sign(key_id, algorithm, MESSAGE)
    public.verify(signature, MESSAGE, ec.ECDSA(digest_type))
    digest = hashlib.new("sha" + algorithm[-3:], MESSAGE).digest()
    prehashed = kms.sign(key_id, algorithm, digest, None)  # message_type DIGEST is the default
    public.verify(prehashed, digest, ec.ECDSA(utils.Prehashed(digest_type)))
    assert kms.verify(key_id, algorithm, MESSAGE, signature) == "true"
    assert kms.verify(key_id, algorithm, b"other", signature) == "false"
    other = kms.key(spec)
    assert kms.verify(other, algorithm, MESSAGE, signature) == "false"
    with pytest.raises(InvalidSignature):
        kms.public(other).verify(signature, MESSAGE, ec.ECDSA(digest_type))


def test_documented_refusals(kms: Kms) -> None:
    """Only SIGN_VERIFY asymmetric keys sign (Sign.html); the codes are inferred."""
    rsa_key, ec_key = kms.key("RSA_2048"), kms.key("EC_P256")
    crypt = kms.key("RSA_2048", key_usage="ENCRYPT_DECRYPT")
    aes = kms.key("AES_256")
    msg = base64.b64encode(MESSAGE).decode()

    def body(key_id: str, algorithm: str, **extra: str) -> dict[str, str]:
        return {
            "key_id": key_id,
            "message": msg,
            "signing_algorithm": algorithm,
            "message_type": "RAW",
            **extra,
        }

    cases = [
        ("sign", body(crypt, "RSASSA_PSS_SHA_256"), "KMS.0308"),  # key usage
        ("sign", body(aes, "RSASSA_PSS_SHA_256"), "KMS.0308"),  # symmetric key
        ("sign", body(rsa_key, "ECDSA_SHA_256"), "KMS.0308"),  # algorithm of another key spec
        ("sign", body(ec_key, "ECDSA_SHA_384"), "KMS.0308"),
        ("sign", body(ec_key, "ECDSA_SHA_256", message_type="DIGEST"), "KMS.0308"),  # not a SHA-256 digest
        ("sign", body(rsa_key, "RSASSA_PSS_SHA_256", message="!!"), "KMS.0308"),
        (
            "sign",
            body(rsa_key, "RSASSA_PSS_SHA_256", message=base64.b64encode(b"x" * 4096).decode()),
            "KMS.0308",
        ),
        ("sign", body(rsa_key, "RSA_SHA_1"), "KMS.0308"),
        ("sign", {"key_id": rsa_key, "message": msg}, "KMS.0204"),
        ("verify", {**body(rsa_key, "RSASSA_PSS_SHA_256"), "signature": "%%%"}, "KMS.0308"),
        ("verify", {**body(crypt, "RSASSA_PSS_SHA_256"), "signature": "AAAA"}, "KMS.0308"),
        ("get-publickey", {"key_id": aes}, "KMS.0308"),
    ]
    for action, request, code in cases:
        assert _error(kms.post(action, request)) == (400, code), (action, request)
    unknown = "0000dead-0000-4000-8000-00000000c0de"
    assert _error(kms.post("get-publickey", {"key_id": unknown})) == (404, "KMS.0207")
    assert _error(kms.post("sign", body(unknown, "ECDSA_SHA_256"))) == (404, "KMS.0207")
    assert kms.public(crypt).key_size == 2048  # an ENCRYPT_DECRYPT key still has a public key


@pytest.mark.parametrize(
    ("step", "code"), [("disable-key", "KMS.0209"), ("schedule-key-deletion", "KMS.0210")]
)
def test_key_states_refuse_sign_and_verify(kms: Kms, step: str, code: str) -> None:
    key_id = kms.key("EC_P256")
    signature = kms.sign(key_id, "ECDSA_SHA_256", MESSAGE)
    kms.ok(step, {"key_id": key_id, "pending_days": "7"} if "schedule" in step else {"key_id": key_id})
    msg = base64.b64encode(MESSAGE).decode()
    request = {"key_id": key_id, "message": msg, "signing_algorithm": "ECDSA_SHA_256", "message_type": "RAW"}
    assert _error(kms.post("sign", request)) == (400, code)
    verify = {**request, "signature": base64.b64encode(signature).decode()}
    assert _error(kms.post("verify", verify)) == (400, code)
    public = kms.post("get-publickey", {"key_id": key_id})
    if step == "disable-key":
        assert public.status_code == 200  # the public key stays readable (inferred)
    else:
        assert _error(public) == (400, "KMS.0210")


def test_the_sdk_signs_and_verifies(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(
            body=sdk.CreateKeyRequestBody(key_alias="sdk-sign", key_spec="EC_P256", key_usage="SIGN_VERIFY")
        )
    ).key_info.key_id
    pem = client.show_public_key(sdk.ShowPublicKeyRequest(body=sdk.OperateKeyRequestBody(key_id=key_id)))
    public = serialization.load_pem_public_key(pem.public_key.encode())
    message = base64.b64encode(MESSAGE).decode()
    signed = client.sign(
        sdk.SignRequest(
            body=sdk.SignRequestBody(
                key_id=key_id, message=message, signing_algorithm="ECDSA_SHA_256", message_type="RAW"
            )
        )
    )
    public.verify(base64.b64decode(signed.signature), MESSAGE, ec.ECDSA(hashes.SHA256()))
    checked = client.validate_signature(
        sdk.ValidateSignatureRequest(
            body=sdk.VerifyRequestBody(
                key_id=key_id,
                message=message,
                signature=signed.signature,
                signing_algorithm="ECDSA_SHA_256",
                message_type="RAW",
            )
        )
    )
    assert (checked.key_id, checked.signature_valid) == (key_id, "true")
    with pytest.raises(ClientRequestException) as refused:
        client.sign(
            sdk.SignRequest(
                body=sdk.SignRequestBody(
                    key_id=key_id, message=message, signing_algorithm="RSASSA_PSS_SHA_256"
                )
            )
        )
    assert (refused.value.status_code, refused.value.error_code) == (400, "KMS.0308")

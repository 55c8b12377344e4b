"""The Yandex mock's asymmetric keys: encryption keys (RSA-OAEP) and signature keys (RSA-PSS, ECDSA).

In-process (Starlette's TestClient): life cycle and states in both operation modes, real
cryptography that round-trips with the public key (the ``cryptography`` package, installed with
yandexcloud), the documented refusals in the google.rpc.Status envelope, and every answer parsed
strictly with yandexcloud's protobuf messages (``ignore_unknown_fields=False``, Operation
payloads included) in the style of tests/test_yandex_protobuf.py.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from conformance.vendors.yandex.mock import FOLDER_ID, MOCK, TOKEN

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 behind TestClient; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytest.importorskip("cryptography")
json_format = pytest.importorskip("google.protobuf.json_format")
pytest.importorskip("google.protobuf.empty_pb2")
status_pb2 = pytest.importorskip("google.rpc.status_pb2")
pytest.importorskip("google.rpc.error_details_pb2")
operation_pb2 = pytest.importorskip("yandex.cloud.operation.operation_pb2")
access_pb2 = pytest.importorskip("yandex.cloud.access.access_pb2")
pytest.importorskip("yandex.cloud.kms.v1.symmetric_key_service_pb2")  # the symmetric Any payloads
enc_key_pb2 = pytest.importorskip("yandex.cloud.kms.v1.asymmetricencryption.asymmetric_encryption_key_pb2")
enc_service = pytest.importorskip(
    "yandex.cloud.kms.v1.asymmetricencryption.asymmetric_encryption_key_service_pb2"
)
enc_crypto = pytest.importorskip(
    "yandex.cloud.kms.v1.asymmetricencryption.asymmetric_encryption_crypto_service_pb2"
)
sig_key_pb2 = pytest.importorskip("yandex.cloud.kms.v1.asymmetricsignature.asymmetric_signature_key_pb2")
sig_service = pytest.importorskip(
    "yandex.cloud.kms.v1.asymmetricsignature.asymmetric_signature_key_service_pb2"
)
sig_crypto = pytest.importorskip(
    "yandex.cloud.kms.v1.asymmetricsignature.asymmetric_signature_crypto_service_pb2"
)

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils  # noqa: E402

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ENC = "/kms/v1/asymmetricEncryptionKeys"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def parse(body: Any, message: Any) -> Any:
    """Strict proto3 JSON parse: an unknown field or a wrong type fails the test.

    An ``Any`` payload (an Operation's metadata or response) must name ``message`` in ``@type``.
    """
    if isinstance(body, dict) and "@type" in body:
        assert body["@type"] == "type.googleapis.com/" + message.DESCRIPTOR.full_name, body
        body = {k: v for k, v in body.items() if k != "@type"}
    return json_format.Parse(json.dumps(body), message(), ignore_unknown_fields=False)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Client:
    def __init__(self, http: TestClient) -> None:
        self.http = http

    def done(self, answer: Any) -> dict[str, Any]:
        assert answer.status_code == 200, answer.text
        op = answer.json()
        parse(op, operation_pb2.Operation)
        for _ in range(20):
            if op["done"]:
                return dict(op)
            op = self.http.get(f"/operations/{op['id']}").json()
            parse(op, operation_pb2.Operation)
        raise AssertionError(f"operation never finished: {op}")

    def error(self, answer: Any, status: int, code: int) -> dict[str, Any]:
        assert answer.status_code == status, answer.text
        body = dict(answer.json())
        parse(body, status_pb2.Status)
        assert body["code"] == code, body
        return body


@pytest.fixture(params=["immediate", "async"])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    app = MOCK.create_app(MOCK.config(options={"mode": request.param}))
    with TestClient(app, headers=AUTH) as http:
        yield Client(http)


def create_enc(c: Client, **fields: Any) -> str:
    op = c.done(c.http.post(ENC, json={"folderId": FOLDER_ID, **fields}))
    payload = parse(op["response"], enc_key_pb2.AsymmetricEncryptionKey)
    meta = parse(op["metadata"], enc_service.CreateAsymmetricEncryptionKeyMetadata)
    assert meta.key_id == payload.id
    return str(payload.id)


# -- asymmetric encryption keys --------------------------------------------------------------------


def test_encryption_key_life_cycle_and_states(client: Client) -> None:
    c = client
    first = c.http.post(ENC, json={"folderId": FOLDER_ID, "encryptionAlgorithm": "RSA_2048_ENC_OAEP_SHA_256"})
    assert first.status_code == 200
    op = first.json()
    if not op["done"]:  # async: the key exists as CREATING until its operation finishes
        key_id = op["metadata"]["keyId"]
        seen = c.http.get(f"{ENC}/{key_id}").json()
        assert seen["status"] in ("CREATING", "ACTIVE")
    key_id = parse(c.done(first)["response"], enc_key_pb2.AsymmetricEncryptionKey).id
    got = parse(c.http.get(f"{ENC}/{key_id}").json(), enc_key_pb2.AsymmetricEncryptionKey)
    assert got.status == enc_key_pb2.AsymmetricEncryptionKey.Status.ACTIVE
    assert got.encryption_algorithm == enc_key_pb2.RSA_2048_ENC_OAEP_SHA_256
    listed = parse(
        c.http.get(ENC, params={"folderId": FOLDER_ID}).json(),
        enc_service.ListAsymmetricEncryptionKeysResponse,
    )
    assert key_id in [k.id for k in listed.keys]
    # Update: name, labels, status INACTIVE (by number), deletion protection
    body = {"updateMask": "name,labels,status,deletionProtection", "name": "n", "labels": {"a": "b"}}
    op = c.done(c.http.patch(f"{ENC}/{key_id}", json={**body, "status": 3, "deletionProtection": True}))
    updated = parse(op["response"], enc_key_pb2.AsymmetricEncryptionKey)
    assert (updated.name, dict(updated.labels), updated.deletion_protection) == ("n", {"a": "b"}, True)
    assert updated.status == enc_key_pb2.AsymmetricEncryptionKey.Status.INACTIVE
    parse(op["metadata"], enc_service.UpdateAsymmetricEncryptionKeyMetadata)
    # an INACTIVE key cannot be used: FAILED_PRECONDITION (9) -> 400
    c.error(c.http.get(f"{ENC}/{key_id}/publicKey"), 400, 9)
    c.error(c.http.post(f"{ENC}/{key_id}:decrypt", json={"ciphertext": b64(b"x" * 256)}), 400, 9)
    # deletion protection refuses Delete; status back to ACTIVE, protection off, then Delete
    c.error(c.http.delete(f"{ENC}/{key_id}"), 400, 9)
    c.done(
        c.http.patch(
            f"{ENC}/{key_id}",
            json={"updateMask": "status,deletionProtection", "status": "ACTIVE", "deletionProtection": False},
        )
    )
    ops = c.http.get(f"{ENC}/{key_id}/operations").json()
    parsed = parse(ops, enc_service.ListAsymmetricEncryptionKeyOperationsResponse)
    assert [o.description for o in parsed.operations][-1] == "Create asymmetric encryption key"
    op = c.done(c.http.delete(f"{ENC}/{key_id}"))
    parse(op["metadata"], enc_service.DeleteAsymmetricEncryptionKeyMetadata)
    parse(op["response"], enc_key_pb2.AsymmetricEncryptionKey)
    c.error(c.http.get(f"{ENC}/{key_id}"), 404, 5)
    c.error(c.http.get(f"{ENC}/{key_id}/publicKey"), 404, 5)


@pytest.mark.parametrize(
    "algorithm", ["RSA_2048_ENC_OAEP_SHA_256", "RSA_3072_ENC_OAEP_SHA_256", "RSA_4096_ENC_OAEP_SHA_256"]
)
def test_decrypt_opens_what_the_public_key_encrypted(algorithm: str) -> None:
    with TestClient(MOCK.create_app(MOCK.config()), headers=AUTH) as http:
        c = Client(http)
        key_id = create_enc(c, encryptionAlgorithm=algorithm)
        answer = parse(
            http.get(f"{ENC}/{key_id}/publicKey").json(), enc_crypto.AsymmetricGetPublicKeyResponse
        )
        assert answer.key_id == key_id
        public = serialization.load_pem_public_key(answer.public_key.encode())
        assert public.key_size == int(algorithm.split("_")[1])  # type: ignore[union-attr]
        for plaintext in (b"hello", b"", bytes(range(190))):
            ciphertext = public.encrypt(plaintext, OAEP)  # type: ignore[union-attr]
            got = http.post(f"{ENC}/{key_id}:decrypt", json={"ciphertext": b64(ciphertext)})
            assert got.status_code == 200, got.text
            out = parse(got.json(), enc_crypto.AsymmetricDecryptResponse)
            assert (out.key_id, out.plaintext) == (key_id, plaintext)
        # URL-safe unpadded base64 is proto3 JSON bytes too
        ciphertext = public.encrypt(b"url", OAEP)  # type: ignore[union-attr]
        urlsafe = base64.urlsafe_b64encode(ciphertext).decode().rstrip("=")
        assert (
            parse(
                http.post(f"{ENC}/{key_id}:decrypt", json={"ciphertext": urlsafe}).json(),
                enc_crypto.AsymmetricDecryptResponse,
            ).plaintext
            == b"url"
        )


def test_encryption_refusals_use_the_status_envelope() -> None:
    with TestClient(MOCK.create_app(MOCK.config()), headers=AUTH) as http:
        c = Client(http)
        key_id = create_enc(c)  # no algorithm: the mock's inferred default
        assert http.get(f"{ENC}/{key_id}").json()["encryptionAlgorithm"] == "RSA_2048_ENC_OAEP_SHA_256"
        c.error(http.post(f"{ENC}/{key_id}:decrypt", json={"ciphertext": b64(b"x" * 256)}), 400, 3)
        c.error(http.post(f"{ENC}/{key_id}:decrypt", json={}), 400, 3)  # ciphertext required
        c.error(http.post(f"{ENC}/{key_id}:decrypt", json={"ciphertext": b64(b"x" * 32769)}), 400, 3)
        c.error(http.post(f"{ENC}/{key_id}:decrypt", json={"ciphertext": "***"}), 400, 3)
        c.error(http.post(f"{ENC}/{key_id}:decrypt", content=b"{not json"), 400, 3)
        c.error(http.post(ENC, json={"folderId": FOLDER_ID, "encryptionAlgorithm": "AES_256"}), 400, 3)
        c.error(http.post(ENC, json={"encryptionAlgorithm": 1}), 400, 3)  # folderId required
        c.error(http.patch(f"{ENC}/{key_id}", json={"updateMask": "status", "status": "CREATING"}), 400, 3)
        c.error(http.patch(f"{ENC}/{key_id}", json={"updateMask": "encryptionAlgorithm"}), 400, 3)
        c.error(http.get(ENC), 400, 3)  # folderId required
        c.error(http.get(ENC, params={"folderId": FOLDER_ID, "pageToken": "x" * 101}), 400, 3)
        c.error(http.get(f"{ENC}/abj00000000000000000"), 404, 5)
        c.error(http.get(f"{ENC}/{'a' * 51}"), 400, 3)
        c.error(http.get(f"{ENC}/{key_id}", headers={"Authorization": "Bearer nope"}), 401, 16)
        # a symmetric key is not an asymmetric one, and the other way round
        sym = c.done(http.post("/kms/v1/keys", json={"folderId": FOLDER_ID, "defaultAlgorithm": "AES_256"}))
        c.error(http.get(f"{ENC}/{sym['metadata']['keyId']}"), 404, 5)
        c.error(http.get(f"/kms/v1/keys/{key_id}"), 404, 5)


def test_encryption_key_access_bindings() -> None:
    with TestClient(MOCK.create_app(MOCK.config()), headers=AUTH) as http:
        c = Client(http)
        key_id = create_enc(c)
        binding = {
            "roleId": "kms.asymmetricEncryptionKeys.decrypter",
            "subject": {"id": "aje1", "type": "userAccount"},
        }
        op = c.done(http.post(f"{ENC}/{key_id}:setAccessBindings", json={"accessBindings": [binding]}))
        assert op["response"]["@type"].endswith("google.protobuf.Empty")
        assert parse(op["metadata"], access_pb2.SetAccessBindingsMetadata).resource_id == key_id
        listed = parse(
            http.get(f"{ENC}/{key_id}:listAccessBindings").json(), access_pb2.ListAccessBindingsResponse
        )
        assert [b.role_id for b in listed.access_bindings] == [binding["roleId"]]
        op = c.done(
            http.post(
                f"{ENC}/{key_id}:updateAccessBindings",
                json={"accessBindingDeltas": [{"action": 2, "accessBinding": binding}]},
            )
        )
        parse(op["metadata"], access_pb2.UpdateAccessBindingsMetadata)
        assert http.get(f"{ENC}/{key_id}:listAccessBindings").json() == {"accessBindings": []}
        c.error(http.get(f"{ENC}/{key_id}:setAccessBindings"), 501, 12)  # wrong method


# -- asymmetric signature keys ---------------------------------------------------------------------

SIG = "/kms/v1/asymmetricSignatureKeys"
SIGNATURE_ALGORITHMS = [
    *(f"RSA_{bits}_SIGN_PSS_SHA_{h}" for bits in (2048, 3072, 4096) for h in (256, 384, 512)),
    "ECDSA_NIST_P256_SHA_256",
    "ECDSA_NIST_P384_SHA_384",
    "ECDSA_NIST_P521_SHA_512",
    "ECDSA_SECP256_K1_SHA_256",
]


def create_sig(c: Client, **fields: Any) -> str:
    op = c.done(c.http.post(SIG, json={"folderId": FOLDER_ID, **fields}))
    payload = parse(op["response"], sig_key_pb2.AsymmetricSignatureKey)
    meta = parse(op["metadata"], sig_service.CreateAsymmetricSignatureKeyMetadata)
    assert meta.key_id == payload.id
    return str(payload.id)


def verify(public: Any, algorithm: str, signature: bytes, data: bytes, *, prehashed: bool) -> None:
    """Raises InvalidSignature unless ``signature`` verifies under the algorithm's documented scheme."""
    digest = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[algorithm[-3:]]
    chosen: Any = utils.Prehashed(digest) if prehashed else digest
    if algorithm.startswith("RSA"):
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.DIGEST_LENGTH)
        public.verify(signature, data, pss, chosen)
    else:
        public.verify(signature, data, ec.ECDSA(chosen))


@pytest.mark.parametrize("algorithm", SIGNATURE_ALGORITHMS)
def test_sign_and_sign_hash_verify_with_the_public_key(algorithm: str) -> None:
    with TestClient(MOCK.create_app(MOCK.config()), headers=AUTH) as http:
        c = Client(http)
        key_id = create_sig(c, signatureAlgorithm=algorithm)
        got = parse(http.get(f"{SIG}/{key_id}").json(), sig_key_pb2.AsymmetricSignatureKey)
        assert sig_key_pb2.AsymmetricSignatureAlgorithm.Name(got.signature_algorithm) == algorithm
        answer = parse(
            http.get(f"{SIG}/{key_id}/publicKey").json(), sig_crypto.AsymmetricGetPublicKeyResponse
        )
        public = serialization.load_pem_public_key(answer.public_key.encode())
        message = b"the message to sign"
        signed = parse(
            http.post(f"{SIG}/{key_id}:sign", json={"message": b64(message)}).json(),
            sig_crypto.AsymmetricSignResponse,
        )
        assert signed.key_id == key_id
        verify(public, algorithm, signed.signature, message, prehashed=False)
        with pytest.raises(InvalidSignature):
            verify(public, algorithm, signed.signature, b"another message", prehashed=False)
        h = hashes.Hash(
            {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[algorithm[-3:]]
        )
        h.update(message)
        digest = h.finalize()
        hashed = parse(
            http.post(f"{SIG}/{key_id}:signHash", json={"hash": b64(digest)}).json(),
            sig_crypto.AsymmetricSignHashResponse,
        )
        verify(public, algorithm, hashed.signature, digest, prehashed=True)
        verify(public, algorithm, hashed.signature, message, prehashed=False)  # the same digest
        # a digest of another length than the algorithm's hash is refused with code 3
        c.error(http.post(f"{SIG}/{key_id}:signHash", json={"hash": b64(digest[:-1])}), 400, 3)


def test_signature_key_life_cycle_and_refusals(client: Client) -> None:
    c = client
    key_id = create_sig(c, name="sig", labels={"k": "v"})
    got = parse(c.http.get(f"{SIG}/{key_id}").json(), sig_key_pb2.AsymmetricSignatureKey)
    assert got.signature_algorithm == sig_key_pb2.RSA_2048_SIGN_PSS_SHA_256  # the mock's inferred default
    listed = parse(
        c.http.get(SIG, params={"folderId": FOLDER_ID, "pageSize": 1}).json(),
        sig_service.ListAsymmetricSignatureKeysResponse,
    )
    assert [k.id for k in listed.keys] == [key_id]
    op = c.done(c.http.patch(f"{SIG}/{key_id}", json={"updateMask": "status", "status": "INACTIVE"}))
    parse(op["metadata"], sig_service.UpdateAsymmetricSignatureKeyMetadata)
    assert parse(op["response"], sig_key_pb2.AsymmetricSignatureKey).status == (
        sig_key_pb2.AsymmetricSignatureKey.Status.INACTIVE
    )
    c.error(c.http.post(f"{SIG}/{key_id}:sign", json={"message": b64(b"m")}), 400, 9)
    c.error(c.http.post(f"{SIG}/{key_id}:signHash", json={"hash": b64(b"h" * 32)}), 400, 9)
    c.error(c.http.get(f"{SIG}/{key_id}/publicKey"), 400, 9)
    c.done(c.http.patch(f"{SIG}/{key_id}", json={"updateMask": "status", "status": 2}))
    c.error(c.http.post(f"{SIG}/{key_id}:sign", json={}), 400, 3)  # message required
    c.error(c.http.post(f"{SIG}/{key_id}:sign", json={"message": b64(b"m" * 32769)}), 400, 3)
    c.error(c.http.post(f"{SIG}/{key_id}:signHash", json={"hash": b64(b"h" * 4097)}), 400, 3)
    # no decrypt verb on signature keys: unrouted, UNIMPLEMENTED as for any unknown method
    c.error(c.http.post(f"{SIG}/{key_id}:decrypt", json={"ciphertext": "AAAA"}), 501, 12)
    c.error(
        c.http.post(SIG, json={"folderId": FOLDER_ID, "signatureAlgorithm": "RSA_2048_ENC_OAEP_SHA_256"}),
        400,
        3,
    )
    enc_id = create_enc(c)
    c.error(c.http.get(f"{SIG}/{enc_id}"), 404, 5)  # an encryption key is not a signature key
    c.error(c.http.post(f"{ENC}/{key_id}:decrypt", json={"ciphertext": "AAAA"}), 404, 5)
    ops = parse(
        c.http.get(f"{SIG}/{key_id}/operations").json(),
        sig_service.ListAsymmetricSignatureKeyOperationsResponse,
    )
    assert len(ops.operations) == 3
    binding = {
        "roleId": "kms.asymmetricSignatureKeys.signer",
        "subject": {"id": "aje1", "type": "userAccount"},
    }
    op = c.done(c.http.post(f"{SIG}/{key_id}:setAccessBindings", json={"accessBindings": [binding]}))
    parse(op["metadata"], access_pb2.SetAccessBindingsMetadata)
    op = c.done(
        c.http.post(
            f"{SIG}/{key_id}:updateAccessBindings",
            json={
                "accessBindingDeltas": [{"action": "ADD", "accessBinding": {**binding, "roleId": "viewer"}}]
            },
        )
    )
    parse(op["metadata"], access_pb2.UpdateAccessBindingsMetadata)
    listed_bindings = parse(
        c.http.get(f"{SIG}/{key_id}:listAccessBindings").json(), access_pb2.ListAccessBindingsResponse
    )
    assert [b.role_id for b in listed_bindings.access_bindings] == [binding["roleId"], "viewer"]
    c.done(
        c.http.patch(f"{SIG}/{key_id}", json={"updateMask": "deletionProtection", "deletionProtection": True})
    )
    c.error(c.http.delete(f"{SIG}/{key_id}"), 400, 9)
    c.done(
        c.http.patch(f"{SIG}/{key_id}", json={"updateMask": "deletionProtection"})
    )  # absent: reset to false
    op = c.done(c.http.delete(f"{SIG}/{key_id}"))
    parse(op["metadata"], sig_service.DeleteAsymmetricSignatureKeyMetadata)
    c.error(c.http.get(f"{SIG}/{key_id}"), 404, 5)
    c.error(c.http.post(f"{SIG}/{key_id}:sign", json={"message": "bQ=="}), 404, 5)


# -- the profile owns and cleans the asymmetric keys the generated layer creates -------------------


def test_profile_owns_and_cleans_generated_asymmetric_keys() -> None:
    from tests.test_yandex_protobuf import in_process_profile

    config = MOCK.config()
    app = MOCK.create_app(config)
    profile = in_process_profile(app, config)
    try:
        ids = {}
        for collection, operation_id in (
            (ENC, "createAsymEncryptionKey"),
            (SIG, "createAsymSignatureKey"),
        ):
            body = {"folderId": FOLDER_ID, "deletionProtection": True}
            answer = profile.client.post(collection, json=body)
            assert profile.created_key_id(operation_id, answer.json()) == answer.json()["metadata"]["keyId"]
            profile.adopt_created(operation_id, answer)
            ids[collection] = answer.json()["metadata"]["keyId"]
        assert set(ids.values()) <= set(profile.created)
        cleaned, left = profile.cleanup()
        assert set(ids.values()) <= set(cleaned) and left == []
        for collection, key_id in ids.items():
            assert profile.client.get(f"{collection}/{key_id}").status_code == 404
    finally:
        profile.close()


# -- every answer of the asymmetric endpoints, recorded and parsed strictly -------------------------

ENC_KEY = ENC + r"/[^/:]+"
SIG_KEY = SIG + r"/[^/:]+"
ANSWERS: list[tuple[str, str, Any]] = [
    ("POST", ENC, operation_pb2.Operation),
    ("GET", ENC, enc_service.ListAsymmetricEncryptionKeysResponse),
    ("GET", ENC_KEY, enc_key_pb2.AsymmetricEncryptionKey),
    ("PATCH", ENC_KEY, operation_pb2.Operation),
    ("DELETE", ENC_KEY, operation_pb2.Operation),
    ("GET", ENC_KEY + "/operations", enc_service.ListAsymmetricEncryptionKeyOperationsResponse),
    ("GET", ENC_KEY + "/publicKey", enc_crypto.AsymmetricGetPublicKeyResponse),
    ("POST", ENC_KEY + ":decrypt", enc_crypto.AsymmetricDecryptResponse),
    ("POST", SIG, operation_pb2.Operation),
    ("GET", SIG, sig_service.ListAsymmetricSignatureKeysResponse),
    ("GET", SIG_KEY, sig_key_pb2.AsymmetricSignatureKey),
    ("PATCH", SIG_KEY, operation_pb2.Operation),
    ("DELETE", SIG_KEY, operation_pb2.Operation),
    ("GET", SIG_KEY + "/operations", sig_service.ListAsymmetricSignatureKeyOperationsResponse),
    ("GET", SIG_KEY + "/publicKey", sig_crypto.AsymmetricGetPublicKeyResponse),
    ("POST", SIG_KEY + ":sign", sig_crypto.AsymmetricSignResponse),
    ("POST", SIG_KEY + ":signHash", sig_crypto.AsymmetricSignHashResponse),
    (
        "GET",
        r"/kms/v1/asymmetric(Encryption|Signature)Keys/[^/:]+:listAccessBindings",
        access_pb2.ListAccessBindingsResponse,
    ),
    (
        "POST",
        r"/kms/v1/asymmetric(Encryption|Signature)Keys/[^/:]+:(set|update)AccessBindings",
        operation_pb2.Operation,
    ),
    ("GET", r"/operations/[^/:]+", operation_pb2.Operation),
]


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "immediate"},
        {"mode": "async"},
        # (not empty-response=value: the yc-output spelling that Python's json_format refuses, NOTES.md)
        {
            "mode": "async",
            "timestamps": "offset",
            "list-operations-response": "empty",
        },
        {"precondition-errors": "operation", "precondition-code": "3"},
    ],
)
def test_every_asymmetric_answer_parses_with_yandexcloud_messages(options: dict[str, str]) -> None:
    import re

    from tests.test_yandex_protobuf import Recorder

    recorder = Recorder(MOCK.create_app(MOCK.config(options=options)))
    with TestClient(recorder, headers=AUTH) as http:
        c = Client(http)
        binding = {"roleId": "viewer", "subject": {"id": "aje1", "type": "userAccount"}}
        for collection, body, crypto_calls in (
            (ENC, {"encryptionAlgorithm": 1}, [(":decrypt", {"ciphertext": b64(b"x" * 256)})]),
            (
                SIG,
                {"signatureAlgorithm": "ECDSA_NIST_P256_SHA_256"},
                [(":sign", {"message": b64(b"m")}), (":signHash", {"hash": b64(b"h" * 32)})],
            ),
        ):
            key_id = c.done(http.post(collection, json={"folderId": FOLDER_ID, **body}))["metadata"]["keyId"]
            http.get(collection, params={"folderId": FOLDER_ID})
            http.get(f"{collection}/{key_id}")
            http.get(f"{collection}/{key_id}/publicKey")
            for verb, call in crypto_calls:
                http.post(f"{collection}/{key_id}{verb}", json=call)
            c.done(http.post(f"{collection}/{key_id}:setAccessBindings", json={"accessBindings": [binding]}))
            delta = {"action": "REMOVE", "accessBinding": binding}
            c.done(
                http.post(
                    f"{collection}/{key_id}:updateAccessBindings", json={"accessBindingDeltas": [delta]}
                )
            )
            http.get(f"{collection}/{key_id}:listAccessBindings")
            protect = {
                "updateMask": "status,deletionProtection",
                "status": "INACTIVE",
                "deletionProtection": True,
            }
            c.done(http.patch(f"{collection}/{key_id}", json=protect))
            for verb, call in crypto_calls:
                http.post(f"{collection}/{key_id}{verb}", json=call)  # INACTIVE: refused
            http.delete(f"{collection}/{key_id}")  # protected: refused
            http.get(f"{collection}/{key_id}/operations")
            c.done(http.patch(f"{collection}/{key_id}", json={"updateMask": "deletionProtection"}))
            c.done(http.delete(f"{collection}/{key_id}"))
            http.get(f"{collection}/{key_id}")  # 404
    parsed: set[str] = set()
    problems = []
    for method, path, status, raw in recorder.seen:
        if status >= 400:
            message = status_pb2.Status
        else:
            found = [m for verb, pattern, m in ANSWERS if verb == method and re.fullmatch(pattern, path)]
            assert found, f"no message known for {method} {path}"
            message = found[0]
        try:
            json_format.Parse(raw.decode(), message(), ignore_unknown_fields=False)
        except json_format.ParseError as exc:
            problems.append(f"{method} {path} -> {status}: {exc}\n  {raw[:300]!r}")
        parsed.add(message.DESCRIPTOR.full_name)
    assert problems == []
    assert {m.DESCRIPTOR.full_name for _, _, m in ANSWERS} | {"google.rpc.Status"} <= parsed | {
        "yandex.cloud.kms.v1.asymmetricencryption.AsymmetricDecryptResponse",  # the 256 x's do not open
    }

"""The key-pair (asymmetric key) requirements YC-ASYM-001..011: the profile's rows, its set-up steps
and checks, and the mock switches that break them, in-process.

``tests/test_faults.py`` runs each new fault through the suite and holds it to exactly its
requirement; here the pieces are held one by one: every key-pair state the rows ask for is reached
on its own new key pair, a broken set-up step blames its owner, the checks accept what the protos
document (any PSS salt length, DER ECDSA) and refuse what they do not, the rows stay outside
``--scope lifecycle``, cleanup goes straight to the pair's collection, and the mock option
``inactive-public-key`` decides GetPublicKey of an INACTIVE pair both ways.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from yandex.cloud.kms.v1.asymmetricencryption import asymmetric_encryption_crypto_service_pb2 as enc_pb
from yandex.cloud.kms.v1.asymmetricsignature import asymmetric_signature_crypto_service_pb2 as sig_pb

from conformance.mocks.keypairs import ec_key, rsa_key
from conformance.vendors.yandex import profile as yandex
from conformance.vendors.yandex.mock import MOCK
from conformance.vendors.yandex.profile import (
    KEY_PAIRS,
    PAIR_MESSAGE,
    PairOutcome,
    YandexProfile,
    pair_state,
)
from conformance.verdict import StepFailed
from tests.test_yandex_asymmetric import parse
from tests.test_yandex_protobuf import in_process_profile

PAIR_ROWS = [t for t in YandexProfile.transitions if t.requirement.startswith("YC-ASYM-")] + [
    p for p in YandexProfile.probes if p.requirement.startswith("YC-ASYM-")
]


def profile_for(*faults: str, **options: str) -> Any:
    config = MOCK.config(faults=faults, options=options)
    return in_process_profile(MOCK.create_app(config), config)


@pytest.fixture
def profile() -> Iterator[Any]:
    p = profile_for()
    try:
        yield p
    finally:
        p.close()


def test_every_key_pair_state_of_the_rows_is_reached_on_a_new_pair(profile: Any) -> None:
    states = {row.from_state for row in PAIR_ROWS if hasattr(row, "from_state")}
    states |= {row.key for row in PAIR_ROWS if hasattr(row, "key") and row.key != "none"}
    assert states == {
        "enc-enabled",
        "enc-disabled",
        "enc-protected",
        "enc-deleted",
        "sig-enabled",
        "sig-disabled",
        "sig-protected",
        "sig-deleted",
        "sig-rsa-enabled",
    }
    seen = set()
    for state in sorted(states):
        assert pair_state(state) is not None
        key_id = profile.key_in(state)
        assert profile.key_state(key_id) == state
        assert key_id in profile.created and key_id not in seen  # each row makes its own pair
        seen.add(key_id)
    body = profile.client.get(f"/kms/v1/asymmetricSignatureKeys/{profile.key_in('sig-rsa-enabled')}").json()
    assert body["signatureAlgorithm"] == "RSA_2048_SIGN_PSS_SHA_256"
    assert pair_state("enabled") is None and pair_state("version-scheduled") is None


def test_driving_to_enc_disabled_reads_the_public_key_first_so_decrypt_sends_a_ciphertext_it_opens(
    profile: Any,
) -> None:
    key_id = profile.key_in("enc-disabled")
    public = profile._public[key_id]
    request = profile.build_request(profile.client, "enc_decrypt", key_id, {})
    sent = base64.b64decode(request.read().split(b'"')[3])
    assert len(sent) == 256  # an RSA-2048 OAEP ciphertext ...
    # ... that the (now INACTIVE) pair opens once active again
    profile.call("enc_enable", key_id)
    answer = profile.client.post(
        f"/kms/v1/asymmetricEncryptionKeys/{key_id}:decrypt",
        json={"ciphertext": base64.b64encode(sent).decode()},
    )
    assert base64.b64decode(answer.json()["plaintext"]) == PAIR_MESSAGE
    assert public is profile.public_key(key_id)  # read once


def test_inactive_refusals_fail_when_the_pair_is_still_usable() -> None:
    """inactive-key-pair-usable: the ciphertext the row sends opens, so the row sees a success."""
    p = profile_for("inactive-key-pair-usable")
    try:
        key_id = p.key_in("enc-disabled")
        assert p.call("enc_decrypt", key_id).status == 200
        sig = p.key_in("sig-disabled")
        assert p.call("sig_sign", sig).status == 200
        assert p.call("sig_sign_hash", sig).status == 200
    finally:
        p.close()
    p = profile_for()
    try:
        outcome = p.call("enc_decrypt", p.key_in("enc-disabled"))
        assert (outcome.status, outcome.code) == (400, "9")
    finally:
        p.close()


@pytest.mark.parametrize(
    ("fault", "state", "owner"),
    [
        ("asym-no-deactivate", "sig-disabled", "YC-ASYM-001"),
        ("deleted-key-pair-visible", "enc-deleted", "YC-ASYM-003"),
        ("public-key-not-pem", "enc-disabled", "YC-ASYM-006"),
    ],
)
def test_a_broken_set_up_step_blames_its_owner(fault: str, state: str, owner: str) -> None:
    p = profile_for(fault)
    try:
        with pytest.raises(StepFailed) as caught:
            p.key_in(state)
        assert caught.value.requirement == owner
    finally:
        p.close()


def test_crypto_checks_need_the_public_key_step() -> None:
    p = profile_for("public-key-not-pem")
    try:
        for operation, state in (
            ("sig_sign_verified", "sig-enabled"),
            ("sig_sign_hash_verified", "sig-enabled"),
            ("enc_decrypt_round_trip", "enc-enabled"),
        ):
            with pytest.raises(StepFailed) as caught:
                p.call(operation, p.key_in(state))
            assert caught.value.requirement == "YC-ASYM-006", operation
    finally:
        p.close()


def test_signatures_verify_and_parse_with_yandexcloud(profile: Any) -> None:
    for state in ("sig-enabled", "sig-rsa-enabled"):
        key_id = profile.key_in(state)
        for operation, message in (
            ("sig_sign_verified", sig_pb.AsymmetricSignResponse),
            ("sig_sign_hash_verified", sig_pb.AsymmetricSignHashResponse),
        ):
            outcome = profile.call(operation, key_id)
            assert isinstance(outcome, PairOutcome) and yandex._verifies(outcome) is None
            reply = parse(outcome.body, message)
            assert reply.key_id == key_id and reply.signature
    key_id = profile.key_in("enc-enabled")
    outcome = profile.call("enc_decrypt_round_trip", key_id)
    assert yandex._decrypted(outcome) is None
    assert parse(outcome.body, enc_pb.AsymmetricDecryptResponse).plaintext == PAIR_MESSAGE


def _signed(
    key: Any, algorithm: str, data: bytes, signature: bytes, *, prehashed: bool = False
) -> PairOutcome:
    response: Any = type("R", (), {"request": None})()
    body = {"keyId": "k", "signature": base64.b64encode(signature).decode()}
    return PairOutcome(
        200,
        None,
        body,
        response,
        key_id="k",
        public_key=key.public_key(),
        sent=data,
        algorithm=algorithm,
        prehashed=prehashed,
    )


def test_the_signature_check_takes_any_pss_salt_and_der_ecdsa_only() -> None:
    rsa = rsa_key(2048)
    for salt in (0, 20, 32, padding.PSS.MAX_LENGTH):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)
        signature = rsa.sign(PAIR_MESSAGE, pss, hashes.SHA256())
        assert yandex._verifies(_signed(rsa, "RSA_2048_SIGN_PSS_SHA_256", PAIR_MESSAGE, signature)) is None
    pkcs1 = rsa.sign(PAIR_MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    assert "does not verify" in str(
        yandex._verifies(_signed(rsa, "RSA_2048_SIGN_PSS_SHA_256", PAIR_MESSAGE, pkcs1))
    )
    key = ec_key("P-256")
    der = key.sign(PAIR_MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert yandex._verifies(_signed(key, "ECDSA_NIST_P256_SHA_256", PAIR_MESSAGE, der)) is None
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # IEEE P1363, not the documented DER
    assert yandex._verifies(_signed(key, "ECDSA_NIST_P256_SHA_256", PAIR_MESSAGE, raw)) is not None
    digest = hashlib.sha256(PAIR_MESSAGE).digest()
    prehashed = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    outcome = _signed(key, "ECDSA_NIST_P256_SHA_256", digest, prehashed, prehashed=True)
    assert yandex._verifies(outcome) is None
    wrong = key.sign(PAIR_MESSAGE + b"!", ec.ECDSA(hashes.SHA256()))
    assert yandex._verifies(_signed(key, "ECDSA_NIST_P256_SHA_256", PAIR_MESSAGE, wrong)) is not None


def test_the_faulted_mock_fails_the_checks(profile: Any) -> None:
    """Each crypto/shape fault is seen by its check, and the faithful mock is not."""
    cases = [
        ("sign-wrong-hash", "sig_sign_verified", "sig-enabled", yandex._verifies),
        ("sign-wrong-hash", "sig_sign_verified", "sig-rsa-enabled", yandex._verifies),
        ("decrypt-drops-last-byte", "enc_decrypt_round_trip", "enc-enabled", yandex._decrypted),
        ("key-pair-list-empty", "enc_list_finds", "enc-enabled", yandex._listed(True)),
        (
            "bindings-metadata-without-resource",
            "enc_set_access_bindings",
            "enc-enabled",
            yandex._bindings_operation,
        ),
    ]
    for fault, operation, state, check in cases:
        assert check(profile.call(operation, profile.key_in(state))) is None, operation
        p = profile_for(fault)
        try:
            assert check(p.call(operation, p.key_in(state))) is not None, fault
        finally:
            p.close()
    p = profile_for("key-pair-create-response-empty")
    try:
        assert yandex._pair_operation(KEY_PAIRS["enc"], "Create")(p.call("enc_create")) is not None
    finally:
        p.close()
    assert yandex._pair_operation(KEY_PAIRS["enc"], "Create")(profile.call("enc_create")) is None
    p = profile_for("sign-hash-any-length")
    try:
        body = {"hash": base64.b64encode(bytes(20)).decode()}
        assert p.call("sig_sign_hash", p.key_in("sig-enabled"), body).status == 200
    finally:
        p.close()


def test_public_key_check_wants_the_algorithms_key(profile: Any) -> None:
    enc = profile.call("enc_public_key", profile.key_in("enc-enabled"))
    sig = profile.call("sig_public_key", profile.key_in("sig-enabled"))
    assert yandex._public_key_of("RSA_2048_ENC_OAEP_SHA_256")(enc) is None
    assert yandex._public_key_of("ECDSA_NIST_P256_SHA_256")(sig) is None
    assert "RSA" in str(yandex._public_key_of("RSA_2048_ENC_OAEP_SHA_256")(sig))
    assert "ECDSA" in str(yandex._public_key_of("ECDSA_NIST_P256_SHA_256")(enc))
    pem = serialization.load_pem_public_key(enc.body["publicKey"].encode())
    assert pem.key_size == 2048  # type: ignore[union-attr]


@pytest.mark.parametrize(("choice", "status"), [("refused", 400), ("served", 200)])
def test_option_inactive_public_key(choice: str, status: int) -> None:
    p = profile_for(**{"inactive-public-key": choice})
    try:
        key_id = p.key_in("sig-disabled")
        answer = p.client.get(f"/kms/v1/asymmetricSignatureKeys/{key_id}/publicKey")
        assert answer.status_code == status
        if status == 400:
            assert answer.json()["code"] == 9
        else:
            assert answer.json()["publicKey"].startswith("-----BEGIN PUBLIC KEY-----")
        # the crypto calls stay refused either way
        assert p.call("sig_sign", key_id).status == 400
    finally:
        p.close()


def test_key_pair_rows_are_outside_scope_lifecycle() -> None:
    """--scope lifecycle keeps only the symmetric life cycle: the key-pair rows add no request there."""
    for row in PAIR_ROWS:
        assert YandexProfile.out_of_scope([row.operation], "lifecycle"), row.id
        assert YandexProfile.out_of_scope([row.operation], "full") is None, row.id
        assert YandexProfile.operation_ids[row.operation] in _spec_operation_ids(), row.id


def _spec_operation_ids() -> set[str]:
    from conformance.specs import load_spec
    from conformance.vendors.yandex import VENDOR

    doc = load_spec(VENDOR.spec)
    return {
        op["operationId"] for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)
    }


def test_cleanup_of_key_pairs_goes_to_their_collection(profile: Any) -> None:
    protected = profile.key_in("sig-protected")
    deleted = profile.key_in("enc-deleted")
    created = profile.call("sig_create")  # a row that creates one itself (key="none")
    adopted = created.body["metadata"]["keyId"]
    assert profile.pairs[adopted] == "sig" and adopted in profile.created
    paths: list[str] = []
    send = profile.client.send

    def record(request: Any, **kw: Any) -> Any:
        paths.append(f"{request.method} {request.url.path}")
        return send(request, **kw)

    profile.client.send = record  # type: ignore[method-assign]
    cleaned, left = profile.cleanup()
    assert {protected, deleted, adopted} <= set(cleaned) and left == []
    assert not any(path.startswith("GET /kms/v1/keys/") for path in paths), paths  # no symmetric detour
    assert f"DELETE /kms/v1/asymmetricSignatureKeys/{protected}" in paths
    # already gone: at most the one delete-at-once try (answered NOT_FOUND), never a second
    assert sum(deleted in path and path.startswith("DELETE") for path in paths) <= 1, paths
    for collection, key_id in (("asymmetricSignatureKeys", protected), ("asymmetricSignatureKeys", adopted)):
        assert profile.client.get(f"/kms/v1/{collection}/{key_id}").status_code == 404

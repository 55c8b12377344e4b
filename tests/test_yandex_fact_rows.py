"""The rows added to close the gaps of the Yandex fact map (conformance/vendors/yandex/facts.toml):
symmetric crypto, listing and paging, what Create and Update persist, idempotency, key-pair
operations and attributes, an unknown operation id.

Each new probe passes against the bundled mock and fails with the mock fault written for it, run
in-process through the profile the way ``conformance/checks/test_probes.py`` runs it
(``tests/test_faults.py`` holds each fault to exactly its requirements over a whole run).  The
mock's side is also shown directly: the documented behaviour, then through yandexcloud's messages.
"""

from __future__ import annotations

import base64
import uuid
import warnings
from typing import Any

import pytest
from google.protobuf import json_format
from yandex.cloud.kms.v1 import symmetric_crypto_service_pb2 as crypto_pb

from conformance.profiles.base import Probe
from conformance.vendors.yandex.mock import MOCK
from conformance.vendors.yandex.profile import YandexProfile
from conformance.verdict import StepFailed
from tests.test_yandex_protobuf import in_process_profile

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 behind TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

# probe name -> the mock fault that breaks what it checks
ROWS = {
    "encrypt-decrypt-round-trip": "sym-decrypt-drops-last-byte",
    "decrypt-other-aad": "aad-ignored",
    "re-encrypt-round-trip": "re-encrypt-keeps-source",
    "data-key-round-trip": "data-key-mismatch",
    "data-key-skip-plaintext": "skip-plaintext-ignored",
    "encrypt-named-version": "encrypt-ignores-version",
    "decrypt-after-rotate": "rotate-replaces-material",
    "plaintext-32769-bytes": "crypto-sizes-unbounded",
    "aad-8193-bytes": "crypto-sizes-unbounded",
    "encrypt-unknown-key": "unknown-key-invalid-argument",
    "get-unknown-operation": "unknown-operation-invalid-argument",
    "list-finds-key": "key-list-empty",
    "deleted-key-not-listed": "deleted-key-listed",
    "list-keys-next-page": "page-token-ignored",
    "list-versions-next-page": "page-token-ignored",
    "create-keeps-attributes": "create-drops-labels",
    "update-applies-mask": "update-ignores-labels",
    "update-keeps-unmasked": "update-applies-unmasked",
    "rotate-sets-rotatedAt": "rotate-no-rotated-at",
    "pendingPeriod-2-days": "pending-period-ignored",
    "rotate-takes-defaultAlgorithm": "rotate-copies-primary-algorithm",
    "get-key-fields": "get-omits-primary-version",
    "delete-types": "operation-wrong-type",
    "set-access-bindings-types": "bindings-metadata-without-resource",
    "create-same-idempotency-key": "idempotency-key-ignored",
    "enc-operations-list-create": "key-pair-operations-empty",
    "sig-operations-list-create": "key-pair-operations-empty",
    "enc-create-keeps-attributes": "key-pair-create-drops-labels",
    "sig-create-keeps-attributes": "key-pair-create-drops-labels",
    "enc-update-keeps-attributes": "key-pair-update-ignores-labels",
    "sig-update-keeps-attributes": "key-pair-update-ignores-labels",
    "deleted-sig-pair-not-listed": "deleted-key-pair-visible",
    "sig-set-access-bindings-operation": "bindings-metadata-without-resource",
    # inferred behaviours (should)
    "list-versions-last-page": "last-page-token",
    "defaultAlgorithm-by-number": "enum-numbers-refused",
    "pendingPeriod-1-hour": "short-pending-period-accepted",
    "operations-newest-first": "operations-oldest-first",
    "data-key-AES_128-16-bytes": "data-key-always-32-bytes",
}
PROBES = {p.name: p for p in YandexProfile.probes}


def profile_for(*faults: str) -> Any:
    config = MOCK.config(faults=faults)
    return in_process_profile(MOCK.create_app(config), config)


def judge(profile: Any, probe: Probe) -> str | None:
    """What test_probes would object to: a status or code off the documented ones, the check's problem,
    or a set-up step that broke (the run reports that requirement failed and the row blocked)."""
    try:
        return _judge(profile, probe)
    except StepFailed as exc:
        return f"{exc.requirement}: {exc.message}"


def _judge(profile: Any, probe: Probe) -> str | None:
    if probe.key == "none":
        key_id = None
    elif probe.key == "unknown":
        key_id = profile.unknown_key_id()
    else:
        key_id = profile.key_in(probe.key)
    outcome = profile.call(probe.operation, key_id, probe.body, auth=probe.auth, raw=probe.raw)
    if outcome.status not in probe.status:
        return f"status {outcome.status}"
    if probe.codes and outcome.code not in probe.codes:
        return f"code {outcome.code}"
    return probe.check(outcome) if probe.check is not None and outcome.status in probe.status else None


def test_every_new_row_is_here() -> None:
    assert set(ROWS) <= set(PROBES)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row_passes_the_mock_and_fails_its_fault(name: str) -> None:
    probe = PROBES[name]
    good, broken = profile_for(), profile_for(ROWS[name])
    try:
        assert judge(good, probe) is None
        assert judge(broken, probe) is not None
    finally:
        good.close()
        broken.close()


def test_story_set_up_failure_blames_the_row_requirement() -> None:
    """Decrypt-with-another-AAD needs an Encrypt first: an INACTIVE key's refusal is CRYPTO-002's, not a pass."""
    profile = profile_for()
    try:
        key_id = profile.key_in("disabled")
        with pytest.raises(StepFailed) as caught:
            profile.call("decrypt_other_aad", key_id)
        assert caught.value.requirement == "YC-CRYPTO-002"
    finally:
        profile.close()


# -- the mock, directly -------------------------------------------------------------------------------


@pytest.fixture
def api() -> Any:
    config = MOCK.config()
    client = TestClient(MOCK.create_app(config))
    client.headers["Authorization"] = f"Bearer {MOCK.credentials(config)['token']}"
    return client


def _new_key(api: Any, **extra: Any) -> str:
    body = {"folderId": "b1gmockfolder0000001", "defaultAlgorithm": "AES_256", **extra}
    answer = api.post("/kms/v1/keys", json=body).json()
    return str(answer["metadata"]["keyId"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_mock_decrypt_needs_the_same_aad_and_parses_as_the_sdk_message(api: Any) -> None:
    key = _new_key(api)
    sealed = api.post(
        f"/kms/v1/keys/{key}:encrypt", json={"plaintext": b64(b"x" * 10), "aadContext": b64(b"a")}
    )
    ciphertext = sealed.json()["ciphertext"]
    wrong = api.post(f"/kms/v1/keys/{key}:decrypt", json={"ciphertext": ciphertext, "aadContext": b64(b"b")})
    assert wrong.status_code == 400 and wrong.json()["code"] == 3
    right = api.post(f"/kms/v1/keys/{key}:decrypt", json={"ciphertext": ciphertext, "aadContext": b64(b"a")})
    message = json_format.ParseDict(right.json(), crypto_pb.SymmetricDecryptResponse())
    assert message.plaintext == b"x" * 10 and message.version_id == sealed.json()["versionId"]


def test_mock_skip_plaintext_and_re_encrypt_through_the_sdk_messages(api: Any) -> None:
    key, source = _new_key(api), _new_key(api)
    made = api.post(f"/kms/v1/keys/{key}:generateDataKey", json={"skipPlaintext": True}).json()
    parsed = json_format.ParseDict(made, crypto_pb.GenerateDataKeyResponse())
    assert parsed.data_key_ciphertext and not parsed.data_key_plaintext
    sealed = api.post(f"/kms/v1/keys/{source}:encrypt", json={"plaintext": b64(b"moved")}).json()
    moved = api.post(
        f"/kms/v1/keys/{key}:reEncrypt", json={"sourceKeyId": source, "ciphertext": sealed["ciphertext"]}
    ).json()
    re_message = json_format.ParseDict(moved, crypto_pb.SymmetricReEncryptResponse())
    assert re_message.source_key_id == source and re_message.source_version_id == sealed["versionId"]
    opened = api.post(f"/kms/v1/keys/{key}:decrypt", json={"ciphertext": moved["ciphertext"]}).json()
    assert base64.b64decode(opened["plaintext"]) == b"moved"


def test_mock_idempotency_key_answers_the_first_operation(api: Any) -> None:
    body = {"folderId": "b1gmockfolder0000001", "defaultAlgorithm": "AES_256"}
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/kms/v1/keys", json=body, headers=idem).json()
    second = api.post("/kms/v1/keys", json=body, headers=idem).json()
    assert first["id"] == second["id"] and first["metadata"]["keyId"] == second["metadata"]["keyId"]


def test_mock_update_applies_only_the_mask(api: Any) -> None:
    key = _new_key(api, name="before", description="kept")
    api.patch(
        f"/kms/v1/keys/{key}", json={"updateMask": "name", "name": "after", "description": "not masked"}
    )
    got = api.get(f"/kms/v1/keys/{key}").json()
    assert (got["name"], got["description"]) == ("after", "kept")


def test_mock_pages_follow_the_token(api: Any) -> None:
    key = _new_key(api)
    api.post(f"/kms/v1/keys/{key}:rotate")
    first = api.get(f"/kms/v1/keys/{key}/versions", params={"pageSize": "1"}).json()
    second = api.get(
        f"/kms/v1/keys/{key}/versions", params={"pageSize": "1", "pageToken": first["nextPageToken"]}
    ).json()
    assert first["keyVersions"][0]["id"] != second["keyVersions"][0]["id"]
    assert "nextPageToken" not in second

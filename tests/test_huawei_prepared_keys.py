"""The Huawei profile's prepared keys (PREPARED: a key with a sealed data key, a grant, import
parameters, imported material, a signature) and the rows that use them, against the bundled mock.

Each row makes its own key: two rows asking for the same prepared state get two keys, each with
what its own preparation answered.  The rows' checks accept every documented alternative (a bad
signature is "false" or a 400, per the mock's option invalid-signature), in-process and through
the official SDK.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from conformance.vendors.huawei import profile as hw
from conformance.vendors.huawei.profile import HuaweiProfile
from tests.huawei_kms import sdk_client


def _profile(mock: Any) -> HuaweiProfile:
    return HuaweiProfile(mock.settings)


def test_every_prepared_state_gives_each_row_a_key_of_its_own(kms_mock: Any) -> None:
    profile = _profile(kms_mock("huawei"))
    for state, documented in hw.PREPARED_STATE.items():
        first, second = profile.key_in(state), profile.key_in(state)
        assert first != second, state
        assert profile.key_state(first) == profile.key_state(second) == documented, state
        mine, theirs = profile.remembered.get(first, {}), profile.remembered.get(second, {})
        for name in mine:
            assert mine[name] and mine[name] != theirs[name], (state, name)  # nothing is shared
    assert set(profile.remembered[profile.key_in("imported")]) == {"import_token", "wrapped_material"}


def test_the_profile_wraps_material_the_mock_unwraps(kms_mock: Any) -> None:
    """The wrapped material is real RSAES-OAEP-SHA-256 under the handed-out key: the key imports and
    is enabled; material wrapped for another RSA key is refused with KMS.0311."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    profile = _profile(kms_mock("huawei"))
    ready = profile.key_in("import-ready")
    assert profile.call("import_material", ready).status == 200
    assert profile.key_state(ready) == "enabled"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    foreign = profile.key_in("import-ready")
    wrapped = hw._wrap_material(base64.b64encode(der).decode())
    refused = profile.call("import_material", foreign, {"encrypted_key_material": wrapped})
    assert (refused.status, refused.code) == (400, "KMS.0311")
    assert hw._wrap_material("not base64 DER") == ""


def test_unknown_placeholders_fall_back_to_well_formed_values(kms_mock: Any) -> None:
    """A row naming a key that has nothing remembered still sends schema-valid fields: revoke-grant
    of the default grant id is the documented KMS.2501, not a validation error."""
    profile = _profile(kms_mock("huawei"))
    key_id = profile.key_in("enabled")
    outcome = profile.call("revoke_grant", key_id)
    assert (outcome.status, outcome.code) == (400, "KMS.2501")


@pytest.mark.parametrize("choice", ["false", "refused"])
def test_a_signature_over_another_message_is_never_valid(kms_mock: Any, choice: str) -> None:
    profile = _profile(kms_mock("huawei", options={"invalid-signature": choice}))
    (probe,) = [p for p in hw.PROBES if p.name == "verify-other-message"]
    key_id = profile.key_in("signed")
    outcome = profile.call("verify", key_id, probe.body)
    assert outcome.status in probe.status
    assert probe.check is not None and probe.check(outcome) is None  # the row passes either way
    if choice == "refused":
        assert (outcome.status, outcome.code) == (400, "KMS.0308")
    else:
        assert outcome.status == 200 and outcome.body["signature_valid"] == "false"
    good = profile.call("verify", key_id)
    assert good.status == 200 and good.body["signature_valid"] == "true"


def test_the_sdk_sees_a_refused_bad_signature_as_a_400(kms_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    mock = kms_mock("huawei", options={"invalid-signature": "refused"})
    client = sdk_client(mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(
            body=sdk.CreateKeyRequestBody(
                key_alias="sdk-bad-sig", key_spec="EC_P256", key_usage="SIGN_VERIFY"
            )
        )
    ).key_info.key_id
    signed = client.sign(
        sdk.SignRequest(
            body=sdk.SignRequestBody(
                key_id=key_id,
                message=hw.SIGNED_MESSAGE,
                signing_algorithm="ECDSA_SHA_256",
                message_type="RAW",
            )
        )
    )
    with pytest.raises(ClientRequestException) as refused:
        client.validate_signature(
            sdk.ValidateSignatureRequest(
                body=sdk.VerifyRequestBody(
                    key_id=key_id,
                    message=hw.OTHER_MESSAGE,
                    signature=signed.signature,
                    signing_algorithm="ECDSA_SHA_256",
                    message_type="RAW",
                )
            )
        )
    assert (refused.value.status_code, refused.value.error_code) == (400, "KMS.0308")

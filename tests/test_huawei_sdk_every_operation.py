"""huaweicloudsdkkms, unchanged, over every operation of ``specs/huawei.yaml`` in one scenario.

Each call goes through ``Scenario.call``, which names the spec operation it sends; the test ends
by holding that set to the spec's operationIds, so an operation added to the spec without an SDK
call here fails it.  Results are checked as the scenario goes (states, round-trips, lengths).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import yaml

from conformance.specs import spec_path
from conformance.vendors.huawei.mock import USER_ID

sdk = pytest.importorskip("huaweicloudsdkkms.v2")
core_credentials = pytest.importorskip("huaweicloudsdkcore.auth.credentials")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402


def _spec_operations() -> set[str]:
    spec = yaml.safe_load(spec_path("huawei.yaml").read_text(encoding="utf-8"))
    return {
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


class Scenario:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.sent: set[str] = set()

    def call(self, operation: str, method: str, request: Any) -> Any:
        self.sent.add(operation)
        return getattr(self.client, method)(request)


def _with_digest(hex_key: str) -> str:
    """encrypt-datakey's plain_text: the data key and its SHA-256, both as hex (EncryptDatakey.html)."""
    return hex_key + hashlib.sha256(bytes.fromhex(hex_key)).hexdigest()


def _key_body(key_id: str) -> Any:
    return sdk.OperateKeyRequestBody(key_id=key_id)


def test_the_sdk_drives_every_spec_operation(huawei_mock) -> None:
    c = huawei_mock.credentials
    credentials = core_credentials.BasicCredentials(c["ak"], c["sk"], c["project_id"])
    s = Scenario(
        sdk.KmsClient.new_builder().with_credentials(credentials).with_endpoint(huawei_mock.url).build()
    )

    # -- a symmetric key's life ---------------------------------------------------------------
    key = s.call(
        "createKey",
        "create_key",
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-every-op")),
    ).key_info.key_id
    assert (
        s.call(
            "describeKey", "list_key_detail", sdk.ListKeyDetailRequest(body=_key_body(key))
        ).key_info.key_state
        == "2"
    )
    listed = s.call("listKeys", "list_keys", sdk.ListKeysRequest(body=sdk.ListKeysRequestBody(limit="100")))
    assert key in listed.keys
    assert (
        s.call("disableKey", "disable_key", sdk.DisableKeyRequest(body=_key_body(key))).key_info.key_state
        == "3"
    )
    assert (
        s.call("enableKey", "enable_key", sdk.EnableKeyRequest(body=_key_body(key))).key_info.key_state == "2"
    )
    s.call(
        "updateKeyAlias",
        "update_key_alias",
        sdk.UpdateKeyAliasRequest(body=sdk.UpdateKeyAliasRequestBody(key_id=key, key_alias="sdk-every-op-2")),
    )
    s.call(
        "updateKeyDescription",
        "update_key_description",
        sdk.UpdateKeyDescriptionRequest(
            body=sdk.UpdateKeyDescriptionRequestBody(key_id=key, key_description="d")
        ),
    )
    info = s.call("describeKey", "list_key_detail", sdk.ListKeyDetailRequest(body=_key_body(key))).key_info
    assert (info.key_alias, info.key_description) == ("sdk-every-op-2", "d")

    # -- crypto with it ---------------------------------------------------------------------------
    enc = s.call(
        "encryptData",
        "encrypt_data",
        sdk.EncryptDataRequest(body=sdk.EncryptDataRequestBody(key_id=key, plain_text="héllo wörld")),
    )
    dec = s.call(
        "decryptData",
        "decrypt_data",
        sdk.DecryptDataRequest(body=sdk.DecryptDataRequestBody(cipher_text=enc.cipher_text)),
    )
    assert dec.plain_text == "héllo wörld"
    dek = s.call(
        "createDatakey",
        "create_datakey",
        sdk.CreateDatakeyRequest(body=sdk.CreateDatakeyRequestBody(key_id=key, key_spec="AES_256")),
    )
    assert len(dek.plain_text) == 64  # 256 bits, hex
    bare = s.call(
        "createDatakeyWithoutPlaintext",
        "create_datakey_without_plaintext",
        sdk.CreateDatakeyWithoutPlaintextRequest(
            body=sdk.CreateDatakeyRequestBody(key_id=key, datakey_length="128")
        ),
    )
    assert bare.cipher_text
    wrapped = s.call(
        "encryptDatakey",
        "encrypt_datakey",
        sdk.EncryptDatakeyRequest(
            body=sdk.EncryptDatakeyRequestBody(
                key_id=key, plain_text=_with_digest(dek.plain_text), datakey_plain_length="32"
            )
        ),
    )
    opened = s.call(
        "decryptDatakey",
        "decrypt_datakey",
        sdk.DecryptDatakeyRequest(
            body=sdk.DecryptDatakeyRequestBody(
                key_id=key, cipher_text=wrapped.cipher_text, datakey_cipher_length="32"
            )
        ),
    )
    assert opened.data_key == dek.plain_text
    random = s.call(
        "genRandom",
        "create_random",
        sdk.CreateRandomRequest(body=sdk.GenRandomRequestBody(random_data_length="512")),
    )
    assert len(random.random_data) == 128

    # -- rotation -------------------------------------------------------------------------------
    s.call("enableKeyRotation", "enable_key_rotation", sdk.EnableKeyRotationRequest(body=_key_body(key)))
    s.call(
        "updateKeyRotationInterval",
        "update_key_rotation_interval",
        sdk.UpdateKeyRotationIntervalRequest(
            body=sdk.UpdateKeyRotationIntervalRequestBody(key_id=key, rotation_interval=90)
        ),
    )
    status = s.call(
        "getKeyRotationStatus",
        "show_key_rotation_status",
        sdk.ShowKeyRotationStatusRequest(body=_key_body(key)),
    )
    assert status.key_rotation_enabled is True and status.rotation_interval == 90
    s.call("disableKeyRotation", "disable_key_rotation", sdk.DisableKeyRotationRequest(body=_key_body(key)))

    # -- grants ---------------------------------------------------------------------------------
    grantee = "0" * 31 + "1"
    grant = s.call(
        "createGrant",
        "create_grant",
        sdk.CreateGrantRequest(
            body=sdk.CreateGrantRequestBody(
                key_id=key, grantee_principal=grantee, operations=["describe-key"], retiring_principal=grantee
            )
        ),
    ).grant_id
    grants = s.call(
        "listGrants", "list_grants", sdk.ListGrantsRequest(body=sdk.ListGrantsRequestBody(key_id=key))
    )
    assert [g.grant_id for g in grants.grants] == [grant]
    s.call(
        "listRetirableGrants",
        "list_retirable_grants",
        sdk.ListRetirableGrantsRequest(body=sdk.ListRetirableGrantsRequestBody(limit="10")),
    )
    s.call(
        "revokeGrant",
        "cancel_grant",
        sdk.CancelGrantRequest(body=sdk.RevokeGrantRequestBody(key_id=key, grant_id=grant)),
    )
    second = s.call(
        "createGrant",
        "create_grant",
        sdk.CreateGrantRequest(
            body=sdk.CreateGrantRequestBody(
                key_id=key, grantee_principal=grantee, operations=["describe-key"], retiring_principal=USER_ID
            )
        ),
    ).grant_id
    s.call(
        "retireGrant",
        "cancel_self_grant",
        sdk.CancelSelfGrantRequest(body=sdk.RevokeGrantRequestBody(key_id=key, grant_id=second)),
    )
    assert not s.call(
        "listGrants", "list_grants", sdk.ListGrantsRequest(body=sdk.ListGrantsRequestBody(key_id=key))
    ).grants

    # -- tags -----------------------------------------------------------------------------------
    s.call(
        "createKmsTag",
        "create_kms_tag",
        sdk.CreateKmsTagRequest(
            key_id=key, body=sdk.CreateKmsTagRequestBody(tag=sdk.TagItem(key="team/x", value="a"))
        ),
    )
    s.call(
        "batchKmsTags",
        "batch_create_kms_tags",
        sdk.BatchCreateKmsTagsRequest(
            key_id=key,
            body=sdk.BatchCreateKmsTagsRequestBody(
                tags=[sdk.TagItem(key="env", value="dev")], action="create"
            ),
        ),
    )
    shown = s.call("showKmsTags", "show_kms_tags", sdk.ShowKmsTagsRequest(key_id=key))
    assert {t.key for t in shown.tags} == {"team/x", "env"}
    s.call("deleteKmsTag", "delete_tag", sdk.DeleteTagRequest(key_id=key, key="team/x"))
    assert {
        t.key for t in s.call("showKmsTags", "show_kms_tags", sdk.ShowKmsTagsRequest(key_id=key)).tags
    } == {"env"}
    s.call("listKmsTags", "list_kms_tags", sdk.ListKmsTagsRequest())
    found = s.call(
        "listKmsByTags",
        "list_kms_by_tags",
        sdk.ListKmsByTagsRequest(
            resource_instances="resource_instances",
            body=sdk.ListKmsByTagsRequestBody(
                action="filter", limit="10", tags=[sdk.Tag(key="env", values=["dev"])]
            ),
        ),
    )
    assert key in {r.resource_id for r in found.resources}

    # -- account --------------------------------------------------------------------------------
    assert (
        int(s.call("showUserInstances", "show_user_instances", sdk.ShowUserInstancesRequest()).instance_num)
        >= 1
    )
    assert s.call("showUserQuotas", "show_user_quotas", sdk.ShowUserQuotasRequest()).quotas

    # -- imported key material ------------------------------------------------------------------
    external = s.call(
        "createKey",
        "create_key",
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-every-op-ext", origin="external")),
    ).key_info.key_id
    params = s.call(
        "getParametersForImport",
        "create_parameters_for_import",
        sdk.CreateParametersForImportRequest(
            body=sdk.GetParametersForImportRequestBody(
                key_id=external, wrapping_algorithm="RSAES_OAEP_SHA_256"
            )
        ),
    )
    public = serialization.load_der_public_key(base64.b64decode(params.public_key))
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    material = base64.b64encode(public.encrypt(b"\x07" * 32, oaep)).decode()
    s.call(
        "importKeyMaterial",
        "import_key_material",
        sdk.ImportKeyMaterialRequest(
            body=sdk.ImportKeyMaterialRequestBody(
                key_id=external, import_token=params.import_token, encrypted_key_material=material
            )
        ),
    )
    assert (
        s.call(
            "describeKey", "list_key_detail", sdk.ListKeyDetailRequest(body=_key_body(external))
        ).key_info.key_state
        == "2"
    )
    s.call(
        "deleteImportedKeyMaterial",
        "delete_imported_key_material",
        sdk.DeleteImportedKeyMaterialRequest(body=_key_body(external)),
    )
    assert (
        s.call(
            "describeKey", "list_key_detail", sdk.ListKeyDetailRequest(body=_key_body(external))
        ).key_info.key_state
        == "5"
    )

    # -- an asymmetric signing key ----------------------------------------------------------------
    signer = s.call(
        "createKey",
        "create_key",
        sdk.CreateKeyRequest(
            body=sdk.CreateKeyRequestBody(
                key_alias="sdk-every-op-ec", key_spec="EC_P256", key_usage="SIGN_VERIFY"
            )
        ),
    ).key_info.key_id
    pem = s.call(
        "showPublicKey", "show_public_key", sdk.ShowPublicKeyRequest(body=_key_body(signer))
    ).public_key
    assert "BEGIN PUBLIC KEY" in pem
    message = base64.b64encode(hashlib.sha256(b"every operation").digest()).decode()
    signed = s.call(
        "sign",
        "sign",
        sdk.SignRequest(
            body=sdk.SignRequestBody(
                key_id=signer, message=message, signing_algorithm="ECDSA_SHA_256", message_type="DIGEST"
            )
        ),
    )
    verified = s.call(
        "validateSignature",
        "validate_signature",
        sdk.ValidateSignatureRequest(
            body=sdk.VerifyRequestBody(
                key_id=signer,
                message=message,
                signature=signed.signature,
                signing_algorithm="ECDSA_SHA_256",
                message_type="DIGEST",
            )
        ),
    )
    assert verified.signature_valid == "true"

    # -- the end of the key's life ----------------------------------------------------------------
    for owned in (key, external, signer):
        scheduled = s.call(
            "scheduleKeyDeletion",
            "delete_key",
            sdk.DeleteKeyRequest(body=sdk.ScheduleKeyDeletionRequestBody(key_id=owned, pending_days="7")),
        )
        assert scheduled.key_state == "4"
    cancelled = s.call(
        "cancelKeyDeletion", "cancel_key_deletion", sdk.CancelKeyDeletionRequest(body=_key_body(key))
    )
    assert cancelled.key_state == "3"

    assert s.sent == _spec_operations()

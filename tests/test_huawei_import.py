"""get-parameters-for-import, import-key-material and delete-imported-key-material on the bundled
Huawei mock: material wrapped by a real RSA-OAEP implementation (the `cryptography` package) with the
public key the mock hands out, the pending-import -> enabled -> pending-import cycle, the documented
codes (KMS.0309/0310/0311, KMS.2601-2606, KMS.2701) and the official SDK (huaweicloudsdkkms)."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import Kms as BaseKms
from huawei_kms import sdk_client, start

serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

OAEP = "RSAES_OAEP_SHA_256"


def wrap(public_key_b64: str, material: bytes, mgf: Any = None) -> str:
    """What a client does: RSAES-OAEP with SHA-256 under the public key it was given."""
    public = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    oaep = padding.OAEP(mgf=padding.MGF1(mgf or hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return base64.b64encode(public.encrypt(material, oaep)).decode()


class Kms(BaseKms):
    alias = "import"

    def params(self, key_id: str) -> dict[str, Any]:
        return dict(self.ok("get-parameters-for-import", {"key_id": key_id, "wrapping_algorithm": OAEP}))

    def import_(self, key_id: str, material: bytes, **extra: Any) -> Any:
        params = self.params(key_id)
        body = {
            "key_id": key_id,
            "import_token": params["import_token"],
            "encrypted_key_material": wrap(params["public_key"], material),
            **extra,
        }
        return self.post("import-key-material", body)


@pytest.fixture
def kms() -> Iterator[Kms]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def test_import_enables_the_key_and_deleting_the_material_returns_it_to_pending_import(kms: Kms) -> None:
    key_id = kms.key(origin="external")
    assert kms.state(key_id) == "5"
    params = kms.params(key_id)
    assert params["key_id"] == key_id
    assert 200 <= len(params["import_token"]) <= 6144
    assert isinstance(params["expiration_time"], int) and params["expiration_time"] > time.time()
    material = os.urandom(32)
    expires = int(time.time()) + 3600
    answer = kms.import_(key_id, material, expiration_time=expires)
    assert answer.status_code == 200 and not answer.content, answer.text
    info = kms.ok("describe-key", {"key_id": key_id})["key_info"]
    assert (info["key_state"], info["origin"], info["expiration_time"]) == (
        "2",
        "external",
        str(expires * 1000),
    )
    sealed = kms.ok("encrypt-data", {"key_id": key_id, "plain_text": "imported"})["cipher_text"]
    assert kms.ok("decrypt-data", {"cipher_text": sealed})["plain_text"] == "imported"
    assert kms.ok("delete-imported-key-material", {"key_id": key_id}) is None
    assert kms.state(key_id) == "5"
    assert _error(kms.post("encrypt-data", {"key_id": key_id, "plain_text": "x"}))[0] == 400
    # Re-importing needs the same material (KMS.2606); the same material enables the key again.
    assert _error(kms.import_(key_id, os.urandom(32))) == (400, "KMS.2606")
    assert kms.import_(key_id, material).status_code == 200
    assert kms.state(key_id) == "2"


def test_material_wrapped_with_mgf1_sha1_is_accepted_too(kms: Kms) -> None:
    """Java's default OAEP-with-SHA-256 uses MGF1 with SHA-1."""
    key_id = kms.key(origin="external")
    params = kms.params(key_id)
    body = {
        "key_id": key_id,
        "import_token": params["import_token"],
        "encrypted_key_material": wrap(params["public_key"], os.urandom(32), mgf=hashes.SHA1()),  # noqa: S303
    }
    assert kms.post("import-key-material", body).status_code == 200


def test_an_sm4_key_takes_16_bytes(kms: Kms) -> None:
    key_id = kms.key(origin="external", key_spec="SM4")
    assert _error(kms.import_(key_id, os.urandom(32))) == (400, "KMS.2604")
    assert kms.import_(key_id, os.urandom(16)).status_code == 200


def test_get_parameters_refusals(kms: Kms) -> None:
    own, external = kms.key(), kms.key(origin="external")
    body = {"key_id": own, "wrapping_algorithm": OAEP}
    assert _error(kms.post("get-parameters-for-import", body)) == (400, "KMS.0309")
    sm2 = {"key_id": external, "wrapping_algorithm": "SM2_ENCRYPT"}
    assert _error(kms.post("get-parameters-for-import", sm2)) == (400, "KMS.0308")
    bad = {"key_id": external, "wrapping_algorithm": "RSAES_PKCS1_V1_5"}
    assert _error(kms.post("get-parameters-for-import", bad)) == (400, "KMS.0308")
    assert _error(kms.post("get-parameters-for-import", {"key_id": external})) == (400, "KMS.0204")
    unknown = {"key_id": "0000dead-0000-4000-8000-00000000c0de", "wrapping_algorithm": OAEP}
    assert _error(kms.post("get-parameters-for-import", unknown)) == (404, "KMS.0207")
    assert kms.import_(external, os.urandom(32)).status_code == 200
    enabled = {"key_id": external, "wrapping_algorithm": OAEP}
    assert _error(kms.post("get-parameters-for-import", enabled)) == (400, "KMS.0310")
    kms.ok("schedule-key-deletion", {"key_id": external, "pending_days": "7"})
    assert _error(kms.post("get-parameters-for-import", enabled)) == (400, "KMS.0210")


def test_import_refusals(kms: Kms) -> None:
    key_id, other, own = kms.key(origin="external"), kms.key(origin="external"), kms.key()
    params = kms.params(key_id)
    material = wrap(params["public_key"], os.urandom(32))
    base = {"key_id": key_id, "import_token": params["import_token"], "encrypted_key_material": material}
    token = base64.b64decode(params["import_token"])
    tampered = base64.b64encode(token[:-1] + bytes([token[-1] ^ 1])).decode()
    expired = kms.model._import_token(key_id, int(time.time()) - 1)
    cases = [
        ({**base, "key_id": other}, "KMS.2603"),
        ({**base, "import_token": tampered}, "KMS.2605"),
        ({**base, "import_token": "QUJD" * 60}, "KMS.2605"),
        ({**base, "import_token": expired}, "KMS.2601"),
        ({**base, "expiration_time": int(time.time()) - 60}, "KMS.2602"),
        ({**base, "encrypted_key_material": "A" * 344}, "KMS.0311"),
        ({**base, "encrypted_key_material": "A" * 345}, "KMS.0311"),
        ({**base, "encrypted_key_material": wrap(params["public_key"], os.urandom(16))}, "KMS.2604"),
        ({**base, "key_id": own}, "KMS.0309"),
        ({**base, "encrypted_key_material": "short"}, "KMS.0308"),
        ({key: value for key, value in base.items() if key != "import_token"}, "KMS.0204"),
    ]
    for body, code in cases:
        assert _error(kms.post("import-key-material", body)) == (400, code), code
    assert kms.state(key_id) == "5"
    assert kms.post("import-key-material", base).status_code == 200
    assert _error(kms.post("import-key-material", base)) == (400, "KMS.0310")


@pytest.mark.parametrize(
    ("steps", "code"),
    [([], "KMS.2701"), (["schedule-key-deletion"], "KMS.2701")],
)
def test_delete_material_only_from_enabled_or_disabled(kms: Kms, steps: list[str], code: str) -> None:
    key_id = kms.key(origin="external")
    for step in steps:
        kms.ok(step, {"key_id": key_id, "pending_days": "7"})
    assert _error(kms.post("delete-imported-key-material", {"key_id": key_id})) == (400, code)
    own = kms.key()
    assert _error(kms.post("delete-imported-key-material", {"key_id": own})) == (400, "KMS.0309")


def test_delete_material_of_a_disabled_key(kms: Kms) -> None:
    key_id = kms.key(origin="external")
    assert kms.import_(key_id, os.urandom(32)).status_code == 200
    kms.ok("disable-key", {"key_id": key_id})
    assert kms.ok("delete-imported-key-material", {"key_id": key_id}) is None
    assert kms.state(key_id) == "5"


def test_cancel_deletion_of_an_external_key_depends_on_its_material(kms: Kms) -> None:
    with_material, without = kms.key(origin="external"), kms.key(origin="external")
    assert kms.import_(with_material, os.urandom(32)).status_code == 200
    for key_id in (with_material, without):
        kms.ok("schedule-key-deletion", {"key_id": key_id, "pending_days": "7"})
        kms.ok("cancel-key-deletion", {"key_id": key_id})
    assert (kms.state(with_material), kms.state(without)) == ("3", "5")


def test_the_sdk_imports_and_deletes_material(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-import", origin="external"))
    ).key_info.key_id

    def state() -> str:
        body = sdk.OperateKeyRequestBody(key_id=key_id)
        return str(client.list_key_detail(sdk.ListKeyDetailRequest(body=body)).key_info.key_state)

    assert state() == "5"
    params = client.create_parameters_for_import(
        sdk.CreateParametersForImportRequest(
            body=sdk.GetParametersForImportRequestBody(key_id=key_id, wrapping_algorithm=OAEP)
        )
    )
    assert params.key_id == key_id and params.expiration_time > time.time()
    material = os.urandom(32)
    client.import_key_material(
        sdk.ImportKeyMaterialRequest(
            body=sdk.ImportKeyMaterialRequestBody(
                key_id=key_id,
                import_token=params.import_token,
                encrypted_key_material=wrap(params.public_key, material),
                expiration_time=int(time.time()) + 86_400,
            )
        )
    )
    assert state() == "2"
    client.delete_imported_key_material(
        sdk.DeleteImportedKeyMaterialRequest(body=sdk.OperateKeyRequestBody(key_id=key_id))
    )
    assert state() == "5"
    with pytest.raises(ClientRequestException) as refused:
        client.delete_imported_key_material(
            sdk.DeleteImportedKeyMaterialRequest(body=sdk.OperateKeyRequestBody(key_id=key_id))
        )
    assert (refused.value.status_code, refused.value.error_code) == (400, "KMS.2701")

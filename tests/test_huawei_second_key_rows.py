"""Rows that need a wrong signature, a data key's own ciphertext or a second key, on the bundled
Huawei mock (issue #17).

In-process: an AK/SK signature made with a wrong secret key is 401 APIGW.0301; create-datakey's
cipher_text decrypts to its plain_text; an EC key created without key_usage signs; decrypt-datakey
of a foreign ciphertext is KMS.2201; another key's alias (KMS.1104), grant (KMS.2502) and import
token (KMS.2603) are refused.  Then each new row against the faithful mock and against the fault
that breaks its behaviour, and the second key a preparation makes is owned (cleaned up) like the
row's own.  Through the official SDK: a client with a wrong secret key is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import Kms, row_holds, sdk_client, start

from conformance.vendors.huawei import profile as hw
from conformance.vendors.huawei.profile import HuaweiProfile


@pytest.fixture
def kms() -> Iterator[Any]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def test_second_key_refusals(kms: Any) -> None:
    mine, other = kms.key(), kms.key()
    assert _error(kms.post("update-key-alias", {"key_id": mine, "key_alias": "key-2"})) == (400, "KMS.1104")
    grant = {"key_id": other, "grantee_principal": "0d0466b0" * 4, "operations": ["describe-key"]}
    grant_id = kms.ok("create-grant", grant)["grant_id"]
    assert _error(kms.post("revoke-grant", {"key_id": mine, "grant_id": grant_id})) == (400, "KMS.2502")
    external, foreign = kms.key(origin="external"), kms.key(origin="external")
    params = kms.ok(
        "get-parameters-for-import", {"key_id": foreign, "wrapping_algorithm": "RSAES_OAEP_SHA_256"}
    )
    body = {
        "key_id": external,
        "import_token": params["import_token"],
        "encrypted_key_material": hw._wrap_material(params["public_key"]),
    }
    assert _error(kms.post("import-key-material", body)) == (400, "KMS.2603")


def test_data_keys_and_the_asymmetric_default_usage(kms: Any) -> None:
    key_id = kms.key()
    made = kms.ok("create-datakey", {"key_id": key_id})
    opened = kms.ok(
        "decrypt-datakey",
        {"key_id": key_id, "cipher_text": made["cipher_text"], "datakey_cipher_length": "32"},
    )
    assert opened["data_key"] == made["plain_text"]
    foreign = kms.post(
        "decrypt-datakey",
        {"key_id": kms.key(), "cipher_text": made["cipher_text"], "datakey_cipher_length": "32"},
    )
    assert _error(foreign) == (400, "KMS.2201")
    ec = kms.key(key_spec="EC_P256")
    assert kms.ok("describe-key", {"key_id": ec})["key_info"]["key_usage"] == "SIGN_VERIFY"


def test_a_wrong_secret_key_is_refused_by_the_gateway(kms_mock: Any) -> None:
    profile = HuaweiProfile(kms_mock("huawei").settings)
    outcome = profile.call("describe", profile.unknown_key_id(), auth="bad-signature")
    assert (outcome.status, outcome.code) == (401, "APIGW.0301")
    assert "X-Auth-Token" not in outcome.response.request.headers
    assert outcome.response.request.headers["Authorization"].startswith("SDK-HMAC-SHA256")


def test_the_second_key_is_owned_like_the_rows_own(kms_mock: Any) -> None:
    profile = HuaweiProfile(kms_mock("huawei").settings)
    key_id = profile.key_in("other-key")
    other = profile.remembered[key_id]["other_key_id"]
    assert other != key_id and {key_id, other} <= set(profile.created)
    cleaned, left = profile.cleanup()
    assert {key_id, other} <= set(cleaned) and not left


ROWS = {
    "bad-signature": "bad-signature-accepted",
    "datakey-decrypts-to-plain": "datakey-plain-mismatch",
    "asymmetric-default-usage": "asymmetric-default-encrypt",
    "datakey-foreign-cipher": "datakey-foreign-code-2203",
    "update-alias-of-other-key": "update-alias-duplicates",
    "revoke-grant-of-other-key": "grant-of-other-key-2501",
    "import-token-of-other-key": "token-any-key",
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_row_passes_the_mock_and_fails_its_fault(kms_mock: Any, name: str) -> None:
    assert row_holds(HuaweiProfile(kms_mock("huawei").settings), name)
    assert not row_holds(HuaweiProfile(kms_mock("huawei", faults=[ROWS[name]]).settings), name)


def test_the_sdk_with_a_wrong_secret_key_is_refused(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    c = huawei_mock.credentials
    wrong = BasicCredentials(c["ak"], "not-the-secret-key", c["project_id"])
    client = sdk.KmsClient.new_builder().with_credentials(wrong).with_endpoint(huawei_mock.url).build()
    with pytest.raises(ClientRequestException) as refused:
        client.list_keys(sdk.ListKeysRequest(body=sdk.ListKeysRequestBody(limit="1")))
    assert (refused.value.status_code, refused.value.error_code) == (401, "APIGW.0301")
    assert sdk_client(huawei_mock).list_keys(sdk.ListKeysRequest(body=sdk.ListKeysRequestBody(limit="1")))

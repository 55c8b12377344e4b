"""create-grant, list-grants, list-retirable-grants, revoke-grant and retire-grant on the bundled
Huawei mock: in-process (documented fields, codes KMS.2401/2402/2404/2501/2502, paging, key states)
and through the official SDK (huaweicloudsdkkms)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from huawei_kms import Kms as BaseKms
from huawei_kms import TestClient, sdk_client, start

from conformance.vendors.huawei.mock import MOCK, USER_ID, create_app

GRANTEE = "0d0466b00d0466b00d0466b00d0466b0"
UNKNOWN_GRANT = "ab" * 32


class Kms(BaseKms):
    alias = "grants"

    def grant(self, key_id: str, **extra: Any) -> str:
        body = {"key_id": key_id, "grantee_principal": GRANTEE, "operations": ["describe-key"], **extra}
        return str(self.ok("create-grant", body)["grant_id"])


@pytest.fixture
def kms() -> Iterator[Kms]:
    yield from start(Kms)


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["error_code"]


def test_a_grant_is_listed_with_its_fields_and_revoked(kms: Kms) -> None:
    key_id = kms.key()
    grant_id = kms.grant(
        key_id,
        operations=["encrypt-data", "decrypt-data"],
        name="app/reader_1",
        grantee_principal_type="domain",
        retiring_principal=USER_ID,
    )
    assert re.fullmatch(r"[0-9a-f]{64}", grant_id)
    page = kms.ok("list-grants", {"key_id": key_id})
    assert (page["total"], page["truncated"], page["next_marker"]) == (1, "false", "")
    (grant,) = page["grants"]
    assert grant["grant_id"] == grant_id and grant["key_id"] == key_id
    assert grant["grantee_principal"] == GRANTEE and grant["grantee_principal_type"] == "domain"
    assert grant["operations"] == ["encrypt-data", "decrypt-data"] and grant["name"] == "app/reader_1"
    assert grant["issuing_principal"] == USER_ID and grant["retiring_principal"] == USER_ID
    assert grant["creation_date"].isdigit()
    assert kms.ok("revoke-grant", {"key_id": key_id, "grant_id": grant_id}) is None
    assert kms.ok("list-grants", {"key_id": key_id})["grants"] == []
    assert _error(kms.post("revoke-grant", {"key_id": key_id, "grant_id": grant_id})) == (400, "KMS.2501")


def test_grantee_type_defaults_to_user(kms: Kms) -> None:
    key_id = kms.key()
    kms.grant(key_id)
    (grant,) = kms.ok("list-grants", {"key_id": key_id})["grants"]
    assert grant["grantee_principal_type"] == "user"


def test_list_grants_pages_with_limit_and_marker(kms: Kms) -> None:
    key_id = kms.key()
    made = [kms.grant(key_id) for _ in range(5)]
    seen: list[str] = []
    marker = "0"
    while True:
        page = kms.ok("list-grants", {"key_id": key_id, "limit": "2", "marker": marker})
        assert page["total"] == 5 and len(page["grants"]) <= 2
        seen += [g["grant_id"] for g in page["grants"]]
        if page["truncated"] == "false":
            assert page["next_marker"] == ""
            break
        assert page["truncated"] == "true"
        marker = page["next_marker"]
    assert seen == made


def test_retirable_grants_are_those_naming_the_caller_and_retire_removes_them(kms: Kms) -> None:
    first, second = kms.key(), kms.key()
    mine = kms.grant(first, retiring_principal=USER_ID)
    theirs = kms.grant(second, retiring_principal="someoneelse01")
    retirable = kms.ok("list-retirable-grants", {})
    assert [g["grant_id"] for g in retirable["grants"]] == [mine]
    assert retirable["total"] == 1 and retirable["truncated"] == "false"
    assert kms.ok("retire-grant", {"key_id": first, "grant_id": mine}) is None
    assert kms.ok("list-retirable-grants", {"limit": "10"})["grants"] == []
    assert _error(kms.post("retire-grant", {"key_id": first, "grant_id": mine})) == (400, "KMS.2501")
    # Neither the retiring principal nor a grantee allowed retire-grant: no permission (inferred).
    assert _error(kms.post("retire-grant", {"key_id": second, "grant_id": theirs})) == (403, "KMS.0306")
    self_granted = kms.grant(second, grantee_principal=USER_ID, operations=["retire-grant", "describe-key"])
    assert kms.ok("retire-grant", {"key_id": second, "grant_id": self_granted}) is None


def test_documented_refusals(kms: Kms) -> None:
    key_id, other = kms.key(), kms.key()
    grant_id = kms.grant(key_id)
    base = {"key_id": key_id, "grantee_principal": GRANTEE, "operations": ["describe-key"]}
    cases = [
        ("create-grant", {**base, "operations": ["create-grant"]}, "KMS.2401"),
        ("create-grant", {**base, "operations": ["create-grant", "create-grant"]}, "KMS.2401"),
        ("create-grant", {**base, "grantee_principal": "not-valid!"}, "KMS.2402"),
        ("create-grant", {**base, "grantee_principal": "a" * 65}, "KMS.2402"),
        ("create-grant", {**base, "retiring_principal": ""}, "KMS.2402"),
        ("create-grant", {**base, "operations": ["rotate-key"]}, "KMS.0308"),
        ("create-grant", {**base, "operations": []}, "KMS.0308"),
        ("create-grant", {**base, "grantee_principal_type": "group"}, "KMS.0308"),
        ("create-grant", {"key_id": key_id, "grantee_principal": GRANTEE}, "KMS.0204"),
        ("create-grant", {**base, "key_id": "nope"}, "KMS.0205"),
        ("list-grants", {"key_id": key_id, "limit": "-1"}, "KMS.1601"),
        ("list-grants", {"key_id": key_id, "marker": "-1"}, "KMS.1602"),
        ("list-retirable-grants", {"limit": "x"}, "KMS.1601"),
        ("revoke-grant", {"key_id": key_id, "grant_id": UNKNOWN_GRANT}, "KMS.2501"),
        ("revoke-grant", {"key_id": other, "grant_id": grant_id}, "KMS.2502"),
        ("retire-grant", {"key_id": other, "grant_id": grant_id}, "KMS.2502"),
        ("revoke-grant", {"key_id": key_id}, "KMS.0204"),
        ("revoke-grant", {"key_id": key_id, "grant_id": "xyz"}, "KMS.0308"),
    ]
    for action, body, code in cases:
        assert _error(kms.post(action, body)) == (400, code), (action, body)
    unknown = "0000dead-0000-4000-8000-00000000c0de"
    assert _error(kms.post("create-grant", {**base, "key_id": unknown})) == (404, "KMS.0207")
    assert _error(kms.post("list-grants", {"key_id": unknown})) == (404, "KMS.0207")


def test_the_grant_quota_per_key(kms: Kms) -> None:
    key_id = kms.key()
    for _ in range(100):
        kms.grant(key_id)
    refused = kms.post(
        "create-grant", {"key_id": key_id, "grantee_principal": GRANTEE, "operations": ["describe-key"]}
    )
    assert _error(refused) == (400, "KMS.2404")
    assert kms.ok("list-grants", {"key_id": key_id, "limit": "1"})["total"] == 100


@pytest.mark.parametrize(
    ("setup", "created"),
    [
        ([], True),
        (["disable-key"], True),
        (["schedule-key-deletion"], False),
        (["external"], True),
    ],
)
def test_grants_per_key_state(kms: Kms, setup: list[str], created: bool) -> None:
    """Pending deletion refuses new grants (KMS.0210); listing and revoking work in every state."""
    key_id = kms.key(origin="external") if setup == ["external"] else kms.key()
    earlier = kms.grant(key_id)
    for step in setup:
        if step != "external":
            kms.ok(
                step, {"key_id": key_id, "pending_days": "7"} if "schedule" in step else {"key_id": key_id}
            )
    body = {"key_id": key_id, "grantee_principal": GRANTEE, "operations": ["describe-key"]}
    answer = kms.post("create-grant", body)
    if created:
        assert answer.status_code == 200, answer.text
    else:
        assert _error(answer) == (400, "KMS.0210")
    assert earlier in [g["grant_id"] for g in kms.ok("list-grants", {"key_id": key_id})["grants"]]
    assert kms.ok("revoke-grant", {"key_id": key_id, "grant_id": earlier}) is None


def test_the_sdk_drives_every_grant_operation(huawei_mock: Any) -> None:
    sdk = pytest.importorskip("huaweicloudsdkkms.v2")
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    client = sdk_client(huawei_mock)
    key_id = client.create_key(
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-grants"))
    ).key_info.key_id
    made = client.create_grant(
        sdk.CreateGrantRequest(
            body=sdk.CreateGrantRequestBody(
                key_id=key_id,
                grantee_principal=GRANTEE,
                operations=["describe-key", "encrypt-data"],
                name="sdk-grant",
                retiring_principal=USER_ID,
            )
        )
    )
    listed = client.list_grants(
        sdk.ListGrantsRequest(body=sdk.ListGrantsRequestBody(key_id=key_id, limit="10"))
    )
    assert (listed.total, listed.truncated) == (1, "false")
    (grant,) = listed.grants
    assert (grant.grant_id, grant.key_id, grant.name) == (made.grant_id, key_id, "sdk-grant")
    assert grant.operations == ["describe-key", "encrypt-data"] and grant.grantee_principal_type == "user"
    retirable = client.list_retirable_grants(
        sdk.ListRetirableGrantsRequest(body=sdk.ListRetirableGrantsRequestBody())
    )
    assert [g.grant_id for g in retirable.grants] == [made.grant_id]
    client.cancel_self_grant(
        sdk.CancelSelfGrantRequest(body=sdk.RevokeGrantRequestBody(key_id=key_id, grant_id=made.grant_id))
    )
    with pytest.raises(ClientRequestException) as gone:
        client.cancel_grant(
            sdk.CancelGrantRequest(body=sdk.RevokeGrantRequestBody(key_id=key_id, grant_id=made.grant_id))
        )
    assert (gone.value.status_code, gone.value.error_code) == (400, "KMS.2501")
    second = client.create_grant(
        sdk.CreateGrantRequest(
            body=sdk.CreateGrantRequestBody(
                key_id=key_id, grantee_principal=GRANTEE, operations=["describe-key"]
            )
        )
    )
    client.cancel_grant(
        sdk.CancelGrantRequest(body=sdk.RevokeGrantRequestBody(key_id=key_id, grant_id=second.grant_id))
    )
    assert (
        client.list_grants(sdk.ListGrantsRequest(body=sdk.ListGrantsRequestBody(key_id=key_id))).grants == []
    )
    with pytest.raises(ClientRequestException) as only_create:
        client.create_grant(
            sdk.CreateGrantRequest(
                body=sdk.CreateGrantRequestBody(
                    key_id=key_id, grantee_principal=GRANTEE, operations=["create-grant"]
                )
            )
        )
    assert (only_create.value.status_code, only_create.value.error_code) == (400, "KMS.2401")


def test_fault_grant_only_create_grant_accepted_lets_the_refused_list_through() -> None:
    """The fault that HW-VAL-015 (probe grant-only-create-grant) must notice."""
    for faults, status in (((), 400), (("grant-only-create-grant-accepted",), 200)):
        with TestClient(create_app(MOCK.config(faults=faults))) as client:
            kms = Kms(client)
            body = {"key_id": kms.key(), "grantee_principal": GRANTEE, "operations": ["create-grant"]}
            assert kms.post("create-grant", body).status_code == status

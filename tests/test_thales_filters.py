"""Thales mock: the list filters CustomerMasterKeySpec, cckm_policy_template_id, tags and
key_source, and create with a policy template or principal lists (names become IAM ARNs; the
policy inputs exclude one another).  In-process, through Starlette's TestClient.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cckm import KEYS, Cckm, start

from conformance.vendors.thales.mock import ACCOUNT


def _client(options: dict[str, str] | None = None) -> Iterator[Cckm]:
    yield from start(options=options)


@pytest.fixture
def cckm() -> Iterator[Cckm]:
    yield from _client()


def _refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == 9 and body["codeDesc"].startswith("NCERRInvalidParamValue"), body
    return str(body["message"])


def test_filter_customer_master_key_spec(cckm: Cckm) -> None:
    symmetric = cckm.create_with()["id"]
    rsa = cckm.create_with({"CustomerMasterKeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"})["id"]
    assert cckm.ids(CustomerMasterKeySpec="RSA_2048") == {rsa}
    assert cckm.ids(CustomerMasterKeySpec="SYMMETRIC_DEFAULT") == {symmetric}
    assert cckm.ids(CustomerMasterKeySpec="HMAC_256") == set()


def test_create_with_policy_template_carries_the_tag_and_filters(cckm: Cckm) -> None:
    templated = cckm.create_with({"Tags": [{"TagKey": "team", "TagValue": "a"}]}, policytemplate="tpl-1")
    tags = {t["TagKey"]: t["TagValue"] for t in templated["aws_param"]["Tags"]}
    assert tags == {"team": "a", "cckm_policy_template_id": "tpl-1"}
    plain = cckm.create_with()["id"]
    assert cckm.ids(cckm_policy_template_id="tpl-1") == {templated["id"]}
    assert cckm.ids(cckm_policy_template_id="tpl-2") == set()
    # the policy endpoint records a template the same way
    assert cckm.act(plain, "policy", {"policytemplate": "tpl-2"}).status_code == 200
    assert cckm.ids(cckm_policy_template_id="tpl-2") == {plain}


@pytest.mark.parametrize(
    ("syntax", "hit", "miss"),
    [("value", "blue", "colour"), ("key", "colour", "blue"), ("key=value", "colour=blue", "colour=red")],
)
def test_filter_tags_each_syntax(syntax: str, hit: str, miss: str) -> None:
    for cckm in _client({"tags-filter": syntax}):
        tagged = cckm.create_with({"Tags": [{"TagKey": "colour", "TagValue": "blue"}]})["id"]
        cckm.create_with({"Tags": [{"TagKey": "size", "TagValue": "big"}]})
        assert cckm.ids(tags=hit) == {tagged}
        assert cckm.ids(tags=miss) == set()


def test_filter_key_source(cckm: Cckm) -> None:
    external = cckm.create_with({"Origin": "EXTERNAL"})["id"]
    native = cckm.create_with()["id"]
    imported = cckm.act(
        external, "import-material", {"source_key_tier": "local", "source_key_identifier": "m1"}
    )
    assert imported.status_code == 200, imported.text
    assert cckm.ids(key_source="LOCAL") == {external}
    assert cckm.ids(key_source="DSM") == set()
    assert native not in cckm.ids(key_source="LunaHSM")
    # a value outside the documented names: refused by default (option filter-values)
    _refused(cckm.http.get(KEYS, params={"key_source": "bogus"}, headers=cckm.headers))


def test_new_filters_are_no_unknown_query_parameters(cckm: Cckm) -> None:
    for name, value in [
        ("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"),
        ("cckm_policy_template_id", "x"),
        ("tags", "x"),
        ("key_source", "DSM"),
    ]:
        response = cckm.http.get(KEYS, params={name: value}, headers=cckm.headers)
        assert response.status_code == 200, (name, response.text)


def test_create_turns_principal_names_into_arns_like_policy(cckm: Cckm) -> None:
    principals = {
        "key_users": ["alice", "arn:aws:iam::111122223333:user/bob"],
        "key_admins": ["carol"],
        "key_users_roles": ["reader"],
        "key_admins_roles": ["keeper"],
    }
    created = cckm.create_with(**principals)
    assert created["key_users"] == [
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        "arn:aws:iam::111122223333:user/bob",
    ]
    assert created["key_admins"] == [f"arn:aws:iam::{ACCOUNT}:user/carol"]
    assert created["key_users_roles"] == [f"arn:aws:iam::{ACCOUNT}:role/reader"]
    assert created["key_admins_roles"] == [f"arn:aws:iam::{ACCOUNT}:role/keeper"]
    updated = cckm.act(cckm.create_with()["id"], "policy", principals).json()
    assert {name: updated[name] for name in principals} == {name: created[name] for name in principals}


POLICY = {"Version": "2012-10-17", "Statement": []}


@pytest.mark.parametrize(
    ("aws_param", "top"),
    [
        ({"Policy": POLICY}, {"key_users": ["alice"]}),
        ({"Policy": POLICY}, {"key_admins_roles": ["keeper"]}),
        ({"Policy": POLICY}, {"policytemplate": "tpl-1"}),
        ({}, {"policytemplate": "tpl-1", "key_admins": ["carol"]}),
    ],
)
def test_create_refuses_mutually_exclusive_policy_inputs(
    cckm: Cckm, aws_param: dict[str, Any], top: dict[str, Any]
) -> None:
    assert "mutually exclusive" in _refused(cckm.post_key(aws_param, **top))
    assert cckm.ids() == set()


@pytest.mark.parametrize(
    "body",
    [
        {"policy": POLICY, "policytemplate": "tpl-1"},
        {"Policy": POLICY, "key_users": ["alice"]},
        {"policytemplate": "tpl-1", "external_accounts": ["111122223333"]},
    ],
)
def test_policy_refuses_mutually_exclusive_inputs(cckm: Cckm, body: dict[str, Any]) -> None:
    key = cckm.create_with()
    assert "mutually exclusive" in _refused(cckm.act(key["id"], "policy", body))
    after = cckm.http.get(f"{KEYS}/{key['id']}", headers=cckm.headers).json()
    assert after["aws_param"]["Tags"] == key["aws_param"]["Tags"]


def test_exclusive_inputs_use_the_validation_status_option() -> None:
    for cckm in _client({"validation-status": "422"}):
        _refused(cckm.post_key({"Policy": POLICY}, key_users=["alice"]), 422)
        key_id = cckm.create_with()["id"]
        _refused(cckm.act(key_id, "policy", {"policy": POLICY, "policytemplate": "t"}), 422)


def test_single_policy_inputs_still_accepted(cckm: Cckm) -> None:
    key = cckm.create_with({"Policy": POLICY})
    assert json.loads(key["aws_param"]["Policy"]) == POLICY
    assert cckm.act(key["id"], "policy", {"policy": POLICY}).status_code == 200
    assert cckm.act(key["id"], "policy", {"key_users": ["alice"]}).status_code == 200
    # empty principal lists send nothing, so they do not clash
    assert cckm.post_key({"Policy": POLICY}, key_users=[]).status_code in (200, 201)

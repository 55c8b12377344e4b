"""Static checks of specs/huawei.yaml (Huawei Cloud KMS v1.0); no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parent.parent / "specs" / "huawei.yaml"
BASE_URI = "urn:kms-conformance:huawei"
METHODS = ("get", "put", "post", "delete", "patch")
ERROR_STATUSES = ("400", "401", "403", "404", "500", "502", "504")

OPERATION_IDS = {
    "createKey", "describeKey", "listKeys", "enableKey", "disableKey", "scheduleKeyDeletion",
    "cancelKeyDeletion", "updateKeyAlias", "updateKeyDescription", "createDatakey", "encryptData",
    "decryptData", "enableKeyRotation", "disableKeyRotation", "getKeyRotationStatus",
    "updateKeyRotationInterval", "createKmsTag", "batchKmsTags", "deleteKmsTag", "showKmsTags",
    "listKmsTags", "listKmsByTags", "showUserInstances", "showUserQuotas",
    "createDatakeyWithoutPlaintext", "encryptDatakey", "decryptDatakey", "genRandom",
    "createGrant", "listGrants", "listRetirableGrants", "revokeGrant", "retireGrant",
    "getParametersForImport", "importKeyMaterial", "deleteImportedKeyMaterial",
    "showPublicKey", "sign", "validateSignature",
}  # fmt: skip
LIFECYCLE = {
    "createKey", "describeKey", "listKeys", "enableKey", "disableKey", "scheduleKeyDeletion",
    "cancelKeyDeletion", "updateKeyAlias", "updateKeyDescription",
}  # fmt: skip

KMS_ERROR = {"error": {"error_code": "KMS.0207", "error_msg": "The key does not exist."}}
GATEWAY_ERROR = {
    "error_code": "APIGW.0301",
    "error_msg": "Incorrect IAM authentication information: decrypt token fail",
    "request_id": "x",
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def registry(doc: dict[str, Any]) -> Registry:
    return Registry().with_resource(BASE_URI, Resource.from_contents(doc, default_specification=DRAFT202012))


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in doc["paths"].items()
        for method in METHODS
        if method in item
    ]


def deref(doc: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` of a non-schema object (response, request body)."""
    while "$ref" in obj:
        node: Any = doc
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def validator(schema: dict[str, Any], registry: Registry) -> jsonschema.Draft202012Validator:
    # The schema is embedded in the document: point its local $refs at the registered whole document.
    return jsonschema.Draft202012Validator(_rebase(schema), registry=registry)


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (BASE_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def json_schema(doc: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    return deref(doc, container)["content"]["application/json"]["schema"]


def test_spec_is_valid_openapi_31(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "/"}]
    assert doc["info"]["x-doc-url"].startswith("https://")


def test_exact_operation_ids(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)) == 39
    assert set(ids) == OPERATION_IDS


def test_every_operation_is_documented(doc: dict[str, Any]) -> None:
    for path, method, op in operations(doc):
        where = f"{method.upper()} {path}"
        assert path.startswith("/v1.0/{project_id}/kms/"), where
        assert op["x-doc-url"].startswith("https://support.huaweicloud.com/intl/en-us/api-dew/"), where
        assert op.get("summary") and op.get("tags"), where
        assert ("lifecycle" in op["tags"]) == (op["operationId"] in LIFECYCLE), where
        for status in ERROR_STATUSES:
            assert status in op["responses"], f"{where} lacks {status}"
            assert json_schema(doc, op["responses"][status]) == {"$ref": "#/components/schemas/Error"}
        assert any(s in op["responses"] for s in ("200", "204")), where
        body = op.get("requestBody")
        if body is not None:
            schema = deref(doc, json_schema(doc, body))
            assert schema.get("additionalProperties") is not False, where


def test_security_schemes(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    token = schemes["XAuthToken"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "X-Auth-Token")
    assert schemes["AkSkSignature"]["name"] == "Authorization"
    assert "SDK-HMAC-SHA256" in schemes["AkSkSignature"]["description"]
    assert doc["security"] == [{"XAuthToken": []}, {"AkSkSignature": []}]


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_both_error_envelopes_validate(doc: dict[str, Any], registry: Registry, status: str) -> None:
    check = validator(json_schema(doc, doc["components"]["responses"][_response_name(doc, status)]), registry)
    check.validate(KMS_ERROR)
    check.validate(GATEWAY_ERROR)
    for bad in ({}, {"error": "x"}, {"error": {"error_code": "KMS.0207"}}, {"error_code": "APIGW.0301"}):
        assert not check.is_valid(bad), bad


def _response_name(doc: dict[str, Any], status: str) -> str:
    ref = doc["paths"]["/v1.0/{project_id}/kms/describe-key"]["post"]["responses"][status]["$ref"]
    return ref.rsplit("/", 1)[1]


def test_examples_validate(doc: dict[str, Any], registry: Registry) -> None:
    checked = 0
    containers: list[tuple[str, dict[str, Any]]] = []
    for path, method, op in operations(doc):
        if "requestBody" in op:
            containers.append((f"{method} {path} request", deref(doc, op["requestBody"])))
        for status, response in op["responses"].items():
            containers.append((f"{method} {path} {status}", deref(doc, response)))
    for where, container in containers:
        media = container.get("content", {}).get("application/json")
        if not media:
            continue
        examples = [media["example"]] if "example" in media else []
        examples += [e["value"] for e in media.get("examples", {}).values()]
        check = validator(media["schema"], registry)
        for example in examples:
            errors = [e.message for e in check.iter_errors(example)]
            assert not errors, f"{where}: {errors}"
            checked += 1
    assert checked >= 25


@pytest.mark.parametrize(
    ("schema_name", "field", "good", "bad"),
    [
        (
            "ScheduleKeyDeletionRequestBody",
            "pending_days",
            ["7", "30", "999", "1096"],
            ["6", "07", "1097", "x", 7],
        ),
        ("CreateDatakeyRequestBody", "datakey_length", ["8", "256", "512", "8192"], ["0", "12", "8200", 512]),
        (
            "EncryptDataRequestBody",
            "plain_text",
            ["a", "a" * 4096, "line\nbreak", "é" * 2048],  # bytes are the service's check
            ["", "a" * 4097, 5],
        ),
        ("UpdateKeyRotationIntervalRequestBody", "rotation_interval", [30, 365], [29, 366, "30"]),
        (
            "UpdateKeyAliasRequestBody",
            "key_alias",
            ["a", "alias:x/y_z-1"],
            ["", "a b", "x/default", "a" * 256],
        ),
    ],
)
def test_request_constraints(
    doc: dict[str, Any], registry: Registry, schema_name: str, field: str, good: list[Any], bad: list[Any]
) -> None:
    check = validator({"$ref": f"#/components/schemas/{schema_name}"}, registry)
    base = {"key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f", "pending_days": "7", "key_alias": "a",
            "rotation_interval": 30}  # fmt: skip
    for value in good:
        assert check.is_valid({**base, field: value}), value
    for value in bad:
        assert not check.is_valid({**base, field: value}), value
    assert not check.is_valid({**base, "key_id": "0D0466B0-e727-4d9c-b35d-f84bb474a37f"})


def test_schemathesis_loads_operations_and_links() -> None:
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    results = list(schema.get_all_operations())
    ops = [r.ok() for r in results]
    assert {op.definition.raw["operationId"] for op in ops} == OPERATION_IDS
    machine = schema.as_state_machine()
    links = {
        (label, link.name, link.target.definition.raw["operationId"])
        for label, transitions in machine._transitions.operations.items()
        for link in transitions.outgoing
    }
    create = "POST /v1.0/{project_id}/kms/create-key"
    for target in ("describeKey", "enableKey", "disableKey", "scheduleKeyDeletion", "cancelKeyDeletion",
                   "updateKeyAlias", "updateKeyDescription", "getKeyRotationStatus"):  # fmt: skip
        assert any(src == create and tgt == target for src, _, tgt in links), target
    schedule = "POST /v1.0/{project_id}/kms/schedule-key-deletion"
    assert any(src == schedule and tgt == "cancelKeyDeletion" for src, _, tgt in links)

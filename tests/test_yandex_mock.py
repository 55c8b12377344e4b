"""The Yandex mock on its own: state machines, errors, operations in both modes, and the spec.

Requests go through Starlette's TestClient (in-process, no socket); only the Schemathesis test
that checks how a real HTTP client spells custom-verb URLs starts a server.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning

import conformance.vendors.yandex.mock as mock_package
from conformance.mocks.base import MockConfig, RunningMock
from conformance.requirements import load_catalogue
from conformance.specs import spec_path
from conformance.vendors.yandex.mock import EXPIRED_TOKEN, FOLDER_ID, FORBIDDEN_TOKEN, MOCK, TOKEN
from conformance.vendors.yandex.mock.exceptions import ApiError
from conformance.vendors.yandex.mock.faults import SWITCHES, behaviour_for
from conformance.vendors.yandex.mock.models import KeySpec, YandexKms
from conformance.vendors.yandex.mock.responses import Behaviour

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 behind TestClient; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Api:
    """In-process clients of one mock app: ``http`` carries the valid token, ``anonymous`` none."""

    def __init__(self, app: Starlette, http: httpx.Client, anonymous: httpx.Client) -> None:
        self.app = app
        self.http = http
        self.anonymous = anonymous

    def done(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        op = response.json()
        for _ in range(50):
            if op["done"]:
                return op
            op = self.http.get(f"/operations/{op['id']}").json()
        raise AssertionError(f"operation never finished: {op}")

    def create(self, **fields: Any) -> tuple[str, str]:
        body = {"folderId": FOLDER_ID, "defaultAlgorithm": "AES_256", **fields}
        meta = self.done(self.http.post("/kms/v1/keys", json=body))["metadata"]
        return meta["keyId"], meta["primaryVersionId"]

    def verb(self, key_id: str, verb: str, **body: Any) -> httpx.Response:
        return self.http.post(f"/kms/v1/keys/{key_id}:{verb}", json=body)

    def versions(self, key_id: str) -> dict[str, dict[str, Any]]:
        return {v["id"]: v for v in self.http.get(f"/kms/v1/keys/{key_id}/versions").json()["keyVersions"]}


@contextmanager
def in_process(options: Mapping[str, str] | None = None) -> Iterator[Api]:
    """A fresh mock behind in-process TestClients (one with the valid token, one without)."""
    app = MOCK.create_app(MOCK.config(options=options))
    with TestClient(app, headers=AUTH) as http, TestClient(app) as anonymous:
        yield Api(app, http, anonymous)


@pytest.fixture(params=["immediate", "async"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    with in_process({"mode": request.param}) as api:
        yield api


@pytest.fixture
def immediate() -> Iterator[Api]:
    with in_process() as api:
        yield api


def test_spec_is_valid_and_loads_in_schemathesis() -> None:
    validate(yaml.safe_load(spec_path("yandex.yaml").read_text(encoding="utf-8")))
    schema = schemathesis.openapi.from_path(str(spec_path("yandex.yaml")))
    results = list(schema.get_all_operations())
    assert len(results) == 20 + 11 + 12 and all(r.ok() for r in [r for r in results if r is not None])
    for result in results:
        result.ok()  # raises on a broken operation


def test_schemathesis_calls_custom_verb_paths_the_mock_can_route(immediate: Api) -> None:
    key_id, version_id = immediate.create()
    immediate.done(immediate.verb(key_id, "rotate"))
    schema = schemathesis.openapi.from_path(str(spec_path("yandex.yaml")))
    # A real socket: the point is how Schemathesis's own HTTP client writes ":verb" into the URL.
    with RunningMock(immediate.app) as server:
        base = server.url
        case = schema["/kms/v1/keys/{keyId}:scheduleVersionDestruction"]["POST"].Case(
            path_parameters={"keyId": key_id}, body={"versionId": version_id}, headers=AUTH
        )
        response = case.call(base_url=base)
        assert ":scheduleVersionDestruction" in response.request.url and "%3A" not in response.request.url
        assert response.status_code == 200, response.text
        case.validate_response(response)
        case = schema["/kms/v1/keys/{keyId}:cancelVersionDestruction"]["POST"].Case(
            path_parameters={"keyId": key_id}, body={"versionId": version_id}, headers=AUTH
        )
        response = case.call(base_url=base)
        assert response.status_code == 200 and response.json()["response"]["status"] == "ACTIVE"
        case.validate_response(response)


def test_faults_name_catalogue_requirements() -> None:
    catalogue = load_catalogue("yandex")
    assert len(MOCK.faults) >= 12
    for fault in MOCK.faults:
        assert fault.requirement in catalogue, fault
    assert len({f.name for f in MOCK.faults}) == len(MOCK.faults)


def test_auth_errors(immediate: Api) -> None:
    key_id, _ = immediate.create()
    url = f"/kms/v1/keys/{key_id}"
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {EXPIRED_TOKEN}"},
        {"Authorization": "Basic x"},
    ):
        response = immediate.anonymous.get(url, headers=headers)
        assert response.status_code == 401 and response.json()["code"] == 16
    response = immediate.anonymous.get(url, headers={"Authorization": f"Bearer {FORBIDDEN_TOKEN}"})
    assert response.status_code == 403 and response.json()["code"] == 7
    assert set(response.json()) == {"code", "message", "details"}


def test_not_found_and_malformed(immediate: Api) -> None:
    response = immediate.http.get("/kms/v1/keys/abj00000000000000000")
    assert response.status_code == 404 and response.json()["code"] == 5
    response = immediate.http.get("/kms/v1/keys/" + "a" * 51)
    assert response.status_code == 400 and response.json()["code"] == 3
    response = immediate.http.post("/kms/v1/keys/abj00000000000000000:rotate")
    assert response.status_code == 404 and response.json()["code"] == 5
    response = immediate.http.get("/operations/nope")
    assert response.status_code == 404 and response.json()["code"] == 5


@pytest.mark.parametrize(
    "body",
    [
        {"defaultAlgorithm": "AES_256"},
        {"folderId": FOLDER_ID},
        {"folderId": FOLDER_ID, "defaultAlgorithm": "AES_512"},
        {"folderId": FOLDER_ID, "defaultAlgorithm": "AES_256", "labels": {"Bad": "x"}},
        {"folderId": FOLDER_ID, "defaultAlgorithm": "AES_256", "labels": {"ok": "UPPER"}},
        {"folderId": FOLDER_ID, "defaultAlgorithm": "AES_256", "rotationPeriod": "7d"},
        {"folderId": FOLDER_ID, "defaultAlgorithm": "AES_256", "name": "n" * 101},
        {"folderId": "f" * 51, "defaultAlgorithm": "AES_256"},
    ],
)
def test_create_validation(immediate: Api, body: dict[str, Any]) -> None:
    response = immediate.http.post("/kms/v1/keys", json=body)
    assert response.status_code == 400 and response.json()["code"] == 3


def test_validation_of_updates_lists_and_json(immediate: Api) -> None:
    key_id, _ = immediate.create()
    for body in (
        {"status": "INACTIVE"},
        {"updateMask": "status", "status": "CREATING"},
        {"updateMask": "nope"},
    ):
        response = immediate.http.patch(f"/kms/v1/keys/{key_id}", json=body)
        assert response.status_code == 400 and response.json()["code"] == 3, body
    for params in ({"folderId": FOLDER_ID, "pageSize": "1001"}, {"folderId": FOLDER_ID, "pageSize": "x"}, {}):
        response = immediate.http.get("/kms/v1/keys", params=params)
        assert response.status_code == 400 and response.json()["code"] == 3
    response = immediate.http.post(f"/kms/v1/keys/{key_id}:setPrimaryVersion", content=b"{not json")
    assert response.status_code == 400 and response.json()["code"] == 3


def test_key_active_inactive_via_update(api: Api) -> None:
    key_id, _ = api.create(name="k", labels={"env": "test"})
    op = api.done(
        api.http.patch(f"/kms/v1/keys/{key_id}", json={"updateMask": "status", "status": "INACTIVE"})
    )
    assert op["response"]["status"] == "INACTIVE"
    assert api.http.get(f"/kms/v1/keys/{key_id}").json()["status"] == "INACTIVE"
    api.done(api.http.patch(f"/kms/v1/keys/{key_id}", json={"updateMask": "status", "status": "ACTIVE"}))
    key = api.http.get(f"/kms/v1/keys/{key_id}").json()
    assert key["status"] == "ACTIVE" and key["labels"] == {"env": "test"} and "rotatedAt" not in key


def test_version_state_machine(api: Api) -> None:
    key_id, first = api.create()
    refused = api.verb(key_id, "scheduleVersionDestruction", versionId=first)
    assert refused.status_code == 400 and refused.json()["code"] == 9  # primary
    op = api.done(api.verb(key_id, "rotate"))
    new = op["metadata"]["newPrimaryVersionId"]
    assert op["response"]["primaryVersion"]["id"] == new and "rotatedAt" in op["response"]
    versions = api.versions(key_id)
    assert (
        versions[first]["status"] == "ACTIVE"
        and "primary" not in versions[first]
        and versions[new]["primary"]
    )
    refused = api.verb(key_id, "cancelVersionDestruction", versionId=first)
    assert refused.status_code == 400 and refused.json()["code"] == 9  # not scheduled
    op = api.done(api.verb(key_id, "scheduleVersionDestruction", versionId=first))
    assert op["response"]["status"] == "SCHEDULED_FOR_DESTRUCTION"
    assert op["response"]["destroyAt"] == op["metadata"]["destroyAt"]
    for verb in ("scheduleVersionDestruction", "setPrimaryVersion"):
        refused = api.verb(key_id, verb, versionId=first)
        assert refused.status_code == 400 and refused.json()["code"] == 9
    op = api.done(api.verb(key_id, "cancelVersionDestruction", versionId=first))
    assert op["response"]["status"] == "ACTIVE" and "destroyAt" not in op["response"]
    op = api.done(api.verb(key_id, "setPrimaryVersion", versionId=first))
    assert op["response"]["primaryVersion"]["id"] == first
    missing = api.verb(key_id, "scheduleVersionDestruction", versionId="abj00000000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == 5


def test_default_pending_period_and_destruction_at_destroy_at(immediate: Api) -> None:
    key_id, first = immediate.create()
    immediate.done(immediate.verb(key_id, "rotate"))
    op = immediate.done(immediate.verb(key_id, "scheduleVersionDestruction", versionId=first))
    from datetime import datetime

    created = datetime.fromisoformat(op["createdAt"][:26] + "+00:00")
    destroy = datetime.fromisoformat(op["response"]["destroyAt"].replace("Z", "+00:00"))
    assert abs((destroy - created).total_seconds() - 604800) < 5
    short = immediate.verb(key_id, "scheduleVersionDestruction", versionId=first, pendingPeriod="3600s")
    assert short.status_code == 400
    assert immediate.http.post("/_mock/clock", json={"advanceSeconds": 604801}).status_code == 200
    assert immediate.versions(key_id)[first]["status"] == "DESTROYED"
    assert "destroyAt" not in immediate.versions(key_id)[first]
    refused = immediate.verb(key_id, "cancelVersionDestruction", versionId=first)
    assert refused.status_code == 400 and refused.json()["code"] == 9


def test_deletion_protection_and_delete(api: Api) -> None:
    key_id, _ = api.create(deletionProtection=True)
    refused = api.http.delete(f"/kms/v1/keys/{key_id}")
    assert refused.status_code == 400 and refused.json()["code"] == 9
    api.done(api.http.patch(f"/kms/v1/keys/{key_id}", json={"updateMask": "deletionProtection"}))
    op = api.done(api.http.delete(f"/kms/v1/keys/{key_id}"))
    assert op["response"]["@type"].endswith("yandex.cloud.kms.v1.SymmetricKey")
    assert api.http.get(f"/kms/v1/keys/{key_id}").status_code == 404
    listed = api.http.get("/kms/v1/keys", params={"folderId": FOLDER_ID}).json().get("keys", [])
    assert key_id not in {k["id"] for k in listed}


def test_async_mode_answers_done_false_first_and_finishes_when_polled() -> None:
    config = MOCK.config(options={"mode": "async", "async-seconds": "60", "async-polls": "2"})
    with TestClient(MOCK.create_app(config), headers=AUTH) as http:
        first = http.post("/kms/v1/keys", json={"folderId": FOLDER_ID, "defaultAlgorithm": "AES_128"}).json()
        assert first["done"] is False and "response" not in first and "error" not in first
        key_id = first["metadata"]["keyId"]
        assert http.get(f"/kms/v1/keys/{key_id}").json()["status"] == "CREATING"
        assert http.get(f"/operations/{first['id']}").json()["done"] is False
        final = http.get(f"/operations/{first['id']}").json()
        assert final["done"] is True and final["response"]["status"] == "ACTIVE"
        assert http.get(f"/kms/v1/keys/{key_id}").json()["status"] == "ACTIVE"
        listed = http.get(f"/kms/v1/keys/{key_id}/operations").json()["operations"]
        assert [op["id"] for op in listed] == [first["id"]]
        pending = http.post(f"/kms/v1/keys/{key_id}:rotate").json()
        cancelled = http.get(f"/operations/{pending['id']}:cancel").json()
        assert cancelled["done"] is True and cancelled["error"]["code"] == 1 and "response" not in cancelled


def test_precondition_errors_as_operation_errors() -> None:
    with in_process({"precondition-errors": "operation", "precondition-code": "3"}) as api:
        key_id, first = api.create()
        response = api.verb(key_id, "scheduleVersionDestruction", versionId=first)
        op = api.done(response)
        assert op["error"]["code"] == 3 and "response" not in op


def test_idempotency_key_returns_the_same_operation(immediate: Api) -> None:
    key_id, _ = immediate.create()
    headers = {"Idempotency-Key": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"}
    one = immediate.http.post(f"/kms/v1/keys/{key_id}:rotate", headers=headers).json()
    two = immediate.http.post(f"/kms/v1/keys/{key_id}:rotate", headers=headers).json()
    assert one["id"] == two["id"] and len(immediate.versions(key_id)) == 2


def test_crypto_round_trip_and_rules(immediate: Api) -> None:
    key_id, first = immediate.create()
    enc = immediate.verb(key_id, "encrypt", plaintext="aGVsbG8=", aadContext="YWFk").json()
    assert enc["versionId"] == first
    dec = immediate.verb(key_id, "decrypt", ciphertext=enc["ciphertext"], aadContext="YWFk").json()
    assert dec["plaintext"] == "aGVsbG8="
    wrong = immediate.verb(key_id, "decrypt", ciphertext=enc["ciphertext"])
    assert wrong.status_code == 400 and wrong.json()["code"] == 3
    dek = immediate.verb(key_id, "generateDataKey", dataKeySpec="AES_128", skipPlaintext=True).json()
    assert "dataKeyPlaintext" not in dek and dek["dataKeyCiphertext"]
    immediate.done(
        immediate.http.patch(f"/kms/v1/keys/{key_id}", json={"updateMask": "status", "status": "INACTIVE"})
    )
    refused = immediate.verb(key_id, "encrypt", plaintext="aGVsbG8=")
    assert refused.status_code == 400 and refused.json()["code"] == 9


def test_access_bindings(immediate: Api) -> None:
    key_id, _ = immediate.create()
    binding = {"roleId": "kms.viewer", "subject": {"id": "aje1", "type": "userAccount"}}
    op = immediate.done(immediate.verb(key_id, "setAccessBindings", accessBindings=[binding]))
    assert op["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert immediate.http.get(f"/kms/v1/keys/{key_id}:listAccessBindings").json()["accessBindings"] == [
        binding
    ]
    bad = immediate.verb(key_id, "updateAccessBindings", accessBindingDeltas=[])
    assert bad.status_code == 400 and bad.json()["code"] == 3


def test_pagination(immediate: Api) -> None:
    folder = "b1gpagination0000001"
    ids = {immediate.create(folderId=folder)[0] for _ in range(3)}
    seen, token = set(), None
    while True:
        params = {"folderId": folder, "pageSize": "2", **({"pageToken": token} if token else {})}
        page = immediate.http.get("/kms/v1/keys", params=params).json()
        seen |= {k["id"] for k in page["keys"]}
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == ids
    bad = immediate.http.get("/kms/v1/keys", params={"folderId": folder, "pageToken": "!!"})
    assert bad.status_code == 400 and bad.json()["code"] == 3


def test_unknown_method_and_path(immediate: Api) -> None:
    assert immediate.http.put("/kms/v1/keys/abc").status_code == 405
    response = immediate.http.get("/kms/v2/nothing")
    assert response.status_code == 404 and response.json()["code"] == 5


def test_switch_names_are_kebab_case_and_snake_case_is_an_alias() -> None:
    for name in [f.name for f in MOCK.faults] + [o.name for o in MOCK.options]:
        assert name == name.lower() and "_" not in name, name
    options = {"async_polls": "1", "precondition_errors": "operation"}
    old = MOCK.config(["no_deactivate"], options)
    assert old == MOCK.config(["no-deactivate"], {k.replace("_", "-"): v for k, v in options.items()})
    assert behaviour_for(old) == behaviour_for(MockConfig(frozenset({"no_deactivate"}), options))


def test_switch_defaults_are_the_declared_ones_and_every_switch_changes_something() -> None:
    """``Behaviour()`` (what the model and app use without a config) is what OPTIONS declare."""
    assert behaviour_for(MOCK.config()) == Behaviour() == behaviour_for(MockConfig())
    assert [s.fault for s in SWITCHES] == list(MOCK.faults)
    for fault in MOCK.faults:
        assert behaviour_for(MOCK.config([fault.name])) != Behaviour(), fault.name
    for option in MOCK.options:
        for choice in set(option.choices) - {option.default}:
            assert behaviour_for(MOCK.config(options={option.name: choice})) != Behaviour(), (option, choice)


def test_model_works_without_http() -> None:
    kms = YandexKms()
    op = kms.create(KeySpec(FOLDER_ID, "AES_256"), None)
    key = kms.get_key(op.key_id)
    first = key.primary.id
    assert op.done and key.status == "ACTIVE" and first == op.version_id
    kms.rotate(key, None)
    assert key.primary.id != first and key.version(first).status == "ACTIVE"
    kms.schedule(key, first, None, None)
    assert key.version(first).status == "SCHEDULED_FOR_DESTRUCTION"
    with pytest.raises(ApiError) as refused:
        kms.set_primary(key, first, None)
    assert refused.value.precondition and refused.value.code == 9


def test_the_mock_imports_neither_its_profile_nor_http_in_the_model() -> None:
    folder = Path(mock_package.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not [m for m in imported if m.startswith("conformance.profiles") or m.endswith(".profile")], (
            path
        )
        if path.name in ("models.py", "exceptions.py"):
            assert not [m for m in imported if m.startswith(("starlette", "httpx", "uvicorn"))], path

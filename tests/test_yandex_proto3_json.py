"""The Yandex mock and spec take requests as the proto3 JSON mapping allows, and keep the protos' limits.

- enums by name or by number (``"defaultAlgorithm": 3`` is AES_256);
- bytes as standard or URL-safe base64, padded or not; answers stay padded standard base64;
- the (length) annotations on bytes count decoded bytes: plaintext <= 32768, every AAD <= 8192;
- pageToken at most 100 characters on every list (256 for ListSymmetricKeys is a mock option).

Requests go through Starlette's TestClient (in-process); yandexcloud's messages, where installed,
show that every request form used here is one a proto3 JSON parser takes.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from conformance.mocks.validation import SpecValidator
from conformance.specs import load_spec
from conformance.vendors.yandex import VENDOR
from conformance.vendors.yandex.mock import FOLDER_ID, MOCK, TOKEN

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 behind TestClient; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CANONICAL = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
# bytes whose standard base64 has both '+' and '/', and a length that needs padding
AWKWARD = b"\xfb\xff\xbf\xfb\xef"


def forms(data: bytes) -> dict[str, str]:
    """Every spelling proto3 JSON allows for ``data``."""
    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return {"std": std, "std-unpadded": std.rstrip("="), "url": url, "url-unpadded": url.rstrip("=")}


@contextmanager
def client(options: Mapping[str, str] | None = None) -> Iterator[httpx.Client]:
    with TestClient(MOCK.create_app(MOCK.config(options=options)), headers=AUTH) as http:
        yield http


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with client() as http:
        yield http


def create(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    answer = http.post("/kms/v1/keys", json={"folderId": FOLDER_ID, "defaultAlgorithm": "AES_256", **fields})
    assert answer.status_code == 200, answer.text
    op = answer.json()
    assert op["done"], op
    return dict(op["response"])


def refused(answer: httpx.Response, needle: str = "") -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == 3 and needle in body["message"], body
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.RequestInfo"


# -- enums ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "name"),
    [(1, "AES_128"), (2, "AES_192"), (3, "AES_256"), (4, "AES_256_HSM"), (5, "GOST_R_3412_2015_K")],
)
def test_create_takes_the_algorithm_by_number_and_answers_its_name(
    http: httpx.Client, number: int, name: str
) -> None:
    key = create(http, defaultAlgorithm=number)
    assert key["defaultAlgorithm"] == name and key["primaryVersion"]["algorithm"] == name
    assert http.get(f"/kms/v1/keys/{key['id']}").json()["defaultAlgorithm"] == name


@pytest.mark.parametrize("bad", [0, 6, -1, 3.5, True, "3", "aes_256"])
def test_create_refuses_algorithms_that_are_no_settable_value(http: httpx.Client, bad: Any) -> None:
    refused(http.post("/kms/v1/keys", json={"folderId": FOLDER_ID, "defaultAlgorithm": bad}))


def test_update_takes_status_and_algorithm_by_number(http: httpx.Client) -> None:
    key_id = create(http)["id"]
    op = http.patch(f"/kms/v1/keys/{key_id}", json={"updateMask": "status", "status": 3}).json()
    assert op["response"]["status"] == "INACTIVE"
    op = http.patch(f"/kms/v1/keys/{key_id}", json={"updateMask": "status", "status": 2}).json()
    assert op["response"]["status"] == "ACTIVE"
    op = http.patch(
        f"/kms/v1/keys/{key_id}", json={"updateMask": "defaultAlgorithm", "defaultAlgorithm": 1}
    ).json()
    assert op["response"]["defaultAlgorithm"] == "AES_128"
    # CREATING (1) and STATUS_UNSPECIFIED (0) cannot be set, by number either
    for status in (0, 1, 4):
        refused(http.patch(f"/kms/v1/keys/{key_id}", json={"updateMask": "status", "status": status}))


def test_generate_data_key_takes_the_spec_by_number(http: httpx.Client) -> None:
    key_id = create(http)["id"]
    dek = http.post(f"/kms/v1/keys/{key_id}:generateDataKey", json={"dataKeySpec": 1}).json()
    assert len(base64.b64decode(dek["dataKeyPlaintext"])) == 16
    refused(http.post(f"/kms/v1/keys/{key_id}:generateDataKey", json={"dataKeySpec": 9}))


def test_update_access_bindings_takes_the_action_by_number(http: httpx.Client) -> None:
    key_id = create(http)["id"]
    binding = {"roleId": "kms.viewer", "subject": {"id": "aje1", "type": "userAccount"}}
    path = f"/kms/v1/keys/{key_id}:updateAccessBindings"
    assert http.post(path, json={"accessBindingDeltas": [{"action": 1, "accessBinding": binding}]}).json()[
        "done"
    ]
    listed = http.get(f"/kms/v1/keys/{key_id}:listAccessBindings").json()
    assert listed["accessBindings"] == [binding]
    assert http.post(path, json={"accessBindingDeltas": [{"action": 2, "accessBinding": binding}]}).json()[
        "done"
    ]
    assert http.get(f"/kms/v1/keys/{key_id}:listAccessBindings").json().get("accessBindings", []) == []
    refused(http.post(path, json={"accessBindingDeltas": [{"action": 0, "accessBinding": binding}]}))


# -- bytes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["std", "std-unpadded", "url", "url-unpadded"])
def test_crypto_takes_every_base64_form_and_answers_padded_standard_base64(
    http: httpx.Client, form: str
) -> None:
    key_id, other = create(http)["id"], create(http)["id"]
    plaintext, aad = forms(AWKWARD)[form], forms(b"ctx?>")[form]
    enc = http.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": plaintext, "aadContext": aad})
    assert enc.status_code == 200, enc.text
    ciphertext = enc.json()["ciphertext"]
    assert CANONICAL.fullmatch(ciphertext)
    # the ciphertext may come back in any form too; the AAD in another form is the same bytes
    ct_form = forms(base64.b64decode(ciphertext))[form]
    dec = http.post(
        f"/kms/v1/keys/{key_id}:decrypt", json={"ciphertext": ct_form, "aadContext": forms(b"ctx?>")["std"]}
    )
    assert dec.status_code == 200, dec.text
    assert dec.json()["plaintext"] == base64.b64encode(AWKWARD).decode()
    re_enc = http.post(
        f"/kms/v1/keys/{other}:reEncrypt",
        json={"sourceKeyId": key_id, "ciphertext": ct_form, "sourceAadContext": aad, "aadContext": aad},
    )
    assert re_enc.status_code == 200, re_enc.text
    assert CANONICAL.fullmatch(re_enc.json()["ciphertext"])
    dek = http.post(f"/kms/v1/keys/{key_id}:generateDataKey", json={"aadContext": aad}).json()
    assert CANONICAL.fullmatch(dek["dataKeyPlaintext"]) and CANONICAL.fullmatch(dek["dataKeyCiphertext"])


@pytest.mark.parametrize("bad", ["A", "AB=", "ABC==", "a!b=", "aGk=aGk=", "aGVs bG8="])
def test_crypto_refuses_text_that_is_no_base64(http: httpx.Client, bad: str) -> None:
    key_id = create(http)["id"]
    refused(http.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": bad}))
    refused(http.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": "aGk=", "aadContext": bad}))


# -- byte limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["std", "url-unpadded"])
def test_encrypt_plaintext_limit_is_32768_decoded_bytes(http: httpx.Client, form: str) -> None:
    key_id = create(http)["id"]
    path = f"/kms/v1/keys/{key_id}:encrypt"
    at = http.post(path, json={"plaintext": forms(b"\xfb" * 32768)[form]})
    assert at.status_code == 200, at.text
    dec = http.post(f"/kms/v1/keys/{key_id}:decrypt", json={"ciphertext": at.json()["ciphertext"]})
    assert base64.b64decode(dec.json()["plaintext"]) == b"\xfb" * 32768
    # 32769 bytes: 43692 characters of base64, within the spec's maxLength; the mock counts bytes
    over = forms(b"\xfb" * 32769)[form]
    assert len(over) <= 43692
    refused(http.post(path, json={"plaintext": over}), "plaintext")


@pytest.mark.parametrize("form", ["std", "url-unpadded"])
def test_every_aad_limit_is_8192_decoded_bytes(http: httpx.Client, form: str) -> None:
    key_id, other = create(http)["id"], create(http)["id"]
    at, over = forms(b"\xbf" * 8192)[form], forms(b"\xbf" * 8193)[form]
    assert len(over) <= 10924  # within the spec's maxLength: only the decoded count refuses it
    enc = http.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": "aGk=", "aadContext": at})
    assert enc.status_code == 200, enc.text
    ciphertext = enc.json()["ciphertext"]
    refused(
        http.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": "aGk=", "aadContext": over}),
        "aadContext",
    )
    decrypt = f"/kms/v1/keys/{key_id}:decrypt"
    assert http.post(decrypt, json={"ciphertext": ciphertext, "aadContext": at}).status_code == 200
    refused(http.post(decrypt, json={"ciphertext": ciphertext, "aadContext": over}), "aadContext")
    re_encrypt = f"/kms/v1/keys/{other}:reEncrypt"
    body = {"sourceKeyId": key_id, "ciphertext": ciphertext, "sourceAadContext": at, "aadContext": at}
    assert http.post(re_encrypt, json=body).status_code == 200
    refused(http.post(re_encrypt, json={**body, "sourceAadContext": over}), "sourceAadContext")
    refused(http.post(re_encrypt, json={**body, "aadContext": over}), "aadContext")
    generate = f"/kms/v1/keys/{key_id}:generateDataKey"
    assert http.post(generate, json={"aadContext": at}).status_code == 200
    refused(http.post(generate, json={"aadContext": over}), "aadContext")


def test_decrypt_ciphertext_has_no_documented_byte_limit(http: httpx.Client) -> None:
    """The protos bound only plaintext and AADs; a long ciphertext is refused as unreadable, not as too long."""
    key_id = create(http)["id"]
    answer = http.post(f"/kms/v1/keys/{key_id}:decrypt", json={"ciphertext": forms(b"\x00" * 40000)["std"]})
    assert answer.status_code == 400 and "length" not in answer.json()["message"]


# -- page tokens ---------------------------------------------------------------------------------


def _list_paths(http: httpx.Client) -> dict[str, tuple[str, dict[str, str]]]:
    key_id = create(http)["id"]
    return {
        "keys": ("/kms/v1/keys", {"folderId": FOLDER_ID}),
        "versions": (f"/kms/v1/keys/{key_id}/versions", {}),
        "operations": (f"/kms/v1/keys/{key_id}/operations", {}),
        "bindings": (f"/kms/v1/keys/{key_id}:listAccessBindings", {}),
    }


def test_every_list_takes_page_tokens_of_at_most_100_characters(http: httpx.Client) -> None:
    for path, params in _list_paths(http).values():
        # 100 characters: read as a token (and refused as one the mock never issued)
        refused(http.get(path, params={**params, "pageToken": "x" * 100}), "invalid page token")
        # 101 and 256 characters: refused for their length, on every list by default
        for size in (101, 256):
            refused(http.get(path, params={**params, "pageToken": "x" * size}), "length must be <= 100")


def test_list_keys_page_token_of_256_is_a_declared_option() -> None:
    with client({"list-keys-page-token": "256"}) as http:
        paths = _list_paths(http)
        path, params = paths.pop("keys")
        refused(http.get(path, params={**params, "pageToken": "x" * 256}), "invalid page token")
        refused(http.get(path, params={**params, "pageToken": "x" * 257}), "length must be <= 256")
        for other, other_params in paths.values():  # the other lists keep 100
            refused(http.get(other, params={**other_params, "pageToken": "x" * 101}), "length must be <= 100")


def test_page_tokens_the_mock_issues_fit_the_limit(http: httpx.Client) -> None:
    folder = "b1gtokens00000000001"
    for _ in range(3):
        create(http, folderId=folder)
    page = http.get("/kms/v1/keys", params={"folderId": folder, "pageSize": "1"}).json()
    assert 0 < len(page["nextPageToken"]) <= 100
    follow = http.get(
        "/kms/v1/keys", params={"folderId": folder, "pageSize": "1", "pageToken": page["nextPageToken"]}
    )
    assert follow.status_code == 200 and follow.json()["keys"]


# -- the spec ------------------------------------------------------------------------------------


def test_spec_page_tokens_are_at_most_100_on_every_list() -> None:
    spec = load_spec(VENDOR.spec)
    parameters = spec["components"]["parameters"]
    lists = 0
    for item in spec["paths"].values():
        get = item.get("get", {})
        for ref in get.get("parameters", []):
            param = parameters[ref["$ref"].rsplit("/", 1)[1]]
            if param["name"] == "pageToken":
                assert param["schema"]["maxLength"] == 100, get["operationId"]
                lists += 1
    assert lists == 4 + 3 + 3  # symmetric keys; asymmetric encryption and signature keys


VALID_BODIES = [
    ("CreateSymmetricKeyRequest", {"folderId": FOLDER_ID, "defaultAlgorithm": 3}),
    ("CreateSymmetricKeyRequest", {"folderId": FOLDER_ID, "defaultAlgorithm": "GOST_R_3412_2015_K"}),
    ("UpdateSymmetricKeyRequest", {"updateMask": "status", "status": 3}),
    ("UpdateSymmetricKeyRequest", {"updateMask": "defaultAlgorithm", "defaultAlgorithm": 4}),
    ("GenerateDataKeyRequest", {"dataKeySpec": 2}),
    ("SymmetricEncryptRequest", {"plaintext": "-_-_-w", "aadContext": "aGk"}),
    ("SymmetricEncryptRequest", {"plaintext": "+/+/+w==", "aadContext": "aGk="}),
    ("SymmetricDecryptRequest", {"ciphertext": "AAEC_-8"}),
    ("SymmetricReEncryptRequest", {"sourceKeyId": "k", "ciphertext": "AAEC", "sourceAadContext": "-w"}),
]
INVALID_BODIES = [
    ("CreateSymmetricKeyRequest", {"folderId": FOLDER_ID, "defaultAlgorithm": 0}),
    ("CreateSymmetricKeyRequest", {"folderId": FOLDER_ID, "defaultAlgorithm": 6}),
    ("UpdateSymmetricKeyRequest", {"updateMask": "status", "status": 1}),
    ("SymmetricEncryptRequest", {"plaintext": "A"}),
    ("SymmetricEncryptRequest", {"plaintext": "AB="}),
    ("SymmetricEncryptRequest", {"plaintext": "a.bc"}),
]


@pytest.mark.parametrize(("schema", "body"), VALID_BODIES)
def test_spec_admits_every_proto3_json_request_form(schema: str, body: dict[str, Any]) -> None:
    assert SpecValidator.of(VENDOR.spec).component_problems(schema, body) == []


@pytest.mark.parametrize(("schema", "body"), INVALID_BODIES)
def test_spec_still_refuses_what_no_proto3_json_parser_takes(schema: str, body: dict[str, Any]) -> None:
    assert SpecValidator.of(VENDOR.spec).component_problems(schema, body) != []


# -- yandexcloud's messages: these forms are proto3 JSON, the limits are the protos' ---------------


def _messages() -> tuple[Any, Any, Any]:
    json_format = pytest.importorskip("google.protobuf.json_format")
    key_service = pytest.importorskip("yandex.cloud.kms.v1.symmetric_key_service_pb2")
    crypto = pytest.importorskip("yandex.cloud.kms.v1.symmetric_crypto_service_pb2")
    return json_format, key_service, crypto


def test_yandexcloud_parses_the_request_forms_the_mock_takes() -> None:
    json_format, key_service, crypto = _messages()
    request = json_format.Parse(
        json.dumps({"folderId": "f", "defaultAlgorithm": 3}), key_service.CreateSymmetricKeyRequest()
    )
    assert request.default_algorithm == 3
    for form in forms(AWKWARD).values():
        parsed = json_format.Parse(json.dumps({"plaintext": form}), crypto.SymmetricEncryptRequest())
        assert parsed.plaintext == AWKWARD


def test_limits_equal_the_protos_length_annotations() -> None:
    _, key_service, crypto = _messages()
    validation = pytest.importorskip("yandex.cloud.validation_pb2")
    access = pytest.importorskip("yandex.cloud.access.access_pb2")

    def length(message: Any, field: str) -> str:
        return str(message.DESCRIPTOR.fields_by_name[field].GetOptions().Extensions[validation.length])

    assert length(crypto.SymmetricEncryptRequest, "plaintext") == "<=32768"
    for message, field in (
        (crypto.SymmetricEncryptRequest, "aad_context"),
        (crypto.SymmetricDecryptRequest, "aad_context"),
        (crypto.SymmetricReEncryptRequest, "aad_context"),
        (crypto.SymmetricReEncryptRequest, "source_aad_context"),
        (crypto.GenerateDataKeyRequest, "aad_context"),
    ):
        assert length(message, field) == "<=8192", (message, field)
    assert length(crypto.SymmetricDecryptRequest, "ciphertext") == ""  # no documented bound
    for message in (
        key_service.ListSymmetricKeyVersionsRequest,
        key_service.ListSymmetricKeyOperationsRequest,
        access.ListAccessBindingsRequest,
    ):
        assert length(message, "page_token") == "<=100", message
    # ListSymmetricKeys: 100 in these descriptors, 256 in a later cloudapi (the mock option's two values)
    assert length(key_service.ListSymmetricKeysRequest, "page_token") in ("<=100", "<=256")


def test_answers_to_number_enums_and_url_safe_bytes_parse_strictly(http: httpx.Client) -> None:
    json_format, key_service, crypto = _messages()
    operation_pb2 = pytest.importorskip("yandex.cloud.operation.operation_pb2")
    status_pb2 = pytest.importorskip("google.rpc.status_pb2")
    pytest.importorskip("google.rpc.error_details_pb2")
    answer = http.post("/kms/v1/keys", json={"folderId": FOLDER_ID, "defaultAlgorithm": 3})
    json_format.Parse(answer.text, operation_pb2.Operation(), ignore_unknown_fields=False)
    key_id = answer.json()["metadata"]["keyId"]
    enc = http.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": forms(AWKWARD)["url-unpadded"]})
    parsed = json_format.Parse(enc.text, crypto.SymmetricEncryptResponse(), ignore_unknown_fields=False)
    dec = http.post(
        f"/kms/v1/keys/{key_id}:decrypt", json={"ciphertext": forms(parsed.ciphertext)["url-unpadded"]}
    )
    assert (
        json_format.Parse(dec.text, crypto.SymmetricDecryptResponse(), ignore_unknown_fields=False).plaintext
        == AWKWARD
    )
    too_long = http.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": forms(b"x" * 32769)["std"]})
    assert json_format.Parse(too_long.text, status_pb2.Status(), ignore_unknown_fields=False).code == 3
    listed = http.get(f"/kms/v1/keys/{key_id}/versions", params={"pageSize": "1"})
    json_format.Parse(
        listed.text, key_service.ListSymmetricKeyVersionsResponse(), ignore_unknown_fields=False
    )

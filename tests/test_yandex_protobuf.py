"""Judge: every response body the Yandex mock produces parses with yandexcloud's protobuf messages.

The mock is wrapped in an ASGI recorder; the whole scenario layer of the profile (every
transition and probe, the key-pair rows included) plus crypto and access-binding calls run against it in both operation
modes, and each recorded body goes through ``google.protobuf.json_format.Parse`` strictly
(unknown fields are errors).  Importing the KMS proto modules registers the Any payload types.
The profile's requests reach the app in-process, through Starlette's TestClient (no socket).
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from conformance.profiles.base import NotCovered
from conformance.profiles.polling import Polling
from conformance.settings import Settings
from conformance.vendors.yandex.mock import MOCK
from conformance.vendors.yandex.profile import YandexProfile

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 behind TestClient; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

json_format = pytest.importorskip("google.protobuf.json_format")
pytest.importorskip("google.protobuf.empty_pb2")
status_pb2 = pytest.importorskip("google.rpc.status_pb2")
pytest.importorskip("google.rpc.error_details_pb2")  # RequestInfo in Status.details
key_service = pytest.importorskip("yandex.cloud.kms.v1.symmetric_key_service_pb2")
key_pb2 = pytest.importorskip("yandex.cloud.kms.v1.symmetric_key_pb2")
crypto = pytest.importorskip("yandex.cloud.kms.v1.symmetric_crypto_service_pb2")
access_pb2 = pytest.importorskip("yandex.cloud.access.access_pb2")
operation_pb2 = pytest.importorskip("yandex.cloud.operation.operation_pb2")

KEY = r"/kms/v1/keys/[^/:]+"
MESSAGES: list[tuple[str, str, Any]] = [
    ("GET", r"/kms/v1/keys", key_service.ListSymmetricKeysResponse),
    ("POST", r"/kms/v1/keys", operation_pb2.Operation),
    ("GET", KEY, key_pb2.SymmetricKey),
    ("PATCH", KEY, operation_pb2.Operation),
    ("DELETE", KEY, operation_pb2.Operation),
    ("GET", KEY + "/versions", key_service.ListSymmetricKeyVersionsResponse),
    ("GET", KEY + "/operations", key_service.ListSymmetricKeyOperationsResponse),
    ("GET", KEY + ":listAccessBindings", access_pb2.ListAccessBindingsResponse),
    (
        "POST",
        KEY + ":(setPrimaryVersion|scheduleVersionDestruction|cancelVersionDestruction|rotate"
        "|setAccessBindings|updateAccessBindings)",
        operation_pb2.Operation,
    ),
    ("POST", KEY + ":encrypt", crypto.SymmetricEncryptResponse),
    ("POST", KEY + ":decrypt", crypto.SymmetricDecryptResponse),
    ("POST", KEY + ":reEncrypt", crypto.SymmetricReEncryptResponse),
    ("POST", KEY + ":generateDataKey", crypto.GenerateDataKeyResponse),
    ("GET", r"/operations/[^/:]+(:cancel)?", operation_pb2.Operation),
]


def message_for(method: str, path: str, status: int) -> Any:
    if status >= 400:
        return status_pb2.Status
    from tests.test_yandex_asymmetric import ANSWERS  # the key-pair endpoints (the YC-ASYM rows)

    for m, pattern, message in (*MESSAGES, *ANSWERS):
        if m == method and re.fullmatch(pattern, path):
            return message
    raise AssertionError(f"no protobuf message known for {method} {path}")


class Recorder:
    """ASGI middleware keeping (method, path, status, body) of every answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, int, bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        chunks: list[bytes] = []

        async def record(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, record)
        self.seen.append((scope["method"], scope["path"], status, b"".join(chunks)))


class AppTransport(httpx.BaseTransport):
    """Hands a request to an ASGI app through an open TestClient, in-process."""

    def __init__(self, app: TestClient) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.app.send(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


class InProcessProfile(YandexProfile):
    """The Yandex profile as the suite runs it, its HTTP clients wired to ``app`` instead of a socket.

    One TestClient stays open for the profile's life (one event-loop thread, not one per request);
    operations are polled with short pauses (the mock in async mode finishes them after two polls).
    """

    polling = Polling(first_delay=0.001)

    def __init__(self, settings: Settings, app: Any) -> None:
        super().__init__(settings)
        self.app = TestClient(app, follow_redirects=False).__enter__()

    def transport(self) -> Any:
        return AppTransport(self.app)

    def close(self) -> None:
        super().close()
        self.app.__exit__(None, None, None)


def in_process_profile(app: Any, config: Any) -> InProcessProfile:
    # A loopback base URL, as for the bundled mock (the mock-only clock hook is used there only).
    settings = Settings(vendor="yandex", base_url="http://127.0.0.1:9", **MOCK.credentials(config))
    return InProcessProfile(settings, app)


def full_run(profile: YandexProfile) -> None:
    """Every transition and probe of the profile, then crypto and access bindings."""
    for transition in profile.transitions:
        key_id = profile.key_in(transition.from_state)
        profile.call(transition.operation, key_id)
        profile.key_state(key_id)
    for probe in profile.probes:
        try:
            if probe.key == "none":
                key_id = None
            elif probe.key == "unknown":
                key_id = profile.unknown_key_id()
            elif probe.key == "malformed":
                key_id = profile.malformed_key_id()
            else:
                key_id = profile.key_in(probe.key)
            profile.call(probe.operation, key_id, probe.body, auth=probe.auth, raw=probe.raw)
        except NotCovered:
            pass
    client = profile.client
    key_id = profile.key_in("rotated")
    enc = client.post(
        f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": "aGVsbG8=", "aadContext": "YWFk"}
    ).json()
    client.post(
        f"/kms/v1/keys/{key_id}:decrypt", json={"ciphertext": enc["ciphertext"], "aadContext": "YWFk"}
    )
    client.post(f"/kms/v1/keys/{key_id}:decrypt", json={"ciphertext": enc["ciphertext"]})  # wrong AAD -> 400
    other = profile.key_in("enabled")
    client.post(
        f"/kms/v1/keys/{other}:reEncrypt",
        json={"sourceKeyId": key_id, "ciphertext": enc["ciphertext"], "sourceAadContext": "YWFk"},
    )
    client.post(f"/kms/v1/keys/{key_id}:generateDataKey", json={"dataKeySpec": "AES_128"})
    # proto3 JSON request forms: enums by number, bytes URL-safe and unpadded; the byte and token limits
    client.post("/kms/v1/keys", json={"folderId": profile.settings.folder_id, "defaultAlgorithm": 3})
    client.post(f"/kms/v1/keys/{key_id}:generateDataKey", json={"dataKeySpec": 1, "aadContext": "-_8"})
    url_enc = client.post(
        f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": "-_-_-w", "aadContext": "YWFk"}
    )
    client.post(
        f"/kms/v1/keys/{key_id}:decrypt",
        json={"ciphertext": url_enc.json()["ciphertext"].rstrip("="), "aadContext": "YWFk"},
    )
    client.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": "eHh4" * 10923})  # 32769 bytes -> 400
    client.post(f"/kms/v1/keys/{key_id}:encrypt", json={"plaintext": "aGk=", "aadContext": "eHh4" * 2731})
    client.get(f"/kms/v1/keys/{key_id}/versions", params={"pageToken": "x" * 101})
    client.post(f"/kms/v1/keys/{key_id}:generateDataKey", json={"skipPlaintext": True})
    binding = {"roleId": "kms.keys.encrypterDecrypter", "subject": {"id": "ajeuser", "type": "userAccount"}}
    for op in (
        client.post(f"/kms/v1/keys/{key_id}:setAccessBindings", json={"accessBindings": [binding]}).json(),
        client.post(
            f"/kms/v1/keys/{key_id}:updateAccessBindings",
            json={"accessBindingDeltas": [{"action": "REMOVE", "accessBinding": binding}]},
        ).json(),
    ):
        profile.wait(op)
    client.get(f"/kms/v1/keys/{key_id}:listAccessBindings")
    client.get("/kms/v1/keys", params={"folderId": profile.settings.folder_id, "pageSize": "2"})
    pending = client.post(f"/kms/v1/keys/{key_id}:rotate").json()
    client.get(f"/operations/{pending['id']}:cancel")
    for key in list(profile.created):
        profile.cleanup_key(key)


@pytest.mark.parametrize("mode", ["immediate", "async"])
def test_every_mock_response_parses_with_yandexcloud_messages(mode: str) -> None:
    config = MOCK.config(options={"mode": mode})
    recorder = Recorder(MOCK.create_app(config))
    profile = in_process_profile(recorder, config)
    try:
        full_run(profile)
    finally:
        profile.close()
    parsed: dict[str, int] = {}
    problems = []
    for method, path, status, raw in recorder.seen:
        if path == "/_mock/clock":  # the mock's test hook, not a vendor API
            continue
        message = message_for(method, path, status)
        try:
            json_format.Parse(raw.decode(), message(), ignore_unknown_fields=False)
        except json_format.ParseError as exc:
            problems.append(f"{method} {path} -> {status}: {exc}\n  {raw[:300]!r}")
        parsed[message.DESCRIPTOR.full_name] = parsed.get(message.DESCRIPTOR.full_name, 0) + 1
    assert problems == []
    # the run exercised every kind of answer
    assert set(parsed) >= {
        "yandex.cloud.operation.Operation",
        "google.rpc.Status",
        "yandex.cloud.kms.v1.SymmetricKey",
        "yandex.cloud.kms.v1.ListSymmetricKeyVersionsResponse",
        "yandex.cloud.kms.v1.ListSymmetricKeyOperationsResponse",
        "yandex.cloud.kms.v1.ListSymmetricKeysResponse",
        "yandex.cloud.access.ListAccessBindingsResponse",
        "yandex.cloud.kms.v1.SymmetricEncryptResponse",
        "yandex.cloud.kms.v1.SymmetricDecryptResponse",
        "yandex.cloud.kms.v1.SymmetricReEncryptResponse",
        "yandex.cloud.kms.v1.GenerateDataKeyResponse",
    }
    assert len(recorder.seen) > 300


def test_operation_any_payloads_unpack_to_the_declared_types() -> None:
    config = MOCK.config()
    profile = in_process_profile(MOCK.create_app(config), config)
    try:
        outcome = profile.call("create")
        key_id = outcome.body["metadata"]["keyId"]
        rotated = profile.call("rotate", key_id)
    finally:
        profile.close()
    op = json_format.Parse(json.dumps(outcome.body), operation_pb2.Operation())
    meta, key = key_service.CreateSymmetricKeyMetadata(), key_pb2.SymmetricKey()
    assert op.metadata.Unpack(meta) and op.response.Unpack(key)
    assert meta.key_id == key.id == key_id and meta.primary_version_id == key.primary_version.id
    assert key.status == key_pb2.SymmetricKey.ACTIVE
    op = json_format.Parse(json.dumps(rotated.body), operation_pb2.Operation())
    rmeta = key_service.RotateSymmetricKeyMetadata()
    assert op.metadata.Unpack(rmeta) and op.response.Unpack(key)
    assert key.primary_version.id == rmeta.new_primary_version_id

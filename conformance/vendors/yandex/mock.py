"""Reference mock of Yandex Cloud KMS symmetric keys (SymmetricKeyService, SymmetricCryptoService,
OperationService) on one loopback app.

Facts (sources in ``conformance/vendors/yandex/catalogue.toml``): proto3 JSON (camelCase, enum names,
``"604800s"`` durations, RFC 3339 ``Z`` timestamps), every mutating call answers HTTP 200 with an
``Operation`` (served again by ``GET /operations/{id}`` and the key's ListOperations), errors are
``google.rpc.Status`` bodies whose gRPC code maps to the HTTP status (16->401, 7->403, 5->404, 3/9->400).
Request validation uses the request schemas of ``specs/yandex.yaml`` itself, so the mock and the spec
agree on what is valid.

Undocumented choices are options: the operation ``mode`` (``immediate``: done at once, as observed on
the real service; ``async``: ``done: false`` first, finished after ``async_polls`` polls or
``async_seconds``), how state-precondition failures are reported (HTTP 400, or HTTP 200 with an
Operation ending in error) and with which gRPC code (9 FAILED_PRECONDITION or 3 INVALID_ARGUMENT).

``POST /_mock/clock {"advanceSeconds": N}`` moves the mock's clock forward (for the destroyAt rule);
it is not part of the vendor API.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.grpc_codes import HTTP_OF_CODE
from conformance.mocks.base import Fault, MockConfig, MockDefinition, Option
from conformance.mocks.validation import SpecValidator
from conformance.specs import load_spec
from conformance.vendors.yandex import VENDOR

TOKEN = "yc-mock-iam-token"
FORBIDDEN_TOKEN = "yc-mock-iam-token-without-roles"
EXPIRED_TOKEN = "yc-mock-iam-token-expired"
FOLDER_ID = "b1gmockfolder0000001"
USER_ID = "ajemockuser000000001"

TYPE = "type.googleapis.com/"
KMS = "yandex.cloud.kms.v1."
DEFAULT_PENDING = 7 * 24 * 3600
MIN_PENDING = 24 * 3600
KEY_BYTES = {"AES_128": 16, "AES_192": 24, "AES_256": 32, "AES_256_HSM": 32, "GOST_R_3412_2015_K": 32}
KEY_VERBS = {
    "setPrimaryVersion",
    "scheduleVersionDestruction",
    "cancelVersionDestruction",
    "rotate",
    "listAccessBindings",
    "setAccessBindings",
    "updateAccessBindings",
    "encrypt",
    "decrypt",
    "reEncrypt",
    "generateDataKey",
}
DURATION = re.compile(r"^([0-9]+)(\.[0-9]{1,9})?s$")

FAULTS = (
    Fault(
        "missing_token_accepted",
        "YC-AUTH-001",
        "requests without Authorization are served as if authenticated",
        may_also=(
            "YC-GEN-005",
            "YC-GEN-004",
        ),
    ),
    Fault("invalid_token_accepted", "YC-AUTH-002", "any bearer token is accepted"),
    Fault("expired_token_accepted", "YC-AUTH-003", "the expired token is still accepted"),
    Fault("forbidden_token_allowed", "YC-AUTH-004", "a token without roles may use every key"),
    Fault(
        "malformed_id_not_found",
        "YC-VAL-001",
        "a key id longer than 50 characters answers 404 instead of 400",
    ),
    Fault(
        "labels_unchecked",
        "YC-VAL-003",
        "label keys and values are not validated",
        may_also=(
            "YC-GEN-003",
            "YC-GEN-004",
        ),
    ),
    Fault("page_size_unbounded", "YC-VAL-005", "pageSize above 1000 is accepted"),
    Fault(
        "unknown_key_invalid_argument",
        "YC-VAL-008",
        "an unknown key id answers 400 code 3 instead of 404 code 5",
        also=("YC-STATE-011",),
    ),
    Fault("no_deactivate", "YC-STATE-001", "Update silently ignores status"),
    Fault("primary_destroyable", "YC-STATE-002", "the primary version can be scheduled for destruction"),
    Fault("reschedule_allowed", "YC-STATE-003", "a version that is not ACTIVE can be scheduled again"),
    Fault(
        "pending_period_one_day",
        "YC-STATE-005",
        "without pendingPeriod, destruction is due after 1 day, not 7",
    ),
    Fault("cancel_any_version", "YC-STATE-006", "cancelling destruction is accepted for an ACTIVE version"),
    Fault("cancel_keeps_destroy_at", "YC-STATE-007", "a cancelled version keeps its destroyAt"),
    Fault("rotate_keeps_primary", "YC-STATE-008", "Rotate adds a version but does not make it primary"),
    Fault(
        "set_primary_any_status",
        "YC-STATE-009",
        "SetPrimaryVersion accepts a version scheduled for destruction",
        also=("YC-STATE-012",),
    ),
    Fault("delete_ignores_protection", "YC-STATE-010", "Delete succeeds although deletionProtection is on"),
    Fault(
        "flat_error_body", "YC-ENV-001", 'error bodies are {"error": message} instead of google.rpc.Status'
    ),
    Fault("operation_never_done", "YC-ASYNC-001", "operations stay done: false forever"),
    Fault(
        "operation_both_results",
        "YC-ASYNC-002",
        "a finished operation carries both error and response",
        may_also=("YC-GEN-003",),
    ),
    Fault(
        "operation_wrong_type",
        "YC-ASYNC-003",
        "operation responses of key methods are typed SymmetricKeyVersion",
        may_also=("YC-GEN-003",),
    ),
    Fault("operations_not_served", "YC-ASYNC-004", "GET /operations/{id} answers 404 for every operation"),
    Fault("snake_case_fields", "YC-SHAPE-001", "SymmetricKey fields are emitted in snake_case"),
    Fault(
        "timestamp_without_zone",
        "YC-SHAPE-002",
        "timestamps carry no time zone (no Z, no offset): not RFC 3339",
        may_also=("YC-GEN-003",),
    ),
    Fault("duration_as_hours", "YC-SHAPE-003", 'durations are emitted as "168h" instead of seconds'),
    Fault("server_error_on_page_token", "YC-GEN-001", "listing keys with any pageToken causes a 500"),
    Fault("undocumented_status_on_bad_token", "YC-GEN-002", "an unparseable pageToken answers 422"),
    Fault("description_as_number", "YC-GEN-003", "key descriptions are emitted as JSON numbers (length)"),
)

OPTIONS = (
    Option(
        "timestamps",
        ("utc-z", "offset"),
        "utc-z",
        "timestamps as proto3 JSON writes them (UTC, Z) or with a numeric offset (+00:00): the reference "
        "only says RFC 3339, and the design guide's own example uses an offset",
    ),
    Option(
        "mode",
        ("immediate", "async"),
        "immediate",
        "immediate: operations are done in the first answer (observed on the real service); "
        "async: the first answer is done: false and the operation finishes later",
    ),
    Option(
        "async_polls",
        ("1", "2", "3"),
        "2",
        "async mode: polls of GET /operations/{id} before an operation is done",
    ),
    Option(
        "async_seconds",
        ("0.5", "1", "5", "60"),
        "1",
        "async mode: seconds after which an operation is done even if nobody polled it",
    ),
    Option(
        "precondition_errors",
        ("http", "operation"),
        "http",
        "state-rule violations (primary version, version status, deletion protection) as an HTTP 400 error, "
        "or as HTTP 200 with an Operation that ends in error",
    ),
    Option(
        "precondition_code",
        ("9", "3"),
        "9",
        "gRPC code for state-rule violations: 9 FAILED_PRECONDITION or 3 INVALID_ARGUMENT (undocumented)",
    ),
    Option(
        "empty_response",
        ("bare", "value"),
        "bare",
        "google.protobuf.Empty in an Operation response: {@type} (Python json_format) or {@type, value: {}} (yc CLI)",
    ),
    Option(
        "list_operations_response",
        ("full", "empty"),
        "full",
        "ListOperations shows each operation's response in full, or as google.protobuf.Empty (observed)",
    ),
)


class ApiError(Exception):
    def __init__(self, code: int, message: str, *, precondition: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.precondition = precondition


# -- spec-driven validation -------------------------------------------------------------------------


@cache
def _spec() -> dict[str, Any]:
    return load_spec(VENDOR.spec)


@cache
def _validator() -> SpecValidator:
    return SpecValidator(VENDOR.spec)


def _validate(schema_name: str, body: Any, *, skip_labels: bool = False) -> None:
    for problem in _validator().component_problems(schema_name, body):
        if skip_labels and problem.field == "labels":
            continue
        raise ApiError(3, f"Request validation error: {problem.where}: {problem.message}")


def _param_schema(name: str) -> dict[str, Any]:
    return _spec()["components"]["parameters"][name]["schema"]


# -- state ------------------------------------------------------------------------------------------


def _new_id() -> str:
    return "abj" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(17))


@dataclass
class Version:
    id: str
    key_id: str
    algorithm: str
    created_at: datetime
    secret: bytes
    status: str = "ACTIVE"
    primary: bool = False
    destroy_at: datetime | None = None


@dataclass
class Key:
    id: str
    folder_id: str
    created_at: datetime
    default_algorithm: str
    name: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    status: str = "ACTIVE"
    rotated_at: datetime | None = None
    rotation_period: float | None = None
    deletion_protection: bool = False
    versions: list[Version] = field(default_factory=list)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def primary(self) -> Version:
        return next(v for v in self.versions if v.primary)

    def version(self, version_id: str) -> Version:
        for v in self.versions:
            if v.id == version_id:
                return v
        raise ApiError(5, f"Symmetric key version {version_id!r} not found")


@dataclass
class Operation:
    id: str
    description: str
    created_at: datetime
    modified_at: datetime
    key_id: str
    metadata: dict[str, Any]
    done: bool = False
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    pending: Callable[[], dict[str, Any]] | None = None
    polls: int = 0
    started: float = field(default_factory=time.monotonic)


class YandexKms:
    """The in-memory service behind one app; every public method holds the lock."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.keys: dict[str, Key] = {}
        self.operations: dict[str, Operation] = {}
        self.idempotency: dict[str, str] = {}
        self.clock_offset = 0.0
        self.mode = config.option("mode", "immediate")
        self.async_polls = int(config.option("async_polls", "2"))
        self.async_seconds = float(config.option("async_seconds", "1"))
        self.precondition_http = config.option("precondition_errors", "http") == "http"
        self.precondition_code = int(config.option("precondition_code", "9"))

    def fault(self, name: str) -> bool:
        return self.config.has(name)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def precondition(self, message: str) -> ApiError:
        return ApiError(self.precondition_code, message, precondition=True)

    # -- rendering (proto3 JSON) ---------------------------------------------------------------

    def ts(self, value: datetime, *, precise: bool = False) -> str:
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        if precise:
            text += f".{value.microsecond:06d}000"
        if self.fault("timestamp_without_zone"):
            return text
        return text + ("+00:00" if self.config.option("timestamps", "utc-z") == "offset" else "Z")

    def duration(self, seconds: float) -> str:
        if self.fault("duration_as_hours"):
            return f"{seconds / 3600:g}h"
        if float(seconds).is_integer():
            return f"{int(seconds)}s"
        return f"{seconds:.9f}".rstrip("0") + "s"

    def version_json(self, v: Version) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": v.id,
            "keyId": v.key_id,
            "status": v.status,
            "algorithm": v.algorithm,
            "createdAt": self.ts(v.created_at),
        }
        if v.primary:
            out["primary"] = True
        if v.destroy_at is not None:
            out["destroyAt"] = self.ts(v.destroy_at)
        if v.algorithm == "AES_256_HSM":
            out["hostedByHsm"] = True
        return out

    def key_json(self, k: Key) -> dict[str, Any]:
        out: dict[str, Any] = {"id": k.id, "folderId": k.folder_id, "createdAt": self.ts(k.created_at)}
        if k.name:
            out["name"] = k.name
        if k.description:
            out["description"] = len(k.description) if self.fault("description_as_number") else k.description
        if k.labels:
            out["labels"] = dict(k.labels)
        out["status"] = k.status
        out["primaryVersion"] = self.version_json(k.primary)
        out["defaultAlgorithm"] = k.default_algorithm
        if k.rotated_at is not None:
            out["rotatedAt"] = self.ts(k.rotated_at)
        if k.rotation_period is not None:
            out["rotationPeriod"] = self.duration(k.rotation_period)
        if k.deletion_protection:
            out["deletionProtection"] = True
        if self.fault("snake_case_fields"):
            out = {
                re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name): value
                for name, value in out.items()
            }
        return out

    def key_any(self, k: Key) -> dict[str, Any]:
        if self.fault("operation_wrong_type"):
            return {"@type": TYPE + KMS + "SymmetricKeyVersion", **self.version_json(k.primary)}
        return {"@type": TYPE + KMS + "SymmetricKey", **self.key_json(k)}

    def version_any(self, v: Version) -> dict[str, Any]:
        return {"@type": TYPE + KMS + "SymmetricKeyVersion", **self.version_json(v)}

    def empty_any(self) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": TYPE + "google.protobuf.Empty"}
        if self.config.option("empty_response", "bare") == "value":
            out["value"] = {}
        return out

    def operation_json(self, op: Operation, *, listed: bool = False) -> dict[str, Any]:
        self.advance(op, poll=False)
        out: dict[str, Any] = {
            "id": op.id,
            "description": op.description,
            "createdAt": self.ts(op.created_at, precise=True),
            "createdBy": USER_ID,
            "modifiedAt": self.ts(op.modified_at, precise=True),
            "done": op.done,
            "metadata": op.metadata,
        }
        if op.error is not None:
            out["error"] = op.error
        if op.response is not None:
            if listed and self.config.option("list_operations_response", "full") == "empty":
                out["response"] = self.empty_any()
            else:
                out["response"] = op.response
        if self.fault("operation_both_results") and op.done:
            out.setdefault("error", {"code": 2, "message": "unknown", "details": []})
            out.setdefault("response", self.empty_any())
        return out

    # -- operations ------------------------------------------------------------------------------

    def advance(self, op: Operation, *, poll: bool) -> None:
        if op.done or op.pending is None or self.fault("operation_never_done"):
            return
        if poll:
            op.polls += 1
        if op.polls >= self.async_polls or time.monotonic() - op.started >= self.async_seconds:
            self.finish(op, op.pending)

    def finish(self, op: Operation, effect: Callable[[], dict[str, Any]]) -> None:
        try:
            op.response = effect()
        except ApiError as exc:
            op.error = status_body(exc.code, exc.message)
        op.pending = None
        op.done = True
        op.modified_at = self.now()

    def run_operation(
        self,
        description: str,
        key: Key,
        metadata: dict[str, Any],
        effect: Callable[[Key], dict[str, Any]],
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Check ``effect`` against a copy of ``key`` (errors answer at once), then apply it now or later."""
        if idempotency_key and idempotency_key in self.idempotency:
            return self.operation_json(self.operations[self.idempotency[idempotency_key]])
        now = self.now()
        op = Operation(_new_id(), description, now, now, key.id, metadata)
        asynchronous = self.mode == "async" or self.fault("operation_never_done")
        try:
            if asynchronous:
                effect(copy.deepcopy(key))
            else:
                op.response = effect(key)
                op.done = True
        except ApiError as exc:
            if exc.precondition and not self.precondition_http:
                op.error = status_body(exc.code, exc.message)
                op.done = True
            else:
                raise
        if asynchronous and not op.done:
            op.pending = lambda: effect(self.keys[key.id])
        self.operations[op.id] = op
        if idempotency_key:
            self.idempotency[idempotency_key] = op.id
        return self.operation_json(op)

    # -- lookups ---------------------------------------------------------------------------------

    def check_key_id(self, key_id: str, limit: int = 50) -> None:
        if len(key_id) > limit and not self.fault("malformed_id_not_found"):
            raise ApiError(3, f"Request validation error: keyId: length must be <= {limit}")

    def key(self, key_id: str, limit: int = 50) -> Key:
        if not key_id:
            raise ApiError(3, "Request validation error: keyId: required")
        self.check_key_id(key_id, limit)
        k = self.keys.get(key_id)
        if k is None or k.deleted:
            if self.fault("unknown_key_invalid_argument"):
                raise ApiError(3, f"Invalid key id {key_id!r}")
            raise ApiError(5, f"Symmetric key {key_id!r} not found")
        self.settle(k)
        return k

    def settle(self, k: Key) -> None:
        """Versions whose destroyAt has passed are DESTROYED (irreversible)."""
        now = self.now()
        for v in k.versions:
            if v.status == "SCHEDULED_FOR_DESTRUCTION" and v.destroy_at is not None and v.destroy_at <= now:
                v.status = "DESTROYED"
                v.destroy_at = None
        for op in list(self.operations.values()):
            if op.key_id == k.id:
                self.advance(op, poll=False)

    # -- SymmetricKeyService ------------------------------------------------------------------------

    def create(self, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        _validate("CreateSymmetricKeyRequest", body, skip_labels=self.fault("labels_unchecked"))
        now = self.now()
        algorithm = body["defaultAlgorithm"]
        key = Key(
            _new_id(),
            body["folderId"],
            now.replace(microsecond=0),
            algorithm,
            body.get("name", ""),
            body.get("description", ""),
            dict(body.get("labels", {})),
            rotation_period=parse_duration(body["rotationPeriod"]) if "rotationPeriod" in body else None,
            deletion_protection=bool(body.get("deletionProtection", False)),
        )
        version = Version(_new_id(), key.id, algorithm, key.created_at, secrets.token_bytes(32), primary=True)
        key.versions.append(version)
        if self.mode == "async":
            key.status = "CREATING"
        self.keys[key.id] = key

        def effect(k: Key) -> dict[str, Any]:
            if k.status == "CREATING":
                k.status = "ACTIVE"
            return self.key_any(k)

        meta = {
            "@type": TYPE + KMS + "CreateSymmetricKeyMetadata",
            "keyId": key.id,
            "primaryVersionId": version.id,
        }
        return self.run_operation("Create symmetric key", key, meta, effect, idem)

    def get(self, key_id: str) -> dict[str, Any]:
        return self.key_json(self.key(key_id))

    def list(self, query: dict[str, str]) -> dict[str, Any]:
        folder = query.get("folderId")
        schema = _param_schema("folderIdQuery")
        if not folder or len(folder) > schema["maxLength"]:
            raise ApiError(3, "Request validation error: folderId: required, length 1..50")
        if self.fault("server_error_on_page_token") and query.get("pageToken"):
            raise RuntimeError("the mock's fault: page tokens crash the listing")
        size, start = self.page(query, token_limit=256)
        keys = [k for k in self.keys.values() if k.folder_id == folder and not k.deleted]
        for k in keys:
            self.settle(k)
        return self.paged("keys", [self.key_json(k) for k in keys], size, start)

    def page(self, query: dict[str, str], token_limit: int) -> tuple[int, int]:
        raw = query.get("pageSize", "0")
        try:
            size = int(raw)
        except ValueError:
            raise ApiError(3, "Request validation error: pageSize: not an int64") from None
        if size < 0 or (size > 1000 and not self.fault("page_size_unbounded")):
            raise ApiError(3, "Request validation error: pageSize: must be in 0..1000")
        token = query.get("pageToken", "")
        if len(token) > token_limit:
            raise ApiError(3, f"Request validation error: pageToken: length must be <= {token_limit}")
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode() + b"==").decode().removeprefix("offset:"))
            except (ValueError, UnicodeDecodeError, base64.binascii.Error):
                if self.fault("undocumented_status_on_bad_token"):
                    raise ApiError(0, "unprocessable page token") from None
                raise ApiError(3, "Request validation error: pageToken: invalid page token") from None
        return (size or 100), start

    @staticmethod
    def paged(name: str, items: list[Any], size: int, start: int) -> dict[str, Any]:
        out: dict[str, Any] = {name: items[start : start + size]}
        if start + size < len(items):
            out["nextPageToken"] = (
                base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode().rstrip("=")
            )
        return out

    def list_versions(self, key_id: str, query: dict[str, str]) -> dict[str, Any]:
        k = self.key(key_id)
        size, start = self.page(query, token_limit=256)
        return self.paged("keyVersions", [self.version_json(v) for v in k.versions], size, start)

    def list_operations(self, key_id: str, query: dict[str, str]) -> dict[str, Any]:
        k = self.key(key_id)
        size, start = self.page(query, token_limit=256)
        ops = sorted(
            (op for op in self.operations.values() if op.key_id == k.id),
            key=lambda o: o.created_at,
            reverse=True,
        )
        return self.paged("operations", [self.operation_json(op, listed=True) for op in ops], size, start)

    def update(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("UpdateSymmetricKeyRequest", body, skip_labels=self.fault("labels_unchecked"))
        paths = body["updateMask"].split(",")
        if "status" in paths and "status" not in body:
            raise ApiError(3, "Request validation error: status: only ACTIVE or INACTIVE can be set")

        def effect(key: Key) -> dict[str, Any]:
            if key.status == "CREATING":
                raise self.precondition("The key is being created")
            for path in paths:
                if path == "name":
                    key.name = body.get("name", "")
                elif path == "description":
                    key.description = body.get("description", "")
                elif path == "labels":
                    key.labels = dict(body.get("labels", {}))
                elif path == "status" and not self.fault("no_deactivate"):
                    key.status = body["status"]
                elif path == "defaultAlgorithm":
                    if "defaultAlgorithm" not in body:
                        raise ApiError(3, "Request validation error: defaultAlgorithm: required")
                    key.default_algorithm = body["defaultAlgorithm"]
                elif path == "rotationPeriod":
                    key.rotation_period = (
                        parse_duration(body["rotationPeriod"]) if "rotationPeriod" in body else None
                    )
                elif path == "deletionProtection":
                    key.deletion_protection = bool(body.get("deletionProtection", False))
            return self.key_any(key)

        meta = {"@type": TYPE + KMS + "UpdateSymmetricKeyMetadata", "keyId": k.id}
        return self.run_operation("Update symmetric key", k, meta, effect, idem)

    def delete(self, key_id: str, idem: str | None) -> dict[str, Any]:
        k = self.key(key_id)

        def effect(key: Key) -> dict[str, Any]:
            if key.deletion_protection and not self.fault("delete_ignores_protection"):
                raise self.precondition("Deletion protection is enabled; disable it before deleting the key")
            key.deleted = True
            when = self.now() + timedelta(hours=72)
            for v in key.versions:
                if v.status == "ACTIVE":
                    v.status, v.destroy_at = "SCHEDULED_FOR_DESTRUCTION", when
            return self.key_any(key)

        meta = {"@type": TYPE + KMS + "DeleteSymmetricKeyMetadata", "keyId": k.id}
        return self.run_operation("Delete symmetric key", k, meta, effect, idem)

    def set_primary(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("SetPrimarySymmetricKeyVersionRequest", body)
        version_id = body["versionId"]
        k.version(version_id)

        def effect(key: Key) -> dict[str, Any]:
            target = key.version(version_id)
            if target.status != "ACTIVE" and not self.fault("set_primary_any_status"):
                raise self.precondition(
                    f"Version {version_id} is {target.status}; only an ACTIVE version can be primary"
                )
            for v in key.versions:
                v.primary = v is target
            return self.key_any(key)

        meta = {
            "@type": TYPE + KMS + "SetPrimarySymmetricKeyVersionMetadata",
            "keyId": k.id,
            "versionId": version_id,
        }
        return self.run_operation("Set primary version", k, meta, effect, idem)

    def schedule(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("ScheduleSymmetricKeyVersionDestructionRequest", body)
        version_id = body["versionId"]
        k.version(version_id)
        default = MIN_PENDING if self.fault("pending_period_one_day") else DEFAULT_PENDING
        pending = parse_duration(body["pendingPeriod"]) if "pendingPeriod" in body else default
        if pending < MIN_PENDING:
            raise ApiError(
                3, "pendingPeriod: destruction can be scheduled for the next day at least (>= 86400s)"
            )
        destroy_at = self.now() + timedelta(seconds=pending)

        def effect(key: Key) -> dict[str, Any]:
            target = key.version(version_id)
            if target.primary and not self.fault("primary_destroyable"):
                raise self.precondition("The primary version of a key cannot be destroyed")
            if target.status != "ACTIVE" and not self.fault("reschedule_allowed"):
                raise self.precondition(
                    f"Version {version_id} is {target.status}; only an ACTIVE version can be scheduled"
                )
            target.status, target.destroy_at = "SCHEDULED_FOR_DESTRUCTION", destroy_at
            return self.version_any(target)

        meta = {
            "@type": TYPE + KMS + "ScheduleSymmetricKeyVersionDestructionMetadata",
            "keyId": k.id,
            "versionId": version_id,
            "destroyAt": self.ts(destroy_at),
        }
        return self.run_operation("Schedule version destruction", k, meta, effect, idem)

    def cancel(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("CancelSymmetricKeyVersionDestructionRequest", body)
        version_id = body["versionId"]
        k.version(version_id)

        def effect(key: Key) -> dict[str, Any]:
            target = key.version(version_id)
            allowed = target.status == "SCHEDULED_FOR_DESTRUCTION" or (
                self.fault("cancel_any_version") and target.status == "ACTIVE"
            )
            if not allowed:
                raise self.precondition(
                    f"Version {version_id} is {target.status}; only a version scheduled for destruction can be restored"
                )
            target.status = "ACTIVE"
            if not self.fault("cancel_keeps_destroy_at"):
                target.destroy_at = None
            return self.version_any(target)

        meta = {
            "@type": TYPE + KMS + "CancelSymmetricKeyVersionDestructionMetadata",
            "keyId": k.id,
            "versionId": version_id,
        }
        return self.run_operation("Cancel version destruction", k, meta, effect, idem)

    def rotate(self, key_id: str, idem: str | None) -> dict[str, Any]:
        k = self.key(key_id)
        new_id = _new_id()

        def effect(key: Key) -> dict[str, Any]:
            if key.status == "CREATING":
                raise self.precondition("The key is being created")
            now = self.now().replace(microsecond=0)
            version = Version(new_id, key.id, key.default_algorithm, now, secrets.token_bytes(32))
            if not self.fault("rotate_keeps_primary"):
                for v in key.versions:
                    v.primary = False
                version.primary = True
            key.versions.append(version)
            key.rotated_at = now
            return self.key_any(key)

        meta = {
            "@type": TYPE + KMS + "RotateSymmetricKeyMetadata",
            "keyId": k.id,
            "newPrimaryVersionId": new_id,
        }
        return self.run_operation("Rotate symmetric key", k, meta, effect, idem)

    def list_bindings(self, key_id: str, query: dict[str, str]) -> dict[str, Any]:
        k = self.key(key_id, limit=64)
        size, start = self.page(query, token_limit=2000)
        return self.paged("accessBindings", copy.deepcopy(k.bindings), size, start)

    def set_bindings(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id, limit=64)
        _validate("SetAccessBindingsRequest", body)
        bindings = copy.deepcopy(body.get("accessBindings", []))

        def effect(key: Key) -> dict[str, Any]:
            key.bindings = bindings
            return self.empty_any()

        meta = {"@type": TYPE + "yandex.cloud.access.SetAccessBindingsMetadata", "resourceId": k.id}
        return self.run_operation("Set access bindings", k, meta, effect, idem)

    def update_bindings(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id, limit=64)
        _validate("UpdateAccessBindingsRequest", body)
        deltas = copy.deepcopy(body["accessBindingDeltas"])

        def effect(key: Key) -> dict[str, Any]:
            for delta in deltas:
                binding = delta["accessBinding"]
                present = binding in key.bindings
                if delta["action"] == "ADD" and not present:
                    key.bindings.append(binding)
                elif delta["action"] == "REMOVE" and present:
                    key.bindings.remove(binding)
            return self.empty_any()

        meta = {"@type": TYPE + "yandex.cloud.access.UpdateAccessBindingsMetadata", "resourceId": k.id}
        return self.run_operation("Update access bindings", k, meta, effect, idem)

    # -- OperationService --------------------------------------------------------------------------

    def get_operation(self, operation_id: str) -> dict[str, Any]:
        op = self.operations.get(operation_id)
        if op is None or self.fault("operations_not_served"):
            raise ApiError(5, f"Operation {operation_id!r} not found")
        self.advance(op, poll=True)
        return self.operation_json(op)

    def cancel_operation(self, operation_id: str) -> dict[str, Any]:
        op = self.operations.get(operation_id)
        if op is None:
            raise ApiError(5, f"Operation {operation_id!r} not found")
        self.advance(op, poll=False)
        if not op.done:
            op.pending, op.done, op.modified_at = None, True, self.now()
            op.error = status_body(1, "Operation cancelled")
        return self.operation_json(op)

    # -- SymmetricCryptoService --------------------------------------------------------------------

    def usable_version(self, k: Key, version_id: str | None) -> Version:
        if k.status != "ACTIVE":
            raise self.precondition(f"Key {k.id} is {k.status} and cannot be used")
        v = k.version(version_id) if version_id else k.primary
        if v.status != "ACTIVE":
            raise self.precondition(f"Version {v.id} is {v.status} and cannot be used")
        return v

    def seal(self, k: Key, v: Version, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        stream = _keystream(v.secret, nonce, len(plaintext))
        body = bytes(a ^ b for a, b in zip(plaintext, stream, strict=True))
        head = v.id.encode()
        tag = hmac.new(v.secret, head + nonce + aad + body, hashlib.sha256).digest()[:16]
        return bytes([len(head)]) + head + nonce + tag + body

    def open(self, k: Key, ciphertext: bytes, aad: bytes) -> tuple[Version, bytes]:
        try:
            n = ciphertext[0]
            version_id = ciphertext[1 : 1 + n].decode()
            nonce, tag, body = ciphertext[1 + n : 13 + n], ciphertext[13 + n : 29 + n], ciphertext[29 + n :]
            if len(nonce) != 12 or len(tag) != 16:
                raise ValueError
        except (IndexError, ValueError, UnicodeDecodeError):
            raise ApiError(3, "Ciphertext is malformed") from None
        match = next((v for v in k.versions if v.id == version_id), None)
        if match is None:
            raise ApiError(3, "Ciphertext was not produced by this key")
        v = self.usable_version(k, match.id)
        expected = hmac.new(v.secret, version_id.encode() + nonce + aad + body, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(expected, tag):
            raise ApiError(3, "Ciphertext or AAD context does not match")
        stream = _keystream(v.secret, nonce, len(body))
        return v, bytes(a ^ b for a, b in zip(body, stream, strict=True))

    def encrypt(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("SymmetricEncryptRequest", body)
        v = self.usable_version(k, body.get("versionId"))
        ct = self.seal(k, v, b64d(body["plaintext"]), b64d(body.get("aadContext", "")))
        return {"keyId": k.id, "versionId": v.id, "ciphertext": b64e(ct)}

    def decrypt(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("SymmetricDecryptRequest", body)
        v, pt = self.open(k, b64d(body["ciphertext"]), b64d(body.get("aadContext", "")))
        out = {"keyId": k.id, "versionId": v.id}
        if pt:
            out["plaintext"] = b64e(pt)
        return out

    def re_encrypt(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("SymmetricReEncryptRequest", body)
        source = self.key(body["sourceKeyId"])
        sv, pt = self.open(source, b64d(body["ciphertext"]), b64d(body.get("sourceAadContext", "")))
        v = self.usable_version(k, body.get("versionId"))
        ct = self.seal(k, v, pt, b64d(body.get("aadContext", "")))
        return {
            "keyId": k.id,
            "versionId": v.id,
            "sourceKeyId": source.id,
            "sourceVersionId": sv.id,
            "ciphertext": b64e(ct),
        }

    def generate_data_key(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        _validate("GenerateDataKeyRequest", body)
        v = self.usable_version(k, body.get("versionId"))
        dek = secrets.token_bytes(KEY_BYTES.get(body.get("dataKeySpec", "AES_256"), 32))
        out = {"keyId": k.id, "versionId": v.id}
        if not body.get("skipPlaintext", False):
            out["dataKeyPlaintext"] = b64e(dek)
        out["dataKeyCiphertext"] = b64e(self.seal(k, v, dek, b64d(body.get("aadContext", ""))))
        return out


def _keystream(secret: bytes, nonce: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(secret + nonce + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def b64d(text: str) -> bytes:
    try:
        return base64.b64decode(
            text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text) else None
        )
    except ValueError:
        raise ApiError(3, "Request validation error: invalid base64") from None


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_duration(text: str) -> float:
    match = DURATION.match(text)
    if not match:
        raise ApiError(3, f"Request validation error: invalid duration {text!r}")
    return float(match.group(1) + (match.group(2) or ""))


def status_body(code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "details": [{"@type": TYPE + "google.rpc.RequestInfo", "requestId": str(uuid.uuid4())}],
    }


# -- HTTP layer --------------------------------------------------------------------------------------


def create_app(config: MockConfig) -> Starlette:
    kms = YandexKms(config)

    def error_response(code: int, message: str) -> Response:
        if code == 0:  # the fault's undocumented answer
            return JSONResponse({"code": 3, "message": message, "details": []}, status_code=422)
        if config.has("flat_error_body"):
            return JSONResponse({"error": message}, status_code=HTTP_OF_CODE.get(code, 500))
        return JSONResponse(status_body(code, message), status_code=HTTP_OF_CODE.get(code, 500))

    def authenticate(request: Request) -> None:
        header = request.headers.get("authorization")
        if header is None:
            if config.has("missing_token_accepted"):
                return
            raise ApiError(16, "Token is invalid or has expired.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            if config.has("invalid_token_accepted"):
                return
            raise ApiError(16, "Token is invalid or has expired.")
        if token == TOKEN:
            return
        if token == EXPIRED_TOKEN:
            if config.has("expired_token_accepted"):
                return
            raise ApiError(16, "Token is invalid or has expired.")
        if token == FORBIDDEN_TOKEN:
            if config.has("forbidden_token_allowed"):
                return
            raise ApiError(7, "Permission denied")
        if config.has("invalid_token_accepted"):
            return
        raise ApiError(16, "Token is invalid or has expired.")

    async def read_json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(3, "Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(3, "Request body must be a JSON object")
        return data

    def handler(work: Callable[[Request, dict[str, Any]], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                authenticate(request)
                body = await read_json(request) if request.method in ("POST", "PATCH") else {}
                with kms.lock:
                    result = work(request, body)
                return JSONResponse(result)
            except ApiError as exc:
                return error_response(exc.code, exc.message)
            except RuntimeError as exc:
                return JSONResponse(status_body(13, str(exc)), status_code=500)

        return endpoint

    def idem(request: Request) -> str | None:
        return request.headers.get("idempotency-key")

    def keys_root(request: Request, body: dict[str, Any]) -> Any:
        if request.method == "POST":
            return kms.create(body, idem(request))
        return kms.list(dict(request.query_params))

    def split_tail(tail: str) -> tuple[str, str | None]:
        head, sep, verb = tail.rpartition(":")
        if sep and verb in KEY_VERBS:
            return head, verb
        return tail, None

    def key_tail(request: Request, body: dict[str, Any]) -> Any:
        key_id, verb = split_tail(request.path_params["tail"])
        method = request.method
        query = dict(request.query_params)
        if verb is None:
            if method == "GET":
                return kms.get(key_id)
            if method == "PATCH":
                return kms.update(key_id, body, idem(request))
            if method == "DELETE":
                return kms.delete(key_id, idem(request))
            raise ApiError(12, "Method not allowed")
        if verb == "listAccessBindings":
            if method != "GET":
                raise ApiError(12, "Method not allowed")
            return kms.list_bindings(key_id, query)
        if method != "POST":
            raise ApiError(12, "Method not allowed")
        actions: dict[str, Callable[[], Any]] = {
            "setPrimaryVersion": lambda: kms.set_primary(key_id, body, idem(request)),
            "scheduleVersionDestruction": lambda: kms.schedule(key_id, body, idem(request)),
            "cancelVersionDestruction": lambda: kms.cancel(key_id, body, idem(request)),
            "rotate": lambda: kms.rotate(key_id, idem(request)),
            "setAccessBindings": lambda: kms.set_bindings(key_id, body, idem(request)),
            "updateAccessBindings": lambda: kms.update_bindings(key_id, body, idem(request)),
            "encrypt": lambda: kms.encrypt(key_id, body),
            "decrypt": lambda: kms.decrypt(key_id, body),
            "reEncrypt": lambda: kms.re_encrypt(key_id, body),
            "generateDataKey": lambda: kms.generate_data_key(key_id, body),
        }
        return actions[verb]()

    def versions(request: Request, body: dict[str, Any]) -> Any:
        return kms.list_versions(request.path_params["key_id"], dict(request.query_params))

    def key_operations(request: Request, body: dict[str, Any]) -> Any:
        return kms.list_operations(request.path_params["key_id"], dict(request.query_params))

    def operations(request: Request, body: dict[str, Any]) -> Any:
        tail = request.path_params["tail"]
        if tail.endswith(":cancel"):
            return kms.cancel_operation(tail.removesuffix(":cancel"))
        if request.method != "GET":
            raise ApiError(12, "Method not allowed")
        return kms.get_operation(tail)

    def clock(request: Request, body: dict[str, Any]) -> Any:
        kms.clock_offset += float(body.get("advanceSeconds", 0))
        return {"now": kms.ts(kms.now(), precise=True)}

    routes = [
        Route("/kms/v1/keys", handler(keys_root), methods=["GET", "POST"]),
        Route("/kms/v1/keys/{key_id}/versions", handler(versions), methods=["GET"]),
        Route("/kms/v1/keys/{key_id}/operations", handler(key_operations), methods=["GET"]),
        Route("/kms/v1/keys/{tail}", handler(key_tail), methods=["GET", "POST", "PATCH", "DELETE"]),
        Route("/operations/{tail}", handler(operations), methods=["GET", "POST"]),
        Route("/_mock/clock", handler(clock), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False
    app.add_exception_handler(404, lambda request, exc: error_response(5, f"Not found: {request.url.path}"))
    app.add_exception_handler(
        405,
        lambda request, exc: JSONResponse(
            {"code": 12, "message": "Method not allowed", "details": []}, status_code=405
        ),
    )
    app.state.kms = kms
    return app


def credentials(config: MockConfig) -> dict[str, str]:
    return {
        "token": TOKEN,
        "folder_id": FOLDER_ID,
        "forbidden_token": FORBIDDEN_TOKEN,
        "expired_token": EXPIRED_TOKEN,
    }


MOCK = MockDefinition(
    vendor="yandex", faults=FAULTS, options=OPTIONS, create_app=create_app, credentials=credentials
)

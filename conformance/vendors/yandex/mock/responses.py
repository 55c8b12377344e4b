"""The Yandex KMS mock's HTTP side: routes, authentication, proto3-JSON parsing, validation, answers.

Where are requests validated?  ``YandexResponses.validate``: each body against its request schema
in ``specs/yandex.yaml`` (``SpecValidator``), so the mock and the spec agree on what is valid;
key ids, folder ids and paging parameters by hand (``key``, ``list_keys``, ``page``).  The order
is part of the answer: the path's key id is checked and looked up before the body is validated,
and the model (models.py) checks existence of versions and state rules last.
Where is authentication?  ``YandexResponses.authenticate``: the token's class and ``AUTH``.
Where are Operation objects written?  ``YandexResponses.operation_json`` (metadata per ``METADATA``).
What a switch changes is a ``Behaviour`` value (built in faults.py); handlers ask nothing else.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.mocks.validation import SpecValidator
from conformance.specs import load_spec
from conformance.vendors.yandex import VENDOR
from conformance.vendors.yandex.mock import asymmetric
from conformance.vendors.yandex.mock.exceptions import (
    METHOD_NOT_ALLOWED,
    TYPE,
    ApiError,
    error_answer,
    internal_answer,
    status_body,
)
from conformance.vendors.yandex.mock.models import (
    MISSING,
    OTHER_FOLDER_ID,
    USER_ID,
    AsymKey,
    AsymKeySpec,
    Key,
    KeySpec,
    Operation,
    Result,
    Rules,
    Version,
    YandexKms,
)

# -- the mock's tokens (IAM tokens of the mock account) ------------------------------------------
TOKEN = "yc-mock-iam-token"
OTHER_TOKEN = "yc-mock-iam-token-other-folder"  # sees OTHER_FOLDER_ID only; TOKEN sees every other folder
FORBIDDEN_TOKEN = "yc-mock-iam-token-without-roles"
EXPIRED_TOKEN = "yc-mock-iam-token-expired"

KMS = "yandex.cloud.kms.v1."
UNAUTHENTICATED = (16, "Token is invalid or has expired.")
# token class -> the refusal (gRPC code, message), or None: served
AUTH: Mapping[str, tuple[int, str] | None] = {
    "valid": None,
    "missing": UNAUTHENTICATED,  # no Authorization header
    "malformed": UNAUTHENTICATED,  # not "Bearer <token>"
    "unknown": UNAUTHENTICATED,  # a bearer token the mock did not issue
    "expired": UNAUTHENTICATED,
    "forbidden": (7, "Permission denied"),  # valid, but without a role on the keys
}
BAD_PAGE_TOKEN = (3, "Request validation error: pageToken: invalid page token")

# custom verbs on /kms/v1/keys/{keyId}:verb -> the HTTP method each is served on
KEY_VERBS: Mapping[str, str] = {
    "setPrimaryVersion": "POST",
    "scheduleVersionDestruction": "POST",
    "cancelVersionDestruction": "POST",
    "rotate": "POST",
    "listAccessBindings": "GET",
    "setAccessBindings": "POST",
    "updateAccessBindings": "POST",
    "encrypt": "POST",
    "decrypt": "POST",
    "reEncrypt": "POST",
    "generateDataKey": "POST",
}
# Update mask path -> the key attribute it sets
MASK_FIELDS: Mapping[str, str] = {
    "name": "name",
    "description": "description",
    "labels": "labels",
    "status": "status",
    "defaultAlgorithm": "default_algorithm",
    "rotationPeriod": "rotation_period",
    "deletionProtection": "deletion_protection",
}
# operation kind -> (metadata message, its fields as (JSON name, Operation attribute))
METADATA: Mapping[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "create": (KMS + "CreateSymmetricKeyMetadata", (("keyId", "key_id"), ("primaryVersionId", "version_id"))),
    "update": (KMS + "UpdateSymmetricKeyMetadata", (("keyId", "key_id"),)),
    "delete": (KMS + "DeleteSymmetricKeyMetadata", (("keyId", "key_id"),)),
    "set-primary": (
        KMS + "SetPrimarySymmetricKeyVersionMetadata",
        (("keyId", "key_id"), ("versionId", "version_id")),
    ),
    "schedule": (
        KMS + "ScheduleSymmetricKeyVersionDestructionMetadata",
        (("keyId", "key_id"), ("versionId", "version_id"), ("destroyAt", "destroy_at")),
    ),
    "cancel": (
        KMS + "CancelSymmetricKeyVersionDestructionMetadata",
        (("keyId", "key_id"), ("versionId", "version_id")),
    ),
    "rotate": (
        KMS + "RotateSymmetricKeyMetadata",
        (("keyId", "key_id"), ("newPrimaryVersionId", "version_id")),
    ),
    "set-bindings": ("yandex.cloud.access.SetAccessBindingsMetadata", (("resourceId", "key_id"),)),
    "update-bindings": ("yandex.cloud.access.UpdateAccessBindingsMetadata", (("resourceId", "key_id"),)),
}


@dataclass(frozen=True)
class Family:
    """One asymmetric key service as REST sees it (asymmetric_*_key_service.proto, *_crypto_service.proto)."""

    name: str  # the model's family: "encryption" or "signature"
    collection: str  # /kms/v1/<collection>
    package: str  # the protobuf package of its messages
    message: str  # the key message
    algorithm_field: str  # the key's algorithm field (JSON name)
    algorithms: tuple[str, ...]  # the algorithm enum, by number
    default_algorithm: str  # what Create without an algorithm makes (inferred)
    verbs: Mapping[str, str]  # custom verbs on {keyId}:verb -> the HTTP method each is served on
    schema: str  # the spec's name stem of its request schemas ("AsymmetricEncryptionKey")


BINDING_VERBS: Mapping[str, str] = {
    "listAccessBindings": "GET",
    "setAccessBindings": "POST",
    "updateAccessBindings": "POST",
}
ENCRYPTION = Family(
    name="encryption",
    collection="asymmetricEncryptionKeys",
    package="yandex.cloud.kms.v1.asymmetricencryption.",
    message="AsymmetricEncryptionKey",
    algorithm_field="encryptionAlgorithm",
    algorithms=(
        "ASYMMETRIC_ENCRYPTION_ALGORITHM_UNSPECIFIED",
        "RSA_2048_ENC_OAEP_SHA_256",
        "RSA_3072_ENC_OAEP_SHA_256",
        "RSA_4096_ENC_OAEP_SHA_256",
    ),
    default_algorithm="RSA_2048_ENC_OAEP_SHA_256",
    verbs={**BINDING_VERBS, "decrypt": "POST"},
    schema="AsymmetricEncryptionKey",
)
SIGNATURE = Family(
    name="signature",
    collection="asymmetricSignatureKeys",
    package="yandex.cloud.kms.v1.asymmetricsignature.",
    message="AsymmetricSignatureKey",
    algorithm_field="signatureAlgorithm",
    algorithms=(
        "ASYMMETRIC_SIGNATURE_ALGORITHM_UNSPECIFIED",
        "RSA_2048_SIGN_PSS_SHA_256",
        "RSA_2048_SIGN_PSS_SHA_384",
        "RSA_2048_SIGN_PSS_SHA_512",
        "RSA_3072_SIGN_PSS_SHA_256",
        "RSA_3072_SIGN_PSS_SHA_384",
        "RSA_3072_SIGN_PSS_SHA_512",
        "RSA_4096_SIGN_PSS_SHA_256",
        "RSA_4096_SIGN_PSS_SHA_384",
        "RSA_4096_SIGN_PSS_SHA_512",
        "ECDSA_NIST_P256_SHA_256",
        "ECDSA_NIST_P384_SHA_384",
        "ECDSA_NIST_P521_SHA_512",
        "ECDSA_SECP256_K1_SHA_256",
    ),
    default_algorithm="RSA_2048_SIGN_PSS_SHA_256",
    verbs={**BINDING_VERBS, "sign": "POST", "signHash": "POST"},
    schema="AsymmetricSignatureKey",
)
FAMILIES: tuple[Family, ...] = (ENCRYPTION, SIGNATURE)
# asymmetric operation kinds -> their metadata message (in the family's package) and fields
ASYM_METADATA: Mapping[str, str] = {
    "asym-create": "Create{message}Metadata",
    "asym-update": "Update{message}Metadata",
    "asym-delete": "Delete{message}Metadata",
}
DURATION = re.compile(r"^([0-9]+)(\.[0-9]{1,9})?s$")
# proto3 JSON enums in requests: a name, or the number (index here) of a value; the spec admits only
# the numbers that may be set, so every number that passes validation has a row.
ALGORITHMS = (
    "SYMMETRIC_ALGORITHM_UNSPECIFIED",
    "AES_128",
    "AES_192",
    "AES_256",
    "AES_256_HSM",
    "GOST_R_3412_2015_K",
)
KEY_STATUSES = ("STATUS_UNSPECIFIED", "CREATING", "ACTIVE", "INACTIVE")
BINDING_ACTIONS = ("ACCESS_BINDING_ACTION_UNSPECIFIED", "ADD", "REMOVE")
# bytes fields: the protos' (length) annotations count decoded bytes
PLAINTEXT_MAX = 32768
AAD_MAX = 8192
# pageToken: (length) = "<=100" on every list request (ListSymmetricKeysRequest: 256 in a later cloudapi)
PAGE_TOKEN_MAX = 100
SIGN_HASH_MAX = 4096  # AsymmetricSignHashRequest.hash: (length) = "<=4096"


@dataclass(frozen=True)
class Behaviour:
    """Everything the mock consults that a switch can change; the defaults are the documented behaviour.

    faults.py builds one from a ``MockConfig``: a fault or option changes a row or a value here.
    """

    rules: Rules = field(default_factory=Rules)  # the model's (models.py)
    # -- reading requests --
    auth: Mapping[str, tuple[int, str] | None] = field(default_factory=lambda: dict(AUTH))
    key_id_lengths_checked: bool = True
    folders_isolated: bool = True  # a token sees the keys of its own folders only
    folder_list_checked: bool = True  # listing a folder the token has no access to is PERMISSION_DENIED
    labels_checked: bool = True
    max_page_size: int | None = 1000
    list_keys_token_limit: int = PAGE_TOKEN_MAX  # pageToken length ListSymmetricKeys allows (100 or 256)
    bad_page_token: tuple[int, str] = BAD_PAGE_TOKEN
    page_token_crashes: bool = False  # listing keys with a pageToken raises (a 500)
    operations_served: bool = True  # GET /operations/{id} finds operations
    # -- answers --
    flat_errors: bool = False  # error bodies {"error": message}, not google.rpc.Status
    timestamp_zone: str = "Z"  # what follows the time: Z, +00:00, or nothing
    durations_in_hours: bool = False
    description_as_number: bool = False
    snake_case_keys: bool = False  # SymmetricKey field names
    key_typed_as_version: bool = False  # key results of operations are the primary SymmetricKeyVersion
    both_results: bool = False  # a finished operation carries error and response
    empty_with_value: bool = False  # google.protobuf.Empty as {@type, value: {}}
    listed_responses_empty: bool = False  # ListOperations shows every response as Empty
    # -- asymmetric keys --
    asym_create_response_empty: bool = False  # Create's Operation response is Empty, not the key
    public_key_pem: bool = True  # False: GetPublicKey answers bare base64 DER, no PEM armour
    sign_wrong_hash: bool = False  # Sign hashes the message with another hash than the algorithm's
    decrypt_drops_last_byte: bool = False
    sign_hash_any_length: bool = False  # SignHash signs a digest of any length
    asym_list_empty: bool = False  # List of asymmetric keys answers no keys
    bindings_metadata_names_resource: bool = True  # False: access-binding metadata lacks resourceId
    asym_operations_listed: bool = True  # False: a key pair's ListOperations answers none
    asym_create_keeps_labels: bool = True  # False: an asymmetric Create drops its labels
    # -- symmetric crypto and what later reads show --
    crypto_sizes_checked: bool = True  # plaintext <= 32768 and aadContext <= 8192 decoded bytes
    sym_decrypt_drops_last_byte: bool = False
    re_encrypt_keeps_source: bool = False  # ReEncrypt answers a ciphertext of the source key
    data_key_mismatch: bool = False  # dataKeyCiphertext seals another key than dataKeyPlaintext
    skip_plaintext_ignored: bool = False
    encrypt_ignores_version: bool = False  # Encrypt uses the primary version whatever versionId says
    keys_list_empty: bool = False  # List of symmetric keys answers no keys
    page_tokens_followed: bool = True  # False: every page starts at the first item
    create_keeps_labels: bool = True  # False: Create drops its labels
    update_applies_unmasked: bool = False  # Update also applies body fields its mask does not name
    get_shows_primary_version: bool = True  # False: Get leaves primaryVersion out
    last_page_token: bool = False  # ListVersions' last page still carries a nextPageToken
    enum_numbers_refused: bool = False  # Create refuses defaultAlgorithm given by its enum number
    data_key_length_fixed: bool = False  # every data key is 32 bytes, whatever dataKeySpec says


# -- proto3 JSON ---------------------------------------------------------------------------------


@cache
def _folder_max() -> int:
    schema: dict[str, Any] = load_spec(VENDOR.spec)["components"]["parameters"]["folderIdQuery"]["schema"]
    return int(schema["maxLength"])


def b64d(text: str) -> bytes:
    """proto3 JSON bytes: standard or URL-safe base64, padding optional."""
    try:
        return base64.b64decode(
            text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text) else None
        )
    except ValueError:
        raise ApiError(3, "Request validation error: invalid base64") from None


def b64e(data: bytes) -> str:
    """Answers write bytes as padded standard base64, as the reference's examples do."""
    return base64.b64encode(data).decode()


def byte_field(body: Mapping[str, Any], name: str, limit: int | None = None) -> bytes:
    """A bytes field of a request, decoded; more than ``limit`` decoded bytes is a code 3 refusal."""
    data = b64d(body.get(name, ""))
    if limit is not None and len(data) > limit:
        raise ApiError(3, f"Request validation error: {name}: length must be <= {limit} bytes")
    return data


def enum_name(value: Any, names: tuple[str, ...]) -> Any:
    """proto3 JSON enum: a name stays, a number becomes the value's name."""
    if isinstance(value, int) and not isinstance(value, bool):
        return names[value]
    return value


def parse_duration(text: str) -> float:
    """proto3 JSON google.protobuf.Duration: seconds with an ``s`` suffix."""
    match = DURATION.match(text)
    if not match:
        raise ApiError(3, f"Request validation error: invalid duration {text!r}")
    return float(match.group(1) + (match.group(2) or ""))


def token_class(header: str | None) -> str:
    """Which row of ``AUTH`` an Authorization header falls in."""
    if header is None:
        return "missing"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return "malformed"
    return {TOKEN: "valid", OTHER_TOKEN: "valid", EXPIRED_TOKEN: "expired", FORBIDDEN_TOKEN: "forbidden"}.get(
        token, "unknown"
    )


def may_see(header: str | None, folder_id: str) -> bool:
    """Whether the caller's token has access to ``folder_id`` (each token to its own folders)."""
    token = (header or "").partition(" ")[2]
    return (folder_id == OTHER_FOLDER_ID) == (token == OTHER_TOKEN)


def family_of(name: str) -> Family:
    return next(f for f in FAMILIES if f.name == name)


def split_tail(tail: str) -> tuple[str, str | None]:
    """``{keyId}:verb`` -> (key id, verb); a suffix that is no known verb stays part of the id."""
    head, sep, verb = tail.rpartition(":")
    if sep and verb in KEY_VERBS:
        return head, verb
    return tail, None


def paged(name: str, items: list[Any], size: int, start: int) -> dict[str, Any]:
    out: dict[str, Any] = {name: items[start : start + size]}
    if start + size < len(items):
        out["nextPageToken"] = (
            base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode().rstrip("=")
        )
    return out


Work = Callable[[Request, dict[str, Any]], Any]


class YandexResponses:
    """Turns requests into model calls and model results into answers, for one ``Behaviour``."""

    def __init__(self, kms: YandexKms, behaviour: Behaviour) -> None:
        self.kms = kms
        self.behaviour = behaviour
        self.caller: str | None = None  # the Authorization header of the request being served

    def check_folder(self, folder_id: str) -> None:
        """PERMISSION_DENIED unless the caller's token has access to ``folder_id``."""
        if self.behaviour.folders_isolated and not may_see(self.caller, folder_id):
            raise ApiError(7, "Permission denied")

    # -- errors, auth, bodies --------------------------------------------------------------------

    def error_response(self, code: int, message: str) -> Response:
        status, body = error_answer(code, message, flat=self.behaviour.flat_errors)
        return JSONResponse(body, status_code=status)

    def authenticate(self, request: Request) -> None:
        refusal = self.behaviour.auth[token_class(request.headers.get("authorization"))]
        if refusal is not None:
            raise ApiError(*refusal)

    @staticmethod
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

    def handler(self, work: Work) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint: authenticate, read the body, run ``work`` under the model's lock, answer."""

        async def endpoint(request: Request) -> Response:
            try:
                self.authenticate(request)
                body = await self.read_json(request) if request.method in ("POST", "PATCH") else {}
                with self.kms.lock:
                    self.caller = request.headers.get("authorization")  # read by ``check_folder``
                    result = work(request, body)
                return JSONResponse(result)
            except ApiError as exc:
                return self.error_response(exc.code, exc.message)
            except RuntimeError as exc:
                status, answer = internal_answer(exc)
                return JSONResponse(answer, status_code=status)

        return endpoint

    def validate(self, schema_name: str, body: Any, *, labels: bool = True) -> None:
        """The first problem of ``body`` against the spec's ``schema_name`` is a code 3 refusal."""
        for problem in SpecValidator.of(VENDOR.spec).component_problems(schema_name, body):
            if not labels and problem.field == "labels":
                continue
            raise ApiError(3, f"Request validation error: {problem.where}: {problem.message}")

    def key(self, key_id: str, limit: int = 50) -> Key:
        """The key a path names: the id is checked first (required, at most ``limit`` characters)."""
        if not key_id:
            raise ApiError(3, "Request validation error: keyId: required")
        if len(key_id) > limit and self.behaviour.key_id_lengths_checked:
            raise ApiError(3, f"Request validation error: keyId: length must be <= {limit}")
        key = self.kms.get_key(key_id)
        self.check_folder(key.folder_id)
        return key

    def page(self, query: Mapping[str, str], token_limit: int) -> tuple[int, int]:
        """(page size, offset) from pageSize/pageToken; size 0 means the default, 100."""
        raw = query.get("pageSize", "0")
        try:
            size = int(raw)
        except ValueError:
            raise ApiError(3, "Request validation error: pageSize: not an int64") from None
        limit = self.behaviour.max_page_size
        if size < 0 or (limit is not None and size > limit):
            raise ApiError(3, "Request validation error: pageSize: must be in 0..1000")
        token = query.get("pageToken", "")
        if len(token) > token_limit:
            raise ApiError(3, f"Request validation error: pageToken: length must be <= {token_limit}")
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode() + b"==").decode().removeprefix("offset:"))
            except (ValueError, UnicodeDecodeError, binascii.Error):
                raise ApiError(*self.behaviour.bad_page_token) from None
        if not self.behaviour.page_tokens_followed:
            start = 0
        return (size or 100), start

    # -- rendering (proto3 JSON) -----------------------------------------------------------------

    def ts(self, value: datetime, *, precise: bool = False) -> str:
        """RFC 3339; keys carry seconds, operations nanoseconds (as the service's examples do)."""
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        if precise:
            text += f".{value.microsecond:06d}000"
        return text + self.behaviour.timestamp_zone

    def duration(self, seconds: float) -> str:
        if self.behaviour.durations_in_hours:
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
        """SymmetricKey; proto3 JSON leaves out empty and default fields."""
        out: dict[str, Any] = {"id": k.id, "folderId": k.folder_id, "createdAt": self.ts(k.created_at)}
        if k.name:
            out["name"] = k.name
        if k.description:
            out["description"] = len(k.description) if self.behaviour.description_as_number else k.description
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
        if self.behaviour.snake_case_keys:
            out = {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), n): v for n, v in out.items()}
        return out

    def get_key_json(self, k: Key) -> dict[str, Any]:
        out = self.key_json(k)
        if not self.behaviour.get_shows_primary_version:
            out.pop("primaryVersion", None)
        return out

    def asym_json(self, k: AsymKey) -> dict[str, Any]:
        """AsymmetricEncryptionKey / AsymmetricSignatureKey in proto3 JSON (defaults left out)."""
        family = family_of(k.family)
        out: dict[str, Any] = {"id": k.id, "folderId": k.folder_id, "createdAt": self.ts(k.created_at)}
        if k.name:
            out["name"] = k.name
        if k.description:
            out["description"] = k.description
        if k.labels:
            out["labels"] = dict(k.labels)
        out["status"] = k.status
        out[family.algorithm_field] = k.algorithm
        if k.deletion_protection:
            out["deletionProtection"] = True
        return out

    def empty_any(self) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": TYPE + "google.protobuf.Empty"}
        if self.behaviour.empty_with_value:
            out["value"] = {}
        return out

    def result_any(self, result: Result) -> dict[str, Any]:
        """An operation's result as google.protobuf.Any."""
        if isinstance(result, Key):
            if self.behaviour.key_typed_as_version:
                return {"@type": TYPE + KMS + "SymmetricKeyVersion", **self.version_json(result.primary)}
            return {"@type": TYPE + KMS + "SymmetricKey", **self.key_json(result)}
        if isinstance(result, Version):
            return {"@type": TYPE + KMS + "SymmetricKeyVersion", **self.version_json(result)}
        if isinstance(result, AsymKey):
            family = family_of(result.family)
            return {"@type": TYPE + family.package + family.message, **self.asym_json(result)}
        return self.empty_any()

    def metadata_json(self, op: Operation) -> dict[str, Any]:
        if op.kind in ASYM_METADATA:
            family = family_of(self.kms.asym[op.key_id].family)
            name = family.package + ASYM_METADATA[op.kind].format(message=family.message)
            return {"@type": TYPE + name, "keyId": op.key_id}
        message, fields = METADATA[op.kind]
        out: dict[str, Any] = {"@type": TYPE + message}
        if op.kind.endswith("-bindings") and not self.behaviour.bindings_metadata_names_resource:
            fields = ()
        for name, attribute in fields:
            value = getattr(op, attribute)
            out[name] = self.ts(value) if isinstance(value, datetime) else value
        return out

    def operation_json(self, op: Operation, *, listed: bool = False) -> dict[str, Any]:
        """yandex.cloud.operation.Operation; a due async operation finishes first."""
        self.kms.advance(op, poll=False)
        out: dict[str, Any] = {
            "id": op.id,
            "description": op.description,
            "createdAt": self.ts(op.created_at, precise=True),
            "createdBy": USER_ID,
            "modifiedAt": self.ts(op.modified_at, precise=True),
            "done": op.done,
            "metadata": self.metadata_json(op),
        }
        if op.error is not None:
            out["error"] = status_body(op.error.code, op.error.message, op.error.request_id)
        if op.response is not None:
            if op.kind == "asym-create" and self.behaviour.asym_create_response_empty:
                out["response"] = self.empty_any()
            elif listed and self.behaviour.listed_responses_empty:
                out["response"] = self.empty_any()
            else:
                out["response"] = self.result_any(op.response)
        if self.behaviour.both_results and op.done:
            out.setdefault("error", {"code": 2, "message": "unknown", "details": []})
            out.setdefault("response", self.empty_any())
        return out

    # -- SymmetricKeyService ---------------------------------------------------------------------

    def keys_root(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "POST":
            return self.create(body, request.headers.get("idempotency-key"))
        return self.list_keys(dict(request.query_params))

    def create(self, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        self.validate("CreateSymmetricKeyRequest", body, labels=self.behaviour.labels_checked)
        self.check_folder(body["folderId"])
        if self.behaviour.enum_numbers_refused and isinstance(body.get("defaultAlgorithm"), int):
            raise ApiError(3, "Request validation error: defaultAlgorithm: not an enum name")
        spec = KeySpec(
            folder_id=body["folderId"],
            default_algorithm=enum_name(body["defaultAlgorithm"], ALGORITHMS),
            name=body.get("name", ""),
            description=body.get("description", ""),
            labels=dict(body.get("labels", {})) if self.behaviour.create_keeps_labels else {},
            rotation_period=parse_duration(body["rotationPeriod"]) if "rotationPeriod" in body else None,
            deletion_protection=bool(body.get("deletionProtection", False)),
        )
        return self.operation_json(self.kms.create(spec, idem))

    def list_keys(self, query: dict[str, str]) -> dict[str, Any]:
        folder = query.get("folderId")
        if not folder or len(folder) > _folder_max():
            raise ApiError(3, "Request validation error: folderId: required, length 1..50")
        if self.behaviour.folder_list_checked and not may_see(self.caller, folder):
            raise ApiError(7, "Permission denied")  # YC-ISO-002's own switch, not folders_isolated
        if self.behaviour.page_token_crashes and query.get("pageToken"):
            raise RuntimeError("the mock's fault: page tokens crash the listing")
        size, start = self.page(query, token_limit=self.behaviour.list_keys_token_limit)
        keys = [] if self.behaviour.keys_list_empty else self.kms.keys_in(folder)
        return paged("keys", [self.key_json(k) for k in keys], size, start)

    def key_tail(self, request: Request, body: dict[str, Any]) -> Any:
        """/kms/v1/keys/{keyId} and its custom verbs."""
        key_id, verb = split_tail(request.path_params["tail"])
        method = request.method
        idem = request.headers.get("idempotency-key")
        if verb is None:
            plain: Mapping[str, Callable[[], Any]] = {
                "GET": lambda: self.get_key_json(self.key(key_id)),
                "PATCH": lambda: self.update(key_id, body, idem),
                "DELETE": lambda: self.operation_json(self.kms.delete(self.key(key_id), idem)),
            }
            if method not in plain:
                raise ApiError(12, "Method not allowed")
            return plain[method]()
        if method != KEY_VERBS[verb]:
            raise ApiError(12, "Method not allowed")
        if verb == "listAccessBindings":
            return self.list_bindings(key_id, dict(request.query_params))
        return self.verb(verb, key_id, body, idem)

    def verb(self, verb: str, key_id: str, body: dict[str, Any], idem: str | None) -> Any:
        actions: Mapping[str, Callable[[], Any]] = {
            "setPrimaryVersion": lambda: self.set_primary(key_id, body, idem),
            "scheduleVersionDestruction": lambda: self.schedule(key_id, body, idem),
            "cancelVersionDestruction": lambda: self.cancel(key_id, body, idem),
            "rotate": lambda: self.operation_json(self.kms.rotate(self.key(key_id), idem)),
            "setAccessBindings": lambda: self.set_bindings(key_id, body, idem),
            "updateAccessBindings": lambda: self.update_bindings(key_id, body, idem),
            "encrypt": lambda: self.encrypt(key_id, body),
            "decrypt": lambda: self.decrypt(key_id, body),
            "reEncrypt": lambda: self.re_encrypt(key_id, body),
            "generateDataKey": lambda: self.generate_data_key(key_id, body),
        }
        return actions[verb]()

    def update(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id)
        self.validate("UpdateSymmetricKeyRequest", body, labels=self.behaviour.labels_checked)
        body = dict(body)
        for name, names in (("status", KEY_STATUSES), ("defaultAlgorithm", ALGORITHMS)):
            if name in body:
                body[name] = enum_name(body[name], names)
        paths = body["updateMask"].split(",")
        if "status" in paths and "status" not in body:
            raise ApiError(3, "Request validation error: status: only ACTIVE or INACTIVE can be set")
        if self.behaviour.update_applies_unmasked:
            paths += [
                name for name in ("name", "description", "labels") if name in body and name not in paths
            ]
        changes = []
        for path in paths:
            value = body.get(path, MISSING)
            if path == "rotationPeriod" and value is not MISSING:
                value = parse_duration(value)
            changes.append((MASK_FIELDS[path], value))
        return self.operation_json(self.kms.update(k, changes, idem))

    def _version_body(self, key_id: str, schema: str, body: dict[str, Any]) -> tuple[Key, str]:
        """The key and the body's versionId, for the three version methods."""
        k = self.key(key_id)
        self.validate(schema, body)
        return k, body["versionId"]

    def set_primary(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k, version_id = self._version_body(key_id, "SetPrimarySymmetricKeyVersionRequest", body)
        return self.operation_json(self.kms.set_primary(k, version_id, idem))

    def schedule(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k, version_id = self._version_body(key_id, "ScheduleSymmetricKeyVersionDestructionRequest", body)
        pending = parse_duration(body["pendingPeriod"]) if "pendingPeriod" in body else None
        return self.operation_json(self.kms.schedule(k, version_id, pending, idem))

    def cancel(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k, version_id = self._version_body(key_id, "CancelSymmetricKeyVersionDestructionRequest", body)
        return self.operation_json(self.kms.cancel(k, version_id, idem))

    def list_versions(self, request: Request, body: dict[str, Any]) -> Any:
        k = self.key(request.path_params["key_id"])
        size, start = self.page(dict(request.query_params), token_limit=PAGE_TOKEN_MAX)
        out = paged("keyVersions", [self.version_json(v) for v in k.versions], size, start)
        if self.behaviour.last_page_token and "nextPageToken" not in out:
            out["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{len(k.versions)}".encode()).decode()
        return out

    def list_operations(self, request: Request, body: dict[str, Any]) -> Any:
        k = self.key(request.path_params["key_id"])
        size, start = self.page(dict(request.query_params), token_limit=PAGE_TOKEN_MAX)
        ops = [self.operation_json(op, listed=True) for op in self.kms.operations_of(k)]
        return paged("operations", ops, size, start)

    # -- access bindings -------------------------------------------------------------------------

    def list_bindings(self, key_id: str, query: dict[str, str]) -> dict[str, Any]:
        k = self.key(key_id, limit=64)
        size, start = self.page(query, token_limit=PAGE_TOKEN_MAX)
        return paged("accessBindings", copy.deepcopy(k.bindings), size, start)

    def set_bindings(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id, limit=64)
        self.validate("SetAccessBindingsRequest", body)
        return self.operation_json(self.kms.set_bindings(k, body.get("accessBindings", []), idem))

    def update_bindings(self, key_id: str, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        k = self.key(key_id, limit=64)
        self.validate("UpdateAccessBindingsRequest", body)
        deltas = [
            {**delta, "action": enum_name(delta["action"], BINDING_ACTIONS)}
            for delta in body["accessBindingDeltas"]
        ]
        return self.operation_json(self.kms.update_bindings(k, deltas, idem))

    # -- OperationService ------------------------------------------------------------------------

    def operations(self, request: Request, body: dict[str, Any]) -> Any:
        """GET /operations/{id}, and {id}:cancel by GET (descriptor) or POST (docs)."""
        tail = request.path_params["tail"]
        if tail.endswith(":cancel"):
            op = self.kms.operation(tail.removesuffix(":cancel"))
            self.kms.cancel_operation(op)
            return self.operation_json(op)
        if request.method != "GET":
            raise ApiError(12, "Method not allowed")
        if not self.behaviour.operations_served:
            raise ApiError(5, f"Operation {tail!r} not found")
        op = self.kms.operation(tail)
        self.kms.advance(op, poll=True)
        return self.operation_json(op)

    # -- SymmetricCryptoService ------------------------------------------------------------------

    def encrypt(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        self.validate("SymmetricEncryptRequest", body)
        checked = self.behaviour.crypto_sizes_checked
        plaintext = byte_field(body, "plaintext", PLAINTEXT_MAX if checked else None)
        aad = byte_field(body, "aadContext", AAD_MAX if checked else None)
        version_id = None if self.behaviour.encrypt_ignores_version else body.get("versionId")
        v = self.kms.usable_version(k, version_id)
        ct = self.kms.seal(v, plaintext, aad)
        return {"keyId": k.id, "versionId": v.id, "ciphertext": b64e(ct)}

    def decrypt(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        self.validate("SymmetricDecryptRequest", body)
        aad = byte_field(body, "aadContext", AAD_MAX)
        v, pt = self.kms.open(k, byte_field(body, "ciphertext"), aad)
        if self.behaviour.sym_decrypt_drops_last_byte:
            pt = pt[:-1]
        out = {"keyId": k.id, "versionId": v.id}
        if pt:
            out["plaintext"] = b64e(pt)
        return out

    def re_encrypt(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        self.validate("SymmetricReEncryptRequest", body)
        aad = byte_field(body, "aadContext", AAD_MAX)
        source_aad = byte_field(body, "sourceAadContext", AAD_MAX)
        source = self.key(body["sourceKeyId"])
        sv, pt = self.kms.open(source, byte_field(body, "ciphertext"), source_aad)
        v = self.kms.usable_version(k, body.get("versionId"))
        ct = self.kms.seal(sv if self.behaviour.re_encrypt_keeps_source else v, pt, aad)
        return {
            "keyId": k.id,
            "versionId": v.id,
            "sourceKeyId": source.id,
            "sourceVersionId": sv.id,
            "ciphertext": b64e(ct),
        }

    def generate_data_key(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.key(key_id)
        self.validate("GenerateDataKeyRequest", body)
        aad = byte_field(body, "aadContext", AAD_MAX)
        v = self.kms.usable_version(k, body.get("versionId"))
        spec = "AES_256" if self.behaviour.data_key_length_fixed else body.get("dataKeySpec", "AES_256")
        dek = self.kms.data_key(enum_name(spec, ALGORITHMS))
        out = {"keyId": k.id, "versionId": v.id}
        if not body.get("skipPlaintext", False) or self.behaviour.skip_plaintext_ignored:
            out["dataKeyPlaintext"] = b64e(dek)
        sealed = (
            self.kms.data_key(enum_name(body.get("dataKeySpec", "AES_256"), ALGORITHMS))
            if self.behaviour.data_key_mismatch
            else dek
        )
        out["dataKeyCiphertext"] = b64e(self.kms.seal(v, sealed, aad))
        return out

    # -- AsymmetricEncryptionKeyService / AsymmetricSignatureKeyService (and their crypto) --------

    def asym_key(self, family: Family, key_id: str, limit: int = 50) -> AsymKey:
        if not key_id:
            raise ApiError(3, "Request validation error: keyId: required")
        if len(key_id) > limit and self.behaviour.key_id_lengths_checked:
            raise ApiError(3, f"Request validation error: keyId: length must be <= {limit}")
        key = self.kms.get_asym(family.name, key_id)
        self.check_folder(key.folder_id)
        return key

    def asym_root(self, family: Family) -> Work:
        def work(request: Request, body: dict[str, Any]) -> Any:
            if request.method == "POST":
                return self.asym_create(family, body, request.headers.get("idempotency-key"))
            query = dict(request.query_params)
            folder = query.get("folderId")
            if not folder or len(folder) > _folder_max():
                raise ApiError(3, "Request validation error: folderId: required, length 1..50")
            size, start = self.page(query, token_limit=PAGE_TOKEN_MAX)
            keys = [self.asym_json(k) for k in self.kms.asym_in(family.name, folder)]
            return paged("keys", [] if self.behaviour.asym_list_empty else keys, size, start)

        return work

    def asym_create(self, family: Family, body: dict[str, Any], idem: str | None) -> dict[str, Any]:
        self.validate(f"Create{family.schema}Request", body, labels=self.behaviour.labels_checked)
        algorithm = enum_name(body.get(family.algorithm_field, 0), family.algorithms)
        spec = AsymKeySpec(
            family=family.name,
            folder_id=body["folderId"],
            algorithm=algorithm if algorithm != family.algorithms[0] else family.default_algorithm,
            name=body.get("name", ""),
            description=body.get("description", ""),
            labels=dict(body.get("labels", {})) if self.behaviour.asym_create_keeps_labels else {},
            deletion_protection=bool(body.get("deletionProtection", False)),
        )
        return self.operation_json(self.kms.create_asym(spec, idem))

    def asym_update(self, family: Family, key_id: str, body: dict[str, Any], idem: str | None) -> Any:
        k = self.asym_key(family, key_id)
        self.validate(f"Update{family.schema}Request", body, labels=self.behaviour.labels_checked)
        paths = body["updateMask"].split(",")
        if "status" in paths and "status" not in body:
            raise ApiError(3, "Request validation error: status: only ACTIVE or INACTIVE can be set")
        changes = []
        for path in paths:
            value = body.get(path, MISSING)
            if path == "status":
                value = enum_name(value, KEY_STATUSES)
            changes.append(({"deletionProtection": "deletion_protection"}.get(path, path), value))
        return self.operation_json(self.kms.update_asym(k, changes, idem))

    def asym_operations(self, family: Family) -> Work:
        def work(request: Request, body: dict[str, Any]) -> Any:
            k = self.asym_key(family, request.path_params["key_id"])
            size, start = self.page(dict(request.query_params), token_limit=PAGE_TOKEN_MAX)
            ops = [self.operation_json(op, listed=True) for op in self.kms.operations_of(k)]
            if not self.behaviour.asym_operations_listed:
                ops = []
            return paged("operations", ops, size, start)

        return work

    def asym_public_key(self, family: Family) -> Work:
        def work(request: Request, body: dict[str, Any]) -> Any:
            k = self.asym_key(family, request.path_params["key_id"])
            pem = asymmetric.public_pem(self.kms.usable_asym(k, public=True))
            if not self.behaviour.public_key_pem:
                pem = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
            return {"keyId": k.id, "publicKey": pem}

        return work

    def asym_tail(self, family: Family) -> Work:
        """/kms/v1/<collection>/{keyId} and its custom verbs."""

        def work(request: Request, body: dict[str, Any]) -> Any:
            key_id, _, verb = request.path_params["tail"].rpartition(":")
            if not _ or verb not in family.verbs:
                key_id, verb = request.path_params["tail"], ""
            method = request.method
            idem = request.headers.get("idempotency-key")
            if not verb:
                plain: Mapping[str, Callable[[], Any]] = {
                    "GET": lambda: self.asym_json(self.asym_key(family, key_id)),
                    "PATCH": lambda: self.asym_update(family, key_id, body, idem),
                    "DELETE": lambda: self.operation_json(
                        self.kms.delete_asym(self.asym_key(family, key_id), idem)
                    ),
                }
                if method not in plain:
                    raise ApiError(12, "Method not allowed")
                return plain[method]()
            if method != family.verbs[verb]:
                raise ApiError(12, "Method not allowed")
            if verb == "listAccessBindings":
                k = self.asym_key(family, key_id, limit=64)
                size, start = self.page(dict(request.query_params), token_limit=PAGE_TOKEN_MAX)
                return paged("accessBindings", copy.deepcopy(k.bindings), size, start)
            if verb == "setAccessBindings":
                k = self.asym_key(family, key_id, limit=64)
                self.validate("SetAccessBindingsRequest", body)
                return self.operation_json(self.kms.set_bindings(k, body.get("accessBindings", []), idem))
            if verb == "updateAccessBindings":
                k = self.asym_key(family, key_id, limit=64)
                self.validate("UpdateAccessBindingsRequest", body)
                deltas = [
                    {**delta, "action": enum_name(delta["action"], BINDING_ACTIONS)}
                    for delta in body["accessBindingDeltas"]
                ]
                return self.operation_json(self.kms.update_bindings(k, deltas, idem))
            return self.asym_crypto(family, verb, key_id, body)

        return work

    def asym_crypto(self, family: Family, verb: str, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        k = self.asym_key(family, key_id)
        if verb == "decrypt":
            self.validate("AsymmetricDecryptRequest", body)
            ciphertext = byte_field(body, "ciphertext", PLAINTEXT_MAX)
            plaintext = asymmetric.decrypt(self.kms.usable_asym(k), ciphertext)
            if self.behaviour.decrypt_drops_last_byte:
                plaintext = plaintext[:-1]
            out = {"keyId": k.id}
            if plaintext:
                out["plaintext"] = b64e(plaintext)
            return out
        if verb == "sign":
            self.validate("AsymmetricSignRequest", body)
            message = byte_field(body, "message", PLAINTEXT_MAX)
            private = self.kms.usable_asym(k)
            if self.behaviour.sign_wrong_hash:
                size = asymmetric.digest_size(k.algorithm)
                wrong = hashlib.sha512(message) if size != 64 else hashlib.sha256(message)
                digest = (wrong.digest() * 2)[:size]
                signature = asymmetric.sign(private, k.algorithm, digest, prehashed=True)
            else:
                signature = asymmetric.sign(private, k.algorithm, message, prehashed=False)
            return {"keyId": k.id, "signature": b64e(signature)}
        self.validate("AsymmetricSignHashRequest", body)
        digest = byte_field(body, "hash", SIGN_HASH_MAX)
        private = self.kms.usable_asym(k)
        size = asymmetric.digest_size(k.algorithm)
        if len(digest) != size and self.behaviour.sign_hash_any_length:
            digest = (digest + bytes(size))[:size]
        if len(digest) != size:
            raise ApiError(3, f"Request validation error: hash: {k.algorithm} signs a {size}-byte digest")
        signature = asymmetric.sign(private, k.algorithm, digest, prehashed=True)
        return {"keyId": k.id, "signature": b64e(signature)}

    # -- the mock's own hook ---------------------------------------------------------------------

    def clock(self, request: Request, body: dict[str, Any]) -> Any:
        """POST /_mock/clock {"advanceSeconds": N}: not a vendor API (for the destroyAt rule)."""
        return {"now": self.ts(self.kms.advance_clock(float(body.get("advanceSeconds", 0))), precise=True)}


def build_app(kms: YandexKms, behaviour: Behaviour) -> Starlette:
    """The Starlette app serving ``kms`` under ``behaviour``; the model is ``app.state.kms``."""
    api = YandexResponses(kms, behaviour)
    routes = [
        Route("/kms/v1/keys", api.handler(api.keys_root), methods=["GET", "POST"]),
        Route("/kms/v1/keys/{key_id}/versions", api.handler(api.list_versions), methods=["GET"]),
        Route("/kms/v1/keys/{key_id}/operations", api.handler(api.list_operations), methods=["GET"]),
        Route("/kms/v1/keys/{tail}", api.handler(api.key_tail), methods=["GET", "POST", "PATCH", "DELETE"]),
        *(
            route
            for family in FAMILIES
            for route in (
                Route(
                    f"/kms/v1/{family.collection}",
                    api.handler(api.asym_root(family)),
                    methods=["GET", "POST"],
                ),
                Route(
                    f"/kms/v1/{family.collection}/{{key_id}}/operations",
                    api.handler(api.asym_operations(family)),
                    methods=["GET"],
                ),
                Route(
                    f"/kms/v1/{family.collection}/{{key_id}}/publicKey",
                    api.handler(api.asym_public_key(family)),
                    methods=["GET"],
                ),
                Route(
                    f"/kms/v1/{family.collection}/{{tail}}",
                    api.handler(api.asym_tail(family)),
                    methods=["GET", "POST", "PATCH", "DELETE"],
                ),
            )
        ),
        Route("/operations/{tail}", api.handler(api.operations), methods=["GET", "POST"]),
        Route("/_mock/clock", api.handler(api.clock), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False
    app.add_exception_handler(
        404, lambda request, exc: api.error_response(5, f"Not found: {request.url.path}")
    )
    app.add_exception_handler(405, lambda request, exc: JSONResponse(METHOD_NOT_ALLOWED, status_code=405))
    app.state.kms = kms
    return app

"""The Huawei KMS mock's HTTP side: routes, authentication, request validation, JSON answers.

Where are requests validated?  ``HuaweiResponses.validate``: the body against ``specs/huawei.yaml``
(``SpecValidator``); the first failing field maps to its documented KMS code
(``exceptions.FIELD_CODES``), in the order the Huawei error table implies: JSON, missing field,
key_id, sequence, field-specific.  Existence and state come after, from the model (models.py).
Where is authentication?  ``HuaweiResponses.authenticate``: X-Auth-Token, AK/SK signature, IAM tokens.
What a switch changes is a ``Behaviour`` value (built in faults.py); handlers ask nothing else.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import secrets
import textwrap
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.mocks.validation import Problem, SpecValidator
from conformance.vendors.huawei import VENDOR
from conformance.vendors.huawei.aksk import verify as verify_signature
from conformance.vendors.huawei.mock.exceptions import (
    CREDENTIAL_REFUSALS,
    EMPTY_TAG_LIST,
    ENVELOPES,
    FIELD_CODES,
    INVALID_KEY_ID,
    NOT_WHOLE_BYTES,
    ONLY_CREATE_GRANT,
    OTHER_FIELD_CODE,
    WITHOUT_PLAINTEXT_LENGTH,
    GatewayError,
    KmsError,
    Refusal,
    bad_signature,
    no_such_api,
)
from conformance.vendors.huawei.mock.models import (
    AK,
    DOMAIN_ID,
    EXPIRED_TOKEN,
    FORBIDDEN_TOKEN,
    IAM_DOMAIN,
    IAM_PASSWORD,
    IAM_USER,
    KEY_QUOTA,
    OTHER_PROJECT_ID,
    OTHER_TOKEN,
    PROJECT_ID,
    SK,
    TO_BE_ACTIVATED,
    TOKEN,
    TRANSITIONS,
    Grant,
    GrantPage,
    HuaweiKms,
    Key,
    Rules,
    wrap,
)

# Fields the docs type as strings that real clients send as numbers (option json-numbers).
NUMERIC_STRING_FIELDS = (
    "pending_days",
    "limit",
    "marker",
    "datakey_length",
    "datakey_plain_length",
    "datakey_cipher_length",
    "random_data_length",
)
# State changes whose answer is wrapped in key_info; schedule/cancel answer flat.
WRAPPED_ANSWERS = frozenset({"enable-key", "disable-key"})
KEY_ID = re.compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}")
ROTATION_ACTIONS = (
    "enable-key-rotation",
    "disable-key-rotation",
    "get-key-rotation-status",
    "update-key-rotation-interval",
)

# action path segment -> operationId of the POST operations that take a JSON body
POST_ACTIONS = {
    "create-key": "createKey",
    "describe-key": "describeKey",
    "list-keys": "listKeys",
    "enable-key": "enableKey",
    "disable-key": "disableKey",
    "schedule-key-deletion": "scheduleKeyDeletion",
    "cancel-key-deletion": "cancelKeyDeletion",
    "update-key-alias": "updateKeyAlias",
    "update-key-description": "updateKeyDescription",
    "create-datakey": "createDatakey",
    "create-datakey-without-plaintext": "createDatakeyWithoutPlaintext",
    "encrypt-datakey": "encryptDatakey",
    "decrypt-datakey": "decryptDatakey",
    "gen-random": "genRandom",
    "encrypt-data": "encryptData",
    "decrypt-data": "decryptData",
    "enable-key-rotation": "enableKeyRotation",
    "disable-key-rotation": "disableKeyRotation",
    "get-key-rotation-status": "getKeyRotationStatus",
    "update-key-rotation-interval": "updateKeyRotationInterval",
    "create-grant": "createGrant",
    "list-grants": "listGrants",
    "list-retirable-grants": "listRetirableGrants",
    "revoke-grant": "revokeGrant",
    "retire-grant": "retireGrant",
    "get-parameters-for-import": "getParametersForImport",
    "import-key-material": "importKeyMaterial",
    "delete-imported-key-material": "deleteImportedKeyMaterial",
    "get-publickey": "showPublicKey",
    "sign": "sign",
    "verify": "validateSignature",
}

# The project each token of the mock account is scoped to.
TOKEN_PROJECTS = {TOKEN: PROJECT_ID, OTHER_TOKEN: OTHER_PROJECT_ID}


@dataclass(frozen=True)
class Behaviour:
    """Everything the mock consults that a switch can change; the defaults are the documented behaviour.

    faults.py builds one from a ``MockConfig``: a fault or option changes a row or a value here.
    """

    rules: Rules = field(default_factory=Rules)  # the model's (models.py)
    # -- reading requests --
    field_codes: Mapping[str, str] = field(default_factory=lambda: dict(FIELD_CODES))
    numbers_as_strings: tuple[str, ...] = ()  # JSON numbers read as their decimal strings
    tolerated_values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # accepted against the spec
    optional_fields: frozenset[str] = frozenset()  # required fields whose absence is accepted
    unchecked_fields: Mapping[str, frozenset[str]] = field(
        default_factory=dict
    )  # operationId -> fields not validated
    without_plaintext_length_code: str = (
        WITHOUT_PLAINTEXT_LENGTH  # create-datakey-without-plaintext's datakey_length
    )
    crash_on_wrong_type: bool = False  # a field of the wrong JSON type raises
    crash_on_bad_json: bool = False  # a body that is not JSON raises
    crash_as_plain_text: bool = False  # an unexpected exception answers text/plain, not KMS.0101
    # -- credentials --
    refusals: Mapping[str, Refusal | None] = field(default_factory=lambda: dict(CREDENTIAL_REFUSALS))
    iam_token_lifetime: str = "86400"  # seconds
    # -- answers --
    kms_envelope: str = "wrapped"  # an ENVELOPES name
    gateway_envelope: str = "flat"
    wrapped_answers: frozenset[str] = WRAPPED_ANSWERS
    state_as_number: bool = False  # describe-key's key_state
    truncated_as_boolean: bool = False  # list-keys' truncated
    random_bits_per_byte: int = 8  # gen-random answers random_data_length / this many bytes
    datakey_bytes_dropped: int = 0  # decrypt-datakey answers the data key short of this many bytes
    verify_verdict: bool | None = None  # verify answers this whatever the signature (None: the truth)
    invalid_signature_refused: bool = False  # verify refuses a bad signature (400) instead of "false"
    publickey_empty: bool = False  # get-publickey answers an empty public_key
    default_key_spec: str = "AES_256"  # create-key without key_spec (CreateKey.html)
    list_default_spec: str = "AES_256"  # list-keys without key_spec lists only these (ListKeys.html)
    import_public_key_pem: bool = False  # get-parameters-for-import answers PEM instead of Base64 DER
    without_plaintext_leaks: bool = False  # create-datakey-without-plaintext answers plain_text too
    grants_truncated_boolean: bool = False  # list-grants' truncated as a JSON boolean
    project_tags_listed: bool = True  # list-kms-tags lists the project's tags
    tag_count_zero: bool = False  # list-kms-by-tags action count answers total_count 0
    instances_zero: bool = False  # user-instances answers instance_num 0
    quotas_flat: bool = False  # user-quotas answers resources at top level, not in quotas
    signature_checked: bool = True  # an AK/SK signature that does not verify is 401 APIGW.0301
    token_project_checked: bool = True  # a token on another project's path is 403 KMS.0321
    datakey_plain_mismatch: bool = False  # create-datakey's plain_text is not the key its cipher_text seals
    rotation_status_partial: bool = (
        False  # get-key-rotation-status without last_rotation_time / number_of_rotations
    )


def _whole_bits_missing(value: Any) -> bool:
    """A datakey_length within 8..8192 bits that is not a whole number of bytes."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return False
    return 8 <= int(value) <= 8192 and int(value) % 8 != 0


def key_details(key: Key, state_as_number: bool = False) -> dict[str, Any]:
    """KeyDetails (describe-key, list-keys, list-kms-by-tags): every field a string."""
    return {
        "key_id": key.key_id,
        "domain_id": DOMAIN_ID,
        "key_alias": key.alias,
        "realm": "mock-region-1",
        "key_spec": key.spec,
        "key_usage": key.usage,
        "key_description": key.description,
        "creation_date": str(key.created_ms),
        "scheduled_deletion_date": str(key.deletion_ms) if key.deletion_ms else "",
        "key_state": int(key.state) if state_as_number else key.state,
        "default_key_flag": "0",
        "key_type": "1",
        "expiration_time": str(key.material_expiry_s * 1000) if key.material_expiry_s else "",
        "origin": key.origin,
        "key_rotation_enabled": "true" if key.rotation_enabled else "false",
        "sys_enterprise_project_id": "0",
        "keystore_id": "0",
    }


def grant_details(grant: Grant) -> dict[str, Any]:
    """One entry of list-grants / list-retirable-grants (ListGrants.html)."""
    return {
        "key_id": grant.key_id,
        "grant_id": grant.grant_id,
        "grantee_principal": grant.grantee_principal,
        "grantee_principal_type": grant.grantee_type,
        "operations": list(grant.operations),
        "issuing_principal": grant.issuing_principal,
        "creation_date": str(grant.created_ms),
        "name": grant.name,
        "retiring_principal": grant.retiring_principal,
    }


def _pem(der: bytes) -> str:
    """A DER public key as PEM text (what fault import-public-key-pem answers)."""
    lines = textwrap.wrap(base64.b64encode(der).decode(), 64)
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def _tag_list(key: Key) -> list[dict[str, str]]:
    return [{"key": name, "value": value} for name, value in key.tags.items()]


Handler = Callable[[str, dict[str, Any]], Any]  # (project, body) -> JSON answer or None
TagHandler = Callable[[str, Mapping[str, str], Any], Any]  # (project, path params, body)


class HuaweiResponses:
    """Turns requests into model calls and model results into answers, for one ``Behaviour``."""

    def __init__(self, kms: HuaweiKms, behaviour: Behaviour) -> None:
        self.kms = kms
        self.behaviour = behaviour
        self.validator = SpecValidator.of(VENDOR.spec)
        # POST action -> handler; state changes share ``transition``.
        self.actions: dict[str, Handler] = {
            "create-key": self.create_key,
            "describe-key": self.describe_key,
            "list-keys": self.list_keys,
            "update-key-alias": self.update_alias,
            "update-key-description": self.update_description,
            "create-datakey": self.create_datakey,
            "create-datakey-without-plaintext": self.create_datakey_without_plaintext,
            "encrypt-datakey": self.encrypt_datakey,
            "decrypt-datakey": self.decrypt_datakey,
            "gen-random": self.gen_random,
            "encrypt-data": self.encrypt_data,
            "decrypt-data": self.decrypt_data,
            **{action: functools.partial(self.transition, action) for action in TRANSITIONS},
            "enable-key-rotation": self.enable_rotation,
            "disable-key-rotation": self.disable_rotation,
            "get-key-rotation-status": self.rotation_status,
            "update-key-rotation-interval": self.update_rotation_interval,
            "create-grant": self.create_grant,
            "list-grants": self.list_grants,
            "list-retirable-grants": self.list_retirable_grants,
            "revoke-grant": self.revoke_grant,
            "retire-grant": self.retire_grant,
            "get-parameters-for-import": self.import_parameters,
            "import-key-material": self.import_material,
            "delete-imported-key-material": self.delete_material,
            "get-publickey": self.public_key,
            "sign": self.sign,
            "verify": self.verify,
        }
        assert set(self.actions) == set(POST_ACTIONS), "every routed action has a handler"

    # -- answers ---------------------------------------------------------------------------
    def error_response(
        self, status: int, code: str, message: str, request_id: str, gateway: bool = False
    ) -> Response:
        envelope = ENVELOPES[self.behaviour.gateway_envelope if gateway else self.behaviour.kms_envelope]
        return JSONResponse(
            envelope(code, message, request_id), status_code=status, headers={"X-Request-Id": request_id}
        )

    def gateway_response(self, exc: GatewayError, request_id: str) -> Response:
        return self.error_response(exc.status, exc.code, exc.message, request_id, gateway=True)

    async def handle(
        self, request: Request, operation: Callable[[bytes], Any], status: int = 200
    ) -> Response:
        """Authenticate, run ``operation`` on the raw body under the model lock, answer."""
        request_id = uuid.uuid4().hex
        raw = await request.body()
        try:
            self.authenticate(request, request.path_params["project_id"], raw)
            with self.kms.lock:
                result = operation(raw)
        except KmsError as exc:
            return self.error_response(exc.status, exc.code, exc.message, request_id)
        except GatewayError as exc:
            return self.gateway_response(exc, request_id)
        except Exception:  # noqa: BLE001 - a crash is a documented 500, never a dropped connection
            if self.behaviour.crash_as_plain_text:
                return Response("Internal Server Error", status_code=500, media_type="text/plain")
            return self.error_response(500, "KMS.0101", "KMS error.", request_id)
        headers = {"X-Request-Id": request_id}
        if status == 204 or result is None:
            return Response(status_code=status if status == 204 else 200, headers=headers)
        return JSONResponse(result, status_code=status, headers=headers)

    # -- credentials -----------------------------------------------------------------------
    def authenticate(self, request: Request, project: str, body: bytes) -> None:
        """An AK/SK signature, or an X-Auth-Token of the mock account for ``project``."""
        headers = request.headers
        token = headers.get("x-auth-token")
        if token is None and headers.get("authorization", "").startswith("SDK-HMAC-SHA256"):
            problem = verify_signature(
                {AK: SK}, request.method, request.url.path, request.url.query, headers, body
            )
            if problem and self.behaviour.signature_checked:
                raise bad_signature(problem)
            return
        if token is None:
            self._refuse("missing")
            return
        self._refuse(self._token_kind(token))
        if project != TOKEN_PROJECTS.get(token, PROJECT_ID) and self.behaviour.token_project_checked:
            raise KmsError("KMS.0321")  # a token is scoped to one project

    def _token_kind(self, token: str) -> str:
        """A CREDENTIAL_REFUSALS row: valid, expired, forbidden or invalid."""
        expiry = self.kms.iam_token_expiry(token)
        if expiry is not None:
            return "expired" if time.time() >= expiry else "valid"
        return {
            EXPIRED_TOKEN: "expired",
            FORBIDDEN_TOKEN: "forbidden",
            TOKEN: "valid",
            OTHER_TOKEN: "valid",
        }.get(token, "invalid")

    def _refuse(self, kind: str) -> None:
        refusal = self.behaviour.refusals.get(kind)
        if refusal is not None:
            raise refusal.error()

    # -- reading requests ------------------------------------------------------------------
    def parse(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            if self.behaviour.crash_on_bad_json:
                raise RuntimeError("simulated crash on invalid JSON") from None
            raise KmsError("KMS.0202") from None
        if not isinstance(body, dict):
            raise KmsError("KMS.0202")
        return body

    def validate(self, operation_id: str, body: Any) -> None:
        """The spec's verdict on ``body``, as the KMS code of its first problem."""
        if isinstance(body, dict):
            self._read_numbers_as_strings(body)
        problems = self.validator.body_problems(operation_id, body)
        if isinstance(body, dict):
            unchecked = self.behaviour.unchecked_fields.get(operation_id, frozenset())
            problems = [p for p in problems if not self._tolerated(p, body) and p.field not in unchecked]
            if self.behaviour.crash_on_wrong_type and any(p.kind == "type" and p.field for p in problems):
                raise RuntimeError("simulated crash on a field of the wrong type")
        if not problems:
            return
        first = problems[0]
        if first.field is None:
            raise KmsError("KMS.0202")
        if first.kind == "required":
            raise KmsError("KMS.0204", f"Parameters missing in the request message: {first.field}.")
        raise KmsError(self._code_for(operation_id, first, body))

    def _code_for(self, operation_id: str, problem: Problem, body: Any) -> str:
        """The documented code of a field's problem: the field's code, or a more specific one."""
        value = body.get(problem.field) if isinstance(body, dict) and problem.field else None
        if operation_id == "createDatakeyWithoutPlaintext" and problem.path == ("datakey_length",):
            return self.behaviour.without_plaintext_length_code
        if problem.path == ("datakey_length",) and _whole_bits_missing(value):
            return NOT_WHOLE_BYTES  # within 8..8192 but not a multiple of 8
        if problem.path == ("tags",) and value == []:
            return EMPTY_TAG_LIST
        if (
            problem.path == ("operations",)
            and isinstance(value, list)
            and value
            and all(v == "create-grant" for v in value)
        ):
            return ONLY_CREATE_GRANT
        return self.behaviour.field_codes.get(problem.field or "", OTHER_FIELD_CODE)

    def _read_numbers_as_strings(self, body: dict[str, Any]) -> None:
        # Real clients (otcextensions, SDK callers passing ints) send these string fields as JSON
        # numbers; the docs are silent on it, so accepting them is a selectable choice.
        for name in self.behaviour.numbers_as_strings:
            value = body.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                body[name] = str(value)

    def _tolerated(self, problem: Problem, body: dict[str, Any]) -> bool:
        """Problems a switch makes the mock accept although the spec forbids them."""
        accepted = self.behaviour.tolerated_values.get(problem.field or "", ())
        if body.get(problem.field or "") in accepted:
            return True
        return problem.kind == "required" and problem.field in self.behaviour.optional_fields

    # -- key life cycle --------------------------------------------------------------------
    def create_key(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.kms.create_key(
            project,
            alias=body["key_alias"],
            description=body.get("key_description", ""),
            spec=body.get("key_spec", self.behaviour.default_key_spec),
            usage=body.get("key_usage"),
            origin=body.get("origin", "kms"),
        )
        return {"key_info": {"key_id": key.key_id, "domain_id": DOMAIN_ID}}

    def describe_key(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, activating = self.kms.describe_key(project, body["key_id"])
        details = key_details(key, self.behaviour.state_as_number)
        if activating:
            details["key_state"] = TO_BE_ACTIVATED
        return {"key_info": details}

    def list_keys(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        page = self.kms.list_keys(
            project,
            spec=body.get("key_spec", self.behaviour.list_default_spec),
            state=body.get("key_state"),
            marker=body.get("marker", "0"),
            limit=body.get("limit", "0"),
        )
        truncated: bool | str = page.truncated
        if not self.behaviour.truncated_as_boolean:
            truncated = "true" if page.truncated else "false"
        return {
            "keys": [k.key_id for k in page.keys],
            "key_details": [key_details(k) for k in page.keys],
            "next_marker": page.next_marker,
            "truncated": truncated,
            "total": page.total,
        }

    def transition(self, operation: str, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.kms.transition(operation, project, body["key_id"], body.get("pending_days", "7"))
        answer = {"key_id": key.key_id, "key_state": key.state}
        return {"key_info": answer} if operation in self.behaviour.wrapped_answers else answer

    def update_alias(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.kms.update_alias(project, body["key_id"], body["key_alias"])
        return {"key_info": {"key_id": key.key_id, "key_alias": key.alias}}

    def update_description(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.kms.update_description(project, body["key_id"], body["key_description"])
        return {"key_info": {"key_id": key.key_id, "key_description": key.description}}

    # -- crypto ----------------------------------------------------------------------------
    def create_datakey(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, plain, wrapped = self.kms.create_datakey(
            project, body["key_id"], body.get("datakey_length"), body.get("key_spec")
        )
        shown = bytes(b ^ 0xFF for b in plain) if self.behaviour.datakey_plain_mismatch else plain
        return {"key_id": key.key_id, "plain_text": shown.hex(), "cipher_text": wrapped.hex()}

    def create_datakey_without_plaintext(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.create_datakey(project, body)
        if self.behaviour.without_plaintext_leaks:
            return answer
        return {"key_id": answer["key_id"], "cipher_text": answer["cipher_text"]}

    def encrypt_datakey(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        length = int(body["datakey_plain_length"])
        key = self.kms.encrypt_datakey(project, body["key_id"], bytes.fromhex(body["plain_text"]), length)
        plain = bytes.fromhex(body["plain_text"])[:length]
        return {
            "key_id": key.key_id,
            "cipher_text": wrap(key.key_id, plain).hex(),
            "datakey_length": str(length),
        }

    def decrypt_datakey(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        plain = self.kms.decrypt_datakey(
            project, body["key_id"], bytes.fromhex(body["cipher_text"]), int(body["datakey_cipher_length"])
        )
        plain = plain[: len(plain) - self.behaviour.datakey_bytes_dropped]
        return {
            "data_key": plain.hex(),
            "datakey_length": str(len(plain)),
            "datakey_dgst": hashlib.sha256(plain).hexdigest(),
        }

    def gen_random(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        size = int(body["random_data_length"]) // self.behaviour.random_bits_per_byte
        return {"random_data": secrets.token_bytes(size).hex()}

    def encrypt_data(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, cipher_text = self.kms.encrypt(
            project, body["key_id"], body["plain_text"], body.get("encryption_algorithm", "SYMMETRIC_DEFAULT")
        )
        return {"key_id": key.key_id, "cipher_text": cipher_text}

    def decrypt_data(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, plain = self.kms.decrypt(
            project,
            body["cipher_text"],
            body.get("key_id"),
            body.get("encryption_algorithm", "SYMMETRIC_DEFAULT"),
        )
        return {
            "key_id": key.key_id,
            "plain_text": plain.decode("utf-8", errors="replace"),
            "plain_text_base64": base64.b64encode(plain).decode(),
        }

    # -- rotation --------------------------------------------------------------------------
    def rotation_status(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.kms.rotation_status(project, body["key_id"])
        status: dict[str, Any] = {
            "key_rotation_enabled": key.rotation_enabled,
            "rotation_interval": key.rotation_interval,
            "last_rotation_time": "",
            "number_of_rotations": 0,
        }
        if self.behaviour.rotation_status_partial:
            del status["last_rotation_time"], status["number_of_rotations"]
        return status

    def enable_rotation(self, project: str, body: dict[str, Any]) -> None:
        self.kms.enable_rotation(project, body["key_id"])

    def disable_rotation(self, project: str, body: dict[str, Any]) -> None:
        self.kms.disable_rotation(project, body["key_id"])

    def update_rotation_interval(self, project: str, body: dict[str, Any]) -> None:
        self.kms.set_rotation_interval(project, body["key_id"], body["rotation_interval"])

    # -- grants ----------------------------------------------------------------------------
    def create_grant(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        grant = self.kms.create_grant(
            project,
            body["key_id"],
            body["grantee_principal"],
            body["operations"],
            grantee_type=body.get("grantee_principal_type", "user"),
            name=body.get("name", ""),
            retiring=body.get("retiring_principal", ""),
        )
        return {"grant_id": grant.grant_id}

    def list_grants(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._grant_page(
            self.kms.list_grants(project, body["key_id"], body.get("marker"), body.get("limit"))
        )

    def list_retirable_grants(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._grant_page(
            self.kms.list_retirable_grants(project, body.get("marker"), body.get("limit"))
        )

    def _grant_page(self, page: GrantPage) -> dict[str, Any]:
        return {
            "grants": [grant_details(g) for g in page.grants],
            "next_marker": page.next_marker,
            "truncated": page.truncated
            if self.behaviour.grants_truncated_boolean
            else ("true" if page.truncated else "false"),
            "total": page.total,
        }

    def revoke_grant(self, project: str, body: dict[str, Any]) -> None:
        self.kms.revoke_grant(project, body["key_id"], body["grant_id"])

    def retire_grant(self, project: str, body: dict[str, Any]) -> None:
        self.kms.retire_grant(project, body["key_id"], body["grant_id"])

    # -- importing key material ------------------------------------------------------------
    def import_parameters(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, token, expiry, public_der = self.kms.import_parameters(
            project, body["key_id"], body["wrapping_algorithm"]
        )
        return {
            "key_id": key.key_id,
            "import_token": token,
            "expiration_time": expiry,
            "public_key": _pem(public_der)
            if self.behaviour.import_public_key_pem
            else base64.b64encode(public_der).decode(),
        }

    def import_material(self, project: str, body: dict[str, Any]) -> None:
        self.kms.import_material(
            project,
            body["key_id"],
            body["import_token"],
            body["encrypted_key_material"],
            body.get("expiration_time"),
        )

    def delete_material(self, project: str, body: dict[str, Any]) -> None:
        self.kms.delete_material(project, body["key_id"])

    # -- asymmetric keys -------------------------------------------------------------------
    def public_key(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, pem = self.kms.public_key(project, body["key_id"])
        return {"key_id": key.key_id, "public_key": "" if self.behaviour.publickey_empty else pem}

    def sign(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, signature = self.kms.sign(
            project,
            body["key_id"],
            body["signing_algorithm"],
            body["message"],
            body.get("message_type", "DIGEST"),
        )
        return {"key_id": key.key_id, "signature": base64.b64encode(signature).decode()}

    def verify(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key, valid = self.kms.verify(
            project,
            body["key_id"],
            body["signing_algorithm"],
            body["message"],
            body.get("message_type", "DIGEST"),
            body["signature"],
        )
        if self.behaviour.verify_verdict is not None:
            valid = self.behaviour.verify_verdict
        if not valid and self.behaviour.invalid_signature_refused:
            raise KmsError("KMS.0308", "The signature is invalid.")
        return {"key_id": key.key_id, "signature_valid": "true" if valid else "false"}

    # -- tags (the key id, if any, is in the path) -----------------------------------------
    @staticmethod
    def _path_key_id(path: Mapping[str, str]) -> str:
        key_id = path["key_id"]
        if not KEY_ID.fullmatch(key_id):
            raise KmsError(INVALID_KEY_ID)
        return key_id

    def list_tags(self, project: str, path: Mapping[str, str], body: Any) -> dict[str, Any]:
        tags = self.kms.project_tags(project) if self.behaviour.project_tags_listed else []
        return {"tags": [{"key": name, "values": values} for name, values in tags]}

    def list_by_tags(self, project: str, path: Mapping[str, str], body: Any) -> dict[str, Any]:
        found = self.kms.search(
            project,
            [(t["key"], t.get("values")) for t in body.get("tags") or []],
            [m["value"] for m in body.get("matches") or []],
        )
        if body["action"] == "count":
            return {"total_count": 0 if self.behaviour.tag_count_zero else len(found)}
        offset = int(body.get("offset", "0"))
        limit = int(body.get("limit", "10"))
        return {
            "resources": [
                {
                    "resource_id": k.key_id,
                    "resource_detail": key_details(k),
                    "resource_name": k.alias,
                    "tags": _tag_list(k),
                }
                for k in found[offset : offset + limit]
            ],
            "total_count": len(found),
        }

    def show_tags(self, project: str, path: Mapping[str, str], body: Any) -> dict[str, Any]:
        tags = _tag_list(self.kms.find(project, self._path_key_id(path)))
        return {"tags": tags, "existTagsNum": len(tags)}

    def create_tag(self, project: str, path: Mapping[str, str], body: Any) -> None:
        key_id = self._path_key_id(path)
        tag = body["tag"]
        self.kms.add_tags(project, key_id, [(tag["key"], tag.get("value", ""))])

    def batch_tags(self, project: str, path: Mapping[str, str], body: Any) -> None:
        key_id = self._path_key_id(path)
        if body["action"] == "delete":
            self.kms.remove_tags(project, key_id, [item["key"] for item in body["tags"]])
        else:
            self.kms.add_tags(project, key_id, [(i["key"], i.get("value", "")) for i in body["tags"]])

    def delete_tag(self, project: str, path: Mapping[str, str], body: Any) -> None:
        self.kms.delete_tag(project, self._path_key_id(path), path.get("tag_key"))

    @staticmethod
    def raw_tag_key(request: Request) -> dict[str, str]:
        """delete-tag's path params with the tag key read from the raw (still encoded) path.

        The SDK percent-encodes the key (``quote(key, safe="")``), so a key with "/" arrives as
        ``team%2Fdev``: routing on the decoded path would split it into two segments.  The route
        takes the rest of the path, and the key is the raw segment after ``/tags/``, decoded once.
        """
        params = dict(request.path_params)
        raw = request.scope.get("raw_path")
        prefix = f"/v1.0/{params['project_id']}/kms/{params['key_id']}/tags/"
        if isinstance(raw, bytes):
            text = raw.decode("latin-1").split("?", 1)[0]
            if text.startswith(prefix):
                params["tag_key"] = urllib.parse.unquote(text[len(prefix) :])
        return params

    # -- account ---------------------------------------------------------------------------
    def instances(self, project: str) -> dict[str, Any]:
        return {"instance_num": 0 if self.behaviour.instances_zero else self.kms.key_count(project)}

    def quotas(self, project: str) -> dict[str, Any]:
        resources = {
            "resources": [
                {"type": "CMK", "used": self.kms.key_count(project), "quota": KEY_QUOTA},
                {"type": "grant_per_CMK", "used": 0, "quota": 100},
            ]
        }
        return resources if self.behaviour.quotas_flat else {"quotas": resources}

    # -- endpoints -------------------------------------------------------------------------
    async def post_action(self, request: Request) -> Response:
        action = request.path_params["action"]
        project = request.path_params["project_id"]
        op_id = POST_ACTIONS.get(action)
        if op_id is None:
            return self.gateway_response(no_such_api(), uuid.uuid4().hex)

        def run(raw: bytes) -> Any:
            body = self.parse(raw)
            self.validate(op_id, body)
            return self.actions[action](project, body)

        return await self.handle(request, run)

    def tag_route(
        self, op_id: str, handler: TagHandler, status: int, with_body: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            project = request.path_params["project_id"]

            def run(raw: bytes) -> Any:
                body = self.parse(raw) if with_body else None
                if with_body:
                    self.validate(op_id, body)
                params = self.raw_tag_key(request) if op_id == "deleteKmsTag" else request.path_params
                return handler(project, params, body)

            return await self.handle(request, run, status)

        return endpoint

    def simple(self, fn: Callable[[str], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self.handle(request, lambda raw: fn(request.path_params["project_id"]))

        return endpoint

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.gateway_response(no_such_api(), uuid.uuid4().hex)

    async def iam_tokens(self, request: Request) -> Response:
        """A stand-in for IAM's POST /v3/auth/tokens (password method, project scope)."""
        try:
            body = json.loads(await request.body())
            user = body["auth"]["identity"]["password"]["user"]
            scope = body["auth"].get("scope", {}).get("project", {})
            ok = (user["name"], user["password"], user.get("domain", {}).get("name")) == (
                IAM_USER,
                IAM_PASSWORD,
                IAM_DOMAIN,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return JSONResponse(
                {"error": {"code": 400, "message": "Invalid request body", "title": "Bad Request"}}, 400
            )
        if not ok:
            return JSONResponse(
                {
                    "error": {
                        "code": 401,
                        "message": "The username or password is wrong.",
                        "title": "Unauthorized",
                    }
                },
                401,
            )
        lifetime = int(self.behaviour.iam_token_lifetime)
        token = "hw-iam-" + secrets.token_urlsafe(24)
        expires = time.time() + lifetime
        self.kms.issue_iam_token(token, expires)
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(expires))
        return JSONResponse(
            {
                "token": {
                    "expires_at": expires_at,
                    "methods": ["password"],
                    "project": {"id": scope.get("id", PROJECT_ID)},
                }
            },
            status_code=201,
            headers={"X-Subject-Token": token},
        )

    def routes(self) -> list[Route]:
        base = "/v1.0/{project_id}/kms"
        tag = self.tag_route
        return [
            Route("/v3/auth/tokens", self.iam_tokens, methods=["POST"]),
            Route(f"{base}/user-instances", self.simple(self.instances), methods=["GET"]),
            Route(f"{base}/user-quotas", self.simple(self.quotas), methods=["GET"]),
            Route(f"{base}/tags", tag("listKmsTags", self.list_tags, 200, False), methods=["GET"]),
            Route(
                f"{base}/resource_instances/action",
                tag("listKmsByTags", self.list_by_tags, 200, True),
                methods=["POST"],
            ),
            Route(f"{base}/{{key_id}}/tags", tag("showKmsTags", self.show_tags, 200, False), methods=["GET"]),
            Route(
                f"{base}/{{key_id}}/tags", tag("createKmsTag", self.create_tag, 204, True), methods=["POST"]
            ),
            Route(
                f"{base}/{{key_id}}/tags/action",
                tag("batchKmsTags", self.batch_tags, 204, True),
                methods=["POST"],
            ),
            Route(
                f"{base}/{{key_id}}/tags/{{tag_key:path}}",
                tag("deleteKmsTag", self.delete_tag, 204, False),
                methods=["DELETE"],
            ),
            Route(f"{base}/{{action}}", self.post_action, methods=["POST"]),
        ]


def build_app(behaviour: Behaviour) -> Starlette:
    """The Starlette app serving a fresh model under ``behaviour``; the model is ``app.state.kms``."""
    kms = HuaweiKms(behaviour.rules)
    responses = HuaweiResponses(kms, behaviour)
    app = Starlette(
        routes=responses.routes(),
        exception_handlers={404: responses.not_found, 405: responses.not_found},
    )
    app.state.kms = kms
    return app

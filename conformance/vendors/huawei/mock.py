"""A faithful in-memory Huawei Cloud KMS (DEW) v1.0 mock.

Where is the Huawei state machine?  ``TRANSITIONS`` here: (operation, allowed key_states,
resulting key_state, error code otherwise).  Validation comes from ``specs/huawei.yaml``
through ``SpecValidator``; the first failing field maps to its documented KMS code
(``FIELD_CODES``), in the order the Huawei error table implies: JSON, missing field, key_id,
sequence, field-specific, existence, state.

Ambiguities are options (``OPTIONS``); ``FAULTS`` break one documented behaviour each.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.mocks.base import Fault, MockConfig, MockDefinition, Option
from conformance.mocks.validation import Problem, SpecValidator
from conformance.vendors.huawei import VENDOR
from conformance.vendors.huawei.aksk import verify as verify_signature

PROJECT_ID = "0123456789abcdef0123456789abcdef"
DOMAIN_ID = "b168fe00ff56492495a7d22974df2d0b"
TOKEN = "hw-mock-token-7d1c5a9e"
FORBIDDEN_TOKEN = "hw-mock-forbidden-token-41b2"
EXPIRED_TOKEN = "hw-mock-expired-token-93fe"
AK = "HWMOCKACCESSKEY0001"
IAM_USER = "hw-mock-user"
IAM_PASSWORD = "hw-mock-password-3c1d"
IAM_DOMAIN = "hw-mock-domain"
SK = "hw-mock-secret-key-5b8e0c"
KEY_QUOTA = 10_000

MESSAGES = {
    "KMS.0101": (500, "KMS error."),
    "KMS.0202": (400, "Invalid JSON format of the request message."),
    "KMS.0204": (400, "Parameters missing in the request message."),
    "KMS.0205": (400, "Invalid key ID."),
    "KMS.0206": (400, "Invalid sequence number."),
    "KMS.0207": (404, "The key does not exist."),
    "KMS.0209": (400, "The key has been disabled."),
    "KMS.0210": (400, "The key is in Scheduled deletion state and cannot be used."),
    "KMS.0301": (403, "Invalid or null X-Auth-Token."),
    "KMS.0302": (403, "Invalid X-Auth-Token."),
    "KMS.0303": (403, "X-Auth-Token expired."),
    "KMS.0306": (403, "No access permissions."),
    "KMS.0308": (400, "Invalid parameter."),
    "KMS.0310": (400, "The key is not in Pending import state."),
    "KMS.0312": (400, "External keys cannot be rotated."),
    "KMS.0313": (400, "Key rotation is not enabled."),
    "KMS.0321": (403, "URIs in URL and X-Auth-Token do not match."),
    "KMS.0404": (400, "Invalid action."),
    "KMS.0405": (400, "Invalid tag value."),
    "KMS.0406": (400, "Invalid tag key."),
    "KMS.0409": (400, "Too many tags."),
    "KMS.0416": (404, "Invalid tag ID."),
    "KMS.0417": (400, "Invalid offset."),
    "KMS.1101": (400, "Invalid key_alias."),
    "KMS.1103": (400, "Invalid key_description."),
    "KMS.1104": (400, "Duplicate key aliases."),
    "KMS.1105": (400, "Too many keys."),
    "KMS.1201": (400, "The key is not disabled."),
    "KMS.1301": (400, "The key is not enabled."),
    "KMS.1401": (400, "Set the pending deletion period between 7 to 1096 days."),
    "KMS.1402": (400, "The key is already in Pending deletion state."),
    "KMS.1501": (400, "The key is not in Pending deletion state."),
    "KMS.1601": (400, "Invalid limit."),
    "KMS.1602": (400, "marker must be greater than or equals 0."),
    "KMS.1901": (400, "datakey_length must be in the range 8 bits to 8,192 bits."),
    "KMS.2101": (400, "Invalid plain_text."),
    "KMS.2201": (400, "Invalid cipher_text."),
    "KMS.2901": (400, "Key rotation is not disabled."),
    "KMS.3001": (400, "Invalid rotation_interval."),
}

# Field -> the KMS code its validation failure maps to (the DEW API and error-code pages).
FIELD_CODES = {
    "key_id": "KMS.0205",
    "sequence": "KMS.0206",
    "key_alias": "KMS.1101",
    "key_description": "KMS.1103",
    "pending_days": "KMS.1401",
    "limit": "KMS.1601",
    "marker": "KMS.1602",
    "offset": "KMS.0417",
    "datakey_length": "KMS.1901",
    "plain_text": "KMS.2101",
    "cipher_text": "KMS.2201",
    "rotation_interval": "KMS.3001",
    "action": "KMS.0404",
    "tag": "KMS.0406",
    "tags": "KMS.0406",
}

# operation -> (key_states it is allowed from, resulting key_state, error code otherwise)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None, str]] = {
    "enable-key": (frozenset({"3"}), "2", "KMS.1201"),
    "disable-key": (frozenset({"2"}), "3", "KMS.1301"),
    "schedule-key-deletion": (frozenset({"2", "3", "5"}), "4", "KMS.1402"),
    "cancel-key-deletion": (frozenset({"4"}), "3", "KMS.1501"),
}

FAULTS = (
    Fault("enable-from-any-state", "HW-STATE-006", "enable-key succeeds from every state, not only disabled"),
    Fault(
        "disable-from-any-state", "HW-STATE-007", "disable-key succeeds from every state, not only enabled"
    ),
    Fault(
        "cancel-to-enabled", "HW-STATE-004", "cancel-key-deletion leaves the key enabled instead of disabled"
    ),
    Fault(
        "cancel-from-any-state", "HW-STATE-003", "cancel-key-deletion succeeds for keys not pending deletion"
    ),
    Fault("schedule-twice", "HW-STATE-008", "schedule-key-deletion accepts a key already pending deletion"),
    Fault("schedule-refuses-disabled", "HW-STATE-002", "schedule-key-deletion refuses disabled keys"),
    Fault("pending-days-accepts-6", "HW-VAL-001", 'pending_days "6" is accepted'),
    Fault("pending-days-max-1095", "HW-VAL-003", 'pending_days "1096" is refused (off by one)'),
    Fault(
        "unknown-id-400",
        "HW-VAL-008",
        "an unknown well-formed key_id is answered 400 KMS.0205 instead of 404",
    ),
    Fault("malformed-id-404", "HW-VAL-007", "a malformed key_id is answered 404 KMS.0207 instead of 400"),
    Fault(
        "missing-credentials-accepted",
        "HW-AUTH-001",
        "requests without X-Auth-Token or signature are served",
        may_also=("HW-GEN-005",),
    ),
    Fault("expired-token-accepted", "HW-AUTH-003", "an expired token is accepted"),
    Fault("forbidden-token-accepted", "HW-AUTH-004", "a token without permission is served"),
    Fault(
        "bare-error-body", "HW-ENV-001", 'error bodies are {"message": ...} instead of a documented envelope'
    ),
    Fault(
        "kms-errors-flat",
        "HW-ENV-001",
        "KMS errors (KMS.xxxx) come in the gateway's flat {error_code, error_msg} body instead of {error: {...}}",
    ),
    Fault(
        "schedule-wrapped",
        "HW-SHAPE-004",
        "schedule-key-deletion wraps its answer in key_info",
        may_also=("HW-GEN-003",),
    ),
    Fault(
        "key-state-number",
        "HW-SHAPE-002",
        "describe-key answers key_state as a JSON number",
        may_also=("HW-GEN-003",),
    ),
    Fault("list-ignores-limit", "HW-SHAPE-006", "list-keys returns every key whatever limit says"),
    Fault(
        "truncated-boolean",
        "HW-SHAPE-005",
        "list-keys answers truncated as a JSON boolean",
        may_also=("HW-GEN-003",),
    ),
    Fault(
        "crash-on-wrong-type",
        "HW-GEN-001",
        "a body field of the wrong JSON type crashes the service (500)",
        also=(
            "HW-TRANSPORT-001",
            "HW-VAL-006",
        ),
    ),
    Fault(
        "bad-json-500",
        "HW-VAL-010",
        "a body that is not JSON is answered 500",
        also=("HW-TRANSPORT-001",),
        may_also=("HW-GEN-001",),
    ),
    Fault(
        "missing-pending-days-defaults",
        "HW-VAL-009",
        "schedule-key-deletion without pending_days defaults to 7",
    ),
)

OPTIONS = (
    Option(
        "missing-credentials",
        ("gateway-401", "kms-403"),
        "gateway-401",
        "no credentials: the API gateway's 401 APIGW.0301 flat body, or KMS's 403 KMS.0301",
    ),
    Option(
        "invalid-token",
        ("gateway-401", "kms-403"),
        "gateway-401",
        "an unknown token: 401 APIGW.0301 (gateway) or 403 KMS.0302",
    ),
    Option(
        "iam-token-lifetime",
        ("86400", "3"),
        "86400",
        "seconds an IAM password token (POST /v3/auth/tokens on the same host) stays valid; then 403 KMS.0303",
    ),
    Option(
        "json-numbers",
        ("reject", "accept"),
        "reject",
        "pending_days, limit, marker and datakey_length sent as JSON numbers: refused like any wrong type "
        "(400), or read as their decimal strings (docs silent; real clients send ints)",
        may_fail={"accept": ("HW-VAL-006", "HW-GEN-004")},
    ),
    Option(
        "gateway-envelope",
        ("flat", "wrapped"),
        "flat",
        "API gateway errors (APIGW.xxxx) in the gateway's flat body, or wrapped like KMS errors "
        "(the SDK parses both; sources differ)",
    ),
    Option(
        "create-state",
        ("2", "1"),
        "2",
        'a new key is enabled at once ("2") or is first seen as "1" (to be activated) for one describe',
    ),
)


@dataclass
class Key:
    key_id: str
    alias: str
    description: str
    spec: str
    usage: str
    origin: str
    state: str
    created_ms: int
    deletion_ms: int | None = None
    rotation_enabled: bool = False
    rotation_interval: int = 365
    tags: dict[str, str] = field(default_factory=dict)
    activation_reads: int = 0  # "1" (to be activated) is shown for this many more describes

    def details(self, state_as_number: bool = False) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "domain_id": DOMAIN_ID,
            "key_alias": self.alias,
            "realm": "mock-region-1",
            "key_spec": self.spec,
            "key_usage": self.usage,
            "key_description": self.description,
            "creation_date": str(self.created_ms),
            "scheduled_deletion_date": str(self.deletion_ms) if self.deletion_ms else "",
            "key_state": int(self.state) if state_as_number else self.state,
            "default_key_flag": "0",
            "key_type": "1",
            "expiration_time": "",
            "origin": self.origin,
            "key_rotation_enabled": "true" if self.rotation_enabled else "false",
            "sys_enterprise_project_id": "0",
            "keystore_id": "0",
        }


class KmsError(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status, default = MESSAGES.get(code, (400, "Invalid parameter."))
        self.message = message or default


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


# Fields the docs type as strings that real clients send as numbers (option json-numbers).
NUMERIC_STRING_FIELDS = ("pending_days", "limit", "marker", "datakey_length")


def _now_ms() -> int:
    return int(time.time() * 1000)


class HuaweiKms:
    """The mock's state and operations; every public method runs under one lock."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.projects: dict[str, dict[str, Key]] = {}
        self.validator = SpecValidator(VENDOR.spec)
        self.iam_tokens: dict[str, float] = {}  # token -> expiry (time.time())

    def keys(self, project: str) -> dict[str, Key]:
        return self.projects.setdefault(project, {})

    def find(self, project: str, key_id: Any) -> Key:
        key = self.keys(project).get(key_id)
        if key is None:
            if self.config.has("unknown-id-400"):
                raise KmsError("KMS.0205")
            raise KmsError("KMS.0207")
        return key

    # -- validation ------------------------------------------------------------------------

    def validate(self, operation_id: str, body: Any) -> None:
        if isinstance(body, dict) and self.config.option("json-numbers", "reject") == "accept":
            # Real clients (otcextensions, SDK callers passing ints) send these string fields as
            # JSON numbers; the docs are silent on it, so accepting them is a selectable choice.
            for name in NUMERIC_STRING_FIELDS:
                value = body.get(name)
                if isinstance(value, int) and not isinstance(value, bool):
                    body[name] = str(value)
        problems = self.validator.body_problems(operation_id, body)
        if isinstance(body, dict):
            problems = [p for p in problems if not self._tolerated(p, body)]
            if self.config.has("crash-on-wrong-type") and any(p.kind == "type" and p.field for p in problems):
                raise RuntimeError("simulated crash on a field of the wrong type")
        if not problems:
            return
        first = problems[0]
        if first.field is None:
            raise KmsError("KMS.0202")
        if first.kind == "required":
            raise KmsError("KMS.0204", f"Parameters missing in the request message: {first.field}.")
        if first.field == "key_id" and self.config.has("malformed-id-404"):
            raise KmsError("KMS.0207")
        raise KmsError(FIELD_CODES.get(first.field, "KMS.0308"))

    def _tolerated(self, problem: Problem, body: dict[str, Any]) -> bool:
        """Faults that make the mock accept what the spec forbids."""
        days = body.get("pending_days")
        if problem.field == "pending_days" and days == "6" and self.config.has("pending-days-accepts-6"):
            return True
        if problem.kind == "required" and problem.field == "pending_days":
            return self.config.has("missing-pending-days-defaults")
        return False

    # -- operations ------------------------------------------------------------------------

    def create_key(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        alias = body["key_alias"]
        if alias.endswith("/default"):
            raise KmsError("KMS.1101")
        keys = self.keys(project)
        if any(k.alias == alias for k in keys.values()):
            raise KmsError("KMS.1104")
        if len(keys) >= KEY_QUOTA:
            raise KmsError("KMS.1105")
        origin = body.get("origin", "kms")
        spec = body.get("key_spec", "AES_256")
        usage = body.get("key_usage") or ("ENCRYPT_DECRYPT" if spec in ("AES_256", "SM4") else "SIGN_VERIFY")
        key = Key(
            key_id=str(uuid.uuid4()),
            alias=alias,
            description=body.get("key_description", ""),
            spec=spec,
            usage=usage,
            origin=origin,
            state="5" if origin == "external" else "2",
            created_ms=_now_ms(),
        )
        if origin != "external" and self.config.option("create-state", "2") == "1":
            key.activation_reads = 1
        keys[key.key_id] = key
        return {"key_info": {"key_id": key.key_id, "domain_id": DOMAIN_ID}}

    def describe_key(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.find(project, body["key_id"])
        details = key.details(self.config.has("key-state-number"))
        if key.activation_reads > 0:
            key.activation_reads -= 1
            details["key_state"] = "1"
        return {"key_info": details}

    def list_keys(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        spec = body.get("key_spec", "AES_256")
        state = body.get("key_state")
        matching = [
            k
            for k in self.keys(project).values()
            if (spec == "ALL" or k.spec == spec) and (state is None or k.state == state)
        ]
        marker = int(body.get("marker", "0") or 0)
        limit = int(body.get("limit", "0") or 0) or len(matching) or 1
        if self.config.has("list-ignores-limit"):
            limit = len(matching) or 1
        page = matching[marker : marker + limit]
        truncated = marker + limit < len(matching)
        return {
            "keys": [k.key_id for k in page],
            "key_details": [k.details() for k in page],
            "next_marker": str(marker + limit) if truncated else "",
            "truncated": truncated
            if self.config.has("truncated-boolean")
            else ("true" if truncated else "false"),
            "total": len(matching),
        }

    def transition(self, operation: str, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.find(project, body["key_id"])
        allowed, target, error = TRANSITIONS[operation]
        state = key.state
        if operation == "enable-key" and self.config.has("enable-from-any-state"):
            allowed = frozenset(STATES_ALL)
        if operation == "disable-key" and self.config.has("disable-from-any-state"):
            allowed = frozenset(STATES_ALL)
        if operation == "cancel-key-deletion" and self.config.has("cancel-from-any-state"):
            allowed = frozenset(STATES_ALL)
        if operation == "schedule-key-deletion":
            if self.config.has("schedule-twice"):
                allowed = allowed | {"4"}
            if self.config.has("schedule-refuses-disabled"):
                allowed = allowed - {"3"}
        if state not in allowed:
            raise KmsError(error if state == "4" or operation != "schedule-key-deletion" else "KMS.0308")
        if operation == "schedule-key-deletion":
            days = int(body.get("pending_days", "7"))
            if days == 1096 and self.config.has("pending-days-max-1095"):
                raise KmsError("KMS.1401")
            key.deletion_ms = _now_ms() + days * 86_400_000
            key.state = "4"
            result = {"key_id": key.key_id, "key_state": key.state}
            return {"key_info": result} if self.config.has("schedule-wrapped") else result
        if operation == "cancel-key-deletion":
            key.deletion_ms = None
            key.state = (
                "5" if key.origin == "external" else ("2" if self.config.has("cancel-to-enabled") else "3")
            )
            return {"key_id": key.key_id, "key_state": key.state}
        key.state = target or key.state
        return {"key_info": {"key_id": key.key_id, "key_state": key.state}}

    def update_alias(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.usable_for_edit(project, body)
        alias = body["key_alias"]
        if alias.endswith("/default"):
            raise KmsError("KMS.1101")
        if any(k.alias == alias and k is not key for k in self.keys(project).values()):
            raise KmsError("KMS.1104")
        key.alias = alias
        return {"key_info": {"key_id": key.key_id, "key_alias": key.alias}}

    def update_description(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.usable_for_edit(project, body)
        key.description = body["key_description"]
        return {"key_info": {"key_id": key.key_id, "key_description": key.description}}

    def usable_for_edit(self, project: str, body: dict[str, Any]) -> Key:
        key = self.find(project, body["key_id"])
        if key.state == "4":
            raise KmsError("KMS.0210")
        return key

    def usable_for_crypto(self, project: str, key_id: Any) -> Key:
        key = self.find(project, key_id)
        if key.state == "3":
            raise KmsError("KMS.0209")
        if key.state == "4":
            raise KmsError("KMS.0210")
        if key.state != "2":
            raise KmsError("KMS.0308")
        return key

    def create_datakey(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.usable_for_crypto(project, body["key_id"])
        bits = int(body.get("datakey_length") or (512 if body.get("key_spec") == "AES_256" else 256))
        plain = secrets.token_bytes(bits // 8)
        return {
            "key_id": key.key_id,
            "plain_text": plain.hex(),
            "cipher_text": (plain + key.key_id.encode()).hex(),
        }

    def encrypt_data(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self.usable_for_crypto(project, body["key_id"])
        blob = json.dumps({"k": key.key_id, "p": body["plain_text"], "pad": "0" * 64}).encode()
        return {"key_id": key.key_id, "cipher_text": base64.b64encode(blob).decode()}

    def decrypt_data(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            blob = json.loads(base64.b64decode(body["cipher_text"], validate=True))
            key_id, plain = blob["k"], blob["p"]
        except (ValueError, KeyError, TypeError):
            raise KmsError("KMS.2201") from None
        key = self.usable_for_crypto(project, key_id)
        return {
            "key_id": key.key_id,
            "plain_text": plain,
            "plain_text_base64": base64.b64encode(plain.encode()).decode(),
        }

    def rotation(self, operation: str, project: str, body: dict[str, Any]) -> dict[str, Any] | None:
        key = self.find(project, body["key_id"])
        if operation == "get-key-rotation-status":
            return {
                "key_rotation_enabled": key.rotation_enabled,
                "rotation_interval": key.rotation_interval,
                "last_rotation_time": "",
                "number_of_rotations": 0,
            }
        if key.origin == "external":
            raise KmsError("KMS.0312")
        if key.state == "4":
            raise KmsError("KMS.0210")
        if operation == "enable-key-rotation":
            if key.rotation_enabled:
                raise KmsError("KMS.2901")
            key.rotation_enabled = True
        elif not key.rotation_enabled:
            raise KmsError("KMS.0313")
        elif operation == "disable-key-rotation":
            key.rotation_enabled = False
        else:
            key.rotation_interval = body["rotation_interval"]
        return None

    def tags(self, operation: str, project: str, key_id: str | None, body: Any, tag_key: str | None) -> Any:
        if operation == "listKmsTags":
            values: dict[str, set[str]] = {}
            for key in self.keys(project).values():
                for name, value in key.tags.items():
                    values.setdefault(name, set()).add(value)
            return {"tags": [{"key": k, "values": sorted(v)} for k, v in sorted(values.items())]}
        if operation == "listKmsByTags":
            return self.by_tags(project, body)
        if key_id is not None and not _KEY_ID.fullmatch(key_id):
            raise KmsError("KMS.0205")
        key = self.find(project, key_id)
        if operation == "showKmsTags":
            tags = [{"key": k, "value": v} for k, v in key.tags.items()]
            return {"tags": tags, "existTagsNum": len(tags)}
        if operation == "createKmsTag":
            items = [body["tag"]]
        elif operation == "batchKmsTags":
            items = body["tags"]
            if body["action"] == "delete":
                for item in items:
                    key.tags.pop(item["key"], None)
                return None
        else:
            if tag_key not in key.tags:
                raise KmsError("KMS.0416")
            del key.tags[tag_key]
            return None
        merged = {**key.tags, **{i["key"]: i.get("value", "") for i in items}}
        if len(merged) > 10:
            raise KmsError("KMS.0409")
        key.tags = merged
        return None

    def by_tags(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("tags") or []
        matches = body.get("matches") or []
        found = []
        for key in self.keys(project).values():
            if all(
                t["key"] in key.tags and (not t.get("values") or key.tags[t["key"]] in t["values"])
                for t in wanted
            ) and all(m["value"] in key.alias for m in matches):
                found.append(key)
        if body["action"] == "count":
            return {"total_count": len(found)}
        offset = int(body.get("offset", "0"))
        limit = int(body.get("limit", "10"))
        return {
            "resources": [
                {
                    "resource_id": k.key_id,
                    "resource_detail": k.details(),
                    "resource_name": k.alias,
                    "tags": [{"key": n, "value": v} for n, v in k.tags.items()],
                }
                for k in found[offset : offset + limit]
            ],
            "total_count": len(found),
        }

    def instances(self, project: str) -> dict[str, Any]:
        return {"instance_num": len(self.keys(project))}

    def quotas(self, project: str) -> dict[str, Any]:
        return {
            "quotas": {
                "resources": [
                    {"type": "CMK", "used": len(self.keys(project)), "quota": KEY_QUOTA},
                    {"type": "grant_per_CMK", "used": 0, "quota": 100},
                ]
            }
        }


STATES_ALL = ("2", "3", "4", "5")
_KEY_ID = __import__("re").compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}")

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
    "encrypt-data": "encryptData",
    "decrypt-data": "decryptData",
    "enable-key-rotation": "enableKeyRotation",
    "disable-key-rotation": "disableKeyRotation",
    "get-key-rotation-status": "getKeyRotationStatus",
    "update-key-rotation-interval": "updateKeyRotationInterval",
}


def create_app(config: MockConfig) -> Starlette:
    kms = HuaweiKms(config)

    def error_response(
        status: int, code: str, message: str, request_id: str, gateway: bool = False
    ) -> Response:
        if config.has("bare-error-body"):
            body: dict[str, Any] = {"message": message}
        elif gateway and config.option("gateway-envelope", "flat") == "wrapped":
            body = {"error": {"error_code": code, "error_msg": message}}
        elif gateway or config.has("kms-errors-flat"):
            body = {"error_code": code, "error_msg": message, "request_id": request_id}
        else:
            body = {"error": {"error_code": code, "error_msg": message}}
        return JSONResponse(body, status_code=status, headers={"X-Request-Id": request_id})

    def authenticate(request: Request, project: str, body: bytes) -> None:
        headers = request.headers
        token = headers.get("x-auth-token")
        if token is None and headers.get("authorization", "").startswith("SDK-HMAC-SHA256"):
            problem = verify_signature(
                {AK: SK}, request.method, request.url.path, request.url.query, headers, body
            )
            if problem:
                raise GatewayError(401, "APIGW.0301", f"Incorrect IAM authentication information: {problem}")
            return
        if token is None:
            if config.has("missing-credentials-accepted"):
                return
            if config.option("missing-credentials", "gateway-401") == "kms-403":
                raise KmsError("KMS.0301")
            raise GatewayError(
                401, "APIGW.0301", "Incorrect IAM authentication information: x-auth-token not found"
            )
        if token in kms.iam_tokens:
            if time.time() >= kms.iam_tokens[token] and not config.has("expired-token-accepted"):
                raise KmsError("KMS.0303")
        elif token == EXPIRED_TOKEN:
            if not config.has("expired-token-accepted"):
                raise KmsError("KMS.0303")
        elif token == FORBIDDEN_TOKEN:
            if not config.has("forbidden-token-accepted"):
                raise KmsError("KMS.0306")
        elif token != TOKEN:
            if config.option("invalid-token", "gateway-401") == "kms-403":
                raise KmsError("KMS.0302")
            raise GatewayError(
                401, "APIGW.0301", "Incorrect IAM authentication information: decrypt token fail"
            )
        if project != PROJECT_ID:
            raise KmsError("KMS.0321")

    async def handle(request: Request, operation: Callable[[bytes], Any], status: int = 200) -> Response:
        request_id = uuid.uuid4().hex
        raw = await request.body()
        try:
            authenticate(request, request.path_params["project_id"], raw)
            with kms.lock:
                result = operation(raw)
        except KmsError as exc:
            return error_response(exc.status, exc.code, exc.message, request_id)
        except GatewayError as exc:
            return error_response(exc.status, exc.code, exc.message, request_id, gateway=True)
        except Exception:  # noqa: BLE001 - a crash is a documented 500, never a dropped connection
            if config.has("crash-on-wrong-type") or config.has("bad-json-500"):
                return Response("Internal Server Error", status_code=500, media_type="text/plain")
            return error_response(500, "KMS.0101", "KMS error.", request_id)
        headers = {"X-Request-Id": request_id}
        if status == 204 or result is None:
            return Response(status_code=status if status == 204 else 200, headers=headers)
        return JSONResponse(result, status_code=status, headers=headers)

    def parse(raw: bytes) -> Any:
        try:
            body = json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            if config.has("bad-json-500"):
                raise RuntimeError("simulated crash on invalid JSON") from None
            raise KmsError("KMS.0202") from None
        if not isinstance(body, dict):
            raise KmsError("KMS.0202")
        return body

    # POST action -> handler(project, body); state changes share kms.transition, rotation kms.rotation.
    handlers: dict[str, Callable[[str, dict[str, Any]], Any]] = {
        "create-key": kms.create_key,
        "describe-key": kms.describe_key,
        "list-keys": kms.list_keys,
        "update-key-alias": kms.update_alias,
        "update-key-description": kms.update_description,
        "create-datakey": kms.create_datakey,
        "encrypt-data": kms.encrypt_data,
        "decrypt-data": kms.decrypt_data,
        **{action: functools.partial(kms.transition, action) for action in TRANSITIONS},
        **{
            action: functools.partial(kms.rotation, action)
            for action in (
                "enable-key-rotation",
                "disable-key-rotation",
                "get-key-rotation-status",
                "update-key-rotation-interval",
            )
        },
    }
    assert set(handlers) == set(POST_ACTIONS), "every routed action has a handler"

    async def post_action(request: Request) -> Response:
        action = request.path_params["action"]
        project = request.path_params["project_id"]
        op_id = POST_ACTIONS.get(action)
        if op_id is None:
            return error_response(
                404,
                "APIGW.0101",
                "The API does not exist or has not been published in the environment",
                uuid.uuid4().hex,
                gateway=True,
            )

        def run(raw: bytes) -> Any:
            body = parse(raw)
            kms.validate(op_id, body)
            return handlers[action](project, body)

        return await handle(request, run)

    def tag_route(op_id: str, status: int, with_body: bool) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            project = request.path_params["project_id"]
            key_id = request.path_params.get("key_id")
            tag_key = request.path_params.get("tag_key")

            def run(raw: bytes) -> Any:
                body = parse(raw) if with_body else None
                if with_body:
                    kms.validate(op_id, body)
                return kms.tags(op_id, project, key_id, body, tag_key)

            return await handle(request, run, status)

        return endpoint

    def simple(fn: Callable[[str], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await handle(request, lambda raw: fn(request.path_params["project_id"]))

        return endpoint

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
            uuid.uuid4().hex,
            gateway=True,
        )

    async def iam_tokens(request: Request) -> Response:
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
        lifetime = int(config.option("iam-token-lifetime", "86400"))
        token = "hw-iam-" + secrets.token_urlsafe(24)
        expires = time.time() + lifetime
        with kms.lock:
            kms.iam_tokens[token] = expires
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

    base = "/v1.0/{project_id}/kms"
    routes = [
        Route("/v3/auth/tokens", iam_tokens, methods=["POST"]),
        Route(f"{base}/user-instances", simple(kms.instances), methods=["GET"]),
        Route(f"{base}/user-quotas", simple(kms.quotas), methods=["GET"]),
        Route(f"{base}/tags", tag_route("listKmsTags", 200, False), methods=["GET"]),
        Route(f"{base}/resource_instances/action", tag_route("listKmsByTags", 200, True), methods=["POST"]),
        Route(f"{base}/{{key_id}}/tags", tag_route("showKmsTags", 200, False), methods=["GET"]),
        Route(f"{base}/{{key_id}}/tags", tag_route("createKmsTag", 204, True), methods=["POST"]),
        Route(f"{base}/{{key_id}}/tags/action", tag_route("batchKmsTags", 204, True), methods=["POST"]),
        Route(
            f"{base}/{{key_id}}/tags/{{tag_key}}", tag_route("deleteKmsTag", 204, False), methods=["DELETE"]
        ),
        Route(f"{base}/{{action}}", post_action, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.kms = kms
    return app


def credentials(config: MockConfig) -> dict[str, str]:
    return {
        "token": TOKEN,
        "project_id": PROJECT_ID,
        "ak": AK,
        "sk": SK,
        "username": IAM_USER,
        "password": IAM_PASSWORD,
        "domain": IAM_DOMAIN,
        "forbidden_token": FORBIDDEN_TOKEN,
        "expired_token": EXPIRED_TOKEN,
    }


MOCK = MockDefinition(
    vendor="huawei", faults=FAULTS, options=OPTIONS, create_app=create_app, credentials=credentials
)

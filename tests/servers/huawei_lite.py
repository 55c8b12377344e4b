"""huawei_lite: a small, independent Huawei Cloud KMS (DEW) v1.0 server for the project's own tests.

Written from ``specs/huawei.yaml`` and the requirement catalogue, not from the bundled mock, and
serving only the key life-cycle operations (``POST /v1.0/{project_id}/kms/<action>``).  Wherever
the docs allow more than one answer it takes the alternative the bundled mock does not default to:

* no ``X-Auth-Token``: 403 ``{"error": {"error_code": "KMS.0301", ...}}`` (KMS, not the gateway's
  401 ``APIGW.0301``); an unknown token: 403 ``KMS.0302``, wrapped;
* an unknown path or method: 404 with the gateway's flat ``{"error_code": "APIGW.0101", ...}``;
* ``pending_days`` sent as a JSON number (``7``) is accepted like ``"7"`` (the docs are silent);
* a new key is enabled ("2") at once, ``origin: "external"`` makes a pending-import ("5") key.

Every answer is JSON with an ``X-Request-Id`` header; no input is answered with 5xx.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance.specs import load_spec

TOKEN = "huawei-lite-token"
PROJECT_ID = "5c1e0c8a9d2f4b6e8a0b1c2d3e4f5a6b"
DOMAIN_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
MAX_KEYS = 5000

KEY_ID = re.compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}")
ASYMMETRIC = ("RSA", "EC_", "SECP", "SM2", "ED25519")

# action -> request body schema (components/schemas) in the spec
BODIES: dict[str, str] = {
    "create-key": "CreateKeyRequestBody",
    "describe-key": "KeyIdBody",
    "list-keys": "ListKeysRequestBody",
    "enable-key": "KeyIdBody",
    "disable-key": "KeyIdBody",
    "schedule-key-deletion": "ScheduleKeyDeletionRequestBody",
    "cancel-key-deletion": "KeyIdBody",
    "update-key-alias": "UpdateKeyAliasRequestBody",
    "update-key-description": "UpdateKeyDescriptionRequestBody",
}
# first invalid field -> error code (anything else: KMS.0203, invalid parameter)
FIELD_CODES: dict[str, str] = {
    "key_id": "KMS.0205",
    "sequence": "KMS.0206",
    "pending_days": "KMS.1401",
    "key_alias": "KMS.1101",
    "key_description": "KMS.1103",
    "limit": "KMS.1601",
    "marker": "KMS.1602",
}


def _strict_pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    """``pattern`` with ``$`` as the true end of the string (Python's ``$`` also allows a final newline)."""
    if isinstance(instance, str) and not re.search(pattern.replace("$", r"\Z"), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = jsonschema.validators.extend(Draft202012Validator, {"pattern": _strict_pattern})
_URI = "urn:huawei-lite:spec"
_REGISTRY: Registry = Registry().with_resource(_URI, DRAFT202012.create_resource(load_spec("huawei.yaml")))
VALIDATORS: dict[str, Any] = {
    action: _Validator({"$ref": f"{_URI}#/components/schemas/{name}"}, registry=_REGISTRY)
    for action, name in BODIES.items()
}


def _count(digits: str) -> int:
    """A validated decimal string as an int; anything past 10**9 is simply "very large"."""
    return int(digits) if len(digits) <= 9 else 10**9


class KmsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Key:
    key_id: str
    alias: str
    description: str
    spec: str
    usage: str
    origin: str
    state: str
    created: int
    deletion_date: str = ""
    enterprise_project_id: str = "0"

    def details(self) -> dict[str, str]:
        return {
            "key_id": self.key_id,
            "domain_id": DOMAIN_ID,
            "key_alias": self.alias,
            "realm": "lite",
            "key_spec": self.spec,
            "key_usage": self.usage,
            "key_description": self.description,
            "creation_date": str(self.created),
            "scheduled_deletion_date": self.deletion_date,
            "key_state": self.state,
            "default_key_flag": "0",
            "key_type": "1",
            "expiration_time": "",
            "origin": self.origin,
            "key_rotation_enabled": "false",
            "sys_enterprise_project_id": self.enterprise_project_id,
        }


@dataclass
class Store:
    cancel_to_enabled: bool = False
    keys: dict[str, Key] = field(default_factory=dict)  # insertion order = list order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, body: dict[str, Any]) -> Key:
        found = self.keys.get(body["key_id"])
        if found is None:
            raise KmsError(404, "KMS.0207", "The key does not exist.")
        return found

    def alias_taken(self, alias: str, other_than: str = "") -> bool:
        return any(k.alias == alias and k.key_id != other_than for k in self.keys.values())

    # -- operations: each takes a validated body and returns the 200 body --------------------

    def create_key(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.alias_taken(body["key_alias"]):
            raise KmsError(400, "KMS.1104", "The key alias already exists.")
        if len(self.keys) >= MAX_KEYS:
            raise KmsError(400, "KMS.1105", "Too many keys.")
        spec = body.get("key_spec", "AES_256")
        default_usage = (
            "SIGN_VERIFY"
            if spec.startswith(ASYMMETRIC)
            else "GENERATE_VERIFY_MAC"
            if spec.startswith("HMAC")
            else "ENCRYPT_DECRYPT"
        )
        origin = body.get("origin", "kms")
        key = Key(
            str(uuid.uuid4()),
            body["key_alias"],
            body.get("key_description", ""),
            spec,
            body.get("key_usage", default_usage),
            origin,
            "5" if origin == "external" else "2",
            int(time.time() * 1000),
            enterprise_project_id=body.get("enterprise_project_id", "0"),
        )
        self.keys[key.key_id] = key
        return {"key_info": {"key_id": key.key_id, "domain_id": DOMAIN_ID}}

    def describe_key(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"key_info": self.key(body).details()}

    def list_keys(self, body: dict[str, Any]) -> dict[str, Any]:
        spec, state = body.get("key_spec", "AES_256"), body.get("key_state")
        project = body.get("enterprise_project_id", "all")
        chosen = [
            k
            for k in self.keys.values()
            if (spec == "ALL" or k.spec == spec)
            and (state is None or k.state == state)
            and (project == "all" or k.enterprise_project_id == project)
        ]
        limit = _count(body.get("limit", "1000"))
        if not 1 <= limit <= 2000:
            raise KmsError(400, "KMS.1601", "Invalid limit.")
        start = _count(body.get("marker", "0"))
        page = chosen[start : start + limit]
        truncated = start + limit < len(chosen)
        return {
            "keys": [k.key_id for k in page],
            "key_details": [k.details() for k in page],
            "next_marker": str(start + limit) if truncated else "",
            "truncated": "true" if truncated else "false",
            "total": len(chosen),
        }

    def _move(self, body: dict[str, Any], allowed: str, to: str, code: str, why: str) -> Key:
        key = self.key(body)
        if key.state != allowed:
            raise KmsError(400, code, why)
        key.state = to
        return key

    def enable_key(self, body: dict[str, Any]) -> dict[str, Any]:
        key = self._move(body, "3", "2", "KMS.1201", "The key is not disabled.")
        return {"key_info": {"key_id": key.key_id, "key_state": key.state}}

    def disable_key(self, body: dict[str, Any]) -> dict[str, Any]:
        key = self._move(body, "2", "3", "KMS.1301", "The key is not enabled.")
        return {"key_info": {"key_id": key.key_id, "key_state": key.state}}

    def schedule_key_deletion(self, body: dict[str, Any]) -> dict[str, Any]:
        key = self.key(body)
        if key.state == "4":
            raise KmsError(400, "KMS.1402", "The key is already pending deletion.")
        if key.state not in ("2", "3", "5"):
            raise KmsError(400, "KMS.0208", "The key state does not allow deletion.")
        key.state = "4"
        key.deletion_date = str(int(time.time() * 1000) + int(body["pending_days"]) * 86_400_000)
        return {"key_id": key.key_id, "key_state": key.state}

    def cancel_key_deletion(self, body: dict[str, Any]) -> dict[str, Any]:
        back = "2" if self.cancel_to_enabled else "3"
        key = self.key(body)
        key = self._move(
            body,
            "4",
            "5" if key.origin == "external" else back,
            "KMS.1501",
            "The key is not pending deletion.",
        )
        key.deletion_date = ""
        return {"key_id": key.key_id, "key_state": key.state}

    def _changeable(self, body: dict[str, Any]) -> Key:
        key = self.key(body)
        if key.state == "4":
            raise KmsError(400, "KMS.0210", "The key is pending deletion.")
        return key

    def update_key_alias(self, body: dict[str, Any]) -> dict[str, Any]:
        key = self._changeable(body)
        if self.alias_taken(body["key_alias"], other_than=key.key_id):
            raise KmsError(400, "KMS.1104", "The key alias already exists.")
        key.alias = body["key_alias"]
        return {"key_info": {"key_id": key.key_id, "key_alias": key.alias}}

    def update_key_description(self, body: dict[str, Any]) -> dict[str, Any]:
        key = self._changeable(body)
        key.description = body["key_description"]
        return {"key_info": {"key_id": key.key_id, "key_description": key.description}}


def validate(action: str, body: Any) -> dict[str, Any]:
    """The body as the operation will use it, or the documented 400 for its first problem."""
    if not isinstance(body, dict):
        raise KmsError(400, "KMS.0202", "The request body is not a JSON object.")
    pending = body.get("pending_days")
    if action == "schedule-key-deletion" and isinstance(pending, int) and not isinstance(pending, bool):
        body = {**body, "pending_days": str(pending)}  # a JSON number is taken as its decimal string
    errors = list(VALIDATORS[action].iter_errors(body))
    if not errors:
        return body
    missing = [e for e in errors if e.validator == "required"]
    if missing:
        raise KmsError(400, "KMS.0204", f"Missing request parameter: {missing[0].message}")
    path = min(errors, key=lambda e: len(e.absolute_path)).absolute_path
    name = str(path[0]) if path else ""
    raise KmsError(400, FIELD_CODES.get(name, "KMS.0203"), f"Invalid request parameter {name}.")


def _json(status: int, body: Any, request_id: str) -> Response:
    # ensure_ascii: any string a client sent (lone surrogates included) can be echoed back
    return Response(
        json.dumps(body, ensure_ascii=True),
        status,
        media_type="application/json",
        headers={"X-Request-Id": request_id},
    )


def create_app(cancel_to_enabled: bool = False) -> Starlette:
    """The server; ``cancel_to_enabled`` breaks one documented behaviour (cancel-key-deletion
    leaves the key enabled instead of disabled) so tests can prove the suite notices."""
    store = Store(cancel_to_enabled=cancel_to_enabled)
    actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        action: getattr(store, action.replace("-", "_")) for action in BODIES
    }
    prefix = re.compile(r"/v1\.0/([^/]+)/kms/([^/]+)")

    async def endpoint(request: Request) -> Response:
        request_id = uuid.uuid4().hex
        match = prefix.fullmatch(request.url.path)
        if request.method != "POST" or match is None or match.group(2) not in actions:
            gateway = {
                "error_code": "APIGW.0101",
                "error_msg": "The API does not exist or has not been published.",
                "request_id": request_id,
            }
            return _json(404, gateway, request_id)
        try:
            token = request.headers.get("x-auth-token")
            if not token:
                raise KmsError(403, "KMS.0301", "X-Auth-Token is missing.")
            if token != TOKEN or match.group(1) != PROJECT_ID:
                raise KmsError(403, "KMS.0302", "X-Auth-Token is invalid.")
            raw = await request.body()
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError):
                raise KmsError(400, "KMS.0202", "The request body is not valid JSON.") from None
            action = match.group(2)
            with store.lock:
                result = actions[action](validate(action, body))
            return _json(200, result, request_id)
        except KmsError as exc:
            return _json(
                exc.status, {"error": {"error_code": exc.code, "error_msg": exc.message}}, request_id
            )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])

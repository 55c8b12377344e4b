"""How the checks drive the example KMS: its operations, state rows and probes, all as data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from conformance.profiles.base import CleanupRefused, Outcome, Probe, Profile, Transition

# spec operationId -> (method, path); the profile's call names are the operationIds.
OPERATIONS = {
    "createKey": ("POST", "/v1/keys"),
    "getKey": ("GET", "/v1/keys/{keyId}"),
    "scheduleKeyDeletion": ("POST", "/v1/keys/{keyId}/schedule-deletion"),
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _enabled(outcome: Outcome) -> str | None:
    state = outcome.body.get("state") if isinstance(outcome.body, dict) else None
    return None if state == "enabled" else f"a new key is {state!r}, not enabled"


class ExampleProfile(Profile):
    vendor: ClassVar[str] = "example"
    product: ClassVar[str] = "Example KMS"
    preflight_call = ("getKey", True, {})
    transitions: ClassVar[tuple[Transition, ...]] = (
        Transition("EX-STATE-002", "scheduleKeyDeletion", "enabled", "pending-deletion"),
        Transition(
            "EX-STATE-003",
            "scheduleKeyDeletion",
            "pending-deletion",
            None,
            frozenset({409}),
            frozenset({"conflict"}),
        ),
    )
    probes: ClassVar[tuple[Probe, ...]] = (
        Probe("EX-STATE-001", "new-key-enabled", "getKey", read_only=True, check=_enabled),
        Probe(
            "EX-VAL-001",
            "unknown-key",
            "getKey",
            key="unknown",
            status=frozenset({404}),
            codes=frozenset({"not_found"}),
            read_only=True,
        ),
        Probe(
            "EX-AUTH-001",
            "no-credential",
            "getKey",
            key="unknown",
            auth="none",
            status=frozenset({401}),
            codes=frozenset({"unauthenticated"}),
            read_only=True,
        ),
    )
    envelope_requirement: ClassVar[str] = "EX-ENV-001"
    transport_requirement: ClassVar[str] = "EX-TRANSPORT-001"
    served_requirement: ClassVar[str] = "EX-API-001"
    error_schemas: ClassVar[tuple[Mapping[str, Any], ...]] = (ERROR,)
    generated_requirements: ClassVar[Mapping[str, str]] = {
        "not_a_server_error": "EX-GEN-001",
        "status_code_conformance": "EX-GEN-002",
        "response_schema_conformance": "EX-GEN-002",
        "negative_data_rejection": "EX-GEN-003",
        "positive_data_acceptance": "EX-GEN-003",
        "ignored_auth": "EX-GEN-003",
    }
    read_only_operations: ClassVar[frozenset[str]] = frozenset({"getKey"})
    lifecycle_operations: ClassVar[frozenset[str]] = frozenset(OPERATIONS)
    read_only_calls: ClassVar[frozenset[str]] = frozenset({"getKey"})
    key_id_pattern: ClassVar[str] = r"[0-9a-f]{32}"
    key_id_fields: ClassVar[tuple[str, ...]] = ("keyId",)
    setup_requirements: ClassVar[Mapping[str, str]] = {
        "create": "EX-STATE-001",
        "read-state": "EX-STATE-001",
        "pending-deletion": "EX-STATE-002",
    }
    state_steps: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "enabled": (),
        "pending-deletion": ("scheduleKeyDeletion",),
    }

    def build_request(
        self, client: httpx.Client, operation: str, key_id: str | None, body: Mapping[str, Any]
    ) -> httpx.Request:
        method, path = OPERATIONS[operation]
        path = path.replace("{keyId}", key_id or "")
        if operation == "createKey":
            return client.build_request(method, path, json={"description": self.settings.run_id, **body})
        return client.build_request(method, path, json=dict(body) if body else None)

    def error_code(self, body: Any) -> str | None:
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else None

    def created_key_id(self, operation_id: str, body: Any) -> str | None:
        if operation_id == "createKey" and isinstance(body, dict) and isinstance(body.get("id"), str):
            return str(body["id"])
        return None

    def create_key(self) -> str:
        outcome = self.call("createKey")
        if outcome.status != 200 or not isinstance(outcome.body, dict) or "id" not in outcome.body:
            raise self.step_failed("create", f"createKey answered {outcome.describe()}")
        return str(outcome.body["id"])

    def key_state(self, key_id: str) -> str:
        outcome = self.call("getKey", key_id)
        state = outcome.body.get("state") if isinstance(outcome.body, dict) else None
        if outcome.status != 200 or not isinstance(state, str):
            raise self.step_failed("read-state", f"getKey answered {outcome.describe()}")
        return state

    def cleanup_key(self, key_id: str) -> None:
        outcome = self.call("scheduleKeyDeletion", key_id)
        if not isinstance(outcome.body, dict) or outcome.status not in (200, 404, 409):
            raise CleanupRefused(f"scheduleKeyDeletion answered {outcome.describe()}")

    def unknown_key_id(self) -> str:
        return "0" * 32

    def malformed_key_id(self) -> str:
        return "not-a-key-id"


PROFILE = ExampleProfile

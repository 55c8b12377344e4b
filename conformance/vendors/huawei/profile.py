"""Huawei Cloud KMS (DEW) v1.0: RPC-style POSTs under ``/v1.0/{project_id}/kms/``.

Where is the Huawei state machine?  ``TRANSITIONS`` below (the checks' view) and
``conformance/vendors/huawei/mock/models.py`` (the mock's view).  Facts and their sources: ``NOTES.md`` beside this file and the ``source``/``basis`` of each row in ``catalogue.toml``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx

from conformance.auth.tokens import RenewingAuth, TokenSource
from conformance.profiles.base import (
    MISSING,
    CleanupRefused,
    Outcome,
    Probe,
    Profile,
    Transition,
)
from conformance.profiles.polling import Polling
from conformance.transport import is_loopback
from conformance.vendors.huawei.aksk import AkSkAuth, AkSkRequestsAuth
from conformance.vendors.huawei.iam import HuaweiIamToken, iam_url_for

# Vendor key_state -> common life-cycle name.  Tables and key_state() use the common names.
STATES: dict[str, str] = {
    "1": "pending-activation",
    "2": "enabled",
    "3": "disabled",
    "4": "pending-deletion",
    "5": "pending-import",
    "7": "frozen",
}

# Fixed inputs of the data-key, grant and signing rows, so that each check can judge its answer alone.
DATA_KEY = bytes(range(32))  # encrypt-datakey seals this 32-byte data key ...
DATA_KEY_INPUT = DATA_KEY.hex() + hashlib.sha256(DATA_KEY).hexdigest()  # ... sent with its SHA-256
GRANTEE = "0d0466b00d0466b00d0466b00d0466b0"
UNKNOWN_GRANT = "0" * 64  # a well-formed grant id no key has
SIGNED_MESSAGE = base64.b64encode(b"kms-conformance signed message").decode()
OTHER_MESSAGE = base64.b64encode(b"kms-conformance other message").decode()
RSA_PLAINTEXT = "kms-conformance asymmetric plaintext"  # well under RSA_2048 OAEP-SHA-256's 190 bytes
SYMMETRIC_PLAINTEXT = "kms-conformance"  # what the "encrypt" call seals
TAG_KEY, TAG_VALUE = "kmsconf-team", "conformance"  # the tag the tag rows add (1-36 / 0-43 characters)
TAG = {"key": TAG_KEY, "value": TAG_VALUE}
ROTATION_INTERVAL = 30  # update-key-rotation-interval's value (the documented minimum; the default is 365)

# operation -> (path below /v1.0/{project_id}/kms/, default body with "{key_id}" placeholders;
# "{grant_id}", "{datakey_cipher}", "{signature}", "{import_token}" and "{wrapped_material}" are
# what the key's preparation (PREPARED) remembered)
OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "create": ("create-key", {"key_alias": "{alias}", "key_description": "{description}"}),
    "create_external": (
        "create-key",
        {"key_alias": "{alias}", "key_description": "{description}", "origin": "external"},
    ),
    "create_same_alias": ("create-key", {"key_alias": "{alias_of_key}"}),
    "create_ec_default": (
        "create-key",
        {"key_alias": "{alias}", "key_description": "{description}", "key_spec": "EC_P256"},
    ),
    # a second key a row's preparation makes beside its own (its id, alias, grant or token remembered)
    "create_other": ("create-key", {"key_alias": "{alias}", "key_description": "{description}"}),
    "create_other_external": (
        "create-key",
        {"key_alias": "{alias}", "key_description": "{description}", "origin": "external"},
    ),
    "import_parameters_other": (
        "get-parameters-for-import",
        {"key_id": "{other_key_id}", "wrapping_algorithm": "RSAES_OAEP_SHA_256"},
    ),
    "create_grant_on_other": (
        "create-grant",
        {"key_id": "{other_key_id}", "grantee_principal": GRANTEE, "operations": ["describe-key"]},
    ),
    "update_alias_to_other": ("update-key-alias", {"key_id": "{key_id}", "key_alias": "{other_alias}"}),
    "import_material_other_token": (
        "import-key-material",
        {
            "key_id": "{key_id}",
            "import_token": "{other_import_token}",
            "encrypted_key_material": "{other_wrapped_material}",
        },
    ),
    "describe": ("describe-key", {"key_id": "{key_id}"}),
    "list": ("list-keys", {}),
    "enable": ("enable-key", {"key_id": "{key_id}"}),
    "disable": ("disable-key", {"key_id": "{key_id}"}),
    "schedule_deletion": ("schedule-key-deletion", {"key_id": "{key_id}", "pending_days": "7"}),
    "cancel_deletion": ("cancel-key-deletion", {"key_id": "{key_id}"}),
    "update_alias": ("update-key-alias", {"key_id": "{key_id}", "key_alias": "{alias}"}),
    "update_description": (
        "update-key-description",
        {"key_id": "{key_id}", "key_description": "{description}"},
    ),
    "update_description_new": (
        "update-key-description",
        {"key_id": "{key_id}", "key_description": "{new_description}"},
    ),
    "encrypt": ("encrypt-data", {"key_id": "{key_id}", "plain_text": SYMMETRIC_PLAINTEXT}),
    "decrypt": ("decrypt-data", {"cipher_text": "{sym_cipher}"}),  # the key id travels in the ciphertext
    "rotation_status": ("get-key-rotation-status", {"key_id": "{key_id}"}),
    # tags: the key id travels in the path (METHODS gives the verbs that are not POST)
    "create_tag": ("{key_id}/tags", {"tag": TAG}),
    "show_tags": ("{key_id}/tags", {}),
    "batch_ten_tags": (
        "{key_id}/tags/action",
        {"action": "create", "tags": [{"key": f"kmsconf-{n}", "value": "v"} for n in range(10)]},
    ),
    "batch_tags": ("{key_id}/tags/action", {"action": "create", "tags": [TAG]}),
    "batch_delete_tags": ("{key_id}/tags/action", {"action": "delete", "tags": [TAG]}),
    "delete_tag": ("{key_id}/tags/" + TAG_KEY, {}),
    "list_project_tags": ("tags", {}),
    "tag_filter": (
        "resource_instances/action",
        {"action": "filter", "tags": [{"key": TAG_KEY, "values": [TAG_VALUE]}]},
    ),
    "tag_count": (
        "resource_instances/action",
        {"action": "count", "tags": [{"key": TAG_KEY, "values": [TAG_VALUE]}]},
    ),
    "user_instances": ("user-instances", {}),
    "user_quotas": ("user-quotas", {}),
    "enable_rotation": ("enable-key-rotation", {"key_id": "{key_id}"}),
    "disable_rotation": ("disable-key-rotation", {"key_id": "{key_id}"}),
    "update_rotation_interval": (
        "update-key-rotation-interval",
        {"key_id": "{key_id}", "rotation_interval": ROTATION_INTERVAL},
    ),
    "datakey": ("create-datakey", {"key_id": "{key_id}"}),
    "datakey_without_plaintext": ("create-datakey-without-plaintext", {"key_id": "{key_id}"}),
    "create_signing": (
        "create-key",
        {
            "key_alias": "{alias}",
            "key_description": "{description}",
            "key_spec": "EC_P256",
            "key_usage": "SIGN_VERIFY",
        },
    ),
    "create_rsa_encrypt": (
        "create-key",
        {
            "key_alias": "{alias}",
            "key_description": "{description}",
            "key_spec": "RSA_2048",
            "key_usage": "ENCRYPT_DECRYPT",
        },
    ),
    "encrypt_rsa": (
        "encrypt-data",
        {"key_id": "{key_id}", "plain_text": RSA_PLAINTEXT, "encryption_algorithm": "RSAES_OAEP_SHA_256"},
    ),
    "decrypt_rsa": (
        "decrypt-data",
        {"key_id": "{key_id}", "cipher_text": "{rsa_cipher}", "encryption_algorithm": "RSAES_OAEP_SHA_256"},
    ),
    "encrypt_datakey": (
        "encrypt-datakey",
        {"key_id": "{key_id}", "plain_text": DATA_KEY_INPUT, "datakey_plain_length": "32"},
    ),
    "decrypt_datakey": (
        "decrypt-datakey",
        {"key_id": "{key_id}", "cipher_text": "{datakey_cipher}", "datakey_cipher_length": "32"},
    ),
    "gen_random": ("gen-random", {"random_data_length": "512"}),
    "create_grant": (
        "create-grant",
        {"key_id": "{key_id}", "grantee_principal": GRANTEE, "operations": ["describe-key"]},
    ),
    "list_grants": ("list-grants", {"key_id": "{key_id}"}),
    "revoke_grant": ("revoke-grant", {"key_id": "{key_id}", "grant_id": "{grant_id}"}),
    "retire_grant": ("retire-grant", {"key_id": "{key_id}", "grant_id": "{grant_id}"}),
    "import_parameters": (
        "get-parameters-for-import",
        {"key_id": "{key_id}", "wrapping_algorithm": "RSAES_OAEP_SHA_256"},
    ),
    "import_material": (
        "import-key-material",
        {
            "key_id": "{key_id}",
            "import_token": "{import_token}",
            "encrypted_key_material": "{wrapped_material}",
        },
    ),
    "delete_material": ("delete-imported-key-material", {"key_id": "{key_id}"}),
    "get_publickey": ("get-publickey", {"key_id": "{key_id}"}),
    "sign": (
        "sign",
        {
            "key_id": "{key_id}",
            "message": SIGNED_MESSAGE,
            "signing_algorithm": "ECDSA_SHA_256",
            "message_type": "RAW",
        },
    ),
    "verify": (
        "verify",
        {
            "key_id": "{key_id}",
            "message": SIGNED_MESSAGE,
            "signature": "{signature}",
            "signing_algorithm": "ECDSA_SHA_256",
            "message_type": "RAW",
        },
    ),
}

# The calls that are not a POST with a JSON body.
METHODS: dict[str, str] = {
    "show_tags": "GET",
    "delete_tag": "DELETE",
    "list_project_tags": "GET",
    "user_instances": "GET",
    "user_quotas": "GET",
}

# Keys some rows need beyond a life-cycle state: state -> (the state it starts from, the calls that
# prepare it).  Each row makes its own key this way (key_in); what a call answers that a later call
# needs is remembered per key (REMEMBERED).  "signing-key" is an EC_P256 SIGN_VERIFY key.
PREPARED: dict[str, tuple[str, tuple[str, ...]]] = {
    "datakey-sealed": ("enabled", ("encrypt_datakey",)),
    "granted": ("enabled", ("create_grant",)),
    "grant-revoked": ("granted", ("revoke_grant",)),
    "import-ready": ("pending-import", ("import_parameters",)),
    "imported": ("import-ready", ("import_material",)),
    "signing-key": ("enabled", ()),
    "signed": ("signing-key", ("sign",)),
    "rsa-key": ("enabled", ()),
    "rsa-sealed": ("rsa-key", ("encrypt_rsa",)),
    "alias-updated": ("enabled", ("update_alias",)),
    "description-updated": ("enabled", ("update_description_new",)),
    "sealed": ("enabled", ("encrypt",)),
    # material imported, deleted, and new parameters fetched: the key waits for the same material again
    "reimport-ready": ("imported", ("delete_material", "import_parameters")),
    "tagged": ("enabled", ("create_tag",)),
    "datakey-made": ("enabled", ("datakey",)),
    "ec-default-key": ("enabled", ()),  # EC_P256, created without key_usage
    "other-key": ("enabled", ("create_other",)),
    "other-key-grant": ("enabled", ("create_other", "create_grant_on_other")),
    "other-key-token": ("pending-import", ("create_other_external", "import_parameters_other")),
    "ten-tags": ("enabled", ("batch_ten_tags",)),
    "tags-batch-deleted": ("tagged", ("batch_delete_tags",)),
    "tag-deleted": ("tagged", ("delete_tag",)),
    "rotating": ("enabled", ("enable_rotation",)),
    "rotation-interval-set": ("rotating", ("update_rotation_interval",)),
    "rotation-disabled": ("rotating", ("disable_rotation",)),
}
# The documented key state each prepared key is in (what describe-key shows).
PREPARED_STATE: dict[str, str] = {
    "datakey-sealed": "enabled",
    "granted": "enabled",
    "grant-revoked": "enabled",
    "import-ready": "pending-import",
    "imported": "enabled",
    "signing-key": "enabled",
    "signed": "enabled",
    "rsa-key": "enabled",
    "rsa-sealed": "enabled",
    "alias-updated": "enabled",
    "description-updated": "enabled",
    "sealed": "enabled",
    "reimport-ready": "pending-import",
    "tagged": "enabled",
    "datakey-made": "enabled",
    "ec-default-key": "enabled",
    "other-key": "enabled",
    "other-key-grant": "enabled",
    "other-key-token": "pending-import",
    "ten-tags": "enabled",
    "tags-batch-deleted": "enabled",
    "tag-deleted": "enabled",
    "rotating": "enabled",
    "rotation-interval-set": "enabled",
    "rotation-disabled": "enabled",
}
# The create call a state's key starts with (others: "create", a KMS-origin AES_256 key).
CREATED_BY: dict[str, str] = {
    "pending-import": "create_external",
    "signing-key": "create_signing",
    "rsa-key": "create_rsa_encrypt",  # RSA_2048, ENCRYPT_DECRYPT
    "ec-default-key": "create_ec_default",  # EC_P256 without key_usage
}
# call -> {placeholder: field of its answer} remembered for the key.
REMEMBERED: dict[str, dict[str, str]] = {
    "encrypt_datakey": {"datakey_cipher": "cipher_text"},
    "create_grant": {"grant_id": "grant_id"},
    "sign": {"signature": "signature"},
    "encrypt_rsa": {"rsa_cipher": "cipher_text"},
    "encrypt": {"sym_cipher": "cipher_text"},
    "datakey": {"datakey_cipher": "cipher_text"},
    "create_grant_on_other": {"grant_id": "grant_id"},
}
# What a placeholder is when the key has nothing remembered for it.
PLACEHOLDER_DEFAULTS: dict[str, str] = {
    "grant_id": UNKNOWN_GRANT,
    "datakey_cipher": "00" * 96,
    "signature": base64.b64encode(b"\0" * 64).decode(),
    "import_token": "A" * 200,
    "wrapped_material": "A" * 344,
    "rsa_cipher": "A" * 344,
    "sym_cipher": "A" * 188,
    "other_key_id": "0000dead-0000-4000-8000-00000000c0de",
    "other_alias": "kmsconf-no-other-key",
    "other_import_token": "A" * 200,
    "other_wrapped_material": "A" * 344,
}

KMS_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["error_code", "error_msg"],
            "properties": {"error_code": {"type": "string"}, "error_msg": {"type": "string"}},
        }
    },
}
GATEWAY_ENVELOPE = {
    "type": "object",
    "required": ["error_code", "error_msg"],
    "properties": {
        "error_code": {"type": "string"},
        "error_msg": {"type": "string"},
        "request_id": {"type": "string"},
    },
}

_400 = frozenset({400})
BAD_SIGNATURE_MODE = "bad-signature"  # the vendor auth mode HuaweiProfile.auth_for adds


def _refuse(req: str, op: str, state: str, *codes: str) -> Transition:
    return Transition(req, op, state, status=_400, codes=frozenset(codes))


TRANSITIONS: tuple[Transition, ...] = (
    Transition("HW-STATE-001", "disable", "enabled", "disabled"),
    _refuse("HW-STATE-007", "disable", "disabled", "KMS.1301"),
    _refuse("HW-STATE-007", "disable", "pending-deletion", "KMS.1301", "KMS.0210"),
    # No page names the code for a pending-import key: the two state codes are both accepted.
    _refuse("HW-STATE-007", "disable", "pending-import", "KMS.1301", "KMS.0210"),
    Transition("HW-STATE-005", "enable", "disabled", "enabled"),
    _refuse("HW-STATE-006", "enable", "enabled", "KMS.1201"),
    _refuse("HW-STATE-006", "enable", "pending-deletion", "KMS.1201", "KMS.0210"),
    _refuse("HW-STATE-006", "enable", "pending-import", "KMS.1201", "KMS.0210"),
    Transition("HW-STATE-002", "schedule_deletion", "enabled", "pending-deletion"),
    Transition("HW-STATE-002", "schedule_deletion", "disabled", "pending-deletion"),
    Transition("HW-STATE-002", "schedule_deletion", "pending-import", "pending-deletion"),
    _refuse("HW-STATE-008", "schedule_deletion", "pending-deletion", "KMS.1402"),
    Transition("HW-STATE-004", "cancel_deletion", "pending-deletion", "disabled"),
    _refuse("HW-STATE-003", "cancel_deletion", "enabled", "KMS.1501"),
    _refuse("HW-STATE-003", "cancel_deletion", "disabled", "KMS.1501"),
    _refuse("HW-STATE-003", "cancel_deletion", "pending-import", "KMS.1501"),
    _refuse("HW-STATE-011", "update_alias", "pending-deletion"),
    _refuse("HW-STATE-011", "update_description", "pending-deletion"),
    _refuse("HW-STATE-012", "encrypt", "disabled", "KMS.0209"),
    _refuse("HW-STATE-013", "datakey", "disabled", "KMS.0209"),
    _refuse("HW-STATE-013", "datakey", "pending-deletion", "KMS.0210"),
    _refuse("HW-STATE-013", "encrypt_datakey", "disabled", "KMS.0209"),
    # importing key material: pending import -> enabled -> (material deleted) pending import
    Transition("HW-IMPORT-001", "import_material", "import-ready", "enabled"),
    Transition("HW-IMPORT-002", "delete_material", "imported", "pending-import"),
    _refuse("HW-IMPORT-003", "import_parameters", "enabled", "KMS.0309"),
    _refuse("HW-IMPORT-004", "delete_material", "pending-import", "KMS.2701"),
)


# -- shape checks: each returns None or what is wrong ------------------------------------------


def _wrapped(*fields: str, **equal: str) -> Any:
    def check(outcome: Outcome) -> str | None:
        info = (outcome.body or {}).get("key_info") if isinstance(outcome.body, dict) else None
        if not isinstance(info, dict):
            return f"body is not wrapped in key_info: {outcome.text}"
        for name in fields:
            if not isinstance(info.get(name), str):
                return f"key_info.{name} should be a string: {outcome.text}"
        for name, value in equal.items():
            if info.get(name) != value:
                return f"key_info.{name} should be {value!r}: {outcome.text}"
        return None

    return check


def _flat(outcome: Outcome) -> str | None:
    """schedule/cancel answers are flat {key_id, key_state} strings (the state value is the
    state requirements' business, not the shape's)."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if "key_info" in body:
        return f"body must be flat, not wrapped in key_info: {outcome.text}"
    if not isinstance(body.get("key_id"), str) or not isinstance(body.get("key_state"), str):
        return f"expected flat {{key_id, key_state}} strings: {outcome.text}"
    return None


_DETAIL_STRINGS = (
    "key_id",
    "key_alias",
    "key_state",
    "creation_date",
    "scheduled_deletion_date",
    "key_spec",
    "origin",
)


def _details(outcome: Outcome) -> str | None:
    """describe-key's KeyDetails: wrapped, fields as JSON strings (HW-SHAPE-002)."""
    return _wrapped(*_DETAIL_STRINGS)(outcome)


def _state_is(*states: str) -> Any:
    """describe-key shows the key in one of ``states`` (the type of the field is SHAPE-002's)."""

    def check(outcome: Outcome) -> str | None:
        info = (outcome.body or {}).get("key_info") if isinstance(outcome.body, dict) else None
        state = info.get("key_state") if isinstance(info, dict) else None
        if str(state) not in states:
            return f"key_state should be one of {list(states)}, is {state!r}"
        return None

    return check


def _list_shape(outcome: Outcome) -> str | None:
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if not isinstance(body.get("keys"), list) or not isinstance(body.get("key_details"), list):
        return f"keys and key_details must be arrays: {outcome.text}"
    if body.get("truncated") not in ("true", "false"):
        return f'truncated must be the string "true" or "false", is {body.get("truncated")!r}'
    if not isinstance(body.get("total"), int) or isinstance(body.get("total"), bool):
        return f"total must be an integer, is {body.get('total')!r}"
    if not isinstance(body.get("next_marker", ""), str):
        return f"next_marker must be a string, is {body.get('next_marker')!r}"
    return None


def _paged(outcome: Outcome) -> str | None:
    """limit "1" returns at most one key, and says there is more when there is (field types are
    SHAPE-005's: "true" and True are read alike here)."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    keys, total = body.get("keys"), body.get("total")
    if not isinstance(keys, list):
        return f"list-keys answered no keys array: {outcome.text}"
    if len(keys) > 1:
        return f'limit "1" returned {len(keys)} keys'
    truncated = str(body.get("truncated")).lower() == "true"
    if isinstance(total, int) and total > 1 and (not truncated or not body.get("next_marker")):
        return f"total {total} > limit 1 but truncated={body.get('truncated')!r}, next_marker={body.get('next_marker')!r}"
    return None


def _datakey_bits(bits: int) -> Callable[[Outcome], str | None]:
    """create-datakey's plain_text is the data key in hex, two characters per byte."""

    def check(outcome: Outcome) -> str | None:
        body = outcome.body if isinstance(outcome.body, dict) else {}
        plain = body.get("plain_text")
        if not isinstance(plain, str):
            return f"create-datakey answered no plain_text: {outcome.text}"
        if len(plain) != bits // 4:
            return f"a {bits}-bit data key is {bits // 4} hex characters, got {len(plain)} ({len(plain) * 4} bits)"
        return None

    return check


def _body(outcome: Outcome) -> dict[str, Any]:
    return outcome.body if isinstance(outcome.body, dict) else {}


def _decrypted_data_key(outcome: Outcome) -> str | None:
    """decrypt-datakey gives back the data key encrypt-datakey sealed, its length and SHA-256."""
    body = _body(outcome)
    got = body.get("data_key")
    if not isinstance(got, str) or got.lower() != DATA_KEY.hex():
        return f"data_key should be the sealed data key {DATA_KEY.hex()}, is {got!r}"
    if str(body.get("datakey_length")) != str(len(DATA_KEY)):
        return f"datakey_length should be {len(DATA_KEY)} (bytes), is {body.get('datakey_length')!r}"
    digest = body.get("datakey_dgst")
    if not isinstance(digest, str) or digest.lower() != hashlib.sha256(DATA_KEY).hexdigest():
        return f"datakey_dgst should be the data key's SHA-256, is {digest!r}"
    return None


def _random_bits(bits: int) -> Callable[[Outcome], str | None]:
    """gen-random's random_data is hex, two characters per byte, as long as asked for."""

    def check(outcome: Outcome) -> str | None:
        data = _body(outcome).get("random_data")
        if not isinstance(data, str):
            return f"gen-random answered no random_data: {outcome.text}"
        if len(data) != bits // 4:
            return f"{bits} random bits are {bits // 4} hex characters, got {len(data)}"
        return None

    return check


def _signature_valid(expected: str) -> Callable[[Outcome], str | None]:
    """verify's signature_valid; a refusal the row allows (a bad signature as a 400) has none."""

    def check(outcome: Outcome) -> str | None:
        if outcome.status != 200:
            return None
        valid = _body(outcome).get("signature_valid")
        if str(valid).lower() != expected:
            return f'signature_valid should be "{expected}", is {valid!r}'
        return None

    return check


def _rsa_plaintext(outcome: Outcome) -> str | None:
    """decrypt-data of the RSA ciphertext gives back the plaintext encrypt-data took."""
    got = _body(outcome).get("plain_text")
    if got != RSA_PLAINTEXT:
        return f"plain_text should be {RSA_PLAINTEXT!r}, is {got!r}"
    return None


def _public_key(outcome: Outcome) -> str | None:
    body = _body(outcome)
    if not isinstance(body.get("key_id"), str) or not isinstance(body.get("public_key"), str):
        return f"get-publickey should answer key_id and public_key strings: {outcome.text}"
    if not body["public_key"].strip():
        return "get-publickey answered an empty public_key"
    return None


def _grantee_listed(listed: bool) -> Callable[[Outcome], str | None]:
    """list-grants lists (or no longer lists) the grant the key's preparation made for GRANTEE."""

    def check(outcome: Outcome) -> str | None:
        grants = _body(outcome).get("grants")
        if not isinstance(grants, list):
            return f"list-grants answered no grants array: {outcome.text}"
        found = [
            g
            for g in grants
            if isinstance(g, dict)
            and g.get("grantee_principal") == GRANTEE
            and "describe-key" in (g.get("operations") or [])
        ]
        if listed and not found:
            return (
                f"the grant create-grant made (grantee {GRANTEE}, describe-key) is not listed: {outcome.text}"
            )
        if not listed and found:
            return f"the revoked grant is still listed: {outcome.text}"
        return None

    return check


def _request_id(outcome: Outcome) -> str | None:
    return None if outcome.response.headers.get("X-Request-Id") else "response has no X-Request-Id header"


# key id -> the key_alias / key_description last sent for it with a 200 answer (create-key,
# update-key-alias, update-key-description), so a later describe-key can be compared with it.
# Key ids are unique, so one table serves every profile and thread of the process.
SENT: dict[str, dict[str, str]] = {}
# create-datakey's cipher_text (lower-case hex) -> the plain_text it answered with it.
DATAKEYS: dict[str, str] = {}
_SENT_FIELDS = ("key_alias", "key_description")


def _request_json(outcome: Outcome) -> dict[str, Any]:
    try:
        sent = json.loads(outcome.response.request.content or b"{}")
    except ValueError:
        return {}
    return sent if isinstance(sent, dict) else {}


def _info(outcome: Outcome) -> dict[str, Any]:
    info = _body(outcome).get("key_info")
    return info if isinstance(info, dict) else {}


def _shows_sent(*fields: str) -> Callable[[Outcome], str | None]:
    """describe-key shows the ``fields`` the last successful create/update sent for the key."""

    def check(outcome: Outcome) -> str | None:
        key_id = _request_json(outcome).get("key_id")
        sent = SENT.get(str(key_id), {})
        info = _info(outcome)
        for name in fields:
            if name not in sent:
                return f"nothing was sent for {name} of key {key_id}"
            if info.get(name) != sent[name]:
                return f"{name} should be {sent[name]!r} (what was sent), is {info.get(name)!r}"
        return None

    return check


def _details_equal(**expected: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        info = _info(outcome)
        for name, value in expected.items():
            if info.get(name) != value:
                return f"key_info.{name} should be {value!r}, is {info.get(name)!r}"
        return None

    return check


def _epoch_seconds(value: Any) -> float | None:
    """A date string in seconds or milliseconds (the pages say seconds, the examples have 13 digits)."""
    text = str(value).strip()
    if not text.isdigit():
        return None
    number = int(text)
    return number / 1000 if number > 10**11 else float(number)


def _deletion_in(days: int) -> Callable[[Outcome], str | None]:
    """scheduled_deletion_date is ``days`` after now (a day's slack for clocks and rounding)."""

    def check(outcome: Outcome) -> str | None:
        raw = _info(outcome).get("scheduled_deletion_date")
        when = _epoch_seconds(raw)
        if when is None:
            return f"scheduled_deletion_date should be the deletion time, is {raw!r}"
        ahead = (when - time.time()) / 86400
        if abs(ahead - days) > 1:
            return f"scheduled_deletion_date is {ahead:.1f} days on; pending_days was {days}"
        return None

    return check


def _listed(outcome: Outcome) -> list[dict[str, Any]] | str:
    details = _body(outcome).get("key_details")
    if not isinstance(details, list):
        return f"list-keys answered no key_details array: {outcome.text}"
    return [d for d in details if isinstance(d, dict)]


def _only_listed(field_name: str, value: str, own: bool = True) -> Callable[[Outcome], str | None]:
    """Every listed key has ``field_name`` == ``value``; with ``own``, the row's own key makes at
    least one (without, the row's key is one the filter leaves out)."""

    def check(outcome: Outcome) -> str | None:
        details = _listed(outcome)
        if isinstance(details, str):
            return details
        if own and not details:
            return f"nothing listed, yet the row's own key has {field_name} {value!r}"
        others = sorted({str(d.get(field_name)) for d in details} - {value})
        if others:
            return f"keys with {field_name} {others} are listed; only {value!r} should be"
        return None

    return check


def _lists_other_than(field_name: str, value: str) -> Callable[[Outcome], str | None]:
    """At least one listed key has another ``field_name`` (the row's own asymmetric key)."""

    def check(outcome: Outcome) -> str | None:
        details = _listed(outcome)
        if isinstance(details, str):
            return details
        if all(str(d.get(field_name)) == value for d in details):
            return f"only {field_name} {value!r} keys are listed; the row's asymmetric key is not"
        return None

    return check


def _rotation(enabled: bool, interval: int | None = None) -> Callable[[Outcome], str | None]:
    """get-key-rotation-status: key_rotation_enabled (a boolean, or the string of the older pages)
    and rotation_interval (an integer, or its string)."""

    def check(outcome: Outcome) -> str | None:
        body = _body(outcome)
        shown = str(body.get("key_rotation_enabled")).lower()
        if shown != str(enabled).lower():
            return f"key_rotation_enabled should be {str(enabled).lower()}, is {body.get('key_rotation_enabled')!r}"
        if interval is not None and str(body.get("rotation_interval")) != str(interval):
            return f"rotation_interval should be {interval}, is {body.get('rotation_interval')!r}"
        return None

    return check


def _plaintext(expected: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        got = _body(outcome).get("plain_text")
        if got != expected:
            return f"plain_text should be {expected!r}, is {got!r}"
        return None

    return check


def _import_parameters(outcome: Outcome) -> str | None:
    """get-parameters-for-import: key_id, import_token, expiration_time and the wrapping key as
    Base64 of its DER SubjectPublicKeyInfo (an RSA key by default)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    body = _body(outcome)
    for name in ("key_id", "import_token"):
        if not isinstance(body.get(name), str) or not body[name]:
            return f"get-parameters-for-import should answer a {name} string: {outcome.text}"
    if _epoch_seconds(body.get("expiration_time")) is None:
        return f"expiration_time should be the token's expiry time, is {body.get('expiration_time')!r}"
    try:
        public = serialization.load_der_public_key(
            base64.b64decode(str(body.get("public_key")), validate=True)
        )
    except (ValueError, TypeError):
        return f"public_key should be Base64 of a DER public key, is {str(body.get('public_key'))[:80]!r}"
    if not isinstance(public, rsa.RSAPublicKey):
        return "public_key should be the RSA wrapping key (RSA_2048 by default)"
    return None


def _sealed_only(outcome: Outcome) -> str | None:
    """create-datakey-without-plaintext: the data key only encrypted, {key_id, cipher_text}."""
    body = _body(outcome)
    if "plain_text" in body:
        return "create-datakey-without-plaintext answered the plaintext data key"
    cipher = body.get("cipher_text")
    if not isinstance(body.get("key_id"), str) or not isinstance(cipher, str) or not cipher:
        return f"expected {{key_id, cipher_text}}: {outcome.text}"
    try:
        bytes.fromhex(cipher)
    except ValueError:
        return f"cipher_text should be hex, is {cipher[:80]!r}"
    return None


def _grant_id(outcome: Outcome) -> str | None:
    grant_id = _body(outcome).get("grant_id")
    if not isinstance(grant_id, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", grant_id):
        return f"grant_id should be 64 hexadecimal characters, is {grant_id!r}"
    return None


def _grant_page(outcome: Outcome) -> str | None:
    body = _body(outcome)
    if not isinstance(body.get("grants"), list):
        return f"grants must be an array: {outcome.text}"
    if body.get("truncated") not in ("true", "false"):
        return f'truncated must be the string "true" or "false", is {body.get("truncated")!r}'
    if not isinstance(body.get("total"), int) or isinstance(body.get("total"), bool):
        return f"total must be an integer, is {body.get('total')!r}"
    if not isinstance(body.get("next_marker", ""), str):
        return f"next_marker must be a string, is {body.get('next_marker')!r}"
    return None


def _key_tags(outcome: Outcome) -> dict[str, Any] | str:
    body = _body(outcome)
    tags = body.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        return f"show-kms-tags should answer a tags array of {{key, value}}: {outcome.text}"
    return {str(t.get("key")): t.get("value") for t in tags}


def _tag_shown(outcome: Outcome) -> str | None:
    """show-kms-tags: {tags: [{key, value}], existTagsNum}, the added tag among them."""
    tags = _key_tags(outcome)
    if isinstance(tags, str):
        return tags
    if tags.get(TAG_KEY) != TAG_VALUE:
        return f"the tag {TAG_KEY}={TAG_VALUE} create-kms-tag added is not shown: {outcome.text}"
    body = _body(outcome)
    count = body.get("existTagsNum", body.get("existTagNum"))  # OTC's field table spells it existTagNum
    if not isinstance(count, int) or isinstance(count, bool) or count != len(tags):
        return f"existTagsNum should count the tags ({len(tags)}), is {count!r}"
    return None


def _tag_gone(outcome: Outcome) -> str | None:
    tags = _key_tags(outcome)
    if isinstance(tags, str):
        return tags
    return f"the removed tag {TAG_KEY} is still shown: {outcome.text}" if TAG_KEY in tags else None


def _project_tag_listed(outcome: Outcome) -> str | None:
    """list-kms-tags: {tags: [{key, values}]}, the row's tag with its value among them."""
    tags = _body(outcome).get("tags")
    if not isinstance(tags, list):
        return f"list-kms-tags should answer a tags array: {outcome.text}"
    for tag in tags:
        if isinstance(tag, dict) and tag.get("key") == TAG_KEY and TAG_VALUE in (tag.get("values") or []):
            return None
    return f"the tag {TAG_KEY}={TAG_VALUE} a key of the project carries is not listed: {outcome.text}"


def _filtered_by_tag(own: bool) -> Callable[[Outcome], str | None]:
    """list-kms-by-tags (filter): every listed key carries the filter's tag; with ``own``, the row's
    own tagged key makes at least one."""

    def check(outcome: Outcome) -> str | None:
        (wanted,) = _request_json(outcome).get("tags") or [{}]
        resources = _body(outcome).get("resources")
        if not isinstance(resources, list):
            return f"list-kms-by-tags should answer a resources array: {outcome.text}"
        if own and not resources:
            return "no key is listed, yet the row's own key carries the tag"
        for item in resources:
            tags = {t.get("key"): t.get("value") for t in (item.get("tags") or []) if isinstance(t, dict)}
            if tags.get(wanted.get("key")) not in wanted.get("values", []):
                return f"{item.get('resource_id')} is listed without the tag {wanted}: {tags}"
        return None

    return check


def _counted(outcome: Outcome) -> str | None:
    total = _body(outcome).get("total_count")
    if not isinstance(total, int) or isinstance(total, bool) or total < 1:
        return f"total_count should count the row's own tagged key (at least 1), is {total!r}"
    return None


def _instances(outcome: Outcome) -> str | None:
    number = _body(outcome).get("instance_num")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return f"instance_num should count the project's keys, the row's own among them, is {number!r}"
    return None


def _quotas(outcome: Outcome) -> str | None:
    quotas = _body(outcome).get("quotas")
    resources = quotas.get("resources") if isinstance(quotas, dict) else None
    if not isinstance(resources, list):
        return f"user-quotas should answer quotas.resources: {outcome.text}"
    for item in resources:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            return f"each quota names its type: {item!r}"
        if not all(
            isinstance(item.get(n), int) and not isinstance(item.get(n), bool) for n in ("used", "quota")
        ):
            return f"each quota has integer used and quota: {item!r}"
    if "CMK" not in {item["type"] for item in resources}:
        return f"no CMK quota is listed: {outcome.text}"
    return None


def _rotation_fields(outcome: Outcome) -> str | None:
    body = _body(outcome)
    missing = [
        n
        for n in ("key_rotation_enabled", "rotation_interval", "last_rotation_time", "number_of_rotations")
        if n not in body
    ]
    return f"get-key-rotation-status lacks {missing}: {outcome.text}" if missing else None


def _datakey_matches(outcome: Outcome) -> str | None:
    """decrypt-datakey of create-datakey's cipher_text gives back the plain_text it answered."""
    sent = str(_request_json(outcome).get("cipher_text", "")).lower()
    expected = DATAKEYS.get(sent)
    if expected is None:
        return "no create-datakey answer is known for this cipher_text"
    body = _body(outcome)
    got = str(body.get("data_key", "")).lower()
    if got != expected:
        return f"data_key should be create-datakey's plain_text {expected[:16]}..., is {got[:16]!r}..."
    if str(body.get("datakey_length")) != str(len(expected) // 2):
        return f"datakey_length should be {len(expected) // 2} (bytes), is {body.get('datakey_length')!r}"
    return None


def _cipher_bytes(outcome: Outcome) -> str | None:
    """encrypt-data's cipher_text: Base64 of 124 + ceil(n / 16) x 16 bytes for n plaintext bytes."""
    plain = str(_request_json(outcome).get("plain_text", "")).encode()
    expected = 124 + -(-len(plain) // 16) * 16
    try:
        size = len(base64.b64decode(str(_body(outcome).get("cipher_text")), validate=True))
    except ValueError:
        return f"cipher_text should be Base64: {outcome.text}"
    if size != expected:
        return f"a ciphertext of {len(plain)} plaintext bytes should be {expected} bytes, is {size}"
    return None


_AUTH_CODES = frozenset({"APIGW.0301", "KMS.0301", "KMS.0302"})


def _probe(req: str, name: str, op: str, **kw: Any) -> Probe:
    return Probe(req, name, op, **kw)


PROBES: tuple[Probe, ...] = (
    # auth: checked before anything else, so an unknown id changes nothing
    _probe(
        "HW-AUTH-001",
        "no-credentials",
        "describe",
        key="unknown",
        auth="none",
        status=frozenset({401, 403}),
        codes=frozenset({"APIGW.0301", "KMS.0301"}),
        read_only=True,
    ),
    _probe(
        "HW-AUTH-002",
        "invalid-token",
        "describe",
        key="unknown",
        auth="invalid",
        status=frozenset({401, 403}),
        codes=_AUTH_CODES,
        read_only=True,
    ),
    _probe(
        "HW-AUTH-003",
        "expired-token",
        "describe",
        key="unknown",
        auth="expired",
        status=frozenset({401, 403}),
        codes=frozenset({"KMS.0303", "APIGW.0301"}),
        read_only=True,
    ),
    _probe(
        "HW-AUTH-004",
        "forbidden-token",
        "describe",
        key="unknown",
        auth="forbidden",
        status=frozenset({403}),
        read_only=True,
    ),
    # pending_days boundaries
    _probe(
        "HW-VAL-001",
        "pending_days-6",
        "schedule_deletion",
        body={"pending_days": "6"},
        status=_400,
        codes=frozenset({"KMS.1401"}),
    ),
    _probe("HW-VAL-002", "pending_days-7", "schedule_deletion", body={"pending_days": "7"}),
    _probe("HW-VAL-003", "pending_days-1096", "schedule_deletion", body={"pending_days": "1096"}),
    _probe(
        "HW-VAL-004",
        "pending_days-1097",
        "schedule_deletion",
        body={"pending_days": "1097"},
        status=_400,
        codes=frozenset({"KMS.1401"}),
    ),
    _probe(
        "HW-VAL-005", "pending_days-abc", "schedule_deletion", body={"pending_days": "abc"}, status=_400
    ),  # no code is documented for it
    _probe("HW-VAL-006", "pending_days-number", "schedule_deletion", body={"pending_days": 7}, status=_400),
    # identifiers
    _probe(
        "HW-VAL-007",
        "malformed-key_id-describe",
        "describe",
        key="malformed",
        status=_400,
        codes=frozenset({"KMS.0205"}),
        read_only=True,
    ),
    _probe(
        "HW-VAL-007",
        "malformed-key_id-disable",
        "disable",
        key="malformed",
        status=_400,
        codes=frozenset({"KMS.0205"}),
        read_only=True,
    ),
    _probe(
        "HW-VAL-008",
        "unknown-key_id-describe",
        "describe",
        key="unknown",
        status=frozenset({404}),
        codes=frozenset({"KMS.0207"}),
        read_only=True,
    ),
    _probe(
        "HW-VAL-008",
        "unknown-key_id-schedule",
        "schedule_deletion",
        key="unknown",
        status=frozenset({404}),
        codes=frozenset({"KMS.0207"}),
        read_only=True,
    ),
    # request format
    _probe(
        "HW-VAL-009",
        "missing-key_id",
        "describe",
        key="none",
        body={"key_id": MISSING},
        status=_400,
        codes=frozenset({"KMS.0204"}),
        read_only=True,
    ),
    _probe(
        "HW-VAL-009",
        "missing-pending_days",
        "schedule_deletion",
        body={"pending_days": MISSING},
        status=_400,
        codes=frozenset({"KMS.0204"}),
    ),
    _probe(
        "HW-VAL-010",
        "invalid-json",
        "describe",
        key="unknown",
        raw=b'{"key_id": ',
        status=_400,
        codes=frozenset({"KMS.0202"}),
        read_only=True,
    ),
    # On an existing key: the order in which a server checks sequence and key existence is not documented.
    _probe(
        "HW-VAL-011",
        "short-sequence",
        "describe",
        body={"sequence": "919c82d4"},
        status=_400,
        codes=frozenset({"KMS.0206"}),
        read_only=True,
    ),
    _probe(
        "HW-VAL-012",
        "alias-bad-characters",
        "create",
        key="none",
        body={"key_alias": "bad alias!"},
        status=_400,
        codes=frozenset({"KMS.1101"}),
    ),
    _probe(
        "HW-VAL-012",
        "alias-default-suffix",
        "create",
        key="none",
        body={"key_alias": "kmsconf/default"},
        status=_400,
        codes=frozenset({"KMS.1101", "KMS.0211", "KMS.1104"}),
    ),
    _probe(
        "HW-VAL-013",
        "description-256",
        "create",
        key="none",
        body={"key_description": "d" * 256},
        status=_400,
        codes=frozenset({"KMS.1103"}),
    ),
    _probe("HW-VAL-014", "duplicate-alias", "create_same_alias", status=_400, codes=frozenset({"KMS.1104"})),
    _probe(
        "HW-VAL-015",
        "grant-only-create-grant",
        "create_grant",
        body={"operations": ["create-grant"]},
        status=_400,
        codes=frozenset({"KMS.2401"}),
    ),
    # data keys and random numbers
    _probe(
        "HW-VAL-016",
        "datakey_length-8200",
        "datakey",
        body={"datakey_length": "8200"},
        status=_400,
        codes=frozenset({"KMS.1901"}),
    ),
    _probe(
        "HW-VAL-016",
        "datakey_length-12",
        "datakey",
        body={"datakey_length": "12"},
        status=_400,
        codes=frozenset({"KMS.1903", "KMS.1901"}),
    ),
    _probe(
        "HW-VAL-017",
        "random_data_length-8200",
        "gen_random",
        key="none",
        body={"random_data_length": "8200"},
        status=_400,
        read_only=True,
    ),
    _probe(
        "HW-VAL-017",
        "random_data_length-12",
        "gen_random",
        key="none",
        body={"random_data_length": "12"},
        status=_400,
        read_only=True,
    ),
    _probe(
        "HW-SHAPE-009", "gen-random-512", "gen_random", key="none", check=_random_bits(512), read_only=True
    ),
    _probe(
        "HW-CRYPTO-001",
        "datakey-round-trip",
        "decrypt_datakey",
        key="datakey-sealed",
        check=_decrypted_data_key,
    ),
    # asymmetric keys
    _probe("HW-CRYPTO-002", "sign-then-verify", "verify", key="signed", check=_signature_valid("true")),
    _probe(
        "HW-CRYPTO-003",
        "verify-other-message",
        "verify",
        key="signed",
        body={"message": OTHER_MESSAGE},
        status=frozenset({200, 400}),
        check=_signature_valid("false"),
    ),
    _probe("HW-CRYPTO-006", "rsa-round-trip", "decrypt_rsa", key="rsa-sealed", check=_rsa_plaintext),
    _probe(
        "HW-CRYPTO-007",
        "rsa-decrypt-other-algorithm",
        "decrypt_rsa",
        key="rsa-sealed",
        body={"encryption_algorithm": "SYMMETRIC_DEFAULT"},
        status=_400,
    ),
    _probe("HW-CRYPTO-004", "publickey-asymmetric", "get_publickey", key="signing-key", check=_public_key),
    _probe("HW-CRYPTO-005", "publickey-symmetric", "get_publickey", status=_400),
    # importing key material (states after an import: the rows are transitions, see TRANSITIONS)
    _probe(
        "HW-IMPORT-005",
        "parameters-after-import",
        "import_parameters",
        key="imported",
        status=_400,
        codes=frozenset({"KMS.0310"}),
    ),
    # grants
    _probe("HW-GRANT-001", "grant-listed", "list_grants", key="granted", check=_grantee_listed(True)),
    _probe(
        "HW-GRANT-002",
        "revoked-grant-unlisted",
        "list_grants",
        key="grant-revoked",
        check=_grantee_listed(False),
    ),
    _probe(
        "HW-GRANT-003",
        "revoke-unknown-grant",
        "revoke_grant",
        body={"grant_id": UNKNOWN_GRANT},
        status=frozenset({400, 404}),
        codes=frozenset({"KMS.2501"}),
    ),
    _probe(
        "HW-GRANT-003",
        "retire-unknown-grant",
        "retire_grant",
        body={"grant_id": UNKNOWN_GRANT},
        status=frozenset({400, 404}),
        codes=frozenset({"KMS.2501"}),
    ),
    # states seen through describe-key
    _probe("HW-STATE-009", "created-key-enabled", "describe", check=_state_is("2", "1")),
    _probe(
        "HW-STATE-009", "external-key-pending-import", "describe", key="pending-import", check=_state_is("5")
    ),
    _probe("HW-STATE-010", "describe-disabled", "describe", key="disabled", check=_state_is("3")),
    _probe(
        "HW-STATE-010", "describe-pending-deletion", "describe", key="pending-deletion", check=_state_is("4")
    ),
    # shapes
    _probe("HW-SHAPE-001", "create-key-shape", "create", key="none", check=_wrapped("key_id", "domain_id")),
    _probe("HW-SHAPE-002", "describe-key-shape", "describe", check=_details),
    _probe("HW-SHAPE-003", "disable-key-shape", "disable", check=_wrapped("key_id", key_state="3")),
    _probe(
        "HW-SHAPE-003", "enable-key-shape", "enable", key="disabled", check=_wrapped("key_id", key_state="2")
    ),
    _probe("HW-SHAPE-004", "schedule-shape", "schedule_deletion", check=_flat),
    _probe("HW-SHAPE-004", "cancel-shape", "cancel_deletion", key="pending-deletion", check=_flat),
    _probe("HW-SHAPE-005", "list-keys-shape", "list", key="none", check=_list_shape, read_only=True),
    _probe("HW-SHAPE-006", "list-keys-limit-1", "list", body={"limit": "1"}, check=_paged),
    _probe(
        "HW-SHAPE-008", "datakey-aes-256", "datakey", body={"key_spec": "AES_256"}, check=_datakey_bits(256)
    ),
    _probe(
        "HW-SHAPE-008", "datakey-aes-128", "datakey", body={"key_spec": "AES_128"}, check=_datakey_bits(128)
    ),
    # what later reads show
    _probe(
        "HW-PERSIST-001",
        "create-persists-alias-description",
        "describe",
        check=_shows_sent("key_alias", "key_description"),
    ),
    _probe(
        "HW-PERSIST-002",
        "create-defaults",
        "describe",
        check=_details_equal(key_spec="AES_256", origin="kms"),
    ),
    _probe(
        "HW-PERSIST-003",
        "alias-updated-shown",
        "describe",
        key="alias-updated",
        check=_shows_sent("key_alias"),
    ),
    _probe(
        "HW-PERSIST-004",
        "description-updated-shown",
        "describe",
        key="description-updated",
        check=_shows_sent("key_description"),
    ),
    _probe(
        "HW-PERSIST-005",
        "deletion-date-pending-days",
        "describe",
        key="pending-deletion",
        check=_deletion_in(7),
    ),
    # listing
    _probe(
        "HW-LIST-001",
        "list-default-aes-only",
        "list",
        key="signing-key",
        check=_only_listed("key_spec", "AES_256", own=False),
    ),
    _probe(
        "HW-LIST-002",
        "list-all-asymmetric",
        "list",
        key="signing-key",
        body={"key_spec": "ALL"},
        check=_lists_other_than("key_spec", "AES_256"),
    ),
    _probe(
        "HW-LIST-003",
        "list-key-state-filter",
        "list",
        key="disabled",
        body={"key_state": "3"},
        check=_only_listed("key_state", "3"),
    ),
    _probe(
        "HW-LIST-003",
        "list-key-state-filter-excludes",
        "list",
        key="disabled",
        body={"key_state": "2"},
        check=_only_listed("key_state", "2", own=False),
    ),
    # symmetric encryption
    _probe(
        "HW-CRYPTO-008",
        "symmetric-round-trip",
        "decrypt",
        key="sealed",
        check=_plaintext(SYMMETRIC_PLAINTEXT),
    ),
    # rotation
    _probe("HW-ROT-001", "rotation-off-by-default", "rotation_status", check=_rotation(False)),
    _probe(
        "HW-ROT-002", "rotation-enabled-shown", "rotation_status", key="rotating", check=_rotation(True, 365)
    ),
    _probe(
        "HW-ROT-003",
        "enable-rotation-twice",
        "enable_rotation",
        key="rotating",
        status=_400,
        codes=frozenset({"KMS.2901"}),
    ),
    _probe(
        "HW-ROT-004",
        "rotation-interval-29",
        "update_rotation_interval",
        key="rotating",
        body={"rotation_interval": 29},
        status=_400,
        codes=frozenset({"KMS.3001"}),
    ),
    _probe(
        "HW-ROT-004",
        "rotation-interval-366",
        "update_rotation_interval",
        key="rotating",
        body={"rotation_interval": 366},
        status=_400,
        codes=frozenset({"KMS.3001"}),
    ),
    _probe(
        "HW-ROT-005",
        "rotation-interval-shown",
        "rotation_status",
        key="rotation-interval-set",
        check=_rotation(True, ROTATION_INTERVAL),
    ),
    _probe(
        "HW-ROT-006",
        "rotation-disabled-shown",
        "rotation_status",
        key="rotation-disabled",
        check=_rotation(False),
    ),
    _probe("HW-ROT-007", "rotation-external-refused", "enable_rotation", key="pending-import", status=_400),
    # validation and refusals on the other operations
    _probe(
        "HW-VAL-018",
        "update-alias-bad-characters",
        "update_alias",
        body={"key_alias": "bad alias!"},
        status=_400,
        codes=frozenset({"KMS.1101"}),
    ),
    _probe(
        "HW-VAL-018",
        "update-description-256",
        "update_description",
        body={"key_description": "d" * 256},
        status=_400,
        codes=frozenset({"KMS.1103"}),
    ),
    _probe("HW-VAL-019", "plain_text-4097", "encrypt", body={"plain_text": "a" * 4097}, status=_400),
    _probe(
        "HW-VAL-019", "plain_text-4098-bytes", "encrypt", body={"plain_text": "\u00e9" * 2049}, status=_400
    ),  # 2049 characters, 4098 bytes in UTF-8
    _probe(
        "HW-IMPORT-006",
        "import-unissued-token",
        "import_material",
        key="import-ready",
        body={"import_token": "A" * 200},
        status=_400,
        codes=frozenset({"KMS.2605"}),
    ),
    _probe(
        "HW-IMPORT-007",
        "import-unwrappable-material",
        "import_material",
        key="import-ready",
        body={"encrypted_key_material": "A" * 344},
        status=_400,
        codes=frozenset({"KMS.0311"}),
    ),
    _probe(
        "HW-IMPORT-008",
        "import-past-expiration",
        "import_material",
        key="import-ready",
        body={"expiration_time": 1},
        status=_400,
        codes=frozenset({"KMS.2602"}),
    ),
    _probe(
        "HW-IMPORT-009",
        "import-again",
        "import_material",
        key="imported",
        status=_400,
        codes=frozenset({"KMS.0310"}),
    ),
    _probe(
        "HW-IMPORT-010",
        "reimport-other-material",
        "import_material",
        key="reimport-ready",
        status=_400,
        codes=frozenset({"KMS.2606"}),
    ),
    _probe(
        "HW-SHAPE-010",
        "import-parameters-shape",
        "import_parameters",
        key="pending-import",
        check=_import_parameters,
    ),
    _probe("HW-CRYPTO-009", "sign-symmetric-key", "sign", status=_400),
    _probe(
        "HW-CRYPTO-009",
        "sign-encrypt-decrypt-key",
        "sign",
        key="rsa-key",
        body={"signing_algorithm": "RSASSA_PSS_SHA_256"},
        status=_400,
    ),
    _probe("HW-CRYPTO-009", "verify-symmetric-key", "verify", status=_400),
    _probe(
        "HW-VAL-020",
        "sign-message-4096",
        "sign",
        key="signing-key",
        body={"message": base64.b64encode(b"m" * 4096).decode()},
        status=_400,
    ),
    _probe(
        "HW-SHAPE-011",
        "datakey-length-wins",
        "datakey",
        body={"key_spec": "AES_128", "datakey_length": "512"},
        check=_datakey_bits(512),
    ),
    _probe(
        "HW-SHAPE-012", "datakey-without-plaintext-shape", "datakey_without_plaintext", check=_sealed_only
    ),
    _probe(
        "HW-VAL-021",
        "without-plaintext-length-8200",
        "datakey_without_plaintext",
        body={"datakey_length": "8200"},
        status=_400,
        codes=frozenset({"KMS.2001"}),
    ),
    _probe(
        "HW-VAL-022",
        "datakey-digest-mismatch",
        "encrypt_datakey",
        body={"plain_text": DATA_KEY.hex() + "00" * 32},
        status=_400,
        codes=frozenset({"KMS.2103"}),
    ),
    _probe(
        "HW-VAL-023",
        "datakey_plain_length-1025",
        "encrypt_datakey",
        body={"datakey_plain_length": "1025"},
        status=_400,
        codes=frozenset({"KMS.2102"}),
    ),
    _probe("HW-GRANT-004", "grant-id-shape", "create_grant", check=_grant_id),
    _probe(
        "HW-VAL-024",
        "grant-bad-grantee",
        "create_grant",
        body={"grantee_principal": "bad principal!"},
        status=_400,
        codes=frozenset({"KMS.2402"}),
    ),
    _probe("HW-GRANT-005", "list-grants-shape", "list_grants", key="granted", check=_grant_page),
    _probe("HW-SHAPE-014", "ciphertext-size", "encrypt", check=_cipher_bytes),
    # AK/SK, data keys, a second key
    _probe(
        "HW-AUTH-005",
        "bad-signature",
        "describe",
        key="unknown",
        auth=BAD_SIGNATURE_MODE,
        # a token-only server sees no credential at all: HW-AUTH-001's answers
        status=frozenset({401, 403}),
        codes=frozenset({"APIGW.0301", "KMS.0301"}),
        read_only=True,
    ),
    _probe(
        "HW-CRYPTO-010",
        "datakey-decrypts-to-plain",
        "decrypt_datakey",
        key="datakey-made",
        check=_datakey_matches,
    ),
    _probe(
        "HW-PERSIST-006",
        "asymmetric-default-usage",
        "describe",
        key="ec-default-key",
        check=_details_equal(key_usage="SIGN_VERIFY"),
    ),
    _probe(
        "HW-VAL-025", "datakey-foreign-cipher", "decrypt_datakey", status=_400, codes=frozenset({"KMS.2201"})
    ),
    _probe(
        "HW-VAL-026",
        "update-alias-of-other-key",
        "update_alias_to_other",
        key="other-key",
        status=_400,
        codes=frozenset({"KMS.1104"}),
    ),
    _probe(
        "HW-GRANT-006",
        "revoke-grant-of-other-key",
        "revoke_grant",
        key="other-key-grant",
        status=frozenset({400, 404}),
        codes=frozenset({"KMS.2502"}),
    ),
    _probe(
        "HW-IMPORT-011",
        "import-token-of-other-key",
        "import_material_other_token",
        key="other-key-token",
        status=_400,
        codes=frozenset({"KMS.2603"}),
    ),
    # tags
    _probe("HW-TAG-001", "tag-shown", "show_tags", key="tagged", check=_tag_shown),
    _probe(
        "HW-TAG-002", "eleventh-tag", "create_tag", key="ten-tags", status=_400, codes=frozenset({"KMS.0409"})
    ),
    _probe(
        "HW-TAG-003",
        "tag-key-37",
        "create_tag",
        body={"tag": {"key": "k" * 37, "value": "v"}},
        status=_400,
        codes=frozenset({"KMS.0406"}),
    ),
    _probe("HW-TAG-004", "batch-deleted-tag-gone", "show_tags", key="tags-batch-deleted", check=_tag_gone),
    _probe(
        "HW-TAG-005",
        "empty-tag-list",
        "batch_tags",
        body={"tags": []},
        status=_400,
        codes=frozenset({"KMS.0401"}),
    ),
    _probe("HW-TAG-006", "deleted-tag-gone", "show_tags", key="tag-deleted", check=_tag_gone),
    _probe(
        "HW-TAG-007",
        "delete-unknown-tag",
        "delete_tag",
        status=frozenset({404}),
        codes=frozenset({"KMS.0416"}),
    ),
    _probe("HW-TAG-008", "project-tags-listed", "list_project_tags", key="tagged", check=_project_tag_listed),
    _probe("HW-TAG-009", "tag-filter", "tag_filter", key="tagged", check=_filtered_by_tag(own=True)),
    _probe(
        "HW-TAG-009",
        "tag-filter-excludes",
        "tag_filter",
        key="tagged",
        body={"tags": [{"key": TAG_KEY, "values": ["kmsconf-absent"]}]},
        check=_filtered_by_tag(own=False),
    ),
    _probe("HW-TAG-010", "tag-count", "tag_count", key="tagged", check=_counted),
    # the project's counts and quotas, rotation status fields, list-keys paging codes
    _probe("HW-LIST-004", "instances-count", "user_instances", check=_instances),
    _probe("HW-SHAPE-013", "quotas-shape", "user_quotas", key="none", check=_quotas, read_only=True),
    _probe("HW-ROT-008", "rotation-status-fields", "rotation_status", check=_rotation_fields),
    _probe(
        "HW-LIST-005",
        "list-limit-abc",
        "list",
        key="none",
        body={"limit": "abc"},
        status=_400,
        codes=frozenset({"KMS.1601"}),
        read_only=True,
    ),
    _probe(
        "HW-LIST-005",
        "list-marker-negative",
        "list",
        key="none",
        body={"limit": "1", "marker": "-1"},
        status=_400,
        codes=frozenset({"KMS.1602"}),
        read_only=True,
    ),
    _probe("HW-SHAPE-007", "request-id-on-success", "list", key="none", check=_request_id, read_only=True),
    _probe(
        "HW-SHAPE-007",
        "request-id-on-error",
        "describe",
        key="unknown",
        status=frozenset(range(400, 500)),
        check=_request_id,
        read_only=True,
    ),
)


def _wrap_material(public_key_b64: str) -> str:
    """32 fresh bytes of AES_256 key material wrapped for import-key-material: RSAES-OAEP with SHA-256
    under the public key get-parameters-for-import handed out (Base64 DER), Base64 (CreateParametersForImport.html).
    A key that cannot be read gives "" (the import is then refused, and that is the finding)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        public = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    except (ValueError, TypeError):
        return ""
    if not isinstance(public, rsa.RSAPublicKey):
        return ""
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return base64.b64encode(public.encrypt(secrets.token_bytes(32), oaep)).decode()


def _token_expired(response: httpx.Response) -> bool:
    """401 from the gateway, or KMS's 403 KMS.0303 "X-Auth-Token expired"."""
    return response.status_code == 401 or (response.status_code == 403 and b"KMS.0303" in response.read())


# Tenant isolation: a key of the run's project, through a token of another project and that
# project's URL (``--other-token``, ``--other-project-id``).  The key is not that project's: the
# documented answers are "no such key" (KMS.0207) or a 403 refusal; a listing there does not name it;
# and a refused change leaves the key as it was.
# The DEW error-code page's 403 codes for a request without access permission.
NO_PERMISSION_CODES = frozenset({"KMS.0306", "KMS.0307", "KMS.0326", "KMS.0330"})
_NOT_THERE: dict[str, Any] = {
    "status": frozenset({403, 404}),
    "codes": frozenset({"KMS.0207", *NO_PERMISSION_CODES}),
}
ISOLATION_PROBES: tuple[Probe, ...] = (
    _probe("HW-ISO-001", "other-project-describe", "describe", auth="other", **_NOT_THERE),
    _probe("HW-ISO-001", "other-project-list", "list", auth="other", hides_key=True),
    _probe("HW-ISO-001", "other-project-disable", "disable", auth="other", unchanged=True, **_NOT_THERE),
    _probe(
        "HW-ISO-001",
        "other-project-schedule-deletion",
        "schedule_deletion",
        auth="other",
        unchanged=True,
        **_NOT_THERE,
    ),
    _probe("HW-ISO-001", "other-project-encrypt", "encrypt", auth="other", **_NOT_THERE),
    # the run's own token on the other project's path
    _probe(
        "HW-ISO-002",
        "own-token-other-project",
        "list",
        auth="crossed",
        needs=("other_project_id",),
        status=frozenset({403}),
        codes=frozenset({"KMS.0321"}),
        read_only=True,
    ),
)


class HuaweiProfile(Profile):
    vendor: ClassVar[str] = "huawei"
    product: ClassVar[str] = "Huawei Cloud KMS"
    preflight_call = ("describe", True, {})
    auth_header: ClassVar[tuple[str, str]] = ("X-Auth-Token", "{token}")
    invalid_token: ClassVar[str] = "invalid-token-kms-conformance"
    # A new key that first reads "1" (to be activated) is read again until it is enabled.
    polling: Polling = Polling(first_delay=0.1, max_delay=1.0, deadline_loopback=10.0, deadline_remote=30.0)
    transitions: ClassVar[tuple[Transition, ...]] = TRANSITIONS
    probes: ClassVar[tuple[Probe, ...]] = PROBES + ISOLATION_PROBES
    # Tenant isolation needs a token of a second project, and that project (``auth="other"``).
    other_scope: ClassVar[tuple[tuple[str, ...], ...]] = (("other_token", "other_project_id"),)
    envelope_requirement: ClassVar[str] = "HW-ENV-001"
    error_schemas: ClassVar[tuple[Mapping[str, Any], ...]] = (KMS_ENVELOPE, GATEWAY_ENVELOPE)
    generated_requirements: ClassVar[Mapping[str, str]] = {
        "not_a_server_error": "HW-GEN-001",
        "status_code_conformance": "HW-GEN-002",
        "response_schema_conformance": "HW-GEN-003",
        "negative_data_rejection": "HW-GEN-004",
        "ignored_auth": "HW-GEN-005",
        "positive_data_acceptance": "HW-GEN-006",
    }
    read_only_operations: ClassVar[frozenset[str]] = frozenset(
        {
            "describeKey",
            "listKeys",
            "getKeyRotationStatus",
            "showKmsTags",
            "listKmsTags",
            "listKmsByTags",
            "showUserInstances",
            "showUserQuotas",
            "listGrants",
            "listRetirableGrants",
            "showPublicKey",
            "validateSignature",
        }
    )
    lifecycle_operations: ClassVar[frozenset[str]] = frozenset(
        {
            "createKey",
            "describeKey",
            "listKeys",
            "enableKey",
            "disableKey",
            "scheduleKeyDeletion",
            "cancelKeyDeletion",
            "updateKeyAlias",
            "updateKeyDescription",
        }
    )
    key_id_pattern: ClassVar[str] = r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}"
    read_only_calls: ClassVar[frozenset[str]] = frozenset({"describe", "list", "encrypt"})
    key_id_fields: ClassVar[tuple[str, ...]] = ("key_id",)
    operation_ids: ClassVar[Mapping[str, str]] = {
        "create": "createKey",
        "create_external": "createKey",
        "create_same_alias": "createKey",
        "describe": "describeKey",
        "list": "listKeys",
        "enable": "enableKey",
        "disable": "disableKey",
        "schedule_deletion": "scheduleKeyDeletion",
        "cancel_deletion": "cancelKeyDeletion",
        "update_alias": "updateKeyAlias",
        "update_description": "updateKeyDescription",
        "encrypt": "encryptData",
        "datakey": "createDatakey",
        "create_grant": "createGrant",
        "create_signing": "createKey",
        "create_rsa_encrypt": "createKey",
        "encrypt_rsa": "encryptData",
        "decrypt_rsa": "decryptData",
        "encrypt_datakey": "encryptDatakey",
        "decrypt_datakey": "decryptDatakey",
        "gen_random": "genRandom",
        "list_grants": "listGrants",
        "revoke_grant": "revokeGrant",
        "retire_grant": "retireGrant",
        "import_parameters": "getParametersForImport",
        "import_material": "importKeyMaterial",
        "delete_material": "deleteImportedKeyMaterial",
        "get_publickey": "showPublicKey",
        "sign": "sign",
        "verify": "validateSignature",
        "update_description_new": "updateKeyDescription",
        "datakey_without_plaintext": "createDatakeyWithoutPlaintext",
        "create_tag": "createKmsTag",
        "show_tags": "showKmsTags",
        "batch_ten_tags": "batchKmsTags",
        "batch_tags": "batchKmsTags",
        "batch_delete_tags": "batchKmsTags",
        "delete_tag": "deleteKmsTag",
        "list_project_tags": "listKmsTags",
        "tag_filter": "listKmsByTags",
        "tag_count": "listKmsByTags",
        "user_instances": "showUserInstances",
        "user_quotas": "showUserQuotas",
        "create_ec_default": "createKey",
        "create_other": "createKey",
        "create_other_external": "createKey",
        "import_parameters_other": "getParametersForImport",
        "create_grant_on_other": "createGrant",
        "update_alias_to_other": "updateKeyAlias",
        "import_material_other_token": "importKeyMaterial",
        "decrypt": "decryptData",
        "rotation_status": "getKeyRotationStatus",
        "enable_rotation": "enableKeyRotation",
        "disable_rotation": "disableKeyRotation",
        "update_rotation_interval": "updateKeyRotationInterval",
    }
    served_requirement: ClassVar[str] = "HW-API-001"
    transport_requirement: ClassVar[str] = "HW-TRANSPORT-001"
    setup_requirements: ClassVar[Mapping[str, str]] = {
        "create": "HW-STATE-009",
        "pending-import": "HW-STATE-009",
        "read-state": "HW-SHAPE-002",
        "enabled": "HW-STATE-009",
        "disabled": "HW-STATE-001",
        "pending-deletion": "HW-STATE-002",
        # prepared keys (PREPARED): a broken preparation fails the requirement it serves
        "datakey-sealed": "HW-CRYPTO-001",
        "granted": "HW-GRANT-001",
        "grant-revoked": "HW-GRANT-002",
        "import-ready": "HW-IMPORT-001",
        "imported": "HW-IMPORT-001",
        "signing-key": "HW-CRYPTO-004",
        "signed": "HW-CRYPTO-002",
        "rsa-key": "HW-CRYPTO-006",
        "rsa-sealed": "HW-CRYPTO-006",
        "alias-updated": "HW-PERSIST-003",
        "description-updated": "HW-PERSIST-004",
        "sealed": "HW-CRYPTO-008",
        "reimport-ready": "HW-IMPORT-010",
        "tagged": "HW-TAG-001",
        "datakey-made": "HW-CRYPTO-010",
        "ec-default-key": "HW-PERSIST-006",
        "other-key": "HW-VAL-026",
        "other-key-grant": "HW-GRANT-006",
        "other-key-token": "HW-IMPORT-011",
        "ten-tags": "HW-TAG-002",
        "tags-batch-deleted": "HW-TAG-004",
        "tag-deleted": "HW-TAG-006",
        "rotating": "HW-ROT-002",
        "rotation-interval-set": "HW-ROT-005",
        "rotation-disabled": "HW-ROT-006",
    }

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.aliases: dict[str, str] = {}
        self._serial = itertools.count(1)  # next() is atomic: names stay unique across threads
        self.remembered: dict[str, dict[str, str]] = {}  # key id -> placeholder -> value (PREPARED)

    # -- credentials -----------------------------------------------------------------------

    @property
    def signing(self) -> bool:
        return self.token_source() is None and bool(self.settings.ak and self.settings.sk)

    def make_token_source(self) -> TokenSource | None:
        s = self.settings
        if not s.token and not s.token_command and s.username and s.password:
            return HuaweiIamToken(
                s.iam_url or iam_url_for(s.base_url),
                s.username,
                s.password,
                s.domain or s.username,
                s.project_id or "",
                verify=self.verify(),
                timeout=s.timeout,
                transport=self.transport,
            )
        return super().make_token_source()

    # A vendor auth mode: an AK/SK signature made with a wrong secret key (the run's AK, or a made-up one).
    BAD_SIGNATURE = BAD_SIGNATURE_MODE

    def headers_for(self, mode: str) -> dict[str, str]:
        return {} if mode == self.BAD_SIGNATURE else super().headers_for(mode)

    def auth_for(self, mode: str) -> httpx.Auth | None:
        if mode == self.BAD_SIGNATURE:
            return AkSkAuth(self.settings.ak or "KMSCONFORMANCEAK0000", "kms-conformance-wrong-secret-key")
        if mode != "valid":
            return None
        tokens = self.token_source()
        if tokens is not None:
            return RenewingAuth(tokens, "X-Auth-Token", expired=_token_expired)
        if self.signing:
            return AkSkAuth(self.settings.ak or "", self.settings.sk or "")
        return None

    def requests_auth(self) -> Any:
        return AkSkRequestsAuth(self.settings.ak or "", self.settings.sk or "") if self.signing else None

    def generated_path_parameters(self) -> dict[str, str]:
        return {"project_id": self.settings.project_id or ""}

    # -- requests --------------------------------------------------------------------------

    def _fill(self, value: Any, key_id: str | None) -> Any:
        if not isinstance(value, str):
            return value
        if value == "{key_id}":
            return key_id
        if value == "{alias}":
            return f"{self.settings.run_id}-{next(self._serial)}-{int(time.time() * 1000) % 10**8}"
        if value == "{alias_of_key}":
            return self.aliases.get(key_id or "", "")
        if value == "{description}":
            return f"kms-conformance scratch key, run {self.settings.run_id}"
        if value == "{new_description}":
            return f"kms-conformance updated description, run {self.settings.run_id}"
        name = value[1:-1] if value.startswith("{") and value.endswith("}") else None
        if name in PLACEHOLDER_DEFAULTS:
            return self.remembered.get(key_id or "", {}).get(name, PLACEHOLDER_DEFAULTS[name])
        return value

    def build_request(
        self, client: httpx.Client, operation: str, key_id: str | None, body: Mapping[str, Any]
    ) -> httpx.Request:
        path, defaults = OPERATIONS[operation]
        payload = {name: self._fill(value, key_id) for name, value in defaults.items()}
        if key_id is None or "{key_id}" in path:
            payload.pop("key_id", None)
        payload.update(body)
        payload = {k: v for k, v in payload.items() if v is not MISSING}
        url = f"/v1.0/{self.scoped('project_id')}/kms/{path.replace('{key_id}', key_id or '')}"
        method = METHODS.get(operation, "POST")
        if method != "POST":
            return client.build_request(method, url)
        return client.build_request("POST", url, json=payload)

    def call(
        self,
        operation: str,
        key_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        auth: str = "valid",
        raw: bytes | None = None,
    ) -> Outcome:
        outcome = super().call(operation, key_id, body, auth=auth, raw=raw)
        self._record_sent(operation, outcome)
        if operation.startswith("create") and outcome.status == 200:
            sent = outcome.response.request.content
            try:
                alias = json.loads(sent).get("key_alias")
                self.aliases[outcome.body["key_info"]["key_id"]] = alias
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
        return outcome

    def _record_sent(self, operation: str, outcome: Outcome) -> None:
        """Note the alias and description a successful create or update sent (SENT), and the data
        key a create-datakey answered with its ciphertext (DATAKEYS)."""
        if outcome.status == 200 and self.operation_ids.get(operation) == "createDatakey":
            body = _body(outcome)
            if isinstance(body.get("cipher_text"), str) and isinstance(body.get("plain_text"), str):
                DATAKEYS[body["cipher_text"].lower()] = body["plain_text"].lower()
            return
        if outcome.status != 200 or self.operation_ids.get(operation) not in (
            "createKey",
            "updateKeyAlias",
            "updateKeyDescription",
        ):
            return
        sent = _request_json(outcome)
        key_id = sent.get("key_id") or self.created_key_id("createKey", outcome.body)
        if isinstance(key_id, str):
            fields = {k: v for k, v in sent.items() if k in _SENT_FIELDS and isinstance(v, str)}
            if self.operation_ids[operation] == "createKey":
                fields.setdefault("key_description", "")
            SENT[key_id] = {**SENT.get(key_id, {}), **fields}

    def envelope_problem(self, outcome: Outcome) -> str | None:
        """The envelope follows the error's origin: a KMS error (``KMS.xxxx``) is always wrapped in
        ``{"error": {...}}``; the flat body is the API gateway's, for its own ``APIGW.xxxx`` codes
        (which some sources also show wrapped, so both are accepted there)."""
        problem = super().envelope_problem(outcome)
        if problem or outcome.status < 400 or not isinstance(outcome.body, dict):
            return problem
        code = outcome.code or ""
        if code.startswith("KMS.") and not isinstance(outcome.body.get("error"), dict):
            return f'KMS error {code} in the gateway\'s flat body; KMS errors are {{"error": {{...}}}}: {outcome.text}'
        return None

    def not_served(self, outcome: Outcome) -> str | None:
        # The API gateway answers an unknown path with APIGW.0101 (API not found).
        if outcome.code == "APIGW.0101":
            return f"HTTP {outcome.status} APIGW.0101 (the gateway knows no such API)"
        return super().not_served(outcome)

    def error_code(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return None
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("error_code"), str):
            return inner["error_code"]
        code = body.get("error_code")
        return code if isinstance(code, str) else None

    def created_key_id(self, operation_id: str, body: Any) -> str | None:
        if operation_id in (
            "createKey",
            "create",
            "create_external",
            "create_same_alias",
            "create_signing",
            "create_rsa_encrypt",
            "create_ec_default",
            "create_other",
            "create_other_external",
        ):
            try:
                return body["key_info"]["key_id"]
            except (KeyError, TypeError):
                return None
        return None

    # -- scratch keys ----------------------------------------------------------------------

    def _created(self, operation: str) -> str:
        outcome = self.call(operation)
        key_id = self.created_key_id("createKey", outcome.body)
        if outcome.status != 200 or not isinstance(key_id, str):
            step = {v: k for k, v in CREATED_BY.items()}.get(operation, "create")
            raise self.step_failed(step, f"create-key answered {outcome.describe()}")
        return key_id

    def create_key(self) -> str:
        return self._created("create")

    @staticmethod
    def _root(state: str) -> str:
        """The life-cycle state a (prepared) state's key starts from, or the kind of key it is."""
        while state not in CREATED_BY and state in PREPARED:
            state = PREPARED[state][0]
        return state

    def key_in(self, state: str) -> str:
        key_id = self._created(CREATED_BY.get(self._root(state), "create"))
        self.own(key_id)
        self._prepare(key_id, state)
        if state in PREPARED and self._steps_in(state):  # (no step: drive_to has just read the state)
            reached = self.key_state(key_id)
            if reached != PREPARED_STATE[state]:
                raise self.step_failed(
                    state, f"the prepared key should be {PREPARED_STATE[state]}, is {reached}"
                )
        return key_id

    @staticmethod
    def _steps_in(state: str) -> bool:
        """Whether a prepared state's chain makes any call beyond its life-cycle state."""
        while state in PREPARED:
            state, steps = PREPARED[state]
            if steps:
                return True
        return False

    def _prepare(self, key_id: str, state: str) -> None:
        """Drive a new key to ``state``: a life-cycle state, or a PREPARED one through its calls."""
        if state not in PREPARED:
            self.drive_to(key_id, state)
            return
        base, steps = PREPARED[state]
        self._prepare(key_id, base)
        for op in steps:
            outcome = self.call(op, key_id)
            if outcome.status not in (200, 204):  # the tag calls answer 204
                raise self.step_failed(state, f"{op} answered {outcome.describe()}")
            self._remember(key_id, op, outcome)

    def _remember(self, key_id: str, op: str, outcome: Outcome) -> None:
        memo = self.remembered.setdefault(key_id, {})
        body = _body(outcome)
        for name, field in REMEMBERED.get(op, {}).items():
            if isinstance(body.get(field), str):
                memo[name] = body[field]
        if op == "import_parameters":
            memo["import_token"] = str(body.get("import_token", ""))
            memo["wrapped_material"] = _wrap_material(str(body.get("public_key", "")))
        if op == "import_parameters_other":
            memo["other_import_token"] = str(body.get("import_token", ""))
            memo["other_wrapped_material"] = _wrap_material(str(body.get("public_key", "")))
        if op in ("create_other", "create_other_external"):
            other = self.created_key_id(op, outcome.body)
            if isinstance(other, str):
                self.own(other)  # cleaned up with the row's own key
                memo["other_key_id"] = other
                memo["other_alias"] = SENT.get(other, {}).get("key_alias", "")

    def key_state(self, key_id: str) -> str:
        outcome = self.call("describe", key_id)
        if outcome.status != 200:
            return f"unreadable (describe-key answered {outcome.status})"
        info = outcome.body.get("key_info") if isinstance(outcome.body, dict) else None
        raw = info.get("key_state") if isinstance(info, dict) else None
        if raw not in STATES:
            raise self.step_failed("read-state", f"describe-key gave no readable key_state: {outcome.text}")
        return STATES[raw]

    def drive_to(self, key_id: str, state: str) -> None:
        deadline = time.monotonic() + self.polling.deadline(loopback=is_loopback(self.settings.base_url))
        delays = self.polling.delays()
        current = self.key_state(key_id)
        while current == "pending-activation" and time.monotonic() < deadline:
            time.sleep(next(delays))
            current = self.key_state(key_id)
        steps = {
            ("enabled", "enabled"): [],
            ("enabled", "disabled"): ["disable"],
            ("enabled", "pending-deletion"): ["schedule_deletion"],
            ("pending-import", "pending-import"): [],
        }.get((current, state))
        if steps is None:
            step = "pending-import" if state == "pending-import" else "create"
            raise self.step_failed(step, f"a new key is {current}, cannot be driven to {state}")
        if not steps:
            return  # already there: the state was just read
        for op in steps:
            outcome = self.call(op, key_id)
            if outcome.status != 200:
                raise self.step_failed(state, f"{op} answered {outcome.describe()}")
        reached = self.key_state(key_id)
        if reached != state:
            raise self.step_failed(state, f"after {', '.join(steps) or 'create'} the key is {reached}")

    def cleanup_key(self, key_id: str) -> None:
        outcome = self.call("schedule_deletion", key_id, {"pending_days": "7"})
        # Scheduled now (the documented body: the key, in state 4), already pending deletion
        # (KMS.1402) or gone (KMS.0207): nothing left to do.  Anything else -- a body that is not
        # the documented one included -- leaves the key pending.
        body = outcome.body if isinstance(outcome.body, dict) else None
        if outcome.status == 200 and body is not None and body.get("key_state", "4") == "4":
            return
        if outcome.code in ("KMS.1402", "KMS.0207"):
            return
        raise CleanupRefused(
            f"schedule-key-deletion answered {outcome.status} {outcome.code or ''} {outcome.text[:200]}"
        )

    def unknown_key_id(self) -> str:
        return "0000dead-0000-4000-8000-00000000c0de"

    def malformed_key_id(self) -> str:
        return "not-a-key-id"


PROFILE = HuaweiProfile

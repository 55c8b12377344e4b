"""The Yandex mock's switches: ``FAULTS`` (one documented behaviour broken each) and ``OPTIONS``.

Where does a fault act?  Its ``Switch`` row below names the fields it changes: of the model's
``Rules`` (models.py: transition table, defaults, the never-done hook) or of the HTTP layer's
``Behaviour`` (responses.py: auth table, validation, rendering).  A value replaces the field; a
table (a mapping) gets only the rows named.  ``behaviour_for(config)`` applies the options
first and then the faults, so a fault wins over the option it breaks (timestamps).  No handler
asks a ``MockConfig`` anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conformance.mocks.base import Fault, MockConfig, Option
from conformance.vendors.yandex.mock.exceptions import UNPROCESSABLE
from conformance.vendors.yandex.mock.models import (
    ACTIVE,
    MIN_PENDING,
    SCHEDULED,
    UPDATE_FIELDS,
    VERSION_STATUSES,
    Rules,
)
from conformance.vendors.yandex.mock.responses import Behaviour


@dataclass(frozen=True)
class Switch:
    """A fault and what it changes (field name -> new value, or rows for a table field)."""

    fault: Fault
    rules: Mapping[str, Any] = field(default_factory=dict)
    behaviour: Mapping[str, Any] = field(default_factory=dict)


SWITCHES: tuple[Switch, ...] = (
    # -- tenant isolation --
    Switch(
        Fault(
            "folders-not-isolated",
            "YC-ISO-001",
            "a token reads, uses and changes the keys of every folder, not only the folders it has access to",
        ),
        behaviour={"folders_isolated": False},
    ),
    Switch(
        Fault(
            "folder-list-unchecked",
            "YC-ISO-002",
            "a token lists the keys of a folder it has no access to",
        ),
        behaviour={"folder_list_checked": False},
    ),
    # -- auth: rows of responses.AUTH --
    Switch(
        Fault(
            "missing-token-accepted",
            "YC-AUTH-001",
            "requests without Authorization are served as if authenticated",
            may_also=(
                "YC-GEN-005",
                "YC-GEN-004",
            ),
        ),
        behaviour={"auth": {"missing": None}},
    ),
    Switch(
        Fault("invalid-token-accepted", "YC-AUTH-002", "any bearer token is accepted"),
        behaviour={"auth": {"malformed": None, "unknown": None}},
    ),
    Switch(
        Fault("expired-token-accepted", "YC-AUTH-003", "the expired token is still accepted"),
        behaviour={"auth": {"expired": None}},
    ),
    Switch(
        Fault("forbidden-token-allowed", "YC-AUTH-004", "a token without roles may use every key"),
        behaviour={"auth": {"forbidden": None}},
    ),
    # -- validation --
    Switch(
        Fault(
            "malformed-id-not-found",
            "YC-VAL-001",
            "a key id longer than 50 characters answers 404 instead of 400",
        ),
        behaviour={"key_id_lengths_checked": False},
    ),
    Switch(
        Fault(
            "labels-unchecked",
            "YC-VAL-003",
            "label keys and values are not validated",
            may_also=(
                "YC-GEN-003",
                "YC-GEN-004",
            ),
        ),
        behaviour={"labels_checked": False},
    ),
    Switch(
        Fault("page-size-unbounded", "YC-VAL-005", "pageSize above 1000 is accepted"),
        behaviour={"max_page_size": None},
    ),
    Switch(
        Fault(
            "unknown-key-invalid-argument",
            "YC-VAL-008",
            "an unknown key id answers 400 code 3 instead of 404 code 5",
            also=("YC-STATE-011",),
        ),
        rules={"unknown_key": (3, "Invalid key id {key_id!r}")},
    ),
    # -- state: rows of models.VERSION_MOVES and the other rules --
    Switch(
        Fault("no-deactivate", "YC-STATE-001", "Update silently ignores status"),
        rules={"update_fields": UPDATE_FIELDS - {"status"}},
    ),
    Switch(
        Fault("primary-destroyable", "YC-STATE-002", "the primary version can be scheduled for destruction"),
        rules={"schedule_primary": True},
    ),
    Switch(
        Fault("reschedule-allowed", "YC-STATE-003", "a version that is not ACTIVE can be scheduled again"),
        rules={"version_moves": {"schedule": VERSION_STATUSES}},
    ),
    Switch(
        Fault(
            "pending-period-one-day",
            "YC-STATE-005",
            "without pendingPeriod, destruction is due after 1 day, not 7",
        ),
        rules={"default_pending": MIN_PENDING},
    ),
    Switch(
        Fault(
            "cancel-any-version", "YC-STATE-006", "cancelling destruction is accepted for an ACTIVE version"
        ),
        rules={"version_moves": {"cancel": frozenset({SCHEDULED, ACTIVE})}},
    ),
    Switch(
        Fault("cancel-keeps-destroy-at", "YC-STATE-007", "a cancelled version keeps its destroyAt"),
        rules={"cancel_clears_destroy_at": False},
    ),
    Switch(
        Fault("rotate-keeps-primary", "YC-STATE-008", "Rotate adds a version but does not make it primary"),
        rules={"rotate_makes_primary": False},
    ),
    Switch(
        Fault(
            "set-primary-any-status",
            "YC-STATE-009",
            "SetPrimaryVersion accepts a version scheduled for destruction",
            also=("YC-STATE-012",),
        ),
        rules={"version_moves": {"set-primary": VERSION_STATUSES}},
    ),
    Switch(
        Fault(
            "delete-ignores-protection", "YC-STATE-010", "Delete succeeds although deletionProtection is on"
        ),
        rules={"delete_honours_protection": False},
    ),
    # -- asymmetric keys (AsymmetricEncryptionKeyService, AsymmetricSignatureKeyService, their crypto) --
    Switch(
        Fault("asym-no-deactivate", "YC-ASYM-001", "Update of an asymmetric key silently ignores status"),
        rules={"asym_status_settable": False},
    ),
    Switch(
        Fault(
            "inactive-key-pair-usable",
            "YC-ASYM-002",
            "an INACTIVE asymmetric key pair still decrypts, signs and signs hashes",
        ),
        rules={"asym_inactive_usable": True},
    ),
    Switch(
        Fault(
            "deleted-key-pair-visible",
            "YC-ASYM-003",
            "a deleted asymmetric key pair still answers Get and shows in List",
        ),
        rules={"asym_deleted_hidden": False},
    ),
    Switch(
        Fault(
            "key-pair-delete-ignores-protection",
            "YC-ASYM-004",
            "Delete of an asymmetric key pair succeeds although deletionProtection is on",
        ),
        rules={"asym_delete_honours_protection": False},
    ),
    Switch(
        Fault(
            "key-pair-create-response-empty",
            "YC-ASYM-005",
            "the Operation of an asymmetric Create ends with google.protobuf.Empty instead of the key",
            may_also=("YC-GEN-003",),
        ),
        behaviour={"asym_create_response_empty": True},
    ),
    Switch(
        Fault(
            "public-key-not-pem",
            "YC-ASYM-006",
            "GetPublicKey answers the key as bare base64 DER, without the PEM armour",
        ),
        behaviour={"public_key_pem": False},
    ),
    Switch(
        Fault(
            "sign-wrong-hash",
            "YC-ASYM-007",
            "Sign hashes the message with another hash than the algorithm names: the signature does not verify",
        ),
        behaviour={"sign_wrong_hash": True},
    ),
    Switch(
        Fault(
            "decrypt-drops-last-byte",
            "YC-ASYM-008",
            "asymmetric Decrypt answers the plaintext without its last byte",
        ),
        behaviour={"decrypt_drops_last_byte": True},
    ),
    Switch(
        Fault(
            "sign-hash-any-length",
            "YC-ASYM-009",
            "SignHash signs a hash of any length (padded or cut to the algorithm's digest size)",
        ),
        behaviour={"sign_hash_any_length": True},
    ),
    Switch(
        Fault("key-pair-list-empty", "YC-ASYM-010", "List of asymmetric keys answers no keys in any folder"),
        behaviour={"asym_list_empty": True},
    ),
    Switch(
        Fault(
            "bindings-metadata-without-resource",
            "YC-ASYM-011",
            "SetAccessBindings / UpdateAccessBindings metadata does not name the resourceId",
            also=("YC-ASYNC-006",),
            may_also=("YC-GEN-003",),
        ),
        behaviour={"bindings_metadata_names_resource": False},
    ),
    # -- symmetric crypto --
    Switch(
        Fault(
            "sym-decrypt-drops-last-byte",
            "YC-CRYPTO-001",
            "symmetric Decrypt answers the plaintext without its last byte",
            also=("YC-CRYPTO-003", "YC-CRYPTO-004", "YC-CRYPTO-006", "YC-CRYPTO-007"),
        ),
        behaviour={"sym_decrypt_drops_last_byte": True},
    ),
    Switch(
        Fault("aad-ignored", "YC-CRYPTO-002", "Decrypt opens a ciphertext whatever aadContext it is given"),
        rules={"aad_bound": False},
    ),
    Switch(
        Fault(
            "re-encrypt-keeps-source",
            "YC-CRYPTO-003",
            "ReEncrypt answers a ciphertext of the source key, which the target key does not open",
        ),
        behaviour={"re_encrypt_keeps_source": True},
    ),
    Switch(
        Fault(
            "data-key-mismatch",
            "YC-CRYPTO-004",
            "GenerateDataKey's dataKeyCiphertext seals another key than the dataKeyPlaintext it answers",
        ),
        behaviour={"data_key_mismatch": True},
    ),
    Switch(
        Fault(
            "skip-plaintext-ignored",
            "YC-CRYPTO-005",
            "GenerateDataKey answers the plaintext despite skipPlaintext",
        ),
        behaviour={"skip_plaintext_ignored": True},
    ),
    Switch(
        Fault(
            "encrypt-ignores-version",
            "YC-CRYPTO-006",
            "Encrypt uses the primary version whatever versionId names",
        ),
        behaviour={"encrypt_ignores_version": True},
    ),
    Switch(
        Fault(
            "rotate-replaces-material",
            "YC-CRYPTO-007",
            "Rotate replaces the old versions' material: what they encrypted no longer decrypts",
        ),
        rules={"rotate_keeps_old_material": False},
    ),
    Switch(
        Fault(
            "crypto-sizes-unbounded",
            "YC-VAL-010",
            "Encrypt takes a plaintext over 32768 bytes and an aadContext over 8192 bytes",
        ),
        behaviour={"crypto_sizes_checked": False},
    ),
    Switch(
        Fault(
            "unknown-operation-invalid-argument",
            "YC-VAL-011",
            "GET /operations/{id} of an id naming no operation answers 400 code 3 instead of 404 code 5",
        ),
        rules={"unknown_operation": (3, "Invalid operation id {operation_id!r}")},
    ),
    # -- inferred behaviours (should) --
    Switch(
        Fault(
            "last-page-token", "YC-LIST-004", "the last page of ListVersions still carries a nextPageToken"
        ),
        behaviour={"last_page_token": True},
    ),
    Switch(
        Fault(
            "enum-numbers-refused",
            "YC-VAL-012",
            "Create refuses a defaultAlgorithm given by its enum number (3) instead of its name",
        ),
        behaviour={"enum_numbers_refused": True},
    ),
    Switch(
        Fault(
            "short-pending-period-accepted",
            "YC-VAL-013",
            "ScheduleVersionDestruction takes a pendingPeriod of an hour",
        ),
        rules={"min_pending": 0.0},
    ),
    Switch(
        Fault(
            "operations-oldest-first",
            "YC-ASYNC-007",
            "a key's ListOperations lists its oldest operation first",
        ),
        rules={"operations_newest_first": False},
    ),
    Switch(
        Fault(
            "data-key-always-32-bytes",
            "YC-CRYPTO-008",
            "GenerateDataKey makes a 32-byte key whatever dataKeySpec says",
        ),
        behaviour={"data_key_length_fixed": True},
    ),
    # -- listing and what later reads show --
    Switch(
        Fault(
            "key-list-empty",
            "YC-LIST-001",
            "List of symmetric keys answers no keys in any folder",
            may_also=("YC-GEN-003",),
        ),
        behaviour={"keys_list_empty": True},
    ),
    Switch(
        Fault("deleted-key-listed", "YC-LIST-002", "a deleted symmetric key still shows in List"),
        rules={"deleted_keys_listed": True},
    ),
    Switch(
        Fault(
            "page-token-ignored",
            "YC-LIST-003",
            "a pageToken is accepted but every page starts at the first item",
            may_also=("YC-GEN-001", "YC-GEN-002", "YC-GEN-004"),
        ),
        behaviour={"page_tokens_followed": False},
    ),
    Switch(
        Fault("create-drops-labels", "YC-PERSIST-001", "Create answers success but keeps no labels"),
        behaviour={"create_keeps_labels": False},
    ),
    Switch(
        Fault(
            "update-ignores-labels",
            "YC-PERSIST-002",
            "Update accepts labels in its mask but does not apply them",
        ),
        rules={"update_fields": UPDATE_FIELDS - {"labels"}},
    ),
    Switch(
        Fault(
            "update-applies-unmasked",
            "YC-PERSIST-003",
            "Update also applies name, description and labels its updateMask does not name",
        ),
        behaviour={"update_applies_unmasked": True},
    ),
    Switch(
        Fault("rotate-no-rotated-at", "YC-STATE-013", "Rotate leaves the key without rotatedAt"),
        rules={"rotate_sets_rotated_at": False},
    ),
    Switch(
        Fault(
            "pending-period-ignored",
            "YC-STATE-014",
            "ScheduleVersionDestruction always uses the 7-day default, whatever pendingPeriod says",
            also=("YC-STATE-012",),
        ),
        rules={"pending_period_honoured": False},
    ),
    Switch(
        Fault(
            "rotate-copies-primary-algorithm",
            "YC-STATE-015",
            "a version Rotate makes takes the old primary's algorithm, not the key's defaultAlgorithm",
        ),
        rules={"rotate_takes_default_algorithm": False},
    ),
    Switch(
        Fault(
            "get-omits-primary-version",
            "YC-SHAPE-005",
            "Get of a key leaves primaryVersion out",
            may_also=("YC-GEN-003",),
        ),
        behaviour={"get_shows_primary_version": False},
    ),
    Switch(
        Fault(
            "idempotency-key-ignored",
            "YC-IDEM-001",
            "a repeated Idempotency-Key starts a second operation (a second key)",
        ),
        rules={"idempotency_honoured": False},
    ),
    Switch(
        Fault(
            "key-pair-operations-empty", "YC-ASYM-012", "ListOperations of a key pair answers no operations"
        ),
        behaviour={"asym_operations_listed": False},
    ),
    Switch(
        Fault("key-pair-create-drops-labels", "YC-ASYM-013", "Create of a key pair keeps no labels"),
        behaviour={"asym_create_keeps_labels": False},
    ),
    Switch(
        Fault(
            "key-pair-update-ignores-labels",
            "YC-ASYM-014",
            "Update of a key pair accepts labels in its mask but does not apply them",
        ),
        rules={"asym_update_sets_labels": False},
    ),
    # -- envelope --
    Switch(
        Fault(
            "flat-error-body",
            "YC-ENV-001",
            'error bodies are {"error": message} instead of google.rpc.Status',
        ),
        behaviour={"flat_errors": True},
    ),
    # -- async --
    Switch(
        Fault("operation-never-done", "YC-ASYNC-001", "operations stay done: false forever"),
        rules={"operations_finish": False},
    ),
    Switch(
        Fault(
            "operation-both-results",
            "YC-ASYNC-002",
            "a finished operation carries both error and response",
            may_also=("YC-GEN-003",),
        ),
        behaviour={"both_results": True},
    ),
    Switch(
        Fault(
            "operation-wrong-type",
            "YC-ASYNC-003",
            "operation responses of key methods are typed SymmetricKeyVersion",
            may_also=("YC-GEN-003",),
        ),
        behaviour={"key_typed_as_version": True},
    ),
    Switch(
        Fault(
            "operations-not-served", "YC-ASYNC-004", "GET /operations/{id} answers 404 for every operation"
        ),
        behaviour={"operations_served": False},
    ),
    # -- shape --
    Switch(
        Fault("snake-case-fields", "YC-SHAPE-001", "SymmetricKey fields are emitted in snake_case"),
        behaviour={"snake_case_keys": True},
    ),
    Switch(
        Fault(
            "timestamp-without-zone",
            "YC-SHAPE-002",
            "timestamps carry no time zone (no Z, no offset): not RFC 3339",
            may_also=("YC-GEN-003",),
        ),
        behaviour={"timestamp_zone": ""},
    ),
    Switch(
        Fault("duration-as-hours", "YC-SHAPE-003", 'durations are emitted as "168h" instead of seconds'),
        behaviour={"durations_in_hours": True},
    ),
    # -- generated checks --
    Switch(
        Fault("server-error-on-page-token", "YC-GEN-001", "listing keys with any pageToken causes a 500"),
        behaviour={"page_token_crashes": True},
    ),
    Switch(
        Fault("undocumented-status-on-bad-token", "YC-GEN-002", "an unparseable pageToken answers 422"),
        behaviour={"bad_page_token": (UNPROCESSABLE, "unprocessable page token")},
    ),
    Switch(
        Fault("description-as-number", "YC-GEN-003", "key descriptions are emitted as JSON numbers (length)"),
        behaviour={"description_as_number": True},
    ),
)

FAULTS: tuple[Fault, ...] = tuple(s.fault for s in SWITCHES)

OPTIONS: tuple[Option, ...] = (
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
        "async-polls",
        ("1", "2", "3"),
        "2",
        "async mode: polls of GET /operations/{id} before an operation is done",
    ),
    Option(
        "async-seconds",
        ("0.5", "1", "5", "60"),
        "1",
        "async mode: seconds after which an operation is done even if nobody polled it",
    ),
    Option(
        "precondition-errors",
        ("http", "operation"),
        "http",
        "state-rule violations (primary version, version status, deletion protection) as an HTTP 400 error, "
        "or as HTTP 200 with an Operation that ends in error",
    ),
    Option(
        "precondition-code",
        ("9", "3"),
        "9",
        "gRPC code for state-rule violations: 9 FAILED_PRECONDITION or 3 INVALID_ARGUMENT (undocumented)",
    ),
    Option(
        "empty-response",
        ("bare", "value"),
        "bare",
        "google.protobuf.Empty in an Operation response: {@type} (Python json_format) or {@type, value: {}} (yc CLI)",
    ),
    Option(
        "list-keys-page-token",
        ("100", "256"),
        "100",
        "longest pageToken ListSymmetricKeys takes: 100 characters (yandexcloud descriptors, the other lists) or 256 "
        "(a later cloudapi revision of ListSymmetricKeysRequest); the version, operation and access-binding lists take 100",
    ),
    Option(
        "inactive-public-key",
        ("refused", "served"),
        "refused",
        "GetPublicKey of an INACTIVE key pair: refused with the precondition code like the crypto calls, or "
        "answered (the concept pages say an INACTIVE key pair cannot be used, not whether its public key is shown)",
    ),
    Option(
        "list-operations-response",
        ("full", "empty"),
        "full",
        "ListOperations shows each operation's response in full, or as google.protobuf.Empty (observed)",
    ),
)


def _rules_from_options(config: MockConfig) -> Rules:
    return Rules(
        asynchronous=config.option("mode", "immediate") == "async",
        async_polls=int(config.option("async-polls", "2")),
        async_seconds=float(config.option("async-seconds", "1")),
        precondition_in_operation=config.option("precondition-errors", "http") != "http",
        precondition_code=int(config.option("precondition-code", "9")),
        inactive_public_key=config.option("inactive-public-key", "refused") == "served",
    )


def _behaviour_from_options(config: MockConfig, rules: Rules) -> Behaviour:
    return Behaviour(
        rules=rules,
        timestamp_zone="+00:00" if config.option("timestamps", "utc-z") == "offset" else "Z",
        empty_with_value=config.option("empty-response", "bare") == "value",
        listed_responses_empty=config.option("list-operations-response", "full") == "empty",
        list_keys_token_limit=int(config.option("list-keys-page-token", "100")),
    )


T = TypeVar("T", Rules, Behaviour)


def _changed(value: T, changes: Mapping[str, Any]) -> T:
    """``value`` with ``changes`` applied: a table field keeps the rows a change does not name."""
    merged: dict[str, Any] = {}
    for name, new in changes.items():
        old = getattr(value, name)
        merged[name] = {**old, **new} if isinstance(old, Mapping) else new
    return dataclasses.replace(value, **merged)


def behaviour_for(config: MockConfig) -> Behaviour:
    """Everything a mock built from ``config`` consults: options first, then every fault that is on."""
    on = [s for s in SWITCHES if config.has(s.fault.name)]
    rules = _rules_from_options(config)
    for switch in on:
        rules = _changed(rules, switch.rules)
    behaviour = _behaviour_from_options(config, rules)
    for switch in on:
        behaviour = _changed(behaviour, switch.behaviour)
    return behaviour

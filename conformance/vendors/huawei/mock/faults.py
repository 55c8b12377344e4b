"""The Huawei KMS mock's switches: ``FAULTS`` and ``OPTIONS``, and what each one changes.

Where does a fault act?  ``FAULT_EFFECTS`` / ``OPTION_EFFECTS`` here: each switch replaces a row or
a value of the ``Behaviour`` (responses.py) or its model ``Rules`` (models.py) -- a transition row,
a field's error code, an answer shape, a credential refusal, or one named hook such as
``crash_on_wrong_type``.  ``behaviour(config)`` applies them once per app; no handler asks the
config.  Ambiguities are options; faults break one documented behaviour each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from conformance.mocks.base import Fault, MockConfig, Option
from conformance.vendors.huawei.mock.exceptions import KMS_INVALID_TOKEN, KMS_MISSING_TOKEN, Refusal
from conformance.vendors.huawei.mock.models import (
    DISABLED,
    ENABLED,
    PENDING_DELETION,
    PENDING_IMPORT,
    STATES_ALL,
    Rules,
)
from conformance.vendors.huawei.mock.responses import NUMERIC_STRING_FIELDS, Behaviour

FAULTS = (
    Fault(
        "projects-not-isolated",
        "HW-ISO-001",
        "a key is found, listed and changed through any project of the account, not only its own",
    ),
    Fault(
        "token-any-project",
        "HW-ISO-002",
        "a token scoped to one project is served on another project's path",
    ),
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
        "grant-only-create-grant-accepted",
        "HW-VAL-015",
        "create-grant accepts an operations list that is only create-grant",
        may_also=("HW-GEN-004",),
    ),
    Fault(
        "datakey-double-length",
        "HW-SHAPE-008",
        "create-datakey's key_spec AES_256 makes a 512-bit data key and AES_128 a 256-bit one",
    ),
    Fault(
        "missing-pending-days-defaults",
        "HW-VAL-009",
        "schedule-key-deletion without pending_days defaults to 7",
    ),
    Fault(
        "datakey-ignores-key-state",
        "HW-STATE-013",
        "create-datakey, encrypt-datakey and decrypt-datakey serve disabled and pending-deletion keys",
    ),
    Fault(
        "datakey-length-unchecked",
        "HW-VAL-016",
        'create-datakey accepts datakey_length "12" and "8200"',
        may_also=("HW-GEN-004",),
    ),
    Fault(
        "random-length-unchecked",
        "HW-VAL-017",
        'gen-random accepts random_data_length "12" and "8200"',
        may_also=("HW-GEN-004",),
    ),
    Fault(
        "random-data-double-length",
        "HW-SHAPE-009",
        "gen-random answers twice as many random bytes as random_data_length asks for",
    ),
    Fault(
        "decrypt-datakey-truncates",
        "HW-CRYPTO-001",
        "decrypt-datakey answers the data key without its last byte",
    ),
    Fault(
        "verify-always-false", "HW-CRYPTO-002", 'verify answers signature_valid "false" for every signature'
    ),
    Fault(
        "verify-always-true",
        "HW-CRYPTO-003",
        'verify answers signature_valid "true" for every signature, one over another message included',
    ),
    Fault(
        "publickey-empty",
        "HW-CRYPTO-004",
        "get-publickey answers an empty public_key",
    ),
    Fault(
        "publickey-for-symmetric",
        "HW-CRYPTO-005",
        "get-publickey answers a public key for a symmetric (AES_256) key",
    ),
    Fault(
        "rsa-decrypt-drops-byte",
        "HW-CRYPTO-006",
        "decrypt-data of an RSA_2048 ciphertext answers the plaintext without its last byte",
    ),
    Fault(
        "decrypt-ignores-algorithm",
        "HW-CRYPTO-007",
        "decrypt-data of an RSA ciphertext succeeds whatever encryption_algorithm says (SYMMETRIC_DEFAULT included)",
    ),
    Fault("list-grants-empty", "HW-GRANT-001", "list-grants answers no grants, whatever the key has"),
    Fault("revoke-keeps-grant", "HW-GRANT-002", "revoke-grant answers 200 but the grant stays listed"),
    Fault(
        "unknown-grant-accepted",
        "HW-GRANT-003",
        "revoke-grant and retire-grant of a grant the key does not have answer 200 instead of KMS.2501",
    ),
    Fault(
        "import-leaves-pending",
        "HW-IMPORT-001",
        "import-key-material answers 200 but the key stays pending import",
    ),
    Fault(
        "delete-material-keeps-state",
        "HW-IMPORT-002",
        "delete-imported-key-material answers 200 but the key stays enabled",
    ),
    Fault(
        "import-parameters-any-origin",
        "HW-IMPORT-003",
        "get-parameters-for-import does not check the key's origin: a KMS key gets KMS.0310 (not pending import) instead of KMS.0309",
    ),
    Fault(
        "import-parameters-any-state",
        "HW-IMPORT-005",
        "get-parameters-for-import hands out parameters for an external key whose material is already imported",
    ),
    # what later reads show
    Fault(
        "create-drops-description", "HW-PERSIST-001", "create-key answers 200 but stores no key_description"
    ),
    Fault(
        "default-key-spec-sm4", "HW-PERSIST-002", "create-key without key_spec makes an SM4 key, not AES_256"
    ),
    Fault(
        "update-alias-not-stored",
        "HW-PERSIST-003",
        "update-key-alias answers 200 but the key keeps its old alias",
    ),
    Fault(
        "update-description-not-stored",
        "HW-PERSIST-004",
        "update-key-description answers 200 but the key keeps its old description",
    ),
    Fault(
        "deletion-date-30-days",
        "HW-PERSIST-005",
        "schedule-key-deletion sets the deletion date 30 days on, whatever pending_days says",
    ),
    Fault(
        "symmetric-decrypt-drops-byte",
        "HW-CRYPTO-008",
        "decrypt-data of an AES_256 ciphertext answers the plaintext without its last byte",
    ),
    # listing
    Fault("list-every-spec", "HW-LIST-001", "list-keys without key_spec lists asymmetric keys too"),
    Fault("list-all-only-aes", "HW-LIST-002", "list-keys with key_spec ALL lists only AES_256 keys"),
    Fault("list-ignores-key-state", "HW-LIST-003", "list-keys ignores the key_state filter"),
    # rotation
    Fault("rotation-on-by-default", "HW-ROT-001", "a new key's rotation is on"),
    Fault(
        "enable-rotation-not-stored",
        "HW-ROT-002",
        "enable-key-rotation answers 200 but get-key-rotation-status still shows rotation off",
    ),
    Fault(
        "enable-rotation-twice",
        "HW-ROT-003",
        "enable-key-rotation accepts a key whose rotation is already on",
    ),
    Fault(
        "rotation-interval-unchecked",
        "HW-ROT-004",
        "update-key-rotation-interval accepts intervals of 29 and 366 days",
        may_also=("HW-GEN-004",),
    ),
    Fault(
        "rotation-interval-not-stored",
        "HW-ROT-005",
        "update-key-rotation-interval answers 200 but the interval stays 365",
    ),
    Fault(
        "disable-rotation-not-stored",
        "HW-ROT-006",
        "disable-key-rotation answers 200 but get-key-rotation-status still shows rotation on",
    ),
    Fault("rotation-external-allowed", "HW-ROT-007", "enable-key-rotation accepts an external key"),
    # validation and refusals
    Fault(
        "update-alias-unchecked",
        "HW-VAL-018",
        "update-key-alias accepts an alias outside the documented pattern",
        may_also=("HW-GEN-004",),
    ),
    Fault(
        "plaintext-counts-characters",
        "HW-VAL-019",
        "encrypt-data's 4096 limit counts characters, so 2049 two-byte characters (4098 bytes) are accepted",
    ),
    Fault("import-token-unchecked", "HW-IMPORT-006", "import-key-material takes any import_token"),
    Fault(
        "unwrap-failure-2604",
        "HW-IMPORT-007",
        "material that does not unwrap is answered KMS.2604 (wrong length) instead of KMS.0311",
    ),
    Fault(
        "import-expiry-unchecked", "HW-IMPORT-008", "import-key-material takes an expiration_time in the past"
    ),
    Fault(
        "import-twice",
        "HW-IMPORT-009",
        "import-key-material imports again into a key whose material is already imported",
    ),
    Fault(
        "reimport-any-material",
        "HW-IMPORT-010",
        "after its material is deleted a key takes other material than the one imported before",
    ),
    Fault(
        "import-public-key-pem",
        "HW-SHAPE-010",
        "get-parameters-for-import answers the wrapping key as PEM text, not Base64 DER",
    ),
    Fault(
        "sign-ignores-usage",
        "HW-CRYPTO-009",
        "an RSA key whose key_usage is ENCRYPT_DECRYPT signs and verifies",
    ),
    Fault("sign-message-4096", "HW-VAL-020", "sign takes a message of 4096 bytes"),
    Fault(
        "datakey-length-ignored",
        "HW-SHAPE-011",
        "create-datakey with key_spec and datakey_length follows key_spec",
    ),
    Fault(
        "without-plaintext-leaks",
        "HW-SHAPE-012",
        "create-datakey-without-plaintext answers the plaintext data key too",
    ),
    Fault(
        "without-plaintext-length-code-1901",
        "HW-VAL-021",
        "create-datakey-without-plaintext answers create-datakey's KMS.1901 for a bad datakey_length, not KMS.2001",
    ),
    Fault(
        "datakey-digest-unchecked",
        "HW-VAL-022",
        "encrypt-datakey does not compare the SHA-256 that follows the data key",
    ),
    Fault(
        "datakey-plain-length-code-2101",
        "HW-VAL-023",
        "encrypt-datakey answers a datakey_plain_length out of range with KMS.2101 (plain_text's code), not KMS.2102",
    ),
    Fault("grant-id-uuid", "HW-GRANT-004", "create-grant answers a UUID as grant_id, not 64 hex characters"),
    Fault(
        "grantee-code-0308",
        "HW-VAL-024",
        "create-grant answers an invalid grantee_principal with KMS.0308, not KMS.2402",
    ),
    Fault(
        "grants-truncated-boolean",
        "HW-GRANT-005",
        "list-grants answers truncated as a JSON boolean",
        may_also=("HW-GEN-003",),
    ),
    # tags, account, rotation answers, list-keys paging codes
    Fault(
        "tag-not-stored", "HW-TAG-001", "create-kms-tag answers 204 but show-kms-tags does not list the tag"
    ),
    Fault("tags-unbounded", "HW-TAG-002", "a key takes an 11th tag"),
    Fault(
        "tag-key-unchecked",
        "HW-TAG-003",
        "create-kms-tag takes a tag key of 37 characters",
        may_also=("HW-GEN-004",),
    ),
    Fault(
        "batch-delete-ignored",
        "HW-TAG-004",
        "batch-create-kms-tags with action delete answers 204 but the tags stay",
    ),
    Fault(
        "empty-tag-list-accepted",
        "HW-TAG-005",
        "batch-create-kms-tags takes an empty tags list",
        may_also=("HW-GEN-004",),
    ),
    Fault("delete-tag-not-removed", "HW-TAG-006", "delete-tag answers 204 but the tag stays"),
    Fault(
        "delete-unknown-tag-accepted",
        "HW-TAG-007",
        "delete-tag of a tag the key does not have answers 204 instead of 404 KMS.0416",
    ),
    Fault("project-tags-empty", "HW-TAG-008", "list-kms-tags lists no tags, whatever the keys carry"),
    Fault("tag-filter-ignored", "HW-TAG-009", "list-kms-by-tags lists keys whatever their tags"),
    Fault("tag-count-zero", "HW-TAG-010", "list-kms-by-tags with action count answers total_count 0"),
    Fault("instances-zero", "HW-LIST-004", "user-instances answers instance_num 0 whatever the keys"),
    Fault(
        "quotas-flat",
        "HW-SHAPE-013",
        "user-quotas answers resources at top level instead of inside quotas",
        may_also=("HW-GEN-003",),
    ),
    Fault(
        "rotation-status-partial",
        "HW-ROT-008",
        "get-key-rotation-status leaves out last_rotation_time and number_of_rotations",
        may_also=("HW-GEN-003",),
    ),
    Fault(
        "list-limit-code-0308",
        "HW-LIST-005",
        "list-keys answers an invalid limit with KMS.0308 instead of KMS.1601",
    ),
    # AK/SK, data keys, a second key's alias, grant and token
    Fault(
        "bad-signature-accepted",
        "HW-AUTH-005",
        "a request signed with a wrong secret key is served",
        may_also=("HW-GEN-005",),
    ),
    Fault(
        "datakey-plain-mismatch",
        "HW-CRYPTO-010",
        "create-datakey's plain_text is not the data key its cipher_text decrypts to",
    ),
    Fault(
        "asymmetric-default-encrypt",
        "HW-PERSIST-006",
        "an asymmetric key created without key_usage is an ENCRYPT_DECRYPT key",
    ),
    Fault(
        "datakey-foreign-code-2203",
        "HW-VAL-025",
        "decrypt-datakey of a ciphertext not made under the key answers KMS.2203 instead of KMS.2201",
    ),
    Fault(
        "update-alias-duplicates",
        "HW-VAL-026",
        "update-key-alias gives a key the alias another key has",
    ),
    Fault(
        "grant-of-other-key-2501",
        "HW-GRANT-006",
        "revoke-grant naming another key's grant answers KMS.2501 (no such grant) instead of KMS.2502",
    ),
    Fault(
        "token-any-key",
        "HW-IMPORT-011",
        "import-key-material takes an import token made for another key",
    ),
    Fault(
        "ciphertext-unpadded",
        "HW-SHAPE-014",
        "encrypt-data's ciphertext holds the plaintext unpadded (124 + n bytes, not 124 + ceil(n / 16) x 16)",
    ),
    Fault(
        "delete-material-while-pending",
        "HW-IMPORT-004",
        "delete-imported-key-material accepts a key pending import instead of refusing it with KMS.2701",
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
        "pending_days, limit, marker and the data key / random lengths sent as JSON numbers: refused with "
        "the field's code (400), or read as their decimal strings (docs silent; real clients send ints)",
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
        "invalid-signature",
        ("false", "refused"),
        "false",
        'verify of a signature that does not match: 200 with signature_valid "false", or refused with 400 '
        "(ValidateSignature.html types signature_valid as a string and is silent on a failed check)",
    ),
    Option(
        "create-state",
        ("2", "1"),
        "2",
        'a new key is enabled at once ("2") or is first seen as "1" (to be activated) for one describe',
    ),
)

Effect = Callable[[Behaviour], Behaviour]


def _set(**changes: Any) -> Effect:
    """Replace values of the Behaviour."""
    return lambda b: dataclasses.replace(b, **changes)


def _rule(**changes: Any) -> Effect:
    """Replace values of the model's Rules."""
    return lambda b: dataclasses.replace(b, rules=dataclasses.replace(b.rules, **changes))


def _row(
    operation: str,
    allowed: Callable[[frozenset[str]], frozenset[str]] | None = None,
    target: str | None = None,
) -> Effect:
    """Change one row of the state-transition table (models.TRANSITIONS): its allowed states or target."""

    def apply(b: Behaviour) -> Behaviour:
        rows = dict(b.rules.transitions)
        row = rows[operation]
        rows[operation] = dataclasses.replace(
            row,
            allowed=row.allowed if allowed is None else allowed(row.allowed),
            target=row.target if target is None else target,
        )
        return dataclasses.replace(b, rules=dataclasses.replace(b.rules, transitions=rows))

    return apply


def _refuse(kind: str, refusal: Refusal | None) -> Effect:
    """Change how one kind of credential is refused (None: it is served)."""
    return lambda b: dataclasses.replace(b, refusals={**b.refusals, kind: refusal})


def _also_wrap(operation: str) -> Effect:
    """Wrap one more operation's answer in key_info."""
    return lambda b: dataclasses.replace(b, wrapped_answers=b.wrapped_answers | {operation})


def _field_code(name: str, code: str) -> Effect:
    """Change the code a field's validation failure answers with."""
    return lambda b: dataclasses.replace(b, field_codes={**b.field_codes, name: code})


def _every_state(current: frozenset[str]) -> frozenset[str]:
    """Allowed from any state a stored key can be in."""
    return frozenset(STATES_ALL)


# fault -> its effect, applied in this order (after the options): bare-error-body comes last
# because it replaces every envelope, including the one kms-errors-flat chose.
FAULT_EFFECTS: dict[str, Effect] = {
    "projects-not-isolated": _rule(projects_isolated=False),
    "enable-from-any-state": _row("enable-key", allowed=_every_state),
    "disable-from-any-state": _row("disable-key", allowed=_every_state),
    "cancel-to-enabled": _row("cancel-key-deletion", target=ENABLED),
    "cancel-from-any-state": _row("cancel-key-deletion", allowed=_every_state),
    "schedule-twice": _row("schedule-key-deletion", allowed=lambda s: s | {PENDING_DELETION}),
    "schedule-refuses-disabled": _row("schedule-key-deletion", allowed=lambda s: s - {DISABLED}),
    "pending-days-accepts-6": _set(tolerated_values={"pending_days": ("6",)}),
    "pending-days-max-1095": _rule(pending_days_max=1095),
    "unknown-id-400": _rule(unknown_key_code="KMS.0205"),
    "malformed-id-404": _field_code("key_id", "KMS.0207"),
    "missing-credentials-accepted": _refuse("missing", None),
    "expired-token-accepted": _refuse("expired", None),
    "forbidden-token-accepted": _refuse("forbidden", None),
    "kms-errors-flat": _set(kms_envelope="flat"),
    "schedule-wrapped": _also_wrap("schedule-key-deletion"),
    "key-state-number": _set(state_as_number=True),
    "list-ignores-limit": _rule(list_honours_limit=False),
    "truncated-boolean": _set(truncated_as_boolean=True),
    # The named crash hooks (responses.py: validate, parse, handle).
    "crash-on-wrong-type": _set(crash_on_wrong_type=True, crash_as_plain_text=True),
    "bad-json-500": _set(crash_on_bad_json=True, crash_as_plain_text=True),
    "grant-only-create-grant-accepted": _set(tolerated_values={"operations": (["create-grant"],)}),
    "datakey-double-length": _rule(datakey_bits={"AES_256": 512, "AES_128": 256}),
    "missing-pending-days-defaults": _set(optional_fields=frozenset({"pending_days"})),
    "datakey-ignores-key-state": _rule(datakey_checks_state=False),
    "datakey-length-unchecked": _set(tolerated_values={"datakey_length": ("12", "8200")}),
    "random-length-unchecked": _set(tolerated_values={"random_data_length": ("12", "8200")}),
    "random-data-double-length": _set(random_bits_per_byte=4),
    "decrypt-datakey-truncates": _set(datakey_bytes_dropped=1),
    "verify-always-false": _set(verify_verdict=False),
    "verify-always-true": _set(verify_verdict=True),
    "publickey-empty": _set(publickey_empty=True),
    "publickey-for-symmetric": _rule(publickey_asymmetric_only=False),
    "rsa-decrypt-drops-byte": _rule(asymmetric_plain_dropped=1),
    "decrypt-ignores-algorithm": _rule(decrypt_ignores_algorithm=True),
    "list-grants-empty": _rule(list_grants_shows=False),
    "revoke-keeps-grant": _rule(revoke_deletes=False),
    "unknown-grant-accepted": _rule(unknown_grant_code=None),
    "import-leaves-pending": _rule(import_enables=False),
    "delete-material-keeps-state": _rule(delete_material_resets=False),
    "import-parameters-any-origin": _rule(import_requires_external=False),
    "import-parameters-any-state": _rule(import_parameters_pending_only=False),
    "delete-material-while-pending": _rule(
        delete_material_states=frozenset({ENABLED, DISABLED, PENDING_IMPORT})
    ),
    "create-drops-description": _rule(create_keeps_description=False),
    "default-key-spec-sm4": _set(default_key_spec="SM4"),
    "update-alias-not-stored": _rule(update_alias_stores=False),
    "update-description-not-stored": _rule(update_description_stores=False),
    "deletion-date-30-days": _rule(deletion_days=30),
    "symmetric-decrypt-drops-byte": _rule(symmetric_plain_dropped=1),
    "list-every-spec": _set(list_default_spec="ALL"),
    "list-all-only-aes": _rule(list_all_every_spec=False),
    "list-ignores-key-state": _rule(list_filters_state=False),
    "rotation-on-by-default": _rule(rotation_default_on=True),
    "enable-rotation-not-stored": _rule(enable_rotation_stores=False),
    "enable-rotation-twice": _rule(enable_rotation_refuses_twice=False),
    "rotation-interval-unchecked": _set(tolerated_values={"rotation_interval": (29, 366)}),
    "rotation-interval-not-stored": _rule(rotation_interval_stores=False),
    "disable-rotation-not-stored": _rule(disable_rotation_stores=False),
    "rotation-external-allowed": _rule(rotation_refuses_external=False),
    "update-alias-unchecked": _set(unchecked_fields={"updateKeyAlias": frozenset({"key_alias"})}),
    "plaintext-counts-characters": _rule(plaintext_counts_bytes=False),
    "import-token-unchecked": _rule(import_checks_token=False),
    "unwrap-failure-2604": _rule(unwrap_failure_code="KMS.2604"),
    "import-expiry-unchecked": _rule(import_checks_expiration=False),
    "import-twice": _rule(import_requires_pending=False),
    "reimport-any-material": _rule(reimport_same_material=False),
    "import-public-key-pem": _set(import_public_key_pem=True),
    "sign-ignores-usage": _rule(sign_checks_usage=False),
    "sign-message-4096": _rule(sign_message_max=4096),
    "datakey-length-ignored": _rule(datakey_length_wins=False),
    "without-plaintext-leaks": _set(without_plaintext_leaks=True),
    "without-plaintext-length-code-1901": _set(without_plaintext_length_code="KMS.1901"),
    "datakey-digest-unchecked": _rule(datakey_checks_digest=False),
    "datakey-plain-length-code-2101": _field_code("datakey_plain_length", "KMS.2101"),
    "grant-id-uuid": _rule(grant_id_hex=False),
    "grantee-code-0308": _field_code("grantee_principal", "KMS.0308"),
    "grants-truncated-boolean": _set(grants_truncated_boolean=True),
    "tag-not-stored": _rule(tags_stored=False),
    "tags-unbounded": _rule(max_tags=1000),
    "tag-key-unchecked": _set(unchecked_fields={"createKmsTag": frozenset({"tag"})}),
    "batch-delete-ignored": _rule(batch_delete_removes=False),
    "empty-tag-list-accepted": _set(tolerated_values={"tags": ([],)}),
    "delete-tag-not-removed": _rule(delete_tag_removes=False),
    "delete-unknown-tag-accepted": _rule(unknown_tag_code=None),
    "project-tags-empty": _set(project_tags_listed=False),
    "tag-filter-ignored": _rule(search_filters_tags=False),
    "tag-count-zero": _set(tag_count_zero=True),
    "instances-zero": _set(instances_zero=True),
    "quotas-flat": _set(quotas_flat=True),
    "rotation-status-partial": _set(rotation_status_partial=True),
    "list-limit-code-0308": _field_code("limit", "KMS.0308"),
    "bad-signature-accepted": _set(signature_checked=False),
    "token-any-project": _set(token_project_checked=False),
    "datakey-plain-mismatch": _set(datakey_plain_mismatch=True),
    "asymmetric-default-encrypt": _rule(asymmetric_default_usage="ENCRYPT_DECRYPT"),
    "datakey-foreign-code-2203": _rule(datakey_foreign_code="KMS.2203"),
    "update-alias-duplicates": _rule(alias_unique_on_update=False),
    "grant-of-other-key-2501": _rule(grant_of_other_key_code=None),
    "token-any-key": _rule(token_key_checked=False),
    "ciphertext-unpadded": _rule(cipher_padded=False),
    "bare-error-body": _set(kms_envelope="bare", gateway_envelope="bare"),
}

# (option, choice) -> its effect; the default choices (and any other value) change nothing.
OPTION_EFFECTS: dict[tuple[str, str], Effect] = {
    ("missing-credentials", "kms-403"): _refuse("missing", KMS_MISSING_TOKEN),
    ("invalid-token", "kms-403"): _refuse("invalid", KMS_INVALID_TOKEN),
    ("json-numbers", "accept"): _set(numbers_as_strings=NUMERIC_STRING_FIELDS),
    ("gateway-envelope", "wrapped"): _set(gateway_envelope="wrapped"),
    ("create-state", "1"): _rule(activation_reads=1),
    ("invalid-signature", "refused"): _set(invalid_signature_refused=True),
}

assert set(FAULT_EFFECTS) == {f.name for f in FAULTS}, "every fault has one effect"
assert {name for name, _ in OPTION_EFFECTS} <= {o.name for o in OPTIONS}, "effects name known options"


def behaviour(config: MockConfig) -> Behaviour:
    """The documented Behaviour with the config's options, then its faults, applied."""
    result = Behaviour(rules=Rules(), iam_token_lifetime=config.option("iam-token-lifetime", "86400"))
    for option in OPTIONS:
        effect = OPTION_EFFECTS.get((option.name, config.option(option.name, option.default)))
        if effect is not None:
            result = effect(result)
    for name, effect in FAULT_EFFECTS.items():
        if config.has(name):
            result = effect(result)
    return result

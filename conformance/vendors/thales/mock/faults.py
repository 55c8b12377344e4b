"""The Thales mock's switches: its FAULTS and OPTIONS, and what each one changes.

Where does a fault act?  Each fault below is declared next to its effect: a changed row of the
state table (``models.TRANSITIONS``) or new values for named switches (fields of
``models.Rules``, ``exceptions.ErrorAnswers`` or ``Behaviour``).  ``behaviour(config)`` turns a
config into one ``Behaviour``: the options' values first, then the effect of each fault that is
on.  The model and the request layer read only that; no code asks whether a fault is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from conformance.mocks.base import Fault, MockConfig, Option, canonical
from conformance.vendors.thales.mock.exceptions import ErrorAnswers
from conformance.vendors.thales.mock.models import (
    KEY_STATES,
    PENDING_DELETION,
    TRANSITIONS,
    Rules,
    Transition,
)


@dataclass(frozen=True)
class Behaviour:
    """Every switch value of one mock; the defaults are the documented (or chosen) behaviour.

    ``rules`` is what models.py reads, ``errors`` what exceptions.py reads; the other fields are
    read by responses.py where it parses requests and renders answers.
    """

    rules: Rules = field(default_factory=Rules)
    errors: ErrorAnswers = field(default_factory=ErrorAnswers)
    # options (see OPTIONS)
    create_status: int = 200
    policy_format: str = "string"
    deletion_date_in: str = "aws_param"
    token_duration: int = 300
    filter_values: str = "validate"
    unknown_query_parameters: str = "reject"
    # what faults change
    token_expiry_checked: bool = True  # an expired JWT is refused
    unvalidated_days: tuple[int, ...] = ()  # schedule-deletion days taken without checking the body
    digit_string_days: bool = False  # schedule-deletion takes days "7" as 7
    enabled_flag_states: frozenset[str] = frozenset({"Enabled"})  # KeyStates shown with Enabled true
    deletion_date_shown: bool = True  # a PendingDeletion key shows its deletion date
    hidden_key_fields: frozenset[str] = frozenset()  # key fields left out of answers
    list_total: str = "matches"  # what list's total counts: "matches" or "page"
    list_shape: str = "envelope"  # "envelope" ({skip, limit, total, resources}) or "bare-array"
    sync_list_shape: str = "envelope"  # the synchronization-job list: "envelope" or "bare-array"
    hidden_job_fields: frozenset[str] = frozenset()  # synchronization-job fields left out of answers
    rotation_job_config_required: bool = True  # enable-rotation-job refuses a body without job_config_id
    rotation_flag_as_string: bool = False  # get-key-rotation-status answers KeyRotationEnabled "true"
    rotation_list_shape: str = "envelope"  # the rotations list: "envelope" or "bare-array"
    unchecked_source_tiers: frozenset[str] = frozenset()  # operations taking any source_key_tier
    tag_values_checked: bool = True  # add-tags refuses a tag value with an undocumented character
    lone_primary_configured: bool = True  # a primary without replicas shows its MultiRegionConfiguration
    hidden_listed_job_fields: frozenset[str] = frozenset()  # job fields the job list leaves out


_PARTS = {
    "rules": {f.name for f in fields(Rules)},
    "errors": {f.name for f in fields(ErrorAnswers)},
    "answers": {f.name for f in fields(Behaviour)} - {"rules", "errors"},
}


@dataclass(frozen=True)
class Change:
    """An effect: named switches (fields of Rules, ErrorAnswers or Behaviour) get new values."""

    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        unknown = set(self.values) - set().union(*_PARTS.values())
        if unknown:
            raise ValueError(f"no such Thales mock switch: {', '.join(sorted(unknown))}")

    def apply(self, behaviour: Behaviour) -> Behaviour:
        changed = {
            part: {k: v for k, v in self.values.items() if k in names} for part, names in _PARTS.items()
        }
        return replace(
            behaviour,
            rules=replace(behaviour.rules, **changed["rules"]),
            errors=replace(behaviour.errors, **changed["errors"]),
            **changed["answers"],
        )


def change(**values: Any) -> Change:
    """``change(password_checked=False)``: the effect that sets those switches."""
    return Change(values)


@dataclass(frozen=True)
class RowChange:
    """An effect on one row of the state table: more states allowed (``also_stays``: allowed and left
    as they are), or another resulting state."""

    operation: str
    also_from: frozenset[str] = frozenset()
    to: str | None = None
    also_stays: frozenset[str] = frozenset()

    def apply(self, behaviour: Behaviour) -> Behaviour:
        rules = behaviour.rules
        row = rules.transitions[self.operation]
        row = replace(
            row,
            allowed_from=row.allowed_from | self.also_from | self.also_stays,
            to=self.to or row.to,
            stays=row.stays | self.also_stays,
        )
        transitions = {**rules.transitions, self.operation: row}
        return replace(behaviour, rules=replace(rules, transitions=transitions))


Effect = Change | RowChange

# Each fault breaks one documented behaviour; the run must fail its requirement (and `also`).
_FAULTS: tuple[tuple[Fault, Effect], ...] = (
    (
        Fault(
            "domains-not-isolated",
            "TH-ISO-002",
            "a user of one CipherTrust domain reads, lists and changes the keys of every domain",
        ),
        change(domains_isolated=False),
    ),
    (
        Fault(
            "scope-filters-ignored",
            "TH-ISO-001",
            "the key list ignores its kms and region filters: keys of every connection and region are listed",
        ),
        change(scope_filters=False),
    ),
    (
        Fault(
            "cancel-to-enabled", "TH-STATE-008", "cancel-deletion leaves the key Enabled instead of Disabled"
        ),
        RowChange("cancel-deletion", to="Enabled"),
    ),
    (
        Fault(
            "cancel-from-any-state",
            "TH-STATE-009",
            "cancel-deletion succeeds on keys that are not pending deletion (moto behaviour)",
        ),
        RowChange("cancel-deletion", also_from=KEY_STATES),
    ),
    (
        Fault("enable-while-pending-deletion", "TH-STATE-003", "enable succeeds on a PendingDeletion key"),
        RowChange("enable", also_from=frozenset({"PendingDeletion"})),
    ),
    (
        Fault(
            "disable-while-pending-import",
            "TH-STATE-005",
            "disable succeeds on a PendingImport key (-> Disabled)",
        ),
        RowChange("disable", also_from=frozenset({"PendingImport"})),
    ),
    (
        Fault("schedule-twice", "TH-STATE-007", "schedule-deletion of a PendingDeletion key succeeds again"),
        RowChange("schedule-deletion", also_from=PENDING_DELETION),
    ),
    (
        Fault("no-deletion-date", "TH-STATE-010", "a PendingDeletion key carries no DeletionDate"),
        change(deletion_date_shown=False),
    ),
    (
        Fault("schedule-accepts-6-days", "TH-VAL-002", "schedule-deletion accepts days=6"),
        change(unvalidated_days=(6,)),
    ),
    (
        Fault(
            "days-string-coerced", "TH-VAL-003", 'schedule-deletion accepts days as a numeric string ("7")'
        ),
        change(digit_string_days=True),
    ),
    (
        Fault(
            "unknown-id-400",
            "TH-VAL-004",
            "an unknown key id is answered 400 NCERRInvalidParamValue instead of 404",
        ),
        change(answered_as={"not-found": "invalid"}),
    ),
    (
        Fault("envelope-missing-codedesc", "TH-ENV-001", "error bodies lack codeDesc"),
        change(envelope_fields=("code", "message", "requestID")),
    ),
    # A schema-valid list with an unknown sort answered 500 is also "valid data rejected" (should).
    (
        Fault(
            "server-error-on-unknown-sort",
            "TH-GEN-001",
            "list answers 500 when sort names an unknown field",
            may_also=("TH-GEN-004",),
        ),
        change(unknown_sort_field="server-error"),
    ),
    (
        Fault("enabled-flag-stale", "TH-SHAPE-002", "aws_param.Enabled stays true on a Disabled key"),
        change(enabled_flag_states=frozenset({"Enabled", "Disabled"})),
    ),
    (
        Fault("key-without-uri", "TH-SHAPE-001", "key resources lack uri"),
        change(hidden_key_fields=frozenset({"uri"})),
    ),
    (
        Fault("expired-token-accepted", "TH-AUTH-006", "an expired JWT is still accepted"),
        change(token_expiry_checked=False),
    ),
    (
        Fault(
            "bad-password-accepted", "TH-AUTH-002", "the password grant accepts any password of a known user"
        ),
        change(password_checked=False),
    ),
    (
        Fault(
            "refresh-grant-broken", "TH-AUTH-003", "the refresh_token grant refuses every refresh token (401)"
        ),
        change(refresh_grant_works=False),
    ),
    (
        Fault("total-is-page-size", "TH-PAG-003", "list total counts the page instead of every match"),
        change(list_total="page"),
    ),
    (
        Fault(
            "list-bare-array",
            "TH-PAG-001",
            "list answers a bare array instead of {skip, limit, total, resources}",
            may_also=("TH-GEN-003",),
        ),
        change(list_shape="bare-array"),
    ),
    # -- the operations added later: upload-key, synchronization jobs, multi-Region, rotation ------
    (
        Fault(
            "policy-inputs-not-exclusive",
            "TH-VAL-008",
            "create, upload-key and replicate-key take a Policy together with a policytemplate",
            may_also=("TH-GEN-004",),
        ),
        change(policy_inputs_exclusive=False),
    ),
    (
        Fault(
            "upload-leaves-pending-import",
            "TH-STATE-011",
            "upload-key leaves the new key PendingImport, as if no material had been uploaded",
        ),
        change(upload_holds_material=False),
    ),
    (
        Fault(
            "sync-exclusive-accepted",
            "TH-VAL-009",
            "a synchronization job is started with synchronize_all true and kms both given",
            may_also=("TH-GEN-004",),
        ),
        change(sync_inputs_exclusive=False),
    ),
    (
        Fault(
            "sync-job-without-status",
            "TH-SHAPE-007",
            "synchronization-job answers lack overall_status",
            may_also=("TH-GEN-003",),
        ),
        change(hidden_job_fields=frozenset({"overall_status"})),
    ),
    (
        Fault(
            "sync-cancel-abort-false",
            "TH-SHAPE-005",
            "cancelling a synchronization job answers (and leaves) abort false",
        ),
        change(cancel_sets_abort=False),
    ),
    (
        Fault(
            "sync-cancel-any-status",
            "TH-STATE-012",
            "a completed synchronization job can be cancelled again",
        ),
        change(cancel_only_in_progress=False),
    ),
    (
        Fault(
            "sync-list-bare-array",
            "TH-PAG-005",
            "the synchronization-job list answers a bare array",
            may_also=("TH-GEN-003",),
        ),
        change(sync_list_shape="bare-array"),
    ),
    (
        Fault("sync-list-ignores-id", "TH-VAL-010", "the synchronization-job list ignores its id filter"),
        change(sync_id_filter=False),
    ),
    (
        Fault("replica-new-key-id", "TH-STATE-013", "a replica gets a KeyID of its own, not its primary's"),
        change(replica_shares_key_id=False),
    ),
    (
        Fault(
            "replica-of-external-enabled",
            "TH-STATE-014",
            "a replica of a primary with imported material is Enabled instead of PendingImport",
        ),
        change(replica_of_external_pending=False),
    ),
    (
        Fault(
            "replicate-single-region-accepted",
            "TH-STATE-015",
            "replicate-key replicates a single-Region key",
        ),
        change(replicate_needs_primary=False),
    ),
    (
        Fault(
            "replicate-while-pending-deletion",
            "TH-STATE-016",
            "replicate-key replicates a primary that is pending deletion",
        ),
        RowChange("replicate-key", also_stays=PENDING_DELETION),
    ),
    (
        Fault(
            "update-primary-region-noop",
            "TH-STATE-017",
            "update-primary-region answers success but the primary stays where it was",
        ),
        change(update_primary_region_works=False),
    ),
    (
        Fault(
            "rotation-job-config-optional",
            "TH-VAL-011",
            "enable-rotation-job takes a body without job_config_id",
            may_also=("TH-GEN-004",),
        ),
        change(rotation_job_config_required=False),
    ),
    (
        Fault(
            "rotation-job-while-pending-deletion",
            "TH-STATE-018",
            "enable-rotation-job and disable-rotation-job change a key pending deletion",
        ),
        change(rotation_jobs_while_pending_deletion=True),
    ),
    (
        Fault(
            "rotation-status-flag-string",
            "TH-SHAPE-006",
            'get-key-rotation-status answers KeyRotationEnabled as a string ("false")',
            may_also=("TH-GEN-003",),
        ),
        change(rotation_flag_as_string=True),
    ),
    (
        Fault(
            "rotation-status-always-off",
            "TH-STATE-019",
            "get-key-rotation-status says false after enable-auto-rotation",
        ),
        change(rotation_status_works=False),
    ),
    (
        Fault(
            "rotation-status-on-while-pending-deletion",
            "TH-STATE-020",
            "get-key-rotation-status says true for a key pending deletion whose rotation was on",
        ),
        change(rotation_off_while_pending_deletion=False),
    ),
    (
        Fault(
            "rotations-bare-array",
            "TH-PAG-006",
            "the rotations list answers a bare array",
            may_also=("TH-GEN-003",),
        ),
        change(rotation_list_shape="bare-array"),
    ),
    (
        Fault(
            "rotate-material-noop",
            "TH-STATE-021",
            "rotate-material answers the key but makes no new key material",
        ),
        change(rotate_material_works=False),
    ),
    (
        Fault(
            "rotate-material-while-pending-deletion",
            "TH-STATE-022",
            "rotate-material rotates a key pending deletion",
        ),
        RowChange("rotate-material", also_stays=PENDING_DELETION),
    ),
    (
        Fault(
            "create-drops-description",
            "TH-PERSIST-001",
            "create answers the key but keeps no aws_param.Description",
        ),
        change(create_keeps_description=False),
    ),
    (
        Fault(
            "description-not-stored",
            "TH-PERSIST-002",
            "update-description answers success but keeps the old description",
        ),
        change(description_stored=False),
    ),
    (
        Fault("alias-not-stored", "TH-PERSIST-003", "add-alias answers success but the alias is not added"),
        change(alias_stored=False),
    ),
    (
        Fault("delete-alias-noop", "TH-PERSIST-004", "delete-alias answers success but the alias stays"),
        change(delete_alias_works=False),
    ),
    (
        Fault("tags-not-stored", "TH-PERSIST-005", "add-tags answers success but the tags are not added"),
        change(tags_stored=False),
    ),
    (
        Fault(
            "tag-key-duplicated",
            "TH-PERSIST-006",
            "add-tags with a tag key the key has adds a second tag of that key",
        ),
        change(tags_replace_value=False),
    ),
    (
        Fault("remove-tags-noop", "TH-PERSIST-007", "remove-tags answers success but the tags stay"),
        change(remove_tags_works=False),
    ),
    (
        Fault(
            "policy-not-stored", "TH-PERSIST-008", "policy answers success but the key keeps its old policy"
        ),
        change(policy_stored=False),
    ),
    (
        Fault(
            "deletion-date-ignores-days",
            "TH-PERSIST-009",
            "the DeletionDate is 30 days out whatever days was sent",
        ),
        change(deletion_date_from_days=False),
    ),
    (
        Fault(
            "cancel-keeps-deletion-date",
            "TH-PERSIST-010",
            "a key whose deletion was cancelled still shows its DeletionDate",
        ),
        change(cancel_clears_deletion_date=False),
    ),
    (
        Fault(
            "delete-keeps-key", "TH-PERSIST-011", "DELETE /keys/{id} answers 204 but the key stays in CCKM"
        ),
        change(delete_drops_key=False),
    ),
    (
        Fault(
            "disable-auto-rotation-noop",
            "TH-STATE-023",
            "disable-auto-rotation answers success but rotation stays on",
        ),
        change(rotation_disable_works=False),
    ),
    (
        Fault("rotation-on-by-default", "TH-STATE-024", "a new native key has automatic rotation on"),
        change(rotation_off_by_default=False),
    ),
    (
        Fault(
            "rotation-status-on-for-external",
            "TH-STATE-025",
            "the rotation status of a key with imported material says true",
        ),
        change(external_rotation_reported=True),
    ),
    (
        Fault("cancel-clears-rotation", "TH-STATE-026", "cancelling a deletion turns automatic rotation off"),
        change(cancel_keeps_rotation=False),
    ),
    (
        Fault("disable-clears-rotation", "TH-STATE-027", "disabling a key turns its automatic rotation off"),
        change(disable_keeps_rotation=False),
    ),
    (
        Fault("list-ignores-id", "TH-LIST-001", "the key list ignores its id filter"),
        change(ignored_filters=frozenset({"id"})),
    ),
    (
        Fault("list-ignores-keyid", "TH-LIST-002", "the key list ignores its keyid filter"),
        change(ignored_filters=frozenset({"keyid"})),
    ),
    (
        Fault("list-ignores-arn", "TH-LIST-003", "the key list ignores its arn filter"),
        change(ignored_filters=frozenset({"arn"})),
    ),
    (
        Fault("list-ignores-alias", "TH-LIST-004", "the key list ignores its alias filter"),
        change(ignored_filters=frozenset({"alias"})),
    ),
    (
        Fault("list-ignores-region", "TH-LIST-005", "the key list ignores its region filter"),
        change(ignored_filters=frozenset({"region"})),
    ),
    (
        Fault("list-ignores-origin", "TH-LIST-006", "the key list ignores its origin filter"),
        change(ignored_filters=frozenset({"origin"})),
    ),
    (
        Fault("list-ignores-enabled", "TH-LIST-007", "the key list ignores its enabled filter"),
        change(ignored_filters=frozenset({"enabled"})),
    ),
    (
        Fault("list-ignores-keystate", "TH-LIST-008", "the key list ignores its keystate filter"),
        change(ignored_filters=frozenset({"keystate"})),
    ),
    (
        Fault(
            "list-ignores-key-material-origin",
            "TH-LIST-009",
            "the key list ignores its key_material_origin filter",
        ),
        change(ignored_filters=frozenset({"key_material_origin"})),
    ),
    (
        Fault("list-ignores-multi-region", "TH-LIST-010", "the key list ignores its multi_region filter"),
        change(ignored_filters=frozenset({"multi_region"})),
    ),
    (
        Fault(
            "list-ignores-customermasterkeyspec",
            "TH-LIST-011",
            "the key list ignores its CustomerMasterKeySpec filter",
        ),
        change(ignored_filters=frozenset({"CustomerMasterKeySpec"})),
    ),
    (
        Fault(
            "list-ignores-cckm-policy-template-id",
            "TH-LIST-012",
            "the key list ignores its cckm_policy_template_id filter",
        ),
        change(ignored_filters=frozenset({"cckm_policy_template_id"})),
    ),
    (
        Fault("list-ignores-key-source", "TH-LIST-013", "the key list ignores its key_source filter"),
        change(ignored_filters=frozenset({"key_source"})),
    ),
    (
        Fault(
            "list-ignores-rotation-job-filters",
            "TH-LIST-014",
            "the key list ignores job_config_id and rotation_job_enabled",
        ),
        change(ignored_filters=frozenset({"job_config_id", "rotation_job_enabled"})),
    ),
    (
        Fault(
            "list-ignores-skip", "TH-PAG-007", "the key list answers from the first record whatever skip says"
        ),
        change(skip_applied=False),
    ),
    (
        Fault("sort-descending-ignored", "TH-PAG-008", "a leading '-' on a sort field sorts it ascending"),
        change(descending_sort=False),
    ),
    (
        Fault(
            "import-leaves-pending-import",
            "TH-STATE-028",
            "import-material answers success but the key stays PendingImport",
        ),
        RowChange("import-material", also_stays=frozenset({"PendingImport"})),
    ),
    (
        Fault(
            "import-keeps-material-origin",
            "TH-STATE-029",
            "after import-material the key's key_material_origin is not cckm",
        ),
        change(import_sets_material_origin=False),
    ),
    (
        Fault(
            "delete-material-leaves-enabled",
            "TH-STATE-030",
            "delete-material answers success but the key stays Enabled",
        ),
        RowChange("delete-material", also_stays=frozenset({"Enabled"})),
    ),
    (
        Fault(
            "delete-material-ends-deletion",
            "TH-STATE-031",
            "delete-material moves a key pending deletion to PendingImport",
        ),
        change(transitions={**TRANSITIONS, "delete-material": Transition(KEY_STATES, "PendingImport")}),
    ),
    (
        Fault("list-ignores-tags", "TH-LIST-015", "the key list ignores its tags filter"),
        change(ignored_filters=frozenset({"tags"})),
    ),
    (
        Fault(
            "rotations-ignore-rotation-type",
            "TH-LIST-016",
            "the rotations list ignores its RotationType filter",
        ),
        change(ignored_rotation_filters=frozenset({"RotationType"})),
    ),
    (
        Fault(
            "rotations-ignore-material-state",
            "TH-LIST-017",
            "the rotations list ignores its KeyMaterialState filter",
        ),
        change(ignored_rotation_filters=frozenset({"KeyMaterialState"})),
    ),
    (
        Fault(
            "rotations-ignore-material-id",
            "TH-LIST-018",
            "the rotations list ignores its KeyMaterialId filter",
        ),
        change(ignored_rotation_filters=frozenset({"KeyMaterialId"})),
    ),
    (
        Fault(
            "rotation-uri-of-a-key",
            "TH-SHAPE-008",
            "a rotation record's uri is a key's (kylo:kylo:cckm:aws-key:<id>)",
        ),
        change(rotation_uri_kind="aws-key"),
    ),
    (
        Fault(
            "upload-any-source-tier",
            "TH-VAL-012",
            "upload-key takes a source_key_tier outside local, dsm, hsm-luna and external-cm",
        ),
        change(unchecked_source_tiers=frozenset({"uploadAwsKey"})),
    ),
    (
        Fault(
            "import-any-source-tier",
            "TH-VAL-013",
            "import-material takes a source_key_tier outside local, dsm, hsm-luna and external-cm",
        ),
        change(unchecked_source_tiers=frozenset({"importAwsKeyMaterial"})),
    ),
    (
        Fault(
            "tag-values-unchecked",
            "TH-VAL-014",
            "add-tags takes a tag value with a character outside alphanumerics and _ . / = + - @",
        ),
        change(tag_values_checked=False),
    ),
    (
        Fault(
            "delete-answers-not-found",
            "TH-SHAPE-009",
            "DELETE /keys/{id} drops the key but answers 404",
        ),
        change(delete_answers_not_found=True),
    ),
    (
        Fault(
            "new-primary-unconfigured",
            "TH-STATE-032",
            "a new multi-Region key shows no MultiRegionConfiguration until it has a replica",
        ),
        change(lone_primary_configured=False),
    ),
    (
        Fault(
            "replica-uri-of-a-key", "TH-SHAPE-010", "a replica's uri is a key's (kylo:kylo:cckm:aws-key:<id>)"
        ),
        change(replica_uri_kind="aws-key"),
    ),
    (
        Fault(
            "primary-forgets-replicas",
            "TH-STATE-033",
            "replicate-key leaves the primary's ReplicaKeys without the new replica",
        ),
        change(primary_lists_replicas=False),
    ),
    (
        Fault(
            "former-primary-stays-primary",
            "TH-STATE-034",
            "after update-primary-region the former primary still reads as PRIMARY",
        ),
        change(former_primary_demoted=False),
    ),
    (
        Fault(
            "create-drops-key-spec",
            "TH-PERSIST-012",
            "create ignores the KeyUsage and CustomerMasterKeySpec sent: the key is symmetric",
        ),
        change(create_keeps_spec=False),
    ),
    (
        Fault(
            "asymmetric-rotation-reported",
            "TH-STATE-035",
            "get-key-rotation-status of an asymmetric key says true",
        ),
        change(asymmetric_rotation_reported=True),
    ),
    (
        Fault(
            "listed-jobs-without-kms",
            "TH-SHAPE-011",
            "the synchronization-job list leaves kms out of each job",
        ),
        change(hidden_listed_job_fields=frozenset({"kms"})),
    ),
    (
        Fault("sync-list-ignores-limit", "TH-PAG-009", "the synchronization-job list ignores limit"),
        change(sync_limit_applied=False),
    ),
)

FAULTS: tuple[Fault, ...] = tuple(fault for fault, _ in _FAULTS)
EFFECTS: Mapping[str, Effect] = {fault.name: effect for fault, effect in _FAULTS}

# Each option is a behaviour the sources leave open; its value sets the switch of the same name.
OPTIONS: tuple[Option, ...] = (
    Option(
        "create-status",
        ("200", "201"),
        "200",
        "HTTP status of a successful create (unverified)",
    ),
    Option(
        "state-error-status",
        ("400", "409", "422"),
        "400",
        "HTTP status of an AWS state refusal (unverified; AWS uses 400)",
    ),
    Option(
        "validation-status",
        ("400", "422"),
        "400",
        "HTTP status of an invalid parameter (CM uses 422 'Validation errors' elsewhere)",
    ),
    Option(
        "unauthorized-code",
        ("5", "1"),
        "5",
        "401 envelope: 5 NCERRUnauthorizedAccess (stubs) or 1 NCERRUnauthorized (one fake)",
    ),
    Option(
        "policy-format",
        ("string", "object"),
        "string",
        "aws_param.Policy as a JSON string (TF) or an object (doc example)",
    ),
    Option(
        "deletion-date-in",
        ("aws_param", "top", "both"),
        "aws_param",
        "where a pending key's deletion date appears (unverified)",
    ),
    Option(
        "missing-days",
        ("default", "reject"),
        "default",
        "schedule-deletion without days: AWS default 30, or refused (unverified)",
    ),
    Option(
        "refresh-token-rotation",
        ("same", "new"),
        "same",
        "the refresh grant returns the same refresh token (3P claim) or a new one",
    ),
    Option("token-duration", ("300", "60", "5"), "300", "JWT lifetime in seconds (docs: 300)"),
    Option(
        "filter-values",
        ("validate", "match"),
        "validate",
        "list filters with a value outside the documented enum: refused (400), or matching nothing "
        "(an empty page; docs silent)",
        may_fail={"match": ("TH-GEN-004",)},
    ),
    Option(
        "unknown-query-parameters",
        ("reject", "ignore"),
        "reject",
        "list with an undocumented query parameter: 400 (what schema-driven negative testing expects) or ignored (docs silent)",
    ),
    Option(
        "tags-filter",
        ("value", "key", "key=value"),
        "value",
        "what list's tags=<v> matches: a tag value (the page: 'based on valid tag values'), a tag key, "
        "or a TagKey=TagValue pair (syntax undocumented)",
    ),
    Option(
        "sync-job-reads",
        ("1", "0", "3"),
        "1",
        "reads of a synchronization job by id it stays in_progress before it completes; 0: "
        "complete when started, so nothing is left to cancel (job timing undocumented)",
    ),
    Option(
        "primary-update-reads",
        ("0", "1", "3"),
        "0",
        "reads of each key by id that show Updating after update-primary-region before the change "
        "is done (AWS: both keys are Updating meanwhile; how long is undocumented)",
    ),
)

# Options whose switch holds a number.
_NUMERIC = frozenset(
    {
        "create-status",
        "state-error-status",
        "validation-status",
        "token-duration",
        "sync-job-reads",
        "primary-update-reads",
    }
)


# Every switch is set by an option (the field of its name) or by a fault (the state table's rows
# by RowChange): a declaration deleted would leave its switch at the default, where no run reaches
# the other values -- unseen.  This makes it fail at import instead.
_SETTABLE = {canonical(o.name).replace("-", "_") for o in OPTIONS} | {
    name for effect in EFFECTS.values() if isinstance(effect, Change) for name in effect.values
}
_NEVER_SET = set().union(*_PARTS.values()) - _SETTABLE - {"transitions"}
assert not _NEVER_SET, f"Thales mock switches no option or fault sets: {sorted(_NEVER_SET)}"


def _option_change(option: Option, value: str) -> Change:
    """The switch an option sets: the field named like the option (``create-status`` -> ``create_status``)."""
    name = canonical(option.name).replace("-", "_")
    return change(**{name: int(value) if option.name in _NUMERIC else value})


def behaviour(config: MockConfig) -> Behaviour:
    """The switch values ``config`` selects: every option's value, then each fault that is on."""
    chosen = Behaviour()
    for option in OPTIONS:
        chosen = _option_change(option, config.option(option.name, option.default)).apply(chosen)
    for fault in FAULTS:
        if config.has(fault.name):
            chosen = EFFECTS[fault.name].apply(chosen)
    return chosen

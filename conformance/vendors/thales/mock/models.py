"""The Thales CCKM mock's state and business rules: users and refresh tokens, AWS connections, keys.

Where is the Thales state machine?  ``TRANSITIONS`` here (the mock's view): per operation, the AWS
KeyStates it is allowed from and the state it leaves the key in; ``TRANSITIONS`` in
``conformance/vendors/thales/profile.py`` is the checks' view.  ``Rules`` holds the rows and
values a switch may change (faults.py builds it); the model reads nothing else.  No HTTP here:
responses.py parses requests, calls ``CckmBackend`` and writes the answers.

Facts and their sources: ``conformance/vendors/thales/NOTES.md``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from conformance.vendors.thales.mock.exceptions import (
    AwsRefusal,
    BadRequest,
    Forbidden,
    InternalError,
    InvalidParameter,
    NotFound,
    Unauthorized,
)

# -- the mock's users and AWS connections ----------------------------------------------------
ACCOUNT = "123456789012"
USERNAME = "admin"
PASSWORD = "KMS-conformance-1"
FORBIDDEN_USERNAME = "auditor"  # authenticates, but has no CCKM permission (403)
FORBIDDEN_PASSWORD = "KMS-conformance-auditor-1"
# A user of a second CipherTrust domain (tenant isolation): it sees none of the root domain's keys.
OTHER_DOMAIN_USERNAME = "tenant-b-admin"
OTHER_DOMAIN_PASSWORD = "KMS-conformance-tenant-b-1"
USERS = {
    USERNAME: PASSWORD,
    FORBIDDEN_USERNAME: FORBIDDEN_PASSWORD,
    OTHER_DOMAIN_USERNAME: OTHER_DOMAIN_PASSWORD,
}
DOMAINS = {USERNAME: "root", FORBIDDEN_USERNAME: "root", OTHER_DOMAIN_USERNAME: "tenant-b"}
# The domain of the request being served (set where its JWT is read; every request is a task).
CALLER_DOMAIN: ContextVar[str] = ContextVar("caller_domain", default="root")
# Configured AWS connections (CCKM "kms" containers) and their regions.
CONNECTIONS: dict[str, dict[str, Any]] = {
    "aws-conformance": {
        "id": "0b90f8de-8617-498d-ad63-ca18eb717ae7",
        "regions": ("us-east-1", "eu-west-1", "ap-south-1"),
    },
}
DEFAULT_KMS = "aws-conformance"
DEFAULT_REGION = "us-east-1"
OTHER_REGION = "ap-south-1"  # a second region of the connection (tenant isolation)
# The IAM principal lists of a key (create and policy bodies); names become ARNs on policy.
PRINCIPAL_FIELDS = ("external_accounts", "key_admins", "key_admins_roles", "key_users", "key_users_roles")

# -- AWS KeyStates and the state table --------------------------------------------------------
KEY_STATES = frozenset(
    {
        "Creating",
        "Enabled",
        "Disabled",
        "PendingDeletion",
        "PendingImport",
        "PendingReplicaDeletion",
        "Unavailable",
        "Updating",
    }
)
PENDING_DELETION = frozenset({"PendingDeletion", "PendingReplicaDeletion"})


@dataclass(frozen=True)
class Transition:
    """One state-changing operation: allowed from ``allowed_from``, leaves the key in ``to``.

    A key in a ``stays`` state is allowed but left as it is.  A refused state answers
    ``KMSInvalidStateException: <arn> <refusal>``, or the state's own text when ``refusal`` is None.
    """

    allowed_from: frozenset[str]
    to: str
    refusal: str | None = None
    stays: frozenset[str] = frozenset()


# operation -> its row: the whole KeyState machine of the mock (AWS's, as CCKM passes it on).
TRANSITIONS: Mapping[str, Transition] = {
    "enable": Transition(frozenset({"Enabled", "Disabled"}), "Enabled"),
    "disable": Transition(frozenset({"Enabled", "Disabled"}), "Disabled"),
    "schedule-deletion": Transition(KEY_STATES - PENDING_DELETION, "PendingDeletion"),
    # Cancelling leaves the key Disabled, never Enabled (the CCKM cancel-deletion page).
    "cancel-deletion": Transition(PENDING_DELETION, "Disabled", refusal="is not pending deletion."),
    "import-material": Transition(KEY_STATES - PENDING_DELETION, "Enabled"),
    # Deleting imported material of a key pending deletion leaves it pending deletion (AWS).
    "delete-material": Transition(KEY_STATES, "PendingImport", stays=PENDING_DELETION),
    # Multi-Region operations change no state; a key pending deletion is refused (AWS key-state table).
    "replicate-key": Transition(KEY_STATES - PENDING_DELETION, "", stays=KEY_STATES - PENDING_DELETION),
    "update-primary-region": Transition(
        KEY_STATES - PENDING_DELETION, "", stays=KEY_STATES - PENDING_DELETION
    ),
    # On-demand rotation of the material changes no state; only an Enabled key is rotated (AWS).
    "rotate-material": Transition(frozenset({"Enabled"}), "", stays=frozenset({"Enabled"})),
}
# AWS: at most this many on-demand rotations per key (RotateKeyOnDemand).
ON_DEMAND_ROTATIONS = 10

# Texts of a state refusal, after the key's ARN; any other state reads "is <State>.".
_STATE_TEXTS = {
    "PendingDeletion": "is pending deletion.",
    "PendingReplicaDeletion": "is pending deletion.",
    "PendingImport": "is pending import.",
}

# Fields list accepts in ``sort``; any other is ignored (or, with a fault, a server error).
SORT_FIELDS = frozenset(
    {
        "id",
        "uri",
        "createdAt",
        "updatedAt",
        "kms",
        "kms_id",
        "region",
        "cloud_name",
        "key_type",
        "gone",
        "key_material_origin",
        "synced_at",
        "KeyID",
        "KeyState",
        "Enabled",
        "Arn",
        "Alias",
        "Origin",
        "KeyUsage",
        "CreationDate",
        "DeletionDate",
        "Description",
        "CustomerMasterKeySpec",
    }
)


@dataclass(frozen=True)
class Rules:
    """The business rules a switch can change; the defaults are the documented (or chosen) ones."""

    transitions: Mapping[str, Transition] = field(default_factory=lambda: dict(TRANSITIONS))
    scope_filters: bool = True  # the key list's kms and region filters keep other scopes' keys out
    domains_isolated: bool = True  # a user sees and changes the keys of its own domain only
    password_checked: bool = True  # the password grant compares the password
    refresh_grant_works: bool = True  # a known refresh token gets a new JWT
    refresh_token_rotation: str = "same"  # option refresh-token-rotation: "same" or "new"
    missing_days: str = "default"  # option missing-days: "default" (30) or "reject"
    unknown_sort_field: str = "ignored"  # "ignored", or "server-error" (a fault)
    tags_filter: str = "value"  # option tags-filter: what the list filter tags=<v> compares
    sync_job_reads: int = 1  # option sync-job-reads: status reads a synchronization job stays in_progress
    # option primary-update-reads: reads by id of each member that show Updating after
    # update-primary-region before the change is done (AWS: both keys are Updating meanwhile)
    primary_update_reads: int = 0
    # what faults change (each True/False is the documented or chosen behaviour)
    policy_inputs_exclusive: bool = True  # Policy, policytemplate and principal lists exclude each other
    upload_holds_material: bool = True  # upload-key leaves the new key Enabled (its material uploaded)
    sync_inputs_exclusive: bool = True  # synchronize_all true excludes kms and regions
    cancel_sets_abort: bool = True  # cancelling a synchronization job sets its abort flag
    cancel_only_in_progress: bool = True  # only an in-progress synchronization job can be cancelled
    sync_id_filter: bool = True  # the job list's id filter is applied
    replica_shares_key_id: bool = True  # a replica has its primary's KeyID
    replica_of_external_pending: bool = True  # a replica of an EXTERNAL primary is PendingImport
    replicate_needs_primary: bool = True  # replicate-key refuses a key that is no multi-Region primary
    update_primary_region_works: bool = True  # update-primary-region really moves the primary
    rotation_jobs_while_pending_deletion: bool = False  # rotation-job calls on a key pending deletion
    rotation_status_works: bool = True  # get-key-rotation-status reads the key's rotation setting
    rotation_off_while_pending_deletion: bool = True  # AWS: status false while pending deletion
    rotate_material_works: bool = True  # rotate-material makes a new current key material
    create_keeps_description: bool = True  # create stores aws_param.Description as sent
    description_stored: bool = True  # update-description stores the new description
    alias_stored: bool = True  # add-alias adds the alias to aws_param.Alias
    delete_alias_works: bool = True  # delete-alias removes the alias from aws_param.Alias
    tags_stored: bool = True  # add-tags adds the tags to aws_param.Tags
    tags_replace_value: bool = True  # add-tags with a tag key the key has replaces its value
    remove_tags_works: bool = True  # remove-tags removes the named tag keys
    policy_stored: bool = True  # policy stores the new key policy
    deletion_date_from_days: bool = True  # DeletionDate is `days` after the call (else always 30)
    cancel_clears_deletion_date: bool = True  # a cancelled deletion leaves no DeletionDate
    delete_drops_key: bool = True  # DELETE /keys/{id} removes the key from CCKM
    rotation_disable_works: bool = True  # disable-auto-rotation turns automatic rotation off
    cancel_keeps_rotation: bool = True  # cancelling a deletion restores the rotation setting (AWS)
    disable_keeps_rotation: bool = True  # disabling a key leaves its rotation setting (AWS)
    rotation_off_by_default: bool = True  # a new key has automatic rotation off (AWS)
    external_rotation_reported: bool = False  # the status of a key with imported material says true
    ignored_filters: frozenset[str] = frozenset()  # list filters (FILTERS names) the key list ignores
    skip_applied: bool = True  # the key list drops `skip` records from the front
    descending_sort: bool = True  # a leading "-" sorts a field descending
    import_sets_material_origin: bool = True  # import-material records key_material_origin cckm
    ignored_rotation_filters: frozenset[str] = frozenset()  # rotations-list filters the list ignores
    rotation_uri_kind: str = "aws-key-rotation"  # the resource kind a rotation record's uri names
    delete_answers_not_found: bool = False  # DELETE /keys/{id} drops the key, then answers 404
    replica_uri_kind: str = "aws-replica-key"  # the resource kind a replica's uri names
    primary_lists_replicas: bool = True  # replicate-key adds the replica to the primary's ReplicaKeys
    former_primary_demoted: bool = True  # update-primary-region makes the former primary a REPLICA
    create_keeps_spec: bool = True  # create stores the KeyUsage and key spec sent
    asymmetric_rotation_reported: bool = False  # the status of an asymmetric/HMAC key says true
    sync_limit_applied: bool = True  # the job list holds at most limit jobs


# -- keys -----------------------------------------------------------------------------------------


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(moment: dt.datetime) -> str:
    """CCKM's RFC 3339 timestamps with microseconds (createdAt, updatedAt, synced_at)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def aws_date(moment: dt.datetime) -> str:
    """AWS's second-precision dates (DeletionDate, NextRotationDate)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def alias_name(alias: str) -> str:
    """Aliases are stored with AWS's ``alias/`` prefix; requests may leave it out."""
    return alias if alias.startswith("alias/") else f"alias/{alias}"


def default_policy() -> dict[str, Any]:
    """The AWS default key policy: the account root may do everything."""
    return {
        "Id": "key-default-1",
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


@dataclass
class Key:
    """One CCKM AWS key: the CCKM record and ``aws``, its mirror of AWS KeyMetadata (``aws_param``).

    Both are plain dicts in answer order: fields appear (and later ones are appended) exactly as
    the answers show them.
    """

    record: dict[str, Any]
    aws: dict[str, Any]
    domain: str = "root"  # the CipherTrust domain of the user who made it

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def region(self) -> str:
        return str(self.record["region"])

    @property
    def state(self) -> str:
        return str(self.aws["KeyState"])

    @property
    def arn(self) -> str:
        return str(self.aws["Arn"])

    def set_state(self, state: str) -> None:
        """Only a key pending deletion has a DeletionDate."""
        self.aws["KeyState"] = state
        if state != "PendingDeletion":
            self.aws.pop("DeletionDate", None)

    def touch(self) -> None:
        self.record["updatedAt"] = timestamp(now())

    def value(self, name: str) -> Any:
        """A sort field's value: a CCKM field, else an aws_param one ("" when absent)."""
        if name in self.record:
            return self.record[name]
        return self.aws.get(name, "")

    def snapshot(self) -> Key:
        """A copy to render outside the lock."""
        return copy.deepcopy(self)


@dataclass(frozen=True)
class KeyPage:
    """One list page: ``total`` counts every match, ``keys`` holds the page."""

    total: int
    keys: list[Key]


def _sort_value(name: str, key: Key) -> str:
    """Sorting compares the text of a field's value."""
    return str(key.value(name))


def _flag(value: bool) -> str:
    return "true" if value else "false"


# Documented list filters: query parameter -> does the key match the value.
FILTERS: Mapping[str, Callable[[Key, str], bool]] = {
    "id": lambda key, v: key.record["id"] == v,
    "keyid": lambda key, v: key.aws["KeyID"] == v,
    "arn": lambda key, v: key.aws["Arn"] == v,
    "alias": lambda key, v: v in key.aws["Alias"] or f"alias/{v}" in key.aws["Alias"],
    "kms": lambda key, v: key.record["kms"] == v,
    "kms_id": lambda key, v: key.record["kms_id"] == v,
    "region": lambda key, v: key.record["region"] == v,
    "cloud_name": lambda key, v: key.record["cloud_name"] == v,
    "origin": lambda key, v: key.aws["Origin"] == v,
    "job_config_id": lambda key, v: key.record["labels"].get("job_config_id") == v,
    "enabled": lambda key, v: _flag(key.aws["KeyState"] == "Enabled") == v,
    "gone": lambda key, v: _flag(key.record["gone"]) == v,
    "keystate": lambda key, v: key.aws["KeyState"] == v,
    "keyusage": lambda key, v: key.aws["KeyUsage"] == v,
    "rotation_job_enabled": lambda key, v: _flag("job_config_id" in key.record["labels"]) == v,
    "key_material_origin": lambda key, v: key.record["key_material_origin"] == v,
    "multi_region": lambda key, v: _flag(key.aws["MultiRegion"]) == v,
    "multi_region_key_type": lambda key, v: (
        key.aws.get("MultiRegionConfiguration", {}).get("MultiRegionKeyType") == v
    ),
    "CustomerMasterKeySpec": lambda key, v: key.aws["CustomerMasterKeySpec"] == v,
    "cckm_policy_template_id": lambda key, v: _tag_value(key, TEMPLATE_TAG) == v,
    "key_source": lambda key, v: KEY_SOURCES.get(key.record.get("key_source", ""), "") == v,
}

# The policy template applied to a key is recorded as this AWS tag (policy page).
TEMPLATE_TAG = "cckm_policy_template_id"
# enable-rotation-job's settings, kept as the key's labels.
ROTATION_JOB_FIELDS = (
    "job_config_id",
    "auto_rotate_disable_encrypt",
    "auto_rotate_domain_id",
    "auto_rotate_key_source",
)
# source_key_tier of an import -> the key_source name the list filter takes (list page).
KEY_SOURCES: Mapping[str, str] = {"local": "LOCAL", "dsm": "DSM", "hsm-luna": "LunaHSM"}


def _tag_value(key: Key, tag_key: str) -> str | None:
    return next((t["TagValue"] for t in key.aws["Tags"] if t["TagKey"] == tag_key), None)


def _tagged(key: Key, value: str, syntax: str) -> bool:
    """The ``tags`` filter; its syntax is undocumented (option tags-filter)."""
    tags = key.aws["Tags"]
    if syntax == "key":
        return any(t["TagKey"] == value for t in tags)
    if syntax == "key=value":
        tag_key, sep, tag_value = value.partition("=")
        return bool(sep) and any(t["TagKey"] == tag_key and t["TagValue"] == tag_value for t in tags)
    return any(t["TagValue"] == value for t in tags)


def matches(
    key: Key, query: Mapping[str, str], tags_filter: str = "value", ignored: frozenset[str] = frozenset()
) -> bool:
    if "tags" in query and "tags" not in ignored and not _tagged(key, query["tags"], tags_filter):
        return False
    return all(
        check(key, query[name]) for name, check in FILTERS.items() if name in query and name not in ignored
    )


def principal_arns(field_name: str, values: list[str]) -> list[str]:
    """A principal list with names turned into IAM ARNs (roles for the ``*_roles`` lists)."""
    if field_name == "external_accounts":
        return list(values)
    kind = "role" if field_name.endswith("roles") else "user"
    return [v if v.startswith("arn:") else f"arn:aws:iam::{ACCOUNT}:{kind}/{v}" for v in values]


def check_policy_inputs(
    policy: object, template: object, principals: Mapping[str, Any], exclusive: bool = True
) -> None:
    """A policy, a policy template and the principal lists are mutually exclusive (create, upload-key,
    replicate-key and policy pages); ``exclusive`` False is fault policy-inputs-not-exclusive."""
    if not exclusive:
        return
    given = [
        name
        for name, present in (
            ("policy", policy is not None),
            ("policytemplate", template is not None),
            ("key_admins/key_users/external_accounts", bool(principals)),
        )
        if present
    ]
    if len(given) > 1:
        raise InvalidParameter(f"Validation errors:\n{' and '.join(given)} are mutually exclusive")


def _key_usage(spec: str) -> str:
    """AWS's usage for a key spec when the request names none."""
    if spec.startswith("ECC"):
        return "SIGN_VERIFY"
    if spec.startswith("HMAC"):
        return "GENERATE_VERIFY_MAC"
    return "ENCRYPT_DECRYPT"


def _aws_metadata(region: str, param: Mapping[str, Any], created: str) -> dict[str, Any]:
    """A new key's aws_param from the create request's: AWS's defaults for what it leaves out."""
    aws_id = "mrk-" + uuid.uuid4().hex if param.get("MultiRegion") else str(uuid.uuid4())
    spec = param.get("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT")
    origin = param.get("Origin", "AWS_KMS")
    alias = param.get("Alias")
    aws: dict[str, Any] = {
        "AWSAccountId": ACCOUNT,
        "Arn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{aws_id}",
        "KeyID": aws_id,
        "KeyState": "PendingImport" if origin == "EXTERNAL" else "Enabled",
        "KeyManager": "CUSTOMER",
        "KeyUsage": param.get("KeyUsage") or _key_usage(spec),
        "Origin": origin,
        "CustomerMasterKeySpec": spec,
        "Description": param.get("Description", ""),
        "CreationDate": created[:19] + "Z",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"] if spec == "SYMMETRIC_DEFAULT" else [],
        "KeyRotationEnabled": False,
        "MultiRegion": bool(param.get("MultiRegion", False)),
        "Alias": [alias_name(alias)] if alias else [],
        "Tags": [{"TagKey": t["TagKey"], "TagValue": t.get("TagValue", "")} for t in param.get("Tags", [])],
        "Policy": param.get("Policy") or default_policy(),
    }
    if origin == "EXTERNAL":
        aws["ExpirationModel"] = ""
    if aws["MultiRegion"]:
        aws["MultiRegionConfiguration"] = {
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": aws["Arn"], "Region": region},
            "ReplicaKeys": [],
        }
    return aws


def _apply_principals(key: Key, principals: Mapping[str, list[str]]) -> None:
    for name, values in principals.items():
        key.record[name] = principal_arns(name, values)


def _apply_template(key: Key, template: str) -> None:
    tags = [t for t in key.aws["Tags"] if t["TagKey"] != TEMPLATE_TAG]
    key.aws["Tags"] = [*tags, {"TagKey": TEMPLATE_TAG, "TagValue": template}]


def _refuse_while_pending_deletion(key: Key) -> None:
    """Metadata changes are refused while a key is pending deletion (AWS)."""
    if key.state in PENDING_DELETION:
        raise state_refusal(key)


def state_refusal(key: Key) -> AwsRefusal:
    text = _STATE_TEXTS.get(key.state, f"is {key.state}.")
    return AwsRefusal("KMSInvalidStateException", f"{key.arn} {text}")


def _external_only(key: Key) -> None:
    """Key material operations exist only for keys of Origin EXTERNAL."""
    aws = key.aws
    if aws["Origin"] != "EXTERNAL":
        raise AwsRefusal(
            "UnsupportedOperationException",
            f"{aws['Arn']} origin is {aws['Origin']} which is not valid for this operation.",
        )


def _rotatable(key: Key) -> None:
    """AWS automatic rotation: symmetric AWS_KMS keys only, and only while Enabled."""
    aws = key.aws
    if aws["Origin"] != "AWS_KMS" or aws["CustomerMasterKeySpec"] != "SYMMETRIC_DEFAULT":
        raise AwsRefusal(
            "UnsupportedOperationException",
            f"{aws['Arn']} origin is {aws['Origin']} which is not valid for this operation.",
        )
    if aws["KeyState"] == "Disabled":
        raise AwsRefusal("DisabledException", f"{aws['Arn']} is disabled.")
    if aws["KeyState"] != "Enabled":
        raise state_refusal(key)


@dataclass
class SyncJob:
    """A synchronization job: its record as answered, and the reads left before it completes."""

    record: dict[str, Any]
    reads_left: int

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.record)


def _connection(kms_ref: str) -> str:
    """The name of connection ``kms_ref`` (its name or id), or NotFound."""
    kms = next((name for name, c in CONNECTIONS.items() if kms_ref in (name, c["id"])), None)
    if kms is None:
        raise NotFound(f"AWS KMS connection {kms_ref!r} not found")
    return kms


# The rotations list's documented filters.
ROTATION_FILTERS = (
    "key_source",
    "key_material_origin",
    "ImportState",
    "KeyMaterialState",
    "RotationType",
    "KeyMaterialId",
)


def _filters(query: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(name, query[name]) for name in ROTATION_FILTERS if name in query]


def _rotation_value(record: Mapping[str, Any], name: str) -> Any:
    """A rotation record's field: a CCKM one, else an aws_param one ("" when absent)."""
    if name in record:
        return record[name]
    return record["aws_param"].get(name, "")


def _kms_id(ref: str) -> str:
    """The connection name of id ``ref`` (or ``ref`` itself)."""
    return next((name for name, c in CONNECTIONS.items() if c["id"] == ref), ref)


class CckmBackend:
    """The mock CipherTrust Manager: refresh tokens and AWS keys, and what operations do to them.

    Thread-safe: every public method runs under ``lock`` and hands out snapshots, never the
    stored keys, so answers can be rendered outside it.
    """

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self.lock = threading.RLock()
        self.keys: dict[str, Key] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> username
        self.sync_jobs: dict[str, SyncJob] = {}
        self.rotations: dict[str, list[dict[str, Any]]] = {}  # key id -> its material's records
        # key id -> [reads by id still showing Updating, the state it goes back to]
        self.updating: dict[str, list[Any]] = {}

    # -- users and tokens -----------------------------------------------------------------------

    def password_grant(self, username: object, password: object) -> tuple[str, str]:
        """(user, a new refresh token) for a known user and the right password."""
        with self.lock:
            expected = USERS.get(username) if isinstance(username, str) else None
            if (
                not isinstance(username, str)
                or expected is None
                or (password != expected and self.rules.password_checked)
            ):
                raise Unauthorized("Wrong username or password.")
            return username, self._new_refresh_token(username)

    def refresh_grant(self, token: object) -> tuple[str, str]:
        """(user, the refresh token to hand back): the same one, or a new one with rotation."""
        with self.lock:
            username = self.refresh_tokens.get(token) if isinstance(token, str) else None
            if not isinstance(token, str) or username is None or not self.rules.refresh_grant_works:
                raise Unauthorized("Invalid token")
            if self.rules.refresh_token_rotation == "new":
                self.refresh_tokens.pop(token, None)
                token = self._new_refresh_token(username)
            return username, token

    def _new_refresh_token(self, username: str) -> str:
        token = secrets.token_hex(32)
        self.refresh_tokens[token] = username
        return token

    @staticmethod
    def authorize(username: str) -> str:
        """The user, if it may use CCKM."""
        if username == FORBIDDEN_USERNAME:
            raise Forbidden("user is not authorized to perform this action on CCKM resources")
        return username

    # -- the key collection ---------------------------------------------------------------------

    def create_key(
        self,
        kms_ref: str,
        region: str,
        param: Mapping[str, Any],
        principals: Mapping[str, list[str]],
        template: str | None = None,
    ) -> Key:
        """A new key through connection ``kms_ref`` (name or id) in one of its regions.

        ``principals`` (names become IAM ARNs, as on ``policy``) and ``template`` (recorded as the
        cckm_policy_template_id tag) exclude ``param``'s Policy and each other.
        """
        check_policy_inputs(param.get("Policy"), template, principals, self.rules.policy_inputs_exclusive)
        kms = _connection(kms_ref)
        if region not in CONNECTIONS[kms]["regions"]:
            raise InvalidParameter(f"region {region!r} is not configured in AWS KMS connection {kms!r}")
        with self.lock:
            alias = param.get("Alias")
            if alias:
                self._check_alias_free(region, alias_name(alias))
            if not self.rules.create_keeps_description:
                param = {**param, "Description": ""}
            if not self.rules.create_keeps_spec:
                param = {k: v for k, v in param.items() if k not in ("KeyUsage", "CustomerMasterKeySpec")}
            key = self._new_key(kms, region, param)
            _apply_principals(key, principals)
            if template is not None:
                _apply_template(key, template)
            return key.snapshot()

    def _new_key(
        self, kms: str, region: str, param: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> Key:
        key_id = str(uuid.uuid4())
        created = timestamp(now())
        aws = _aws_metadata(region, param, created)
        spec = aws["CustomerMasterKeySpec"]
        record: dict[str, Any] = {
            "id": key_id,
            "uri": f"kylo:kylo:cckm:aws-key:{key_id}",
            "account": "kylo:kylo:admin:accounts:kylo",
            "application": "ncryptify:gemalto:admin:apps:kylo",
            "devAccount": "ncryptify:gemalto:admin:accounts:gemalto",
            "createdAt": created,
            "updatedAt": created,
            "kms_id": CONNECTIONS[kms]["id"],
            "kms": kms,
            "synced_at": created,
            "rotation_status": "",
            "cloud_name": "aws",
            "key_type": "symmetric" if spec == "SYMMETRIC_DEFAULT" else spec.split("_")[0].lower(),
            "basic_view_enabled": False,
            "region": region,
            "gone": False,
            "key_material_origin": "unknown" if aws["Origin"] == "EXTERNAL" else "native",
            "labels": {},
        }
        record.update(extra or {})
        if (
            not self.rules.rotation_off_by_default
            and aws["Origin"] == "AWS_KMS"
            and spec == "SYMMETRIC_DEFAULT"
        ):
            aws.update(
                KeyRotationEnabled=True,
                RotationPeriodInDays=365,
                NextRotationDate=aws_date(now() + dt.timedelta(days=365)),
            )
        key = Key(record, aws, CALLER_DOMAIN.get())
        self.keys[key_id] = key
        self.rotations[key_id] = []
        if aws["Origin"] == "AWS_KMS" and spec == "SYMMETRIC_DEFAULT":
            self._new_material(key, None)  # the material the key was made with: no rotation type
        return key

    def _new_material(self, key: Key, rotation_type: str | None) -> None:
        """A new current key material: the key names it, the old one becomes NON_CURRENT, and the
        rotations list (newest first) gains its record."""
        material = secrets.token_hex(32)
        moment = now()
        for old in self.rotations[key.id]:
            old["aws_param"]["KeyMaterialState"] = "NON_CURRENT"
        rotation_id = str(uuid.uuid4())
        aws: dict[str, Any] = {
            "KeyId": key.arn,
            "KeyMaterialId": material,
            "KeyMaterialState": "CURRENT",
            "RotationDate": aws_date(moment),
        }
        if rotation_type:
            aws["RotationType"] = rotation_type
        self.rotations[key.id].insert(
            0,
            {
                "id": rotation_id,
                "uri": f"kylo:kylo:cckm:{self.rules.rotation_uri_kind}:{rotation_id}",
                "account": "kylo:kylo:admin:accounts:kylo",
                "createdAt": timestamp(moment),
                "updatedAt": timestamp(moment),
                "local_key_id": key.id,
                "kms_id": key.record["kms_id"],
                "key_material_origin": key.record["key_material_origin"],
                "aws_param": aws,
            },
        )
        key.aws["CurrentKeyMaterialId"] = material

    def _check_alias_free(self, region: str, alias: str) -> None:
        """An alias names one key per region (AWS)."""
        for key in self.keys.values():
            if key.region == region and alias in key.aws["Alias"]:
                raise AwsRefusal(
                    "AlreadyExistsException",
                    f"An alias with the name arn:aws:kms:{region}:{ACCOUNT}:{alias} already exists",
                )

    def list_keys(self, query: Mapping[str, str], skip: int, limit: int) -> KeyPage:
        """The keys matching the query's filters, sorted by its ``sort``; ``limit`` -1 means all."""
        with self.lock:
            rules = self.rules
            if not rules.scope_filters:
                query = {name: value for name, value in query.items() if name not in ("kms", "region")}
            found = [
                k
                for k in self.keys.values()
                if self._in_domain(k) and matches(k, query, rules.tags_filter, rules.ignored_filters)
            ]
            self._sort(found, query.get("sort"))
            skip = skip if rules.skip_applied else 0
            page = found[skip:] if limit == -1 else found[skip : skip + limit]
            return KeyPage(len(found), [k.snapshot() for k in page])

    def _sort(self, keys: list[Key], sort: str | None) -> None:
        """Sort by each listed field, the last one first, so the first listed field wins."""
        if not sort:
            return
        for item in reversed([f.strip() for f in sort.split(",") if f.strip()]):
            name = item.lstrip("-")
            if name not in SORT_FIELDS:
                if self.rules.unknown_sort_field == "server-error":
                    raise InternalError(f"unknown sort field {name}")
                continue
            descending = item.startswith("-") and self.rules.descending_sort
            keys.sort(key=functools.partial(_sort_value, name), reverse=descending)

    def _key(self, key_id: str) -> Key:
        key = self.keys.get(key_id)
        if key is None or not self._in_domain(key):
            raise NotFound("Resource not found")
        return key

    def _in_domain(self, key: Key) -> bool:
        """Whether the caller's domain may see ``key`` (its own domain's keys only)."""
        return key.domain == CALLER_DOMAIN.get() or not self.rules.domains_isolated

    def get_key(self, key_id: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            self._read_updating(key)
            return key.snapshot()

    def _read_updating(self, key: Key) -> None:
        """A read by id of a key a primary-Region change left Updating: after ``primary_update_reads``
        of them the change is done and the key is back in its state."""
        pending = self.updating.get(key.id)
        if pending is None:
            return
        if pending[0] > 0:
            pending[0] -= 1
            return
        del self.updating[key.id]
        if key.state == "Updating":
            key.set_state(pending[1])

    def delete_key(self, key_id: str) -> None:
        """Removes the key from CCKM only (the AWS key is left alone)."""
        with self.lock:
            key = self._key(key_id)
            if not self.rules.delete_drops_key:
                return
            del self.keys[key.id]
            self.rotations.pop(key_id, None)
            if self.rules.delete_answers_not_found:
                raise NotFound("Resource not found")

    # -- operations on one key: each returns the changed key (updatedAt bumped) ------------------

    def _move(self, key: Key, operation: str) -> None:
        """Apply the state-table row of ``operation`` (the one place the state machine is read)."""
        row = self.rules.transitions[operation]
        if key.state not in row.allowed_from:
            if row.refusal is None:
                raise state_refusal(key)
            raise AwsRefusal("KMSInvalidStateException", f"{key.arn} {row.refusal}")
        if key.state not in row.stays:
            key.set_state(row.to)

    @staticmethod
    def _changed(key: Key) -> Key:
        key.touch()
        return key.snapshot()

    def enable_key(self, key_id: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            self._move(key, "enable")
            return self._changed(key)

    def disable_key(self, key_id: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            self._move(key, "disable")
            if not self.rules.disable_keeps_rotation:
                key.aws["KeyRotationEnabled"] = False
            return self._changed(key)

    def schedule_key_deletion(self, key_id: str, days: float | None = None) -> Key:
        """``days`` None: left out of the request (AWS's default 30, or refused: option missing-days)."""
        with self.lock:
            key = self._key(key_id)
            if days is None and self.rules.missing_days == "reject":
                raise InvalidParameter("Validation errors:\ndays: days is a required field")
            self._move(key, "schedule-deletion")
            if days is None or not self.rules.deletion_date_from_days:
                days = 30
            key.aws["DeletionDate"] = aws_date(now() + dt.timedelta(days=days))
            return self._changed(key)

    def cancel_key_deletion(self, key_id: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            date = key.aws.get("DeletionDate")
            self._move(key, "cancel-deletion")
            if date and not self.rules.cancel_clears_deletion_date:
                key.aws["DeletionDate"] = date
            if not self.rules.cancel_keeps_rotation:
                key.aws["KeyRotationEnabled"] = False
            return self._changed(key)

    def update_key_description(self, key_id: str, description: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            _refuse_while_pending_deletion(key)
            if self.rules.description_stored:
                key.aws["Description"] = description
            return self._changed(key)

    def add_alias(self, key_id: str, alias: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            _refuse_while_pending_deletion(key)
            name = alias_name(alias)
            if name not in key.aws["Alias"]:
                self._check_alias_free(key.region, name)
                if self.rules.alias_stored:
                    key.aws["Alias"].append(name)
            return self._changed(key)

    def delete_alias(self, key_id: str, alias: str) -> Key:
        """Allowed in every state (AWS DeleteAlias)."""
        with self.lock:
            key = self._key(key_id)
            name = alias_name(alias)
            if name not in key.aws["Alias"]:
                raise AwsRefusal(
                    "NotFoundException", f"Alias arn:aws:kms:{key.region}:{ACCOUNT}:{name} is not found."
                )
            if self.rules.delete_alias_works:
                key.aws["Alias"].remove(name)
            return self._changed(key)

    def add_tags(self, key_id: str, tags: list[dict[str, Any]]) -> Key:
        """``tags`` as requested (``tag_key``/``tag_value``); a tag key already there is replaced."""
        with self.lock:
            key = self._key(key_id)
            _refuse_while_pending_deletion(key)
            stored = key.aws["Tags"]
            for tag in tags if self.rules.tags_stored else ():
                if self.rules.tags_replace_value:
                    stored[:] = [t for t in stored if t["TagKey"] != tag["tag_key"]]
                stored.append({"TagKey": tag["tag_key"], "TagValue": tag.get("tag_value", "")})
            return self._changed(key)

    def remove_tags(self, key_id: str, tag_keys: list[str]) -> Key:
        with self.lock:
            key = self._key(key_id)
            _refuse_while_pending_deletion(key)
            if self.rules.remove_tags_works:
                key.aws["Tags"] = [t for t in key.aws["Tags"] if t["TagKey"] not in tag_keys]
            return self._changed(key)

    def put_key_policy(
        self, key_id: str, policy: Any, principals: Mapping[str, list[str]], template: str | None
    ) -> Key:
        """Allowed in every state; principal names become IAM ARNs; a template is recorded as a tag."""
        with self.lock:
            key = self._key(key_id)
            check_policy_inputs(policy, template, principals, self.rules.policy_inputs_exclusive)
            if policy and self.rules.policy_stored:
                key.aws["Policy"] = policy
            _apply_principals(key, principals)
            if template is not None:
                _apply_template(key, template)
            return self._changed(key)

    def enable_key_rotation(self, key_id: str, rotation_period_in_days: int = 365) -> Key:
        with self.lock:
            key = self._key(key_id)
            _rotatable(key)
            key.aws.update(
                KeyRotationEnabled=True,
                RotationPeriodInDays=rotation_period_in_days,
                NextRotationDate=aws_date(now() + dt.timedelta(days=rotation_period_in_days)),
            )
            return self._changed(key)

    def disable_key_rotation(self, key_id: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            _rotatable(key)
            if not self.rules.rotation_disable_works:
                return self._changed(key)
            key.aws["KeyRotationEnabled"] = False
            key.aws.pop("RotationPeriodInDays", None)
            key.aws.pop("NextRotationDate", None)
            return self._changed(key)

    def key_rotation_status(self, key_id: str) -> dict[str, Any]:
        """AWS's GetKeyRotationStatus answer for the key: KeyId is its ARN; RotationPeriodInDays and
        NextRotationDate only while automatic rotation is on (never on for keys AWS does not rotate).
        While the key is pending deletion the status is false, and the setting returns when the
        deletion is cancelled (AWS GetKeyRotationStatus)."""
        with self.lock:
            key = self._key(key_id)
            aws = key.aws
            enabled = bool(aws["KeyRotationEnabled"]) and self.rules.rotation_status_works
            if key.state in PENDING_DELETION and self.rules.rotation_off_while_pending_deletion:
                enabled = False
            if aws["Origin"] == "EXTERNAL" and self.rules.external_rotation_reported:
                enabled = True
            if (
                aws["CustomerMasterKeySpec"] != "SYMMETRIC_DEFAULT"
                and self.rules.asymmetric_rotation_reported
            ):
                enabled = True
            status: dict[str, Any] = {"KeyId": aws["Arn"], "KeyRotationEnabled": enabled}
            if status["KeyRotationEnabled"]:
                status["RotationPeriodInDays"] = aws.get("RotationPeriodInDays", 365)
                status["NextRotationDate"] = aws.get(
                    "NextRotationDate", aws_date(now() + dt.timedelta(days=365))
                )
            return status

    def rotate_key_material(self, key_id: str) -> Key:
        """On-demand rotation (AWS RotateKeyOnDemand): native symmetric keys, the primary of a
        multi-Region set, only while Enabled (Disabled: DisabledException), at most
        ``ON_DEMAND_ROTATIONS`` times; the key keeps its id and gets a new current material."""
        with self.lock:
            key = self._key(key_id)
            aws = key.aws
            if aws["Origin"] != "AWS_KMS" or aws["CustomerMasterKeySpec"] != "SYMMETRIC_DEFAULT":
                raise AwsRefusal(
                    "UnsupportedOperationException",
                    f"{key.arn} is not a symmetric encryption key of origin AWS_KMS: on-demand rotation is not supported.",
                )
            config = aws.get("MultiRegionConfiguration", {})
            if aws["MultiRegion"] and config.get("MultiRegionKeyType") == "REPLICA":
                raise AwsRefusal(
                    "UnsupportedOperationException", f"{key.arn} is a replica: rotate its primary key."
                )
            allowed = self.rules.transitions["rotate-material"].allowed_from
            if key.state == "Disabled" and "Disabled" not in allowed:
                raise AwsRefusal("DisabledException", f"{key.arn} is disabled.")
            self._move(key, "rotate-material")
            done = sum(1 for r in self.rotations[key.id] if r["aws_param"].get("RotationType") == "ON_DEMAND")
            if done >= ON_DEMAND_ROTATIONS:
                raise AwsRefusal(
                    "LimitExceededException",
                    f"{key.arn} has had the maximum of {ON_DEMAND_ROTATIONS} on-demand rotations.",
                )
            if self.rules.rotate_material_works:
                self._new_material(key, "ON_DEMAND")
            return self._changed(key)

    def list_rotations(
        self, key_id: str, query: Mapping[str, str], skip: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total, page) of a key's rotation records matching the documented filters, newest first
        (``sort`` by a record or aws_param field, ``-`` for descending)."""
        with self.lock:
            key = self._key(key_id)
            found = [
                r
                for r in self.rotations[key.id]
                if all(
                    _rotation_value(r, n) == v
                    for n, v in _filters(query)
                    if n not in self.rules.ignored_rotation_filters
                )
            ]
            for item in reversed([f.strip() for f in query.get("sort", "").split(",") if f.strip()]):
                name = item.lstrip("-")
                found.sort(key=lambda r: str(_rotation_value(r, name)), reverse=item.startswith("-"))
            page = found[skip:] if limit == -1 else found[skip : skip + limit]
            return len(found), copy.deepcopy(page)

    def rotate_key(self, key_id: str, description: str | None = None, retain_alias: bool = False) -> Key:
        """CCKM rotation: a new key like this one; the answer is the new key."""
        with self.lock:
            key = self._key(key_id)
            _refuse_while_pending_deletion(key)
            aws = key.aws
            param = {
                "CustomerMasterKeySpec": aws["CustomerMasterKeySpec"],
                "KeyUsage": aws["KeyUsage"],
                "Description": aws["Description"] if description is None else description,
                "Policy": aws["Policy"],
            }
            new = self._new_key(key.record["kms"], key.region, param, {"rotated_from": key.id})
            if retain_alias:
                new.aws["Alias"], aws["Alias"] = aws["Alias"], []
            key.record["rotated_to"] = new.id
            key.record["rotation_status"] = "rotated"
            key.touch()
            return new.snapshot()

    def import_key_material(
        self,
        key_id: str,
        source_key_tier: str = "local",
        source_key_identifier: str = "kms-conformance-material",
        valid_to: str | None = None,
    ) -> Key:
        """``valid_to``: when the material expires (None or "": it does not)."""
        with self.lock:
            key = self._key(key_id)
            _external_only(key)
            self._move(key, "import-material")
            if self.rules.import_sets_material_origin:
                key.record["key_material_origin"] = "cckm"
            key.record["key_source"] = source_key_tier
            key.record["local_key_id"] = secrets.token_hex(32)
            key.record["local_key_name"] = source_key_identifier
            if valid_to:
                key.aws.update(ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
            else:
                key.aws["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
                key.aws.pop("ValidTo", None)
            return self._changed(key)

    def upload_key(
        self,
        kms_ref: str,
        region: str,
        param: Mapping[str, Any],
        principals: Mapping[str, list[str]],
        template: str | None = None,
        source_key_tier: str = "local",
        source_key_identifier: str = "kms-conformance-material",
        valid_to: str | None = None,
    ) -> Key:
        """``upload-key``: a new EXTERNAL key (create's checks and refusals) holding the source
        key's material, so it leaves the call Enabled like an import into a PendingImport key."""
        with self.lock:
            created = self.create_key(kms_ref, region, {**param, "Origin": "EXTERNAL"}, principals, template)
            if not self.rules.upload_holds_material:
                return created
            return self.import_key_material(created.id, source_key_tier, source_key_identifier, valid_to)

    def delete_key_material(self, key_id: str) -> Key:
        with self.lock:
            key = self._key(key_id)
            _external_only(key)
            self._move(key, "delete-material")
            key.aws.pop("ValidTo", None)
            key.aws["ExpirationModel"] = ""
            return self._changed(key)

    # -- scheduled rotation jobs ------------------------------------------------------------------

    def enable_rotation_job(self, key_id: str, settings: Mapping[str, Any]) -> Key:
        """Put the key under scheduler job ``job_config_id``: its settings become the key's labels
        (the list filters job_config_id and rotation_job_enabled read them)."""
        with self.lock:
            key = self._key(key_id)
            if not self.rules.rotation_jobs_while_pending_deletion:
                _refuse_while_pending_deletion(key)
            labels = {k: v for k, v in key.record["labels"].items() if k not in ROTATION_JOB_FIELDS}
            for name in ROTATION_JOB_FIELDS:  # labels are strings: a flag reads "true" / "false"
                value = settings.get(name)
                if value is not None:
                    labels[name] = str(value).lower() if isinstance(value, bool) else str(value)
            key.record["labels"] = labels
            return self._changed(key)

    def disable_rotation_job(self, key_id: str) -> Key:
        """Take the key out of its rotation job (a key in none is left as it is)."""
        with self.lock:
            key = self._key(key_id)
            if not self.rules.rotation_jobs_while_pending_deletion:
                _refuse_while_pending_deletion(key)
            for name in ROTATION_JOB_FIELDS:
                key.record["labels"].pop(name, None)
            return self._changed(key)

    # -- multi-Region keys -----------------------------------------------------------------------

    def _related(self, key: Key) -> list[Key]:
        """The keys of ``key``'s multi-Region set (same KeyID), primary first."""
        found = [k for k in self.keys.values() if k.aws["KeyID"] == key.aws["KeyID"] and k.aws["MultiRegion"]]
        return sorted(
            found, key=lambda k: k.aws["MultiRegionConfiguration"]["MultiRegionKeyType"] != "PRIMARY"
        )

    @staticmethod
    def _configure(members: list[Key], primary: Key) -> None:
        """Every member's MultiRegionConfiguration names ``primary`` and the others as replicas."""
        replicas = [{"Arn": k.arn, "Region": k.region} for k in members if k is not primary]
        for member in members:
            member.aws["MultiRegionConfiguration"] = {
                "MultiRegionKeyType": "PRIMARY" if member is primary else "REPLICA",
                "PrimaryKey": {"Arn": primary.arn, "Region": primary.region},
                "ReplicaKeys": copy.deepcopy(replicas),
            }

    def replicate_key(
        self,
        key_id: str,
        replica_region: str,
        param: Mapping[str, Any],
        principals: Mapping[str, list[str]],
        template: str | None = None,
    ) -> Key:
        """A replica of multi-Region primary ``key_id`` in ``replica_region``: the shared properties
        (KeyID, spec, usage, origin, rotation) are the primary's, the rest comes from ``param``.
        A replica of an EXTERNAL primary has no material yet (PendingImport)."""
        check_policy_inputs(param.get("Policy"), template, principals, self.rules.policy_inputs_exclusive)
        with self.lock:
            primary = self._key(key_id)
            aws = primary.aws
            config = aws.get("MultiRegionConfiguration", {})
            single = not aws["MultiRegion"] or config.get("MultiRegionKeyType") != "PRIMARY"
            if single and self.rules.replicate_needs_primary:
                raise AwsRefusal(
                    "UnsupportedOperationException", f"{primary.arn} is not a multi-Region primary key."
                )
            self._move(primary, "replicate-key")
            kms = primary.record["kms"]
            if replica_region not in CONNECTIONS[kms]["regions"]:
                raise InvalidParameter(
                    f"region {replica_region!r} is not configured in AWS KMS connection {kms!r}"
                )
            members = self._related(primary)
            if any(k.region == replica_region for k in members):
                raise AwsRefusal(
                    "AlreadyExistsException",
                    f"A multi-Region key with KeyId {aws['KeyID']} already exists in {replica_region}",
                )
            alias = param.get("Alias")
            if alias:
                self._check_alias_free(replica_region, alias_name(alias))
            shared = {
                "CustomerMasterKeySpec": aws["CustomerMasterKeySpec"],
                "KeyUsage": aws["KeyUsage"],
                "Origin": aws["Origin"],
                "MultiRegion": True,
            }
            replica = self._new_key(kms, replica_region, {**param, **shared})
            replica.record["uri"] = f"kylo:kylo:cckm:{self.rules.replica_uri_kind}:{replica.id}"
            key_id_aws = aws["KeyID"] if self.rules.replica_shares_key_id else replica.aws["KeyID"]
            if aws["Origin"] == "EXTERNAL" and not self.rules.replica_of_external_pending:
                replica.set_state("Enabled")
            replica.aws.update(
                KeyID=key_id_aws,
                Arn=f"arn:aws:kms:{replica_region}:{ACCOUNT}:key/{key_id_aws}",
                KeyRotationEnabled=aws["KeyRotationEnabled"],
            )
            if "CurrentKeyMaterialId" in aws:  # the replica shares its primary's material
                replica.aws["CurrentKeyMaterialId"] = aws["CurrentKeyMaterialId"]
                for record in self.rotations[replica.id]:
                    record["aws_param"].update(KeyId=replica.arn, KeyMaterialId=aws["CurrentKeyMaterialId"])
            _apply_principals(replica, principals)
            if template is not None:
                _apply_template(replica, template)
            listed = copy.deepcopy(aws["MultiRegionConfiguration"]["ReplicaKeys"])
            self._configure([*members, replica], primary)
            if not self.rules.primary_lists_replicas:
                aws["MultiRegionConfiguration"]["ReplicaKeys"] = listed
            primary.touch()
            return replica.snapshot()

    def update_primary_region(self, key_id: str, primary_region: str) -> Key:
        """The member of ``key_id``'s multi-Region set in ``primary_region`` becomes the primary;
        the former primary becomes a replica.  ``key_id`` may name the replica (the CCKM page) or
        the current primary (AWS's UpdatePrimaryRegion)."""
        with self.lock:
            key = self._key(key_id)
            if not key.aws["MultiRegion"]:
                raise AwsRefusal("UnsupportedOperationException", f"{key.arn} is not a multi-Region key.")
            members = self._related(key)
            new = next((k for k in members if k.region == primary_region), None)
            if new is None:
                raise AwsRefusal(
                    "NotFoundException",
                    f"No replica of {key.aws['KeyID']} exists in {primary_region}",
                )
            old = members[0]
            if new is old and self.rules.update_primary_region_works:
                raise AwsRefusal("UnsupportedOperationException", f"{old.arn} is already the primary key.")
            for member in (old, new):
                self._move(member, "update-primary-region")
            if self.rules.update_primary_region_works:
                self._configure(members, new)
                if not self.rules.former_primary_demoted:
                    old.aws["MultiRegionConfiguration"]["MultiRegionKeyType"] = "PRIMARY"
                old.touch()
                new.touch()
            if self.rules.primary_update_reads > 0:
                for member in (old, new):
                    self.updating[member.id] = [self.rules.primary_update_reads, member.state]
                    member.set_state("Updating")
            return self._key(key_id).snapshot()

    # -- synchronization jobs -------------------------------------------------------------------

    def start_sync_job(
        self, kms_refs: list[str], regions: list[str], synchronize_all: bool = False
    ) -> dict[str, Any]:
        """A new job that downloads the keys of the named connections (every one with
        ``synchronize_all``) in ``regions`` (every configured one when empty)."""
        if synchronize_all and (kms_refs or regions) and self.rules.sync_inputs_exclusive:
            raise InvalidParameter("synchronize_all and kms, regions are mutually exclusive")
        if not synchronize_all and not kms_refs:
            raise InvalidParameter("specify kms (and regions) or synchronize_all")
        names = (
            list(CONNECTIONS) if synchronize_all and not kms_refs else [_connection(ref) for ref in kms_refs]
        )
        for region in regions:
            if not any(region in CONNECTIONS[name]["regions"] for name in names):
                raise InvalidParameter(f"region {region!r} is not configured in the AWS KMS connections")
        with self.lock:
            job_id = str(uuid.uuid4())
            created = timestamp(now())
            scope = {
                f"{name}/{region}": "in_progress"
                for name in names
                for region in CONNECTIONS[name]["regions"]
                if not regions or region in regions
            }
            record: dict[str, Any] = {
                "id": job_id,
                "uri": f"kylo:kylo:cckm:synchronize:{job_id}",
                "account": "kylo:kylo:admin:accounts:kylo",
                "application": "ncryptify:gemalto:admin:apps:kylo",
                "devAccount": "ncryptify:gemalto:admin:accounts:gemalto",
                "createdAt": created,
                "updatedAt": created,
                "overall_status": "in_progress",
                "detailed_status": scope,
                "abort": False,
                "cloud": "aws",
                "kms": names,
                "regions": list(regions),
                "synchronize_all": synchronize_all,
            }
            job = SyncJob(record, self.rules.sync_job_reads)
            self.sync_jobs[job_id] = job
            if job.reads_left <= 0:
                self._finish(job)
            return job.snapshot()

    def _finish(self, job: SyncJob) -> None:
        """The job ends: an aborted one touches no key; else every key in its scope is synced."""
        moment = timestamp(now())
        record = job.record
        outcome = "aborted" if record["abort"] else "completed"
        if not record["abort"]:
            for key in self.keys.values():
                if f"{key.record['kms']}/{key.region}" in record["detailed_status"]:
                    key.record["synced_at"] = moment
        record["detailed_status"] = dict.fromkeys(record["detailed_status"], outcome)
        record.update(overall_status="completed", completed_at=moment, updatedAt=moment)

    def _read_job(self, job: SyncJob) -> dict[str, Any]:
        """A read of the job by id: an in-progress job completes after ``sync_job_reads`` of them."""
        if job.record["overall_status"] == "in_progress":
            job.reads_left -= 1
            if job.reads_left <= 0:
                self._finish(job)
        return job.snapshot()

    def _job(self, job_id: str) -> SyncJob:
        job = self.sync_jobs.get(job_id)
        if job is None:
            raise NotFound(f"synchronization job {job_id!r} not found")
        return job

    def get_sync_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            return self._read_job(self._job(job_id))

    def list_sync_jobs(
        self, query: Mapping[str, str], skip: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total, page) of the jobs matching ``id``, ``overall_status`` and ``kms`` (newest first)."""
        with self.lock:
            found = []
            for job in reversed(list(self.sync_jobs.values())):
                if "id" in query and job.record["id"] != query["id"] and self.rules.sync_id_filter:
                    continue
                if "kms" in query and not {query["kms"], _kms_id(query["kms"])} & set(job.record["kms"]):
                    continue
                # A listing shows jobs as they are; only a job's own read moves it on.  (Rows run
                # concurrently: one listing jobs must not finish the job another row is about to
                # cancel.)
                record = job.snapshot()
                if "overall_status" in query and record["overall_status"] != query["overall_status"]:
                    continue
                found.append(record)
            if limit == -1 or not self.rules.sync_limit_applied:
                return len(found), found[skip:]
            return len(found), found[skip : skip + limit]

    def cancel_sync_job(self, job_id: str) -> dict[str, Any]:
        """Only an in-progress job can be cancelled: abort is set, and it completes at the next read."""
        with self.lock:
            job = self._job(job_id)
            if job.record["overall_status"] != "in_progress" and self.rules.cancel_only_in_progress:
                raise BadRequest(f"synchronization job {job_id} is not in progress")
            job.record.update(abort=self.rules.cancel_sets_abort, updatedAt=timestamp(now()))
            job.reads_left = min(job.reads_left, 1)
            return job.snapshot()

    def refresh_key(self, key_id: str) -> str:
        """A refresh from AWS: only synced_at changes (updatedAt does not); the answer's message."""
        with self.lock:
            key = self._key(key_id)
            key.record["synced_at"] = timestamp(now())
            return f"AWS key '{key.id}' will be refreshed and persisted"

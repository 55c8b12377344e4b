"""Thales CipherTrust Manager / CDSPaaS, CCKM AWS keys: ``/api/v1/cckm/aws/keys...``.

Where is the Thales state machine?  ``TRANSITIONS`` below (the checks' view) and
``conformance/vendors/thales/mock/models.py`` (the mock's view).  Facts and their sources: ``NOTES.md`` beside this file and the ``source``/``basis`` of each row in ``catalogue.toml``.

Auth: ``POST /api/v1/auth/tokens`` with the password grant gives a JWT valid ``duration`` (300)
seconds and a refresh token; the profile refreshes (refresh grant, then password grant as a
fallback) before the JWT runs out, and once more on an unexpected 401.  ``--token`` alone
(no username) is used as a static bearer.

Error codes (``error_code``): the AWS exception name CCKM passes through in ``message`` (or
``codeDesc``) when there is one (``KMSInvalidStateException``, ``DisabledException``, ...),
otherwise the ``NCERR...`` name of ``codeDesc`` (``NCERRResourceNotFound``), otherwise the name
of a known integer ``code`` (16 -> ``NCERRResourceNotFound``), otherwise ``str(code)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from conformance.auth.tokens import RenewingAuth, TokenSource
from conformance.interrupts import INTERRUPTS
from conformance.profiles.base import (
    MISSING,
    CleanupRefused,
    NotCovered,
    Outcome,
    OwnershipError,
    Probe,
    Profile,
    TargetError,
    Transition,
    read_json,
)
from conformance.redaction import remember_secret
from conformance.transport import is_loopback
from conformance.verdict import StepFailed, Unsettled

KEYS = "/api/v1/cckm/aws/keys"
TOKENS = "/api/v1/auth/tokens"
UPLOAD = "/api/v1/cckm/aws/upload-key"
SYNC_JOBS = "/api/v1/cckm/aws/synchronization-jobs"
# Regions a replica is made in (the first one that is not the run's --region).  The connection must
# have it; the bundled mock's connection has both.  A real run whose connection lacks them reports
# the multi-Region rows as refused input (see NOTES.md).
REPLICA_REGIONS = ("eu-west-1", "us-east-1")
# The scheduler job configuration named on enable-rotation-job (the docs: created beforehand).
ROTATION_JOB_CONFIG = "kms-conformance-rotation-job"

# Vendor aws_param.KeyState -> common life-cycle name.  Tables, key_in() and key_state() use
# the common names.
STATES: dict[str, str] = {
    "Enabled": "enabled",
    "Disabled": "disabled",
    "PendingDeletion": "pending-deletion",
    "PendingImport": "pending-import",
}
KEY_STATES = (
    "Creating",
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "PendingReplicaDeletion",
    "Unavailable",
    "Updating",
)

# Integer codes seen in CipherTrust envelopes.
CODE_NAMES = {
    1: "NCERRUnauthorized",
    5: "NCERRUnauthorizedAccess",
    9: "NCERRInvalidParamValue",
    14: "NCERRInternalServerError",
    15: "NCERRBadRequest",
    16: "NCERRResourceNotFound",
}
# Calls that make a new key from kms, region and aws_param (the body's aws_param joins the defaults).
_NEW_KEY_CALLS = frozenset({"create", "create_external", "upload_key"})
_AWS_EXCEPTION = re.compile(r"\b([A-Z][A-Za-z]*Exception)\b")

# operation -> (method, path below /api/v1 with {id}, default body or None for no body)
OPERATIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "token_password": ("POST", TOKENS, {"grant_type": "password"}),
    "token_refresh": ("POST", TOKENS, {"grant_type": "refresh_token"}),
    "list": ("GET", KEYS, {}),
    "list_in_scope": ("GET", KEYS, {}),  # filtered by the call's connection and region (``scoped``)
    "list_own": ("GET", KEYS, {"id": "{id}"}),  # the key list narrowed to one key (and the probe's filter)
    "list_own_elsewhere": ("GET", KEYS, {"id": "{id}"}),  # ... and the replica region's filter
    "create": ("POST", KEYS, {}),
    "create_external": ("POST", KEYS, {}),
    "get": ("GET", KEYS + "/{id}", {}),
    "delete": ("DELETE", KEYS + "/{id}", None),
    "enable": ("POST", KEYS + "/{id}/enable", None),
    "disable": ("POST", KEYS + "/{id}/disable", None),
    "schedule_deletion": ("POST", KEYS + "/{id}/schedule-deletion", {"days": 7}),
    "cancel_deletion": ("POST", KEYS + "/{id}/cancel-deletion", None),
    "update_description": (
        "POST",
        KEYS + "/{id}/update-description",
        {"description": "kms-conformance scratch key"},
    ),
    "add_alias": ("POST", KEYS + "/{id}/add-alias", {"alias": "{alias}"}),
    "delete_alias": ("POST", KEYS + "/{id}/delete-alias", {"alias": "{alias}"}),
    "add_tags": (
        "POST",
        KEYS + "/{id}/add-tags",
        {"tags": [{"tag_key": "kms-conformance", "tag_value": "probe"}]},
    ),
    "remove_tags": ("POST", KEYS + "/{id}/remove-tags", {"tags": ["kms-conformance"]}),
    "policy": ("POST", KEYS + "/{id}/policy", {}),
    "enable_auto_rotation": ("POST", KEYS + "/{id}/enable-auto-rotation", {}),
    "disable_auto_rotation": ("POST", KEYS + "/{id}/disable-auto-rotation", None),
    "import_material": (
        "POST",
        KEYS + "/{id}/import-material",
        {"source_key_tier": "local"},  # no source key named: a new CipherTrust Manager key (import page)
    ),
    "delete_material": ("POST", KEYS + "/{id}/delete-material", None),
    "refresh": ("POST", KEYS + "/{id}/refresh", None),
    "upload_key": (
        "POST",
        UPLOAD,
        {"source_key_tier": "local", "source_key_identifier": "{alias}"},
    ),
    "replicate_key": ("POST", KEYS + "/{id}/replicate-key", {}),
    "update_primary_region": ("POST", KEYS + "/{id}/update-primary-region", {}),
    "enable_rotation_job": (
        "POST",
        KEYS + "/{id}/enable-rotation-job",
        {"job_config_id": ROTATION_JOB_CONFIG, "auto_rotate_disable_encrypt": False},
    ),
    "disable_rotation_job": ("POST", KEYS + "/{id}/disable-rotation-job", None),
    "rotation_status": ("POST", KEYS + "/{id}/get-key-rotation-status", None),
    "rotate_material": ("POST", KEYS + "/{id}/rotate-material", None),
    "rotations": ("GET", KEYS + "/{id}/rotations", {}),
    # Synchronization jobs: {id} is a job id the run started (``key_in`` of a sync-job state).
    "sync_start": ("POST", SYNC_JOBS, {}),
    "sync_list": ("GET", SYNC_JOBS, {}),
    "sync_list_by_id": ("GET", SYNC_JOBS, {"id": "{id}"}),
    "sync_get": ("GET", SYNC_JOBS + "/{id}", {}),
    "sync_cancel": ("POST", SYNC_JOBS + "/{id}/cancel", None),
}

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["code", "codeDesc"],
    "properties": {
        "code": {"type": "integer"},
        "codeDesc": {"type": "string"},
        "message": {"type": "string"},
        "requestID": {"type": "string"},
    },
}

# The CCKM pages document status classes ("2xx success, 4xx client errors"), not exact codes.
_OK = frozenset(range(200, 300))
_CREATED = _OK
_STATE_ERROR = frozenset({400, 409, 422})  # AWS state refusals: status unverified
_INVALID = frozenset(range(400, 500)) - {
    401,
    403,
    404,
}  # invalid values: 400 NCERRInvalidParamValue, CM's 422 elsewhere (8.3)
_INVALID_STATE = frozenset({"KMSInvalidStateException"})


def _allow(req: str, op: str, state: str, to: str) -> Transition:
    return Transition(req, op, state, to_state=to, status=_OK)


def _refuse(req: str, op: str, state: str) -> Transition:
    return Transition(req, op, state, status=_STATE_ERROR, codes=_INVALID_STATE)


TRANSITIONS: tuple[Transition, ...] = (
    _allow("TH-STATE-002", "enable", "enabled", "enabled"),
    _allow("TH-STATE-002", "enable", "disabled", "enabled"),
    _refuse("TH-STATE-003", "enable", "pending-deletion"),
    _refuse("TH-STATE-003", "enable", "pending-import"),
    _allow("TH-STATE-004", "disable", "enabled", "disabled"),
    _allow("TH-STATE-004", "disable", "disabled", "disabled"),
    _refuse("TH-STATE-005", "disable", "pending-deletion"),
    _refuse("TH-STATE-005", "disable", "pending-import"),
    _allow("TH-STATE-006", "schedule_deletion", "enabled", "pending-deletion"),
    _allow("TH-STATE-006", "schedule_deletion", "disabled", "pending-deletion"),
    _allow("TH-STATE-006", "schedule_deletion", "pending-import", "pending-deletion"),
    _refuse("TH-STATE-007", "schedule_deletion", "pending-deletion"),
    _allow("TH-STATE-008", "cancel_deletion", "pending-deletion", "disabled"),
    _refuse("TH-STATE-009", "cancel_deletion", "enabled"),
    _refuse("TH-STATE-009", "cancel_deletion", "disabled"),
    _refuse("TH-STATE-009", "cancel_deletion", "pending-import"),
    _refuse("TH-STATE-018", "enable_rotation_job", "pending-deletion"),
    _refuse("TH-STATE-018", "disable_rotation_job", "pending-deletion"),
    _allow("TH-STATE-021", "rotate_material", "enabled", "enabled"),
    Transition(
        "TH-STATE-022",
        "rotate_material",
        "disabled",
        status=_STATE_ERROR,
        codes=frozenset({"DisabledException", "KMSInvalidStateException"}),
    ),
    _refuse("TH-STATE-022", "rotate_material", "pending-deletion"),
    _allow("TH-STATE-028", "import_material", "pending-import", "enabled"),
)


# -- shape checks: each returns None or what is wrong ------------------------------------------


def _body(outcome: Outcome) -> dict[str, Any]:
    return outcome.body if isinstance(outcome.body, dict) else {}


def _aws(outcome: Outcome) -> dict[str, Any]:
    aws = _body(outcome).get("aws_param")
    return aws if isinstance(aws, dict) else {}


def _key_shape(outcome: Outcome) -> str | None:
    body = _body(outcome)
    key_id = body.get("id")
    if not isinstance(key_id, str) or not key_id:
        return f"key resource has no id: {outcome.text}"
    if body.get("uri") != f"kylo:kylo:cckm:aws-key:{key_id}":
        return f"uri should be 'kylo:kylo:cckm:aws-key:{key_id}', is {body.get('uri')!r}"
    for name in ("kms", "region"):
        if not isinstance(body.get(name), str):
            return f"{name} should be a string, is {body.get(name)!r}"
    aws = body.get("aws_param")
    if not isinstance(aws, dict):
        return f"key resource has no aws_param object: {outcome.text}"
    for name in ("KeyID", "Arn", "KeyState", "KeyManager", "KeyUsage", "Origin"):
        if not isinstance(aws.get(name), str) or not aws.get(name):
            return f"aws_param.{name} should be a non-empty string, is {aws.get(name)!r}"
    if not re.fullmatch(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+", aws["Arn"]):
        return f"aws_param.Arn is not a KMS key ARN: {aws['Arn']!r}"
    if not aws["Arn"].endswith("/" + aws["KeyID"]):
        return f"aws_param.Arn {aws['Arn']!r} does not name KeyID {aws['KeyID']!r}"
    if aws["KeyState"] not in KEY_STATES:
        return f"aws_param.KeyState {aws['KeyState']!r} is not an AWS key state"
    return None


def _consistent(state: str) -> Any:
    """aws_param.Enabled agrees with aws_param.KeyState (``state`` is the one the row drives to;
    whether the key really is in it is the state requirements' business, not this one's)."""

    def check(outcome: Outcome) -> str | None:
        aws = _aws(outcome)
        actual = aws.get("KeyState")
        if aws.get("Enabled") is not (actual == "Enabled"):
            return f"aws_param.Enabled is {aws.get('Enabled')!r} while KeyState is {actual!r}"
        return None

    return check


def _created(state: str, origin: str) -> Any:
    def check(outcome: Outcome) -> str | None:
        aws = _aws(outcome)
        if aws.get("Origin") != origin:
            return f"aws_param.Origin should be {origin!r}, is {aws.get('Origin')!r}"
        return _consistent(state)(outcome)

    return check


def _deletion_date(outcome: Outcome) -> str | None:
    value = (
        _aws(outcome).get("DeletionDate")
        or _body(outcome).get("deletion_date")
        or _body(outcome).get("DeletionDate")
    )
    if not isinstance(value, str) or not value:
        return f"a PendingDeletion key has neither aws_param.DeletionDate nor deletion_date: {outcome.text}"
    return None


def _policy(outcome: Outcome) -> str | None:
    policy = _aws(outcome).get("Policy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return f"aws_param.Policy is a string but not JSON: {policy[:120]!r}"
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        return f"aws_param.Policy is not a policy document with a Statement list: {str(policy)[:200]!r}"
    return None


def _token(outcome: Outcome) -> str | None:
    body = _body(outcome)
    if not isinstance(body.get("jwt"), str) or not body["jwt"]:
        return f"no jwt in the token response: keys {sorted(body)}"
    duration = body.get("duration")
    if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
        return f"duration should be a positive integer (seconds), is {duration!r}"
    if "token_type" in body and str(body["token_type"]).lower() != "bearer":
        return f"token_type should be Bearer, is {body['token_type']!r}"
    return None


def _query(outcome: Outcome, name: str) -> int | None:
    value = outcome.response.request.url.params.get(name)
    return int(value) if value is not None else None


def _list_envelope(outcome: Outcome) -> str | None:
    body = outcome.body
    if not isinstance(body, dict):
        return (
            f"list should answer {{skip, limit, total, resources}}, got {type(body).__name__}: {outcome.text}"
        )
    for name in ("skip", "limit", "total"):
        if not isinstance(body.get(name), int) or isinstance(body.get(name), bool):
            return f"{name} should be an integer, is {body.get(name)!r}"
    if not isinstance(body.get("resources"), list):
        return f"resources should be an array, is {body.get('resources')!r}"
    for name in ("skip", "limit"):
        asked = _query(outcome, name)
        if asked is not None and body[name] != asked:
            return f"{name} should echo the requested {asked}, is {body[name]}"
    return None


def _paged(outcome: Outcome) -> None:
    """A paging check reads the list envelope; without one it cannot judge: TH-PAG-001 owns that."""
    problem = _list_envelope(outcome)
    if problem:
        raise StepFailed(ThalesProfile.setup_requirements["list-envelope"], problem)


def _limit_1(outcome: Outcome) -> str | None:
    _paged(outcome)
    if len(outcome.body["resources"]) > 1:
        return f"limit=1 returned {len(outcome.body['resources'])} resources"
    if outcome.body["total"] < len(outcome.body["resources"]):
        return f"total {outcome.body['total']} is less than the page size {len(outcome.body['resources'])}"
    return None


def _total_beyond_page(outcome: Outcome) -> str | None:
    _paged(outcome)
    if outcome.body["resources"]:
        return f"skip past the end returned {len(outcome.body['resources'])} resources"
    if outcome.body["total"] < 1:
        return f"total is {outcome.body['total']} although a key exists (skip past the end must not change total)"
    return None


def _limit_all(outcome: Outcome) -> str | None:
    _paged(outcome)
    if len(outcome.body["resources"]) != outcome.body["total"]:
        return f"limit=-1 returned {len(outcome.body['resources'])} of total {outcome.body['total']}"
    return None


def _refresh_message(outcome: Outcome) -> str | None:
    key_id = outcome.response.request.url.path.rstrip("/").split("/")[-2]
    expected = f"AWS key '{key_id}' will be refreshed and persisted"
    if _body(outcome).get("message") != expected:
        return f"message should be {expected!r}: {outcome.text}"
    return None


# -- checks of the operations beyond the life cycle -----------------------------------------


def _sent(outcome: Outcome) -> dict[str, Any]:
    """The JSON body the request sent ({} for none)."""
    try:
        body = json.loads(outcome.response.request.content or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _uploaded(outcome: Outcome) -> str | None:
    aws = _aws(outcome)
    if aws.get("Origin") != "EXTERNAL":
        return f"an uploaded key should have Origin EXTERNAL, has {aws.get('Origin')!r}"
    if aws.get("KeyState") != "Enabled":
        return f"an uploaded key holds its material and should be Enabled, is {aws.get('KeyState')!r}"
    return None


def _job_shape(outcome: Outcome) -> str | None:
    body = _body(outcome)
    if not isinstance(body.get("id"), str) or not body["id"]:
        return f"a synchronization job should have an id: {outcome.text}"
    if not isinstance(body.get("overall_status"), str) or not body["overall_status"]:
        return f"a synchronization job should have an overall_status: {outcome.text}"
    return None


def _aborted(outcome: Outcome) -> str | None:
    if _body(outcome).get("abort") is not True:
        return f"a cancelled job should answer abort true, has {_body(outcome).get('abort')!r}"
    return None


def _only_job(outcome: Outcome) -> str | None:
    problem = _list_envelope(outcome)
    if problem:
        raise StepFailed("TH-PAG-005", problem)
    wanted = outcome.response.request.url.params.get("id")
    ids = [r.get("id") for r in outcome.body["resources"] if isinstance(r, dict)]
    if ids != [wanted]:
        return f"the list filtered by id={wanted} should hold that job alone, holds {ids}"
    return None


def _member(outcome: Outcome) -> tuple[dict[str, Any], dict[str, Any]]:
    aws = _aws(outcome)
    config = aws.get("MultiRegionConfiguration")
    return aws, config if isinstance(config, dict) else {}


def _replica(outcome: Outcome) -> str | None:
    """The replica shares its primary's key ID, key spec, usage and origin (the primary was made
    with the defaults: SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, AWS_KMS)."""
    aws, config = _member(outcome)
    if config.get("MultiRegionKeyType") != "REPLICA":
        return f"MultiRegionConfiguration.MultiRegionKeyType should be REPLICA: {config or outcome.text}"
    primary = config.get("PrimaryKey")
    primary_arn = primary.get("Arn") if isinstance(primary, dict) else None
    if not isinstance(primary_arn, str) or "/" not in primary_arn:
        return f"MultiRegionConfiguration.PrimaryKey.Arn is missing: {config}"
    if aws.get("KeyID") != primary_arn.rsplit("/", 1)[-1]:
        return f"the replica's KeyID {aws.get('KeyID')!r} is not its primary's ({primary_arn})"
    spec = aws.get("KeySpec", aws.get("CustomerMasterKeySpec"))
    shared = {"key spec": spec, "KeyUsage": aws.get("KeyUsage"), "Origin": aws.get("Origin")}
    expected = {"key spec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS"}
    if shared != expected:
        return f"the replica should share its primary's {expected}, has {shared}"
    region = _sent(outcome).get("replica_region")
    if _body(outcome).get("region") != region:
        return f"the replica should be in {region}, is in {_body(outcome).get('region')!r}"
    return None


def _replica_pending_import(outcome: Outcome) -> str | None:
    aws = _aws(outcome)
    # AWS's replica is Creating for a few seconds before it reaches PendingImport.
    if aws.get("Origin") != "EXTERNAL" or aws.get("KeyState") not in ("PendingImport", "Creating"):
        return (
            "a replica of a primary with imported material should be EXTERNAL and PendingImport, is "
            f"{aws.get('Origin')!r} {aws.get('KeyState')!r}"
        )
    return None


def _primary_moved(outcome: Outcome) -> str | None:
    """The answer to update-primary-region.  One that reads Updating (AWS runs the change
    asynchronously) is accepted as it is: the row's later read (``_now_primary``) judges the change."""
    aws, config = _member(outcome)
    if aws.get("KeyState") == "Updating":
        return None
    region = _sent(outcome).get("PrimaryRegion")
    primary = config.get("PrimaryKey")
    where = primary.get("Region") if isinstance(primary, dict) else None
    if config.get("MultiRegionKeyType") != "PRIMARY" or where != region:
        return f"the key in {region} should now be the primary: {config or outcome.text}"
    return None


def _rotation_status(outcome: Outcome) -> str | None:
    body = _body(outcome)
    if not isinstance(body.get("KeyId"), str) or not body["KeyId"]:
        return f"KeyId should name the key: {outcome.text}"
    if not isinstance(body.get("KeyRotationEnabled"), bool):
        return f"KeyRotationEnabled should be a boolean, is {body.get('KeyRotationEnabled')!r}"
    period = body.get("RotationPeriodInDays")
    if period is not None and (not isinstance(period, int) or isinstance(period, bool)):
        return f"RotationPeriodInDays should be an integer, is {period!r}"
    return None


def _rotation_on(outcome: Outcome) -> str | None:
    body = _body(outcome)
    if body.get("KeyRotationEnabled") is not True:
        return f"after enable-auto-rotation KeyRotationEnabled should be true: {outcome.text}"
    if body.get("RotationPeriodInDays", 365) != 365:
        return f"the default rotation period is a year (365 days), is {body.get('RotationPeriodInDays')!r}"
    return None


def _rotated(outcome: Outcome) -> str | None:
    """After one rotate-material the key's one CURRENT material is the ON_DEMAND rotation's."""
    problem = _list_envelope(outcome)
    if problem:
        raise StepFailed("TH-PAG-006", problem)
    records = [r.get("aws_param") for r in outcome.body["resources"] if isinstance(r, dict)]
    current = [a for a in records if isinstance(a, dict) and a.get("KeyMaterialState") == "CURRENT"]
    if len(current) != 1 or current[0].get("RotationType") != "ON_DEMAND":
        return f"after rotate-material the one CURRENT material should be an ON_DEMAND rotation: {current}"
    return None


def _rotation_off(outcome: Outcome) -> str | None:
    if _body(outcome).get("KeyRotationEnabled") is not False:
        return f"a key pending deletion should have rotation status false: {outcome.text}"
    return None


# -- what later reads show after a change (each read on a key of its own kind) -------------------

SCRATCH_DESCRIPTION = "kms-conformance scratch key"  # update-description's default body
PROBE_TAG = {"TagKey": "kms-conformance", "TagValue": "probe"}  # add-tags' default body, as AWS shows it
REPLACED_TAG_VALUE = "replaced"
POLICY_SID = "kms-conformance-policy"  # the Sid of the policy the policy call sends


def _tags(outcome: Outcome) -> list[dict[str, Any]]:
    tags = _aws(outcome).get("Tags")
    return [t for t in tags if isinstance(t, dict)] if isinstance(tags, list) else []


def _aliases(outcome: Outcome) -> list[Any]:
    aliases = _aws(outcome).get("Alias")
    return aliases if isinstance(aliases, list) else []


def _run_tag(outcome: Outcome) -> str | None:
    if not any(t.get("TagKey") == "kms-conformance-run" for t in _tags(outcome)):
        return f"the tag given on create (kms-conformance-run) is gone from aws_param.Tags: {_tags(outcome)}"
    return None


def _created_as_sent(outcome: Outcome) -> str | None:
    aws = _aws(outcome)
    description = aws.get("Description")
    if not isinstance(description, str) or not description.startswith(SCRATCH_DESCRIPTION + ", run "):
        return f"aws_param.Description should be the one sent on create, is {description!r}"
    aliases = _aliases(outcome)
    if len(aliases) != 1 or not str(aliases[0]).startswith("alias/kmsconf-"):
        return f"aws_param.Alias should hold the alias sent on create (alias/<name>), is {aliases!r}"
    return _run_tag(outcome)


def _description_updated(outcome: Outcome) -> str | None:
    if _aws(outcome).get("Description") != SCRATCH_DESCRIPTION:
        return f"after update-description aws_param.Description should be {SCRATCH_DESCRIPTION!r}, is {_aws(outcome).get('Description')!r}"
    return None


def _alias_added(outcome: Outcome) -> str | None:
    aliases = _aliases(outcome)
    if len(set(map(str, aliases))) != 2 or not all(str(a).startswith("alias/") for a in aliases):
        return f"after add-alias aws_param.Alias should hold the create's alias and the added one (alias/<name>), is {aliases!r}"
    return None


def _alias_deleted(outcome: Outcome) -> str | None:
    aliases = _aliases(outcome)
    if len(aliases) != 1:
        return (
            f"after add-alias then delete-alias of it, only the create's alias should be left, is {aliases!r}"
        )
    return None


def _tag_added(outcome: Outcome) -> str | None:
    if PROBE_TAG not in _tags(outcome):
        return f"after add-tags aws_param.Tags should hold {PROBE_TAG}, is {_tags(outcome)}"
    return _run_tag(outcome)


def _tag_replaced(outcome: Outcome) -> str | None:
    mine = [t for t in _tags(outcome) if t.get("TagKey") == PROBE_TAG["TagKey"]]
    if mine != [{"TagKey": PROBE_TAG["TagKey"], "TagValue": REPLACED_TAG_VALUE}]:
        return f"add-tags of a tag key the key has should replace its value ({REPLACED_TAG_VALUE!r}), tags are {mine}"
    return None


def _tag_removed(outcome: Outcome) -> str | None:
    if any(t.get("TagKey") == PROBE_TAG["TagKey"] for t in _tags(outcome)):
        return f"after remove-tags the tag {PROBE_TAG['TagKey']!r} should be gone: {_tags(outcome)}"
    return _run_tag(outcome)


def _policy_updated(outcome: Outcome) -> str | None:
    problem = _policy(outcome)
    if problem:
        return problem
    policy = _aws(outcome).get("Policy")
    document = json.loads(policy) if isinstance(policy, str) else policy
    assert isinstance(document, dict)  # _policy checked it
    sids = [s.get("Sid") for s in document["Statement"] if isinstance(s, dict)]
    if POLICY_SID not in sids:
        return (
            f"after policy aws_param.Policy should be the policy sent (Sid {POLICY_SID!r}), has Sids {sids}"
        )
    return None


def _aws_time(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _deleted_after_days(outcome: Outcome) -> str | None:
    problem = _deletion_date(outcome)
    if problem:
        return problem
    value = (
        _aws(outcome).get("DeletionDate")
        or _body(outcome).get("deletion_date")
        or _body(outcome).get("DeletionDate")
    )
    moment = _aws_time(value)
    days = _sent(outcome).get("days")
    if moment is None or not isinstance(days, int):
        return f"the DeletionDate {value!r} is not a date"
    left = (moment - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    if not days - 1 <= left <= days + 1:
        return f"days={days} should put the DeletionDate {days} days out, it is {left:.1f} days out ({value})"
    return None


def _no_deletion_date(outcome: Outcome) -> str | None:
    value = (
        _aws(outcome).get("DeletionDate")
        or _body(outcome).get("deletion_date")
        or _body(outcome).get("DeletionDate")
    )
    if value:
        return f"a key whose deletion was cancelled should show no DeletionDate, shows {value!r}"
    return None


def _rotation_is(expected: bool, after: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        problem = _rotation_status(outcome)
        if problem:
            return problem
        if _body(outcome).get("KeyRotationEnabled") is not expected:
            return f"{after}, KeyRotationEnabled should be {expected}: {outcome.text}"
        return None

    return check


# -- the key list's filters, skip and sort -------------------------------------------------------

NO_SUCH_KEY_ID = "00000000-0000-0000-0000-000000000000"


def _resource_ids(outcome: Outcome) -> list[Any]:
    _paged(outcome)
    return [r.get("id") if isinstance(r, dict) else r for r in outcome.body["resources"]]


def _only_own(outcome: Outcome) -> str | None:
    wanted = outcome.response.request.url.params.get("id")
    ids = _resource_ids(outcome)
    if ids != [wanted]:
        return f"the key list filtered by id={wanted} should hold that key alone, holds {ids}"
    return None


def _none_listed(outcome: Outcome) -> str | None:
    if outcome.status not in _OK:  # a refusal the row allows lists nothing
        return None
    ids = _resource_ids(outcome)
    if ids:
        asked = dict(outcome.response.request.url.params)
        return f"no key matches {asked}, yet the list holds {ids}"
    return None


def _skipped_one(outcome: Outcome) -> str | None:
    _paged(outcome)
    body = outcome.body
    expected = min(max(body["total"] - 1, 0), _query(outcome, "limit") or 0)
    if len(body["resources"]) != expected:
        return f"skip=1 of {body['total']} matches should leave {expected} on the page, left {len(body['resources'])}"
    return None


def _sorted_by_created(descending: bool) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        _paged(outcome)
        stamps = [str(r.get("createdAt", "")) for r in outcome.body["resources"] if isinstance(r, dict)]
        if stamps != sorted(stamps, reverse=descending):
            order = "descending" if descending else "ascending"
            sort = outcome.response.request.url.params.get("sort")
            return f"sort={sort} should list createdAt {order}: {stamps[:6]}"
        return None

    return check


def _material_origin(outcome: Outcome) -> str | None:
    origin = _aws(outcome).get("Origin")
    material = _body(outcome).get("key_material_origin")
    if origin != "EXTERNAL" or material != "cckm":
        return f"after import-material the key should be EXTERNAL with key_material_origin cckm, is {origin!r} / {material!r}"
    return None


def _state_is(state: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        if _aws(outcome).get("KeyState") != state:
            return f"the key should be {state}, is {_aws(outcome).get('KeyState')!r}"
        return None

    return check


# -- multi-Region sets, key specs, synchronization-job lists ---------------------------------------


def _lone_primary(outcome: Outcome) -> str | None:
    aws, config = _member(outcome)
    if aws.get("MultiRegion") is not True:
        return f"a key created with MultiRegion true should show MultiRegion true, shows {aws.get('MultiRegion')!r}"
    primary = config.get("PrimaryKey")
    arn = primary.get("Arn") if isinstance(primary, dict) else None
    if config.get("MultiRegionKeyType") != "PRIMARY" or arn != aws.get("Arn"):
        return f"a new multi-Region key should be its own PRIMARY (MultiRegionConfiguration): {config or outcome.text}"
    return None


def _replica_uri(outcome: Outcome) -> str | None:
    key_id = _body(outcome).get("id")
    expected = f"kylo:kylo:cckm:aws-replica-key:{key_id}"
    if _body(outcome).get("uri") != expected:
        return f"the replica's uri should be {expected!r}, is {_body(outcome).get('uri')!r}"
    return None


def _primary_lists_replica(outcome: Outcome) -> str | None:
    aws, config = _member(outcome)
    if config.get("MultiRegionKeyType") != "PRIMARY":
        return f"after replicate-key the key replicated should still be the PRIMARY: {config or outcome.text}"
    replicas = config.get("ReplicaKeys")
    region = _body(outcome).get("region")
    others = (
        [r for r in replicas if isinstance(r, dict) and r.get("Region") != region]
        if isinstance(replicas, list)
        else []
    )
    key_id = str(aws.get("KeyID", ""))
    if not any(str(r.get("Arn", "")).endswith("/" + key_id) for r in others):
        return f"after replicate-key the primary's ReplicaKeys should name the replica (KeyID {key_id}): {replicas!r}"
    return None


def _settled(outcome: Outcome) -> None:
    """A read that shows the change still running cannot judge it (``Profile.settle`` waited for it)."""
    if _aws(outcome).get("KeyState") == "Updating":
        raise Unsettled(f"the key still reads Updating after update-primary-region: {outcome.text}")


def _now_primary(outcome: Outcome) -> str | None:
    """The replica named to update-primary-region, read once the change is done: now the primary."""
    _settled(outcome)
    _, config = _member(outcome)
    primary = config.get("PrimaryKey")
    where = primary.get("Region") if isinstance(primary, dict) else None
    region = _body(outcome).get("region")
    if config.get("MultiRegionKeyType") != "PRIMARY" or where != region:
        return f"after update-primary-region the key in {region} should read as the primary: {config or outcome.text}"
    return None


def _former_primary(outcome: Outcome) -> str | None:
    _settled(outcome)
    aws, config = _member(outcome)
    primary = config.get("PrimaryKey")
    where = primary.get("Region") if isinstance(primary, dict) else None
    if config.get("MultiRegionKeyType") != "REPLICA" or where == _body(outcome).get("region"):
        return f"after update-primary-region the former primary should read as a REPLICA of the new one: {config or outcome.text}"
    return None


ASYMMETRIC = {"CustomerMasterKeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}  # sent on create


def _spec_and_usage(outcome: Outcome) -> str | None:
    aws = _aws(outcome)
    specs = (aws.get("KeySpec"), aws.get("CustomerMasterKeySpec"))
    if ASYMMETRIC["CustomerMasterKeySpec"] not in specs or aws.get("KeyUsage") != ASYMMETRIC["KeyUsage"]:
        return (
            f"a key created with {ASYMMETRIC} should read so, reads KeySpec/CustomerMasterKeySpec {specs} "
            f"and KeyUsage {aws.get('KeyUsage')!r}"
        )
    return None


def _listed_job_fields(outcome: Outcome) -> str | None:
    problem = _list_envelope(outcome)
    if problem:
        raise StepFailed("TH-PAG-005", problem)
    jobs = [r for r in outcome.body["resources"] if isinstance(r, dict)]
    if not jobs:
        return f"the job list filtered by the run's job id lists nothing: {outcome.text}"
    for job in jobs:
        kms = job.get("kms")
        if not isinstance(job.get("id"), str) or not isinstance(job.get("overall_status"), str):
            return f"a listed synchronization job should carry id and overall_status: {job}"
        if not kms or not isinstance(kms, (str, list)):
            return f"a listed synchronization job should carry the connections it syncs (kms): {job}"
    return None


def _one_job(outcome: Outcome) -> str | None:
    problem = _list_envelope(outcome)
    if problem:
        raise StepFailed("TH-PAG-005", problem)
    if len(outcome.body["resources"]) > 1:
        return f"limit=1 returned {len(outcome.body['resources'])} synchronization jobs"
    return None


# -- the rotations list: record uris and filters --------------------------------------------------


def _rotation_records(outcome: Outcome) -> list[dict[str, Any]]:
    """The rotation records of a rotations list (its envelope is TH-PAG-006's business)."""
    problem = _list_envelope(outcome)
    if problem:
        raise StepFailed("TH-PAG-006", problem)
    return [r for r in outcome.body["resources"] if isinstance(r, dict)]


def _rotation_uris(outcome: Outcome) -> str | None:
    records = _rotation_records(outcome)
    if not records:
        return f"a key whose material was rotated lists no rotation record: {outcome.text}"
    for record in records:
        expected = f"kylo:kylo:cckm:aws-key-rotation:{record.get('id')}"
        if record.get("uri") != expected:
            return f"a rotation record's uri should be {expected!r}, is {record.get('uri')!r}"
    return None


def _rotations_match(name: str) -> Callable[[Outcome], str | None]:
    """Every listed rotation record has the filter's value in aws_param.<name>."""

    def check(outcome: Outcome) -> str | None:
        wanted = outcome.response.request.url.params.get(name)
        for record in _rotation_records(outcome):
            aws = record.get("aws_param")
            value = aws.get(name) if isinstance(aws, dict) else None
            if value != wanted:
                return f"the rotations list filtered by {name}={wanted} holds a record with {name} {value!r}"
        return None

    return check


_NO_SUCH_MATERIAL = "0" * 64  # a well-formed AWS key material id (64 hex digits) no key has
_NO_SUCH_TIER = "kms-conformance-no-such-tier"
# A tag value with a character outside the documented set (alphanumerics and _ . / = + - @).
_BAD_TAG_VALUE = "kms-conformance*probe"


# A policy document for the mutually exclusive policy inputs (given with a policy template).
_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "kms-conformance",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }
    ],
}
_TEMPLATE = "kms-conformance-policy-template"
_BOTH_POLICIES: dict[str, Any] = {"aws_param": {"Policy": _POLICY}, "policytemplate": _TEMPLATE}


def _probe(req: str, name: str, op: str, **kw: Any) -> Probe:
    kw.setdefault("status", _OK)
    return Probe(req, name, op, **kw)


def _days(req: str, value: Any, **kw: Any) -> Probe:
    label = json.dumps(value).replace('"', "'")
    return _probe(req, f"days-{label}", "schedule_deletion", body={"days": value}, **kw)


_401 = frozenset({401})
_404 = frozenset({404})

PROBES: tuple[Probe, ...] = (
    # token flow
    _probe(
        "TH-AUTH-001",
        "password-grant",
        "token_password",
        key="none",
        auth="none",
        check=_token,
        read_only=True,
    ),
    _probe(
        "TH-AUTH-002",
        "wrong-password",
        "token_password",
        key="none",
        auth="none",
        body={"password": "wrong-password-kms-conformance"},
        status=_401,
        read_only=True,
    ),
    _probe(
        "TH-AUTH-002",
        "unknown-user",
        "token_password",
        key="none",
        auth="none",
        body={"username": "no-such-user-kms-conformance"},
        status=_401,
        read_only=True,
    ),
    _probe(
        "TH-AUTH-003", "refresh-grant", "token_refresh", key="none", auth="none", check=_token, read_only=True
    ),
    _probe(
        "TH-AUTH-008",
        "unknown-refresh-token",
        "token_refresh",
        key="none",
        auth="none",
        body={"refresh_token": "0" * 64},
        status=_401,
        read_only=True,
    ),
    # bearer on CCKM calls (auth is checked before anything else)
    _probe(
        "TH-AUTH-004",
        "no-token-list",
        "list",
        key="none",
        auth="none",
        status=_401,
        read_only=True,
    ),
    _probe(
        "TH-AUTH-004",
        "no-token-get",
        "get",
        key="unknown",
        auth="none",
        status=_401,
        read_only=True,
    ),
    _probe("TH-AUTH-004", "no-token-disable", "disable", auth="none", status=_401),
    _probe(
        "TH-AUTH-005",
        "invalid-token-list",
        "list",
        key="none",
        auth="invalid",
        status=_401,
        read_only=True,
    ),
    _probe(
        "TH-AUTH-005",
        "invalid-token-schedule",
        "schedule_deletion",
        auth="invalid",
        status=_401,
    ),
    _probe(
        "TH-AUTH-006",
        "expired-token-list",
        "list",
        key="none",
        auth="expired",
        status=_401,
        read_only=True,
    ),
    _probe("TH-AUTH-006", "expired-token-disable", "disable", auth="expired", status=_401),
    _probe(
        "TH-AUTH-007",
        "forbidden-list",
        "list",
        key="none",
        auth="forbidden",
        status=frozenset({403}),
        read_only=True,
    ),
    _probe("TH-AUTH-007", "forbidden-disable", "disable", auth="forbidden", status=frozenset({403})),
    # days boundaries and types
    _days("TH-VAL-001", 7, check=_consistent("PendingDeletion")),
    _days("TH-VAL-001", 30, key="disabled", check=_consistent("PendingDeletion")),
    _days("TH-VAL-002", 6, status=_INVALID),
    _days("TH-VAL-002", 31, status=_INVALID),
    _days("TH-VAL-002", 0, status=_INVALID),
    _days("TH-VAL-002", -1, status=_INVALID),
    _days("TH-VAL-003", 7.5, status=_INVALID),
    _days("TH-VAL-003", "7", status=_INVALID),
    _days("TH-VAL-003", "abc", status=_INVALID),
    _days("TH-VAL-003", None, status=_INVALID),
    # identifiers
    _probe(
        "TH-VAL-004",
        "unknown-id-get",
        "get",
        key="unknown",
        status=_404,
        codes=frozenset({"NCERRResourceNotFound"}),
        read_only=True,
    ),
    _probe(
        "TH-VAL-004",
        "unknown-id-enable",
        "enable",
        key="unknown",
        status=_404,
        codes=frozenset({"NCERRResourceNotFound"}),
        read_only=True,
    ),
    _probe(
        "TH-VAL-004",
        "unknown-id-schedule",
        "schedule_deletion",
        key="unknown",
        status=_404,
        codes=frozenset({"NCERRResourceNotFound"}),
        read_only=True,
    ),
    _probe(
        "TH-VAL-004",
        "unknown-id-cancel",
        "cancel_deletion",
        key="unknown",
        status=_404,
        codes=frozenset({"NCERRResourceNotFound"}),
        read_only=True,
    ),
    _probe(
        "TH-VAL-005", "malformed-id-get", "get", key="malformed", status=frozenset({400, 404}), read_only=True
    ),
    _probe(
        "TH-VAL-005",
        "malformed-id-disable",
        "disable",
        key="malformed",
        status=frozenset({400, 404}),
        read_only=True,
    ),
    # request format
    _probe("TH-VAL-006", "create-without-kms", "create", key="none", body={"kms": MISSING}, status=_INVALID),
    _probe(
        "TH-VAL-006", "create-without-region", "create", key="none", body={"region": MISSING}, status=_INVALID
    ),
    _probe(
        "TH-VAL-006",
        "create-bad-origin",
        "create",
        key="none",
        body={"aws_param": {"Origin": "NOT_AN_ORIGIN"}},
        status=_INVALID,
    ),
    _probe("TH-VAL-007", "invalid-json", "schedule_deletion", raw=b'{"days": ', status=_INVALID),
    # states and shapes seen through the key resource
    _probe(
        "TH-STATE-001",
        "create-aws-kms",
        "create",
        key="none",
        status=_CREATED,
        check=_created("Enabled", "AWS_KMS"),
    ),
    _probe(
        "TH-STATE-001",
        "create-external",
        "create_external",
        key="none",
        status=_CREATED,
        check=_created("PendingImport", "EXTERNAL"),
    ),
    _probe("TH-STATE-010", "deletion-date-on-schedule", "schedule_deletion", check=_deletion_date),
    _probe("TH-STATE-010", "deletion-date-on-get", "get", key="pending-deletion", check=_deletion_date),
    _probe("TH-SHAPE-001", "get-shape", "get", check=_key_shape),
    _probe("TH-SHAPE-001", "disable-shape", "disable", check=_key_shape),
    _probe("TH-SHAPE-002", "enabled-flag-enabled", "get", check=_consistent("Enabled")),
    _probe("TH-SHAPE-002", "enabled-flag-disabled", "get", key="disabled", check=_consistent("Disabled")),
    _probe(
        "TH-SHAPE-002",
        "enabled-flag-pending-deletion",
        "get",
        key="pending-deletion",
        check=_consistent("PendingDeletion"),
    ),
    _probe(
        "TH-SHAPE-002",
        "enabled-flag-pending-import",
        "get",
        key="pending-import",
        check=_consistent("PendingImport"),
    ),
    _probe(
        "TH-SHAPE-002",
        "enabled-flag-after-cancel",
        "cancel_deletion",
        key="pending-deletion",
        check=_consistent("Disabled"),
    ),
    _probe("TH-SHAPE-003", "policy-document", "get", check=_policy),
    _probe("TH-SHAPE-004", "refresh-message", "refresh", check=_refresh_message),
    # pagination (a scratch key exists, so total >= 1)
    _probe("TH-PAG-001", "list-envelope", "list", body={"limit": 5, "skip": 0}, check=_list_envelope),
    _probe("TH-PAG-002", "list-limit-1", "list", body={"limit": 1}, check=_limit_1),
    _probe(
        "TH-PAG-003",
        "list-total-past-the-end",
        "list",
        body={"skip": 1000000, "limit": 1},
        check=_total_beyond_page,
    ),
    _probe("TH-PAG-004", "list-limit-all", "list", body={"limit": -1}, check=_limit_all),
    # no 5xx on odd but schema-valid input
    _probe(
        "TH-GEN-001",
        "list-unknown-sort-field",
        "list",
        key="none",
        body={"sort": "-no_such_field_kmsconf"},
        status=frozenset(range(200, 500)),
        read_only=True,
    ),
    # policy inputs (create, upload-key, replicate-key)
    _probe(
        "TH-VAL-008", "create-policy-and-template", "create", key="none", body=_BOTH_POLICIES, status=_INVALID
    ),
    _probe(
        "TH-VAL-008",
        "upload-policy-and-template",
        "upload_key",
        key="none",
        body=_BOTH_POLICIES,
        status=_INVALID,
    ),
    _probe(
        "TH-VAL-008",
        "replicate-policy-and-template",
        "replicate_key",
        key="mrk-primary",
        body=_BOTH_POLICIES,
        status=_INVALID,
    ),
    _probe(
        "TH-VAL-008",
        "policy-call-policy-and-template",
        "policy",
        body={"policy": _POLICY, "policytemplate": _TEMPLATE},
        status=_INVALID,
    ),
    _probe(
        "TH-VAL-008",
        "create-policy-and-principals",
        "create",
        key="none",
        body={"aws_param": {"Policy": _POLICY}, "key_admins": ["kms-conformance-admin"]},
        status=_INVALID,
    ),
    # source_key_tier outside the documented values (upload-key, import-material)
    _probe(
        "TH-VAL-012",
        "upload-unknown-source-tier",
        "upload_key",
        key="none",
        body={"source_key_tier": _NO_SUCH_TIER},
        status=_INVALID,
    ),
    _probe(
        "TH-VAL-013",
        "import-unknown-source-tier",
        "import_material",
        key="pending-import",
        body={"source_key_tier": _NO_SUCH_TIER},
        status=_INVALID,
    ),
    # a tag value with a character CCKM does not allow
    _probe(
        "TH-VAL-014",
        "tag-value-bad-character",
        "add_tags",
        body={"tags": [{"tag_key": "kms-conformance", "tag_value": _BAD_TAG_VALUE}]},
        status=_INVALID,
    ),
    # upload-key
    _probe("TH-STATE-011", "upload-key-enabled", "upload_key", key="none", status=_CREATED, check=_uploaded),
    # synchronization jobs
    _probe("TH-SHAPE-007", "sync-start-shape", "sync_start", key="none", status=_CREATED, check=_job_shape),
    _probe(
        "TH-VAL-009",
        "sync-all-with-kms",
        "sync_start",
        key="none",
        body={"synchronize_all": True},
        status=_INVALID,
    ),
    _probe("TH-SHAPE-005", "sync-cancel-abort", "sync_cancel", key="sync-job-in-progress", check=_aborted),
    _probe(
        "TH-STATE-012", "sync-cancel-completed", "sync_cancel", key="sync-job-completed", status=_STATE_ERROR
    ),
    _probe(
        "TH-PAG-005",
        "sync-list-envelope",
        "sync_list",
        key="none",
        body={"limit": 5, "skip": 0},
        check=_list_envelope,
        read_only=True,
    ),
    _probe(
        "TH-VAL-010",
        "sync-list-by-id",
        "sync_list_by_id",
        key="sync-job-among-two",
        check=_only_job,
        read_only=True,
    ),
    _probe(
        "TH-SHAPE-011",
        "sync-list-job-fields",
        "sync_list_by_id",
        key="sync-job-started",
        check=_listed_job_fields,
        read_only=True,
    ),
    _probe(
        "TH-PAG-009",
        "sync-list-limit-1",
        "sync_list",
        key="sync-job-among-two",
        body={"limit": 1},
        check=_one_job,
        read_only=True,
    ),
    # multi-Region keys
    _probe(
        "TH-STATE-032",
        "multi-region-create-primary",
        "get",
        key="mrk-primary",
        check=_lone_primary,
        read_only=True,
    ),
    _probe("TH-SHAPE-010", "replica-uri", "replicate_key", key="mrk-primary", check=_replica_uri),
    _probe(
        "TH-STATE-033",
        "primary-lists-replica",
        "get",
        key="mrk-replicated-primary",
        check=_primary_lists_replica,
        read_only=True,
    ),
    _probe(
        "TH-STATE-034",
        "former-primary-is-replica",
        "get",
        key="primary-moved",
        check=_former_primary,
        read_only=True,
    ),
    _probe("TH-STATE-013", "replicate-shares-key-id", "replicate_key", key="mrk-primary", check=_replica),
    _probe(
        "TH-STATE-014",
        "replicate-external-pending-import",
        "replicate_key",
        key="mrk-external-primary",
        check=_replica_pending_import,
    ),
    _probe(
        "TH-STATE-015",
        "replicate-single-region",
        "replicate_key",
        status=_STATE_ERROR,
        codes=frozenset({"UnsupportedOperationException"}),
    ),
    _probe(
        "TH-STATE-016",
        "replicate-pending-deletion",
        "replicate_key",
        key="mrk-pending-deletion",
        status=_STATE_ERROR,
        codes=_INVALID_STATE,
    ),
    _probe(
        "TH-STATE-017",
        "update-primary-region",
        "update_primary_region",
        key="mrk-replica",
        check=_primary_moved,
    ),
    _probe(
        "TH-STATE-017",
        "new-primary-reads-primary",
        "get",
        key="primary-moved-replica",
        check=_now_primary,
        read_only=True,
    ),
    # rotation jobs and the rotation status
    _probe(
        "TH-VAL-011",
        "rotation-job-without-config",
        "enable_rotation_job",
        body={"job_config_id": MISSING},
        status=_INVALID,
    ),
    _probe(
        "TH-PAG-006",
        "rotations-envelope",
        "rotations",
        body={"limit": 5, "skip": 0},
        check=_list_envelope,
        read_only=True,
    ),
    _probe(
        "TH-STATE-021",
        "rotations-after-rotate-material",
        "rotations",
        key="material-rotated",
        body={"limit": -1},
        check=_rotated,
        read_only=True,
    ),
    _probe(
        "TH-SHAPE-006", "rotation-status-shape", "rotation_status", check=_rotation_status, read_only=True
    ),
    _probe(
        "TH-STATE-019",
        "rotation-status-after-enable",
        "rotation_status",
        key="auto-rotation",
        check=_rotation_on,
        read_only=True,
    ),
    _probe(
        "TH-STATE-020",
        "rotation-status-pending-deletion",
        "rotation_status",
        key="auto-rotation-pending-deletion",
        check=_rotation_off,
        read_only=True,
    ),
    # what later reads show after a change (each on a key of its own)
    _probe(
        "TH-PERSIST-001",
        "create-persists-description-and-tags",
        "get",
        check=_created_as_sent,
        read_only=True,
    ),
    _probe(
        "TH-PERSIST-002",
        "description-after-update",
        "get",
        key="description-updated",
        check=_description_updated,
        read_only=True,
    ),
    _probe(
        "TH-PERSIST-003",
        "aliases-after-add-alias",
        "get",
        key="alias-added",
        check=_alias_added,
        read_only=True,
    ),
    _probe(
        "TH-PERSIST-004",
        "aliases-after-delete-alias",
        "get",
        key="alias-deleted",
        check=_alias_deleted,
        read_only=True,
    ),
    _probe("TH-PERSIST-005", "tags-after-add-tags", "get", key="tagged", check=_tag_added, read_only=True),
    _probe(
        "TH-PERSIST-006", "tag-value-replaced", "get", key="tag-replaced", check=_tag_replaced, read_only=True
    ),
    _probe(
        "TH-PERSIST-007", "tags-after-remove-tags", "get", key="untagged", check=_tag_removed, read_only=True
    ),
    _probe(
        "TH-PERSIST-008",
        "policy-after-update",
        "get",
        key="policy-updated",
        check=_policy_updated,
        read_only=True,
    ),
    _probe(
        "TH-PERSIST-009",
        "deletion-date-after-days",
        "schedule_deletion",
        body={"days": 10},
        check=_deleted_after_days,
    ),
    _probe(
        "TH-PERSIST-010",
        "no-deletion-date-after-cancel",
        "get",
        key="deletion-cancelled",
        check=_no_deletion_date,
        read_only=True,
    ),
    _probe("TH-SHAPE-009", "delete-answers-success", "delete", key="pending-deletion"),
    _probe(
        "TH-PERSIST-012",
        "key-spec-and-usage-persist",
        "get",
        key="asymmetric",
        check=_spec_and_usage,
        read_only=True,
    ),
    _probe(
        "TH-STATE-035",
        "rotation-status-asymmetric",
        "rotation_status",
        key="asymmetric",
        check=_rotation_is(False, "for an asymmetric key"),
        read_only=True,
    ),
    _probe("TH-PERSIST-011", "get-after-delete", "get", key="dropped", status=_404, read_only=True),
    _probe(
        "TH-PERSIST-011", "list-after-delete", "list_own", key="dropped", check=_none_listed, read_only=True
    ),
    # the key list's filters: narrowed to the row's own key by id, a filter it does not match lists nothing
    _probe("TH-LIST-001", "id-filter", "list_own", key="neighboured", check=_only_own, read_only=True),
    _probe("TH-LIST-005", "region-filter", "list_own_elsewhere", check=_none_listed, read_only=True),
    _probe(
        "TH-LIST-002",
        "keyid-filter",
        "list_own",
        body={"keyid": NO_SUCH_KEY_ID},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-003",
        "arn-filter",
        "list_own",
        body={"arn": "arn:aws:kms:us-east-1:000000000000:key/" + NO_SUCH_KEY_ID},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-004",
        "alias-filter",
        "list_own",
        body={"alias": "alias/kmsconf-no-such-alias"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-006",
        "origin-filter",
        "list_own",
        body={"origin": "EXTERNAL"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-007",
        "enabled-filter",
        "list_own",
        body={"enabled": "false"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-008",
        "keystate-filter",
        "list_own",
        body={"keystate": "Disabled"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-009",
        "key-material-origin-filter",
        "list_own",
        body={"key_material_origin": "cckm"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-010",
        "multi-region-filter",
        "list_own",
        body={"multi_region": "true"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-011",
        "key-spec-filter",
        "list_own",
        body={"CustomerMasterKeySpec": "RSA_2048"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-012",
        "policy-template-filter",
        "list_own",
        body={"cckm_policy_template_id": "kms-conformance-no-such-template"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-013",
        "key-source-filter",
        "list_own",
        body={"key_source": "DSM"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-014",
        "job-config-filter",
        "list_own",
        body={"job_config_id": "kms-conformance-no-such-job"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-014",
        "rotation-job-enabled-filter",
        "list_own",
        body={"rotation_job_enabled": "true"},
        check=_none_listed,
        read_only=True,
    ),
    _probe(
        "TH-LIST-015",
        "tags-filter",
        "list_own",
        body={"tags": "kms-conformance-no-such-tag"},
        # the syntax is undocumented: refusing a value it does not take is allowed
        status=frozenset({200, 400}),
        check=_none_listed,
        read_only=True,
    ),
    # the rotations list: record uris and its filters
    _probe(
        "TH-SHAPE-008",
        "rotation-record-uri",
        "rotations",
        key="material-rotated",
        body={"limit": -1},
        check=_rotation_uris,
        read_only=True,
    ),
    _probe(
        "TH-LIST-016",
        "rotations-rotation-type-filter",
        "rotations",
        body={"RotationType": "ON_DEMAND", "limit": -1},
        check=_rotations_match("RotationType"),
        read_only=True,
    ),
    _probe(
        "TH-LIST-017",
        "rotations-material-state-filter",
        "rotations",
        body={"KeyMaterialState": "NON_CURRENT", "limit": -1},
        check=_rotations_match("KeyMaterialState"),
        read_only=True,
    ),
    _probe(
        "TH-LIST-018",
        "rotations-material-id-filter",
        "rotations",
        body={"KeyMaterialId": _NO_SUCH_MATERIAL, "limit": -1},
        check=_rotations_match("KeyMaterialId"),
        read_only=True,
    ),
    _probe(
        "TH-PAG-007",
        "list-skip-1",
        "list",
        key="neighboured",
        body={"skip": 1, "limit": 1000},
        check=_skipped_one,
        read_only=True,
    ),
    _probe(
        "TH-PAG-008",
        "list-sort-descending",
        "list",
        key="neighboured",
        body={"sort": "-createdAt", "limit": 1000},
        check=_sorted_by_created(True),
        read_only=True,
    ),
    _probe(
        "TH-PAG-008",
        "list-sort-ascending",
        "list",
        key="neighboured",
        body={"sort": "createdAt", "limit": 1000},
        check=_sorted_by_created(False),
        read_only=True,
    ),
    # key material imported through CCKM
    _probe(
        "TH-STATE-029",
        "material-origin-after-import",
        "get",
        key="imported",
        check=_material_origin,
        read_only=True,
    ),
    _probe(
        "TH-STATE-030",
        "delete-material-enabled",
        "delete_material",
        key="imported",
        check=_state_is("PendingImport"),
    ),
    _probe(
        "TH-STATE-031",
        "delete-material-pending-deletion",
        "delete_material",
        key="imported-pending-deletion",
        check=_state_is("PendingDeletion"),
    ),
    # the rotation status after the calls that should (not) change it
    _probe(
        "TH-STATE-023",
        "rotation-status-after-disable",
        "rotation_status",
        key="rotation-turned-off",
        check=_rotation_is(False, "after disable-auto-rotation"),
        read_only=True,
    ),
    _probe(
        "TH-STATE-024",
        "rotation-status-new-key",
        "rotation_status",
        check=_rotation_is(False, "for a new key"),
        read_only=True,
    ),
    _probe(
        "TH-STATE-025",
        "rotation-status-external-key",
        "rotation_status",
        key="pending-import",
        check=_rotation_is(False, "for a key with imported material"),
        read_only=True,
    ),
    _probe(
        "TH-STATE-026",
        "rotation-status-after-cancel",
        "rotation_status",
        key="auto-rotation-cancelled",
        check=_rotation_is(True, "after enable-auto-rotation, schedule-deletion and cancel-deletion"),
        read_only=True,
    ),
    _probe(
        "TH-STATE-027",
        "rotation-status-disabled-key",
        "rotation_status",
        key="auto-rotation-disabled-key",
        check=_rotation_is(True, "after enable-auto-rotation and disable"),
        read_only=True,
    ),
)

# Scratch keys of other kinds than the life-cycle states (probe ``key`` names ``key_in`` knows):
# kind -> (origin, multi-Region, the calls that follow the create).  ``mrk-replica`` is the replica
# the last call makes.  Each row makes its own.
KINDS: dict[str, tuple[str, bool, tuple[str | tuple[str, dict[str, Any]], ...]]] = {
    "mrk-primary": ("AWS_KMS", True, ()),
    "mrk-external-primary": ("EXTERNAL", True, ()),
    "mrk-pending-deletion": ("AWS_KMS", True, ("schedule_deletion",)),
    "mrk-replica": ("AWS_KMS", True, ("replicate_key",)),
    "auto-rotation": ("AWS_KMS", False, ("enable_auto_rotation",)),
    "auto-rotation-pending-deletion": ("AWS_KMS", False, ("enable_auto_rotation", "schedule_deletion")),
    "material-rotated": ("AWS_KMS", False, ("rotate_material",)),
    "asymmetric": ("AWS_KMS", False, ()),  # created with ASYMMETRIC (KIND_PARAMS)
    "mrk-replicated-primary": ("AWS_KMS", True, ("replicate_key",)),  # the primary, read after
    "primary-moved": ("AWS_KMS", True, ("replicate_key", "update_primary_region")),  # the former primary
    "primary-moved-replica": ("AWS_KMS", True, ("replicate_key", "update_primary_region")),  # the new one
}
# Kinds created with these aws_param fields.
KIND_PARAMS: dict[str, dict[str, Any]] = {"asymmetric": ASYMMETRIC}
# Kinds whose key is the one created, not the replica their replicate_key call makes.
_KEEP_CREATED = frozenset({"mrk-replicated-primary", "primary-moved"})
# How long ``ThalesProfile.settle`` waits for a primary-Region change (AWS gives it no deadline),
# and the longest pause between its reads.
SETTLE_S = 120.0
SETTLE_MAX_WAIT_S = 8.0
# Keys a later read looks at after the change their kind names (same shape as KINDS; each row makes
# its own).  "dropped" is gone from CCKM (deleted after its AWS deletion was scheduled).
CHANGED_KINDS: dict[str, tuple[str, bool, tuple[str | tuple[str, dict[str, Any]], ...]]] = {
    "description-updated": ("AWS_KMS", False, ("update_description",)),
    "alias-added": ("AWS_KMS", False, ("add_alias",)),
    "alias-deleted": ("AWS_KMS", False, ("add_alias", "delete_alias")),
    "tagged": ("AWS_KMS", False, ("add_tags",)),
    "tag-replaced": (
        "AWS_KMS",
        False,
        (
            "add_tags",
            ("add_tags", {"tags": [{"tag_key": PROBE_TAG["TagKey"], "tag_value": REPLACED_TAG_VALUE}]}),
        ),
    ),
    "untagged": ("AWS_KMS", False, ("add_tags", "remove_tags")),
    "policy-updated": ("AWS_KMS", False, ("policy",)),
    "deletion-cancelled": ("AWS_KMS", False, ("schedule_deletion", "cancel_deletion")),
    "dropped": ("AWS_KMS", False, ("schedule_deletion", "delete")),
    "rotation-turned-off": ("AWS_KMS", False, ("enable_auto_rotation", "disable_auto_rotation")),
    "auto-rotation-cancelled": (
        "AWS_KMS",
        False,
        ("enable_auto_rotation", "schedule_deletion", "cancel_deletion"),
    ),
    "auto-rotation-disabled-key": ("AWS_KMS", False, ("enable_auto_rotation", "disable")),
    "neighboured": ("AWS_KMS", False, ("create",)),  # a second key of the run beside it
    "imported": ("EXTERNAL", False, ("import_material",)),
    "imported-pending-deletion": ("EXTERNAL", False, ("import_material", "schedule_deletion")),
}
# A kind's call -> (its set-up step, what its key answer must show).
_KIND_STEPS: dict[str, tuple[str, Any]] = {
    "schedule_deletion": ("pending-deletion", lambda aws: aws.get("KeyState") == "PendingDeletion"),
    "replicate_key": ("replica", lambda aws: aws.get("MultiRegion") is True),
    "update_primary_region": ("primary-moved", lambda aws: True),
    "enable_auto_rotation": ("auto-rotation", lambda aws: aws.get("KeyRotationEnabled") is True),
    "rotate_material": ("material-rotated", lambda aws: aws.get("KeyState") == "Enabled"),
    # The changes whose later reads are the rows' business: any success answer will do here.
    "update_description": ("changed", lambda aws: True),
    "add_alias": ("changed", lambda aws: True),
    "delete_alias": ("changed", lambda aws: True),
    "add_tags": ("changed", lambda aws: True),
    "remove_tags": ("changed", lambda aws: True),
    "policy": ("changed", lambda aws: True),
    "cancel_deletion": ("cancelled", lambda aws: aws.get("KeyState") == "Disabled"),
    "delete": ("deleted", lambda aws: True),
    "disable_auto_rotation": ("changed", lambda aws: True),
    "disable": ("disabled", lambda aws: aws.get("KeyState") == "Disabled"),
    "create": ("create", lambda aws: True),
    "import_material": ("changed", lambda aws: True),
}
SYNC_JOB_KINDS = ("sync-job-in-progress", "sync-job-completed", "sync-job-among-two", "sync-job-started")


class _CckmJwt(TokenSource):
    """The profile's JWT as a token source, so the shared ``RenewingAuth`` puts it on every request
    and, on a 401 outside the token endpoint, renews it once and resends (no Thales copy of that flow)."""

    def __init__(self, profile: ThalesProfile) -> None:
        self.profile = profile
        super().__init__("")

    def token(self) -> str:
        return self.profile.bearer() or ""

    def fetch(self) -> str:
        return self.profile.bearer(force=True) or ""


def _jwt_expired(response: httpx.Response) -> bool:
    return response.status_code == 401 and not response.request.url.path.startswith(TOKENS)


# Tenant isolation: a key belongs to the connection and region it was created in; the key list
# filtered by another connection or region (``--other-kms`` / ``--other-region``, listed by the
# run's own user) does not name it.
# A key of the run's CipherTrust domain, through the token of a user of another domain
# (``--other-token``): not found by id, not listed, and a change is refused and changes nothing.
_OTHER_DOMAIN: dict[str, Any] = {"auth": "other", "needs": ("other_token",)}
_NOT_THERE: dict[str, Any] = {"status": frozenset({403, 404}), **_OTHER_DOMAIN}
ISOLATION_PROBES: tuple[Probe, ...] = (
    _probe("TH-ISO-001", "other-scope-list", "list_in_scope", hides_key=True, read_only=True),
    _probe("TH-ISO-002", "other-domain-get", "get", **_NOT_THERE),
    _probe("TH-ISO-002", "other-domain-list", "list", hides_key=True, body={"limit": -1}, **_OTHER_DOMAIN),
    _probe("TH-ISO-002", "other-domain-disable", "disable", unchanged=True, **_NOT_THERE),
    _probe("TH-ISO-002", "other-domain-schedule-deletion", "schedule_deletion", unchanged=True, **_NOT_THERE),
)


class ThalesProfile(Profile):
    vendor: ClassVar[str] = "thales"
    product: ClassVar[str] = "CipherTrust Manager (CCKM)"
    preflight_call = ("list", False, {"limit": 1})
    invalid_token: ClassVar[str] = "invalid.kms-conformance.token"
    state_steps: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "enabled": (),
        "disabled": ("disable",),
        "pending-deletion": ("schedule_deletion",),
        "pending-import": (),  # created with origin EXTERNAL (key_in)
    }
    step_statuses: ClassVar[frozenset[int]] = _OK
    transitions: ClassVar[tuple[Transition, ...]] = TRANSITIONS
    probes: ClassVar[tuple[Probe, ...]] = PROBES + ISOLATION_PROBES
    envelope_requirement: ClassVar[str] = "TH-ENV-001"
    error_schemas: ClassVar[tuple[Mapping[str, Any], ...]] = (ERROR_ENVELOPE,)
    generated_requirements: ClassVar[Mapping[str, str]] = {
        "not_a_server_error": "TH-GEN-001",
        "status_code_conformance": "TH-GEN-002",
        "response_schema_conformance": "TH-GEN-003",
        "negative_data_rejection": "TH-GEN-004",
        "positive_data_acceptance": "TH-GEN-004",
        "ignored_auth": "TH-GEN-005",
    }
    read_only_operations: ClassVar[frozenset[str]] = frozenset({"getAwsKey", "listAwsKeys", "createToken"})
    lifecycle_operations: ClassVar[frozenset[str]] = frozenset(
        {
            "createToken",
            "createAwsKey",
            "listAwsKeys",
            "getAwsKey",
            "enableAwsKey",
            "disableAwsKey",
            "scheduleAwsKeyDeletion",
            "cancelAwsKeyDeletion",
        }
    )
    read_only_calls: ClassVar[frozenset[str]] = frozenset(
        {
            "token_password",
            "token_refresh",
            "list",
            "list_own",
            "list_own_elsewhere",
            "get",
            "rotation_status",
            "rotations",
            "sync_list",
            "sync_list_by_id",
            "sync_get",
        }
    )
    key_id_fields: ClassVar[tuple[str, ...]] = ("id",)
    operation_ids: ClassVar[Mapping[str, str]] = {
        "token_password": "createToken",
        "token_refresh": "createToken",
        "list": "listAwsKeys",
        "list_in_scope": "listAwsKeys",
        "list_own": "listAwsKeys",
        "list_own_elsewhere": "listAwsKeys",
        "create": "createAwsKey",
        "create_external": "createAwsKey",
        "get": "getAwsKey",
        "delete": "deleteAwsKey",
        "enable": "enableAwsKey",
        "disable": "disableAwsKey",
        "schedule_deletion": "scheduleAwsKeyDeletion",
        "cancel_deletion": "cancelAwsKeyDeletion",
        "update_description": "updateAwsKeyDescription",
        "add_alias": "addAwsKeyAlias",
        "delete_alias": "deleteAwsKeyAlias",
        "add_tags": "addAwsKeyTags",
        "remove_tags": "removeAwsKeyTags",
        "policy": "updateAwsKeyPolicy",
        "enable_auto_rotation": "enableAwsKeyAutoRotation",
        "disable_auto_rotation": "disableAwsKeyAutoRotation",
        "import_material": "importAwsKeyMaterial",
        "delete_material": "deleteAwsKeyMaterial",
        "refresh": "refreshAwsKey",
        "upload_key": "uploadAwsKey",
        "replicate_key": "replicateAwsKey",
        "update_primary_region": "updateAwsKeyPrimaryRegion",
        "enable_rotation_job": "enableAwsKeyRotationJob",
        "disable_rotation_job": "disableAwsKeyRotationJob",
        "rotation_status": "getAwsKeyRotationStatus",
        "rotate_material": "rotateAwsKeyMaterial",
        "rotations": "listAwsKeyRotations",
        "sync_start": "startAwsSyncJob",
        "sync_list": "listAwsSyncJobs",
        "sync_list_by_id": "listAwsSyncJobs",
        "sync_get": "getAwsSyncJob",
        "sync_cancel": "cancelAwsSyncJob",
    }
    served_requirement: ClassVar[str] = "TH-API-001"
    transport_requirement: ClassVar[str] = "TH-TRANSPORT-001"
    setup_requirements: ClassVar[Mapping[str, str]] = {
        "create": "TH-STATE-001",
        "read-state": "TH-SHAPE-001",
        "disabled": "TH-STATE-004",
        "pending-deletion": "TH-STATE-006",
        "list-envelope": "TH-PAG-001",  # paging checks read the list envelope
        "replica": "TH-STATE-013",  # a multi-Region replica (replicate-key)
        "auto-rotation": "TH-STATE-019",  # a key with automatic rotation on
        "sync-job": "TH-SHAPE-007",  # a synchronization job started (and read)
        "material-rotated": "TH-STATE-021",  # a key whose material was rotated on demand
        "changed": "TH-SHAPE-001",  # a metadata change (update-description, add-tags, ...) answered 2xx
        "cancelled": "TH-STATE-008",  # cancel-deletion left the key Disabled
        "deleted": "TH-SHAPE-009",  # DELETE /keys/{id} answered 2xx
        "primary-moved": "TH-STATE-017",  # update-primary-region answered 2xx
    }

    # Renew when less than this share of the JWT lifetime is left (at most a minute).
    refresh_margin: ClassVar[float] = 0.2

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self._token_lock = threading.RLock()
        self._jwt: str | None = None
        self._refresh_token: str | None = None
        self._expires_at = 0.0  # time.monotonic() deadline of the current JWT
        self._duration = 300.0
        self.jobs: set[str] = set()  # synchronization jobs this run started

    # -- credentials -----------------------------------------------------------------------

    @property
    def uses_login(self) -> bool:
        return bool(self.settings.username and self.settings.password)

    def _token_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.settings.base_url,
            timeout=httpx.Timeout(self.settings.timeout),
            transport=self.transport(),
            trust_env=False,
        )

    def _grant(self, body: dict[str, Any]) -> httpx.Response:
        with self._token_client() as client:
            return client.post(TOKENS, json=body)

    def _password_body(self) -> dict[str, Any]:
        if not self.uses_login:
            raise NotCovered("no --username/--password given: the token flow is not covered")
        return {
            "grant_type": "password",
            "username": self.settings.username,
            "password": self.settings.password,
        }

    def _adopt(self, response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        data = read_json(response)
        if not isinstance(data, dict) or not isinstance(data.get("jwt"), str):
            return False
        duration = data.get("duration")
        self._duration = float(duration) if isinstance(duration, int) and duration > 0 else 300.0
        self._jwt = data["jwt"]
        self._refresh_token = data.get("refresh_token") or self._refresh_token
        for secret in (self._jwt, self._refresh_token):
            remember_secret(secret or "")  # fetched credentials are redacted like configured ones
        self._expires_at = time.monotonic() + self._duration
        return True

    def login(self) -> None:
        """Password grant; raises TargetError when the credentials are refused."""
        response = self._grant(self._password_body())
        if not self._adopt(response):
            foreign = self.foreign_answer(self.read_outcome(response))
            if foreign:
                raise TargetError(foreign)
            code = self.error_code(self._json(response))
            raise TargetError(
                f"{self.settings.base_url} refused the username/password on {TOKENS}: HTTP {response.status_code}"
                + (f" {code}" if code else "")
            )

    def token_is_fresh(self) -> bool:
        left = self._expires_at - time.monotonic()
        return self._jwt is not None and left > min(60.0, self._duration * self.refresh_margin)

    def bearer(self, force: bool = False) -> str | None:
        """The current JWT, renewed (refresh grant, else password grant) when it is about to expire."""
        if not self.uses_login:
            return self.settings.token
        with self._token_lock:
            if force or not self.token_is_fresh():
                renewed = False
                if self._refresh_token:
                    renewed = self._adopt(
                        self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
                    )
                if not renewed:
                    self.login()
            return self._jwt

    def valid_token(self) -> str | None:
        return self.bearer()

    def make_token_source(self) -> TokenSource | None:
        return _CckmJwt(self) if self.uses_login else super().make_token_source()

    def auth_for(self, mode: str) -> httpx.Auth | None:
        tokens = self.token_source() if mode == "valid" else None
        return RenewingAuth(tokens, "Authorization", "Bearer {token}", _jwt_expired) if tokens else None

    def prepare_credentials(self) -> None:
        if not self.uses_login and not self.settings.token:
            raise TargetError("Thales needs --username and --password (or --token)")
        if self.uses_login:
            with self._token_lock:
                self.login()

    # -- operations ------------------------------------------------------------------------

    def build_request(
        self, client: httpx.Client, operation: str, key_id: str | None, body: Mapping[str, Any]
    ) -> httpx.Request:
        try:
            method, path, defaults = OPERATIONS[operation]
        except KeyError:
            raise ValueError(f"unknown Thales operation {operation!r}") from None
        if "{id}" in path:
            path = path.replace("{id}", quote(key_id or "", safe=""))
        alias = self.new_alias()
        merged: dict[str, Any] | None = None
        if defaults is not None or body:
            marks = {"{alias}": alias, "{id}": key_id}
            merged = {k: marks.get(v, v) if isinstance(v, str) else v for k, v in (defaults or {}).items()}
            merged.update(self._defaults_for(operation, alias, body))
            merged.update(
                {k: v for k, v in body.items() if not (k == "aws_param" and operation in _NEW_KEY_CALLS)}
            )
            merged = {k: v for k, v in merged.items() if v is not MISSING}
        if method in ("GET", "DELETE"):
            return client.build_request(method, path, params=merged or None)
        return (
            client.build_request(method, path, json=merged)
            if merged is not None
            else client.build_request(method, path)
        )

    def _defaults_for(self, operation: str, alias: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if operation == "token_password":
            return self._password_body()
        if operation == "token_refresh":
            if "refresh_token" in body:
                return {}
            data = self._json(self._grant(self._password_body()))
            token = data.get("refresh_token") if isinstance(data, dict) else None
            if not token:
                raise NotCovered("the password grant gave no refresh_token: the refresh grant is not covered")
            return {"refresh_token": token}
        if operation == "list_in_scope":
            if not (self.settings.other_kms or self.settings.other_region):
                raise NotCovered(
                    "no --other-kms or --other-region given: listing another scope is not covered"
                )
            # the run's own user, the other connection or region (another domain is TH-ISO-002's)
            settings = self.settings
            return {
                "kms": settings.other_kms or settings.kms,
                "region": settings.other_region or settings.region,
                "limit": -1,
            }
        if operation == "sync_start":
            if not (self.settings.kms and self.settings.region):
                raise NotCovered("no --kms/--region given: cannot start a synchronization job")
            return {"kms": [self.settings.kms], "regions": [self.sync_region()]}
        if operation == "replicate_key":
            return {"replica_region": self.replica_region()}
        if operation == "list_own_elsewhere":
            return {"region": self.replica_region()}
        if operation == "update_primary_region":
            return {"PrimaryRegion": self.replica_region()}
        if operation in _NEW_KEY_CALLS:
            if not (self.settings.kms and self.settings.region):
                raise NotCovered("no --kms/--region given: cannot create scratch keys")
            param: dict[str, Any] = {
                "Alias": alias,
                "Description": f"kms-conformance scratch key, run {self.settings.run_id}",
                "Tags": [{"TagKey": "kms-conformance-run", "TagValue": self.settings.run_id}],
            }
            if operation == "create_external":
                param["Origin"] = "EXTERNAL"
            if isinstance(body.get("aws_param"), Mapping):
                param.update(body["aws_param"])
            return {"kms": self.settings.kms, "region": self.settings.region, "aws_param": param}
        return {}

    def sync_region(self) -> str:
        """A region whose CCKM keys (in --kms) are all this run's: a synchronization job refreshes
        every key of its scope (their synced_at), so it is started only where that touches nothing
        the run did not create.  NotCovered when every region the run knows holds other keys."""
        for region in dict.fromkeys((str(self.settings.region), *REPLICA_REGIONS)):
            listed = self.call("list", None, {"kms": self.settings.kms, "region": region, "limit": -1})
            resources = _body(listed).get("resources")
            if listed.status in _OK and isinstance(resources, list):
                if all(isinstance(k, dict) and k.get("id") in self.created for k in resources):
                    return region
        raise NotCovered(
            "every region the run knows holds keys it did not create: a synchronization job would refresh them"
        )

    def replica_region(self) -> str:
        """The region replicas are made in: the first of REPLICA_REGIONS that is not --region."""
        return next(r for r in REPLICA_REGIONS if r != self.settings.region)

    def new_alias(self) -> str:
        return f"kmsconf-{self.settings.run_id}-{secrets.token_hex(4)}"

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        return read_json(response)

    def error_code(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return None
        text = " ".join(str(body.get(name) or "") for name in ("message", "codeDesc"))
        found = _AWS_EXCEPTION.search(text)
        if found:
            return found.group(1)
        desc = body.get("codeDesc")
        if isinstance(desc, str) and desc.startswith("NCERR"):
            return desc.split(":", 1)[0].strip()
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            return CODE_NAMES.get(code, str(code))
        return None

    def not_served(self, outcome: Outcome) -> str | None:
        # CipherTrust Manager answers a path it does not route with 404 "no such API".
        if outcome.status in (404, 405, 501) and "no such api" in outcome.text.lower():
            return f"HTTP {outcome.status} 'no such API'"
        return super().not_served(outcome)

    def outcome(self, response: httpx.Response) -> Outcome:
        result = super().outcome(response)
        request = response.request
        if request.method == "POST" and 200 <= response.status_code < 300 and isinstance(result.body, dict):
            path = request.url.path.rstrip("/")
            if path in (KEYS, UPLOAD) or path.endswith(("/rotate", "/replicate-key")):
                key_id = result.body.get("id")
                if isinstance(key_id, str):
                    self.own(key_id)
            elif path == SYNC_JOBS and isinstance(result.body.get("id"), str):
                self.jobs.add(result.body["id"])
        return result

    # -- the generated layer ---------------------------------------------------------------

    def created_key_id(self, operation_id: str, body: Any) -> str | None:
        if operation_id in ("createAwsKey", "rotateAwsKey", "uploadAwsKey", "replicateAwsKey") and isinstance(
            body, dict
        ):
            key_id = body.get("id")
            return key_id if isinstance(key_id, str) else None
        return None

    # -- scratch keys ----------------------------------------------------------------------

    def create_key(
        self, origin: str = "AWS_KMS", multi_region: bool = False, param: Mapping[str, Any] | None = None
    ) -> str:
        fields = {**({"MultiRegion": True} if multi_region else {}), **(param or {})}
        body = {"aws_param": fields} if fields else None
        outcome = self.call("create_external" if origin == "EXTERNAL" else "create", None, body)
        if outcome.status not in _CREATED or not isinstance(_body(outcome).get("id"), str):
            raise self.step_failed("create", f"create answered {outcome.describe()}")
        state = STATES.get(str(_aws(outcome).get("KeyState")))
        if state:  # the key resource comes back: its state needs no second read
            self.answered_in(outcome.body["id"], state)
        return outcome.body["id"]

    def key_in(self, state: str) -> str:
        if state in SYNC_JOB_KINDS:
            return self.sync_job(state)
        if state in KINDS or state in CHANGED_KINDS:
            return self.key_of_kind(state)
        key_id = self.create_key("EXTERNAL" if state == "pending-import" else "AWS_KMS")
        self.drive_to(key_id, state)
        return key_id

    def key_of_kind(self, kind: str) -> str:
        """A new key of ``kind`` (``KINDS``); each call's answer is read, no further request made."""
        origin, multi_region, calls = KINDS[kind] if kind in KINDS else CHANGED_KINDS[kind]
        key_id = created = self.create_key(origin, multi_region, KIND_PARAMS.get(kind))
        aws: dict[str, Any] = {}  # the last answer's aws_param
        for entry in calls:
            operation, body = (entry, None) if isinstance(entry, str) else entry
            step, reached = _KIND_STEPS[operation]
            if operation == "delete_alias":  # the alias the previous call added
                body = {"alias": str((aws.get("Alias") or [""])[-1])}
            elif operation == "policy":
                body = {"policy": self._scratch_policy(key_id)}
            outcome = self.call(operation, key_id, body)
            aws = _aws(outcome)
            if outcome.status not in _OK or not reached(aws):
                raise self.step_failed(step, f"{operation} answered {outcome.describe()}")
            if operation == "replicate_key":
                key_id = outcome.body["id"]
            elif operation == "update_primary_region":
                self.settle(created, key_id)
        return created if kind in _KEEP_CREATED else key_id

    def settle(self, *key_ids: str) -> None:
        """Read the keys of a primary-Region change until none reads Updating (AWS runs the change
        asynchronously, both keys Updating meanwhile), backing off, for at most ``SETTLE_S`` seconds.

        A key still Updating then raises ``Unsettled``: the row that needed the change is blocked.
        """
        deadline = time.monotonic() + SETTLE_S
        for key_id in key_ids:
            for attempt in itertools.count():
                outcome = self.call("get", key_id)
                if outcome.status not in _OK:
                    raise self.step_failed("read-state", f"reading key {key_id}: {outcome.describe()}")
                if _aws(outcome).get("KeyState") != "Updating":
                    break
                wait = min(SETTLE_MAX_WAIT_S, 0.25 * 2**attempt)
                if time.monotonic() + wait > deadline:
                    raise Unsettled(
                        f"key {key_id} still reads Updating {SETTLE_S:g} s after update-primary-region"
                    )
                INTERRUPTS.sleep(wait)  # Ctrl-C is raised within 0.1 s, not after the pause

    def _scratch_policy(self, key_id: str) -> dict[str, Any]:
        """AWS's default key policy for the key's account (so the caller keeps every right), under
        this run's Sid: a later read shows whether the policy call stored it."""
        outcome = self.call("get", key_id)
        arn = str(_aws(outcome).get("Arn", ""))
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if outcome.status not in _OK or not account.isdigit():
            raise self.step_failed("read-state", f"reading key {key_id}: {outcome.describe()}")
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": POLICY_SID,
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }

    def sync_job(self, kind: str) -> str:
        """A synchronization job of the run: in progress (not covered when the target finishes it at
        once), completed (read until it is, within a bound), or the first of two."""
        first = self._start_job()
        if kind == "sync-job-started":
            return first["id"]
        if kind == "sync-job-among-two":
            self._start_job()
            return first["id"]
        if kind == "sync-job-in-progress":
            if first["overall_status"] != "in_progress":
                raise NotCovered(
                    f"the synchronization job was {first['overall_status']} when started: nothing to cancel"
                )
            return first["id"]
        pause = 0.0 if is_loopback(self.settings.base_url) else 3.0
        for _ in range(10):
            outcome = self.call("sync_get", first["id"])
            status = _body(outcome).get("overall_status")
            if outcome.status not in _OK or not isinstance(status, str):
                raise self.step_failed("sync-job", f"reading the job answered {outcome.describe()}")
            if status != "in_progress":
                return first["id"]
            time.sleep(pause)
        raise NotCovered("the synchronization job did not complete within 10 reads")

    def moved_on(self, state: str, key_id: str) -> str | None:
        """A job in progress completes on the target's clock, and may do so between its start and
        the row's request (a sync over a connection with few keys takes a moment)."""
        if state != "sync-job-in-progress":
            return super().moved_on(state, key_id)
        outcome = self.call("sync_get", key_id)
        status = _body(outcome).get("overall_status")
        if outcome.status in _OK and isinstance(status, str) and status != "in_progress":
            return f"the synchronization job was {status} by then"
        return None  # still in progress, or unreadable: the row's answer stands

    def _start_job(self) -> dict[str, Any]:
        outcome = self.call("sync_start")
        problem = _job_shape(outcome) if outcome.status in _OK else f"start answered {outcome.describe()}"
        if problem:
            raise self.step_failed("sync-job", problem)
        return outcome.body

    def guard_case(self, case: Any) -> None:
        """Besides the key ids: a generated synchronization job never reaches beyond the run.  A job
        refreshes every key of its connections and regions (``synchronize_all``: all of them), so a
        generated start names the unknown connection instead (answered 404, which the generated
        checks accept) unless it is malformed anyway."""
        super().guard_case(case)
        op_id = case.operation.definition.raw.get("operationId", "")
        if op_id != "startAwsSyncJob" or not isinstance(case.body, dict):
            return
        everything = case.body.get("synchronize_all")
        if everything is None or isinstance(everything, bool):
            case.body.pop("synchronize_all", None)
            case.body["kms"] = [self.unknown_key_id()]

    def guard_key(self, operation: str, key_id: str) -> None:
        """Synchronization-job calls may name only jobs this run started (or the probe ids)."""
        if operation.startswith("sync_"):
            if key_id in self.jobs or key_id in (self.unknown_key_id(), self.malformed_key_id()):
                return
            raise OwnershipError(f"refusing {operation} on job {key_id}: this run did not start it")
        super().guard_key(operation, key_id)

    def key_state(self, key_id: str) -> str:
        outcome = self.call("get", key_id)
        vendor = _aws(outcome).get("KeyState")
        if outcome.status not in _OK or not isinstance(vendor, str):
            raise self.step_failed("read-state", f"reading key {key_id}: {outcome.describe()}")
        return STATES.get(vendor, vendor)

    def cleanup_key(self, key_id: str) -> None:
        outcome = self.call("schedule_deletion", key_id, {"days": 7})
        # Scheduled now (the key resource back), already pending deletion (AWS says so in the
        # error message) or gone (404) -- each only as a JSON answer: an HTML 404 from a proxy, or
        # a 200 of garbage, confirms nothing and leaves the key pending.
        if not isinstance(outcome.body, dict):
            raise CleanupRefused(
                f"schedule-deletion answered {outcome.status} without a JSON body: {outcome.text[:200]}"
            )
        if outcome.status in _OK or outcome.status == 404 or "pending deletion" in outcome.text.lower():
            return
        raise CleanupRefused(f"schedule-deletion answered {outcome.status} {outcome.text[:200]}")

    def unknown_key_id(self) -> str:
        if not hasattr(self, "_unknown"):
            with self._lock:  # one per run, whichever thread asks first
                if not hasattr(self, "_unknown"):
                    self._unknown = str(uuid.uuid4())  # names no key, and the guard recognises it
        return self._unknown

    def malformed_key_id(self) -> str:
        return "not a key id!"


PROFILE = ThalesProfile

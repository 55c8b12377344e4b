"""The Thales mock's HTTP side: routes, JWT auth, request parsing and validation, JSON answers.

* ``POST /api/v1/auth/tokens`` (with or without the trailing slash; JSON or form body): the
  password grant (``username`` or legacy ``name``) and the refresh_token grant.  JWTs are
  HS256-signed with a per-process random secret, carry a random ``jwtid`` and expire after
  ``duration`` seconds (option token-duration, default 300).
* Every ``/api/v1/cckm/...`` call needs ``Authorization: Bearer <jwt>``: missing, unknown or
  expired -> 401; the ``auditor`` user -> 403.
* Request bodies and list query parameters are validated with the spec's own schemas
  (``conformance.mocks.validation``) before the model is called; the model (models.py) decides
  everything else, and exceptions.py words every refusal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.mocks.base import MockConfig
from conformance.mocks.validation import SpecValidator
from conformance.vendors.thales import VENDOR
from conformance.vendors.thales.mock.exceptions import (
    BadRequest,
    CckmError,
    InternalError,
    InvalidParameter,
    MethodNotAllowed,
    NoRoute,
    Unauthorized,
    envelope,
)
from conformance.vendors.thales.mock.faults import Behaviour, behaviour
from conformance.vendors.thales.mock.models import (
    CALLER_DOMAIN,
    DEFAULT_KMS,
    DEFAULT_REGION,
    DOMAINS,
    FORBIDDEN_USERNAME,
    OTHER_DOMAIN_USERNAME,
    OTHER_REGION,
    PASSWORD,
    PRINCIPAL_FIELDS,
    USERNAME,
    USERS,
    CckmBackend,
    Key,
    check_policy_inputs,
)

KEYS_PATH = "/api/v1/cckm/aws/keys"
UPLOAD_PATH = "/api/v1/cckm/aws/upload-key"
SYNC_PATH = "/api/v1/cckm/aws/synchronization-jobs"
TOKENS_PATH = "/api/v1/auth/tokens"
REFRESH_TOKEN_EXPIRES_IN = 1799
DEFAULT_LIMIT = 10  # list page size when the request names none

_SECRET = secrets.token_bytes(32)  # per process: tokens are unguessable, never constants

# -- JWTs ------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_jwt(username: str, issued_at: float, expires_at: float) -> str:
    """A CipherTrust-looking JWT signed with this process's secret."""
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {
        "iss": "kylo",
        "sub": f"local|{uuid.uuid5(uuid.NAMESPACE_URL, username)}",
        "preferred_username": username,
        "cust": {
            "domain_id": "00000000-0000-0000-0000-000000000000",
            "groups": ["admin"] if username == USERNAME else [],
        },
        "jwtid": str(uuid.uuid4()),
        "iat": int(issued_at),
        "exp": int(expires_at),
    }
    signing_input = (
        _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload, separators=(",", ":")).encode())
    )
    signature = hmac.new(_SECRET, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def read_jwt(token: str) -> dict[str, Any] | None:
    """The payload of a JWT this process signed, or None (expiry is not checked here)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    signing_input = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(_SECRET, signing_input.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


# -- key operations: path, spec operationId, whether a body is read, the model call ---------------

Call = Callable[[CckmBackend, str, dict[str, Any]], Key]


def _given(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """The named fields the request sent (the model's defaults stand for the others)."""
    return {name: body[name] for name in names if name in body}


def _put_policy(model: CckmBackend, key_id: str, body: dict[str, Any]) -> Key:
    principals = _principals(body)
    policy = body.get("policy", body.get("Policy"))
    return model.put_key_policy(key_id, policy, principals, body.get("policytemplate"))


def _principals(body: dict[str, Any]) -> dict[str, Any]:
    """The principal lists a create or policy body sends (an empty list sends none)."""
    return {name: body[name] for name in PRINCIPAL_FIELDS if body.get(name)}


def _import_material(model: CckmBackend, key_id: str, body: dict[str, Any]) -> Key:
    valid_to = body.get("valid_to") if body.get("key_expiration") else None
    return model.import_key_material(
        key_id, **_given(body, "source_key_tier", "source_key_identifier"), valid_to=valid_to
    )


def _replicate(model: CckmBackend, key_id: str, body: dict[str, Any]) -> Key:
    return model.replicate_key(
        key_id,
        body["replica_region"],
        body.get("aws_param") or {},
        _principals(body),
        body.get("policytemplate"),
    )


@dataclass(frozen=True)
class Action:
    path: str
    operation_id: str
    has_body: bool
    call: Call


ACTIONS: tuple[Action, ...] = (
    Action("enable", "enableAwsKey", False, lambda m, key_id, body: m.enable_key(key_id)),
    Action("disable", "disableAwsKey", False, lambda m, key_id, body: m.disable_key(key_id)),
    Action(
        "schedule-deletion",
        "scheduleAwsKeyDeletion",
        True,
        lambda m, key_id, body: m.schedule_key_deletion(key_id, **_given(body, "days")),
    ),
    Action(
        "cancel-deletion",
        "cancelAwsKeyDeletion",
        False,
        lambda m, key_id, body: m.cancel_key_deletion(key_id),
    ),
    Action(
        "update-description",
        "updateAwsKeyDescription",
        True,
        lambda m, key_id, body: m.update_key_description(key_id, body["description"]),
    ),
    Action("add-alias", "addAwsKeyAlias", True, lambda m, key_id, body: m.add_alias(key_id, body["alias"])),
    Action(
        "delete-alias",
        "deleteAwsKeyAlias",
        True,
        lambda m, key_id, body: m.delete_alias(key_id, body["alias"]),
    ),
    Action("add-tags", "addAwsKeyTags", True, lambda m, key_id, body: m.add_tags(key_id, body["tags"])),
    Action(
        "remove-tags", "removeAwsKeyTags", True, lambda m, key_id, body: m.remove_tags(key_id, body["tags"])
    ),
    Action("policy", "updateAwsKeyPolicy", True, _put_policy),
    Action(
        "enable-auto-rotation",
        "enableAwsKeyAutoRotation",
        True,
        lambda m, key_id, body: m.enable_key_rotation(key_id, **_given(body, "rotation_period_in_days")),
    ),
    Action(
        "disable-auto-rotation",
        "disableAwsKeyAutoRotation",
        False,
        lambda m, key_id, body: m.disable_key_rotation(key_id),
    ),
    Action(
        "rotate",
        "rotateAwsKey",
        True,
        lambda m, key_id, body: m.rotate_key(
            key_id, body.get("description"), retain_alias=bool(body.get("retain_alias"))
        ),
    ),
    Action("import-material", "importAwsKeyMaterial", True, _import_material),
    Action("replicate-key", "replicateAwsKey", True, _replicate),
    Action(
        "enable-rotation-job",
        "enableAwsKeyRotationJob",
        True,
        lambda m, key_id, body: m.enable_rotation_job(key_id, body),
    ),
    Action(
        "disable-rotation-job",
        "disableAwsKeyRotationJob",
        False,
        lambda m, key_id, body: m.disable_rotation_job(key_id),
    ),
    Action(
        "update-primary-region",
        "updateAwsKeyPrimaryRegion",
        True,
        lambda m, key_id, body: m.update_primary_region(key_id, body["PrimaryRegion"]),
    ),
    Action(
        "delete-material", "deleteAwsKeyMaterial", True, lambda m, key_id, body: m.delete_key_material(key_id)
    ),
    Action(
        "rotate-material",
        "rotateAwsKeyMaterial",
        False,
        lambda m, key_id, body: m.rotate_key_material(key_id),
    ),
)

Endpoint = Callable[[Request], Awaitable[Response]]
# Operations whose bodies take the mutually exclusive policy inputs.
_POLICY_INPUT_OPERATIONS = frozenset(
    {"createAwsKey", "uploadAwsKey", "replicateAwsKey", "updateAwsKeyPolicy"}
)


class CckmResponses:
    """The HTTP face of one ``CckmBackend``: every handler parses, calls the model, renders."""

    def __init__(self, model: CckmBackend, switches: Behaviour) -> None:
        self.model = model
        self.switches = switches
        self.validator = SpecValidator.of(VENDOR.spec)

    # -- errors ----------------------------------------------------------------------------------

    def error_response(self, error: CckmError) -> JSONResponse:
        status, body = envelope(error, self.switches.errors)
        return JSONResponse(body, status_code=status)

    def endpoint(self, handler: Endpoint, *, auth: bool = True) -> Endpoint:
        """``handler`` behind the bearer check; every refusal (and any surprise) as an envelope."""

        async def run(request: Request) -> Response:
            try:
                if auth:
                    self.authenticate(request)
                return await handler(request)
            except CckmError as error:
                return self.error_response(error)
            except Exception as exc:  # noqa: BLE001 - never leak a traceback as a non-envelope 500
                return self.error_response(InternalError(str(exc)))

        return run

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own refusals (no such route, wrong method) in the CipherTrust envelope."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            return self.error_response(NoRoute(f"no route for {request.url.path}"))
        if status == 405:
            return self.error_response(MethodNotAllowed(f"{request.method} is not allowed here"))
        return self.error_response(InternalError("unexpected error", status=status))

    # -- auth ------------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> str:
        """The user of the request's bearer JWT, if it is one this process signed and still valid."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise Unauthorized("Token is missing")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Bearer token malformed")
        payload = read_jwt(token.strip())
        if payload is None or payload.get("preferred_username") not in USERS:
            raise Unauthorized("Invalid token")
        self.check_expiry(payload)
        user = self.model.authorize(payload["preferred_username"])
        CALLER_DOMAIN.set(DOMAINS[user])  # what the model lets this request see
        return user

    def check_expiry(self, payload: dict[str, Any]) -> None:
        """Hook: ``token_expiry_checked`` off (fault expired-token-accepted) lets an expired JWT in."""
        expires = payload.get("exp")
        if not isinstance(expires, int) or (time.time() >= expires and self.switches.token_expiry_checked):
            late = int(time.time() - expires) if isinstance(expires, int) else 0
            raise Unauthorized(f"Bearer token malformed: Token is expired by {late}s")

    def token_answer(self, username: str, refresh_token: str) -> dict[str, Any]:
        now = time.time()
        duration = self.switches.token_duration
        return {
            "jwt": mint_jwt(username, now, now + duration),
            "duration": duration,
            "token_type": "Bearer",
            "client_id": str(uuid.uuid4()),
            "refresh_token": refresh_token,
            "refresh_token_expires_in": REFRESH_TOKEN_EXPIRES_IN,
            "refresh_token_id": str(uuid.uuid5(uuid.NAMESPACE_OID, refresh_token)),
        }

    async def tokens(self, request: Request) -> Response:
        body = await self.read_body(request, form_ok=True)
        self.validate("createToken", body)
        if body.get("grant_type", "password") == "refresh_token":
            username, refresh_token = self.model.refresh_grant(body.get("refresh_token"))
        else:
            username, refresh_token = self.model.password_grant(
                body.get("username", body.get("name")), body.get("password")
            )
        return JSONResponse(self.token_answer(username, refresh_token))

    # -- request parsing and validation ----------------------------------------------------------

    async def read_body(self, request: Request, *, form_ok: bool = False) -> Any:
        """The JSON body ({} when empty); a form body where the endpoint takes one."""
        raw = await request.body()
        if not raw.strip():
            return {}
        content_type = request.headers.get("content-type", "")
        if form_ok and "application/x-www-form-urlencoded" in content_type:
            return dict(parse_qsl(raw.decode("utf-8", "replace")))
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("invalid JSON in request body") from None

    def validate(self, operation_id: str, body: Any) -> None:
        """The body against the spec's request schema; the first problem is the answer."""
        problems = self.validator.body_problems(operation_id, self.schema_view(operation_id, body))
        if problems:
            problem = problems[0]
            where = f"{problem.field}: " if problem.field else ""
            raise InvalidParameter(f"Validation errors:\n{where}{problem.message}")

    def schema_view(self, operation_id: str, body: Any) -> Any:
        """What the schema sees of ``body``: the spec encodes some documented rules, so a fault that
        turns one off (policy-inputs-not-exclusive, sync-exclusive-accepted,
        rotation-job-config-optional) hides from the schema what it would refuse."""
        if not isinstance(body, dict):
            return body
        rules = self.switches.rules
        view = dict(body)
        if not rules.policy_inputs_exclusive and operation_id in _POLICY_INPUT_OPERATIONS:
            view.pop("policytemplate", None)
        if not rules.sync_inputs_exclusive and operation_id == "startAwsSyncJob" and view.get("kms"):
            view.pop("synchronize_all", None)
        if not self.switches.rotation_job_config_required and operation_id == "enableAwsKeyRotationJob":
            view.setdefault("job_config_id", "default")
        if operation_id in self.switches.unchecked_source_tiers:  # faults upload/import-any-source-tier
            view.pop("source_key_tier", None)
        if not self.switches.tag_values_checked and isinstance(view.get("tags"), list):
            view["tags"] = [  # fault tag-values-unchecked: the schema sees no tag value
                {k: v for k, v in t.items() if k != "tag_value"} if isinstance(t, dict) else t
                for t in view["tags"]
            ]
        return view

    def exclusive(self, body: dict[str, Any], policy: object) -> None:
        """The documented rule, unless fault policy-inputs-not-exclusive turns it off."""
        check_policy_inputs(
            policy, body.get("policytemplate"), _principals(body), self.switches.rules.policy_inputs_exclusive
        )

    def job_answer(self, job: dict[str, Any]) -> dict[str, Any]:
        """A synchronization job as answered (fault sync-job-without-status hides a field)."""
        return {k: v for k, v in job.items() if k not in self.switches.hidden_job_fields}

    def check_body(self, operation_id: str, body: Any) -> None:
        if operation_id == "replicateAwsKey" and isinstance(body, dict):
            aws_param = body.get("aws_param")
            policy = aws_param.get("Policy") if isinstance(aws_param, dict) else None
            self.exclusive(body, policy)
        if operation_id == "updateAwsKeyPolicy" and isinstance(body, dict):
            self.exclusive(body, body.get("policy", body.get("Policy")))
        if operation_id == "scheduleAwsKeyDeletion" and isinstance(body, dict) and self.lenient_days(body):
            return
        self.validate(operation_id, body)

    def lenient_days(self, body: dict[str, Any]) -> bool:
        """Hook for schedule-deletion's ``days`` (faults schedule-accepts-6-days, days-string-coerced).

        True: take the body unchecked (``days`` is one of ``unvalidated_days``); with
        ``digit_string_days`` a string of digits becomes the number before the check.
        """
        days = body.get("days")
        if days in self.switches.unvalidated_days:
            return True
        if self.switches.digit_string_days and isinstance(days, str) and days.strip().isdigit():
            body["days"] = int(days)
        return False

    def check_query(self, request: Request, query: dict[str, str], operation_id: str = "listAwsKeys") -> None:
        """List parameters against the spec; undocumented ones and odd filter values per the options."""
        problems = self.validator.parameter_problems(operation_id, "query", query)
        if self.switches.unknown_query_parameters == "reject":
            known = {p["name"] for p in self.validator.parameters[operation_id] if p.get("in") == "query"}
            unknown = sorted(set(request.query_params.keys()) - known)
            if unknown:
                raise InvalidParameter(f"Validation errors:\nunknown query parameter {unknown[0]!r}")
        if self.switches.filter_values == "match":
            # A filter value outside the documented enum is simply a value nothing matches.
            problems = [p for p in problems if p.field in ("skip", "limit")]
        if problems:
            raise InvalidParameter(f"Validation errors:\n{problems[0].message}")

    # -- rendering -------------------------------------------------------------------------------

    def render(self, key: Key) -> dict[str, Any]:
        """A key resource as CCKM answers it: the record, then aws_param (with Enabled derived)."""
        switches = self.switches
        aws = dict(key.aws)
        aws["Enabled"] = aws["KeyState"] in switches.enabled_flag_states
        aws["Alias"] = list(aws["Alias"])
        aws["Tags"] = [dict(t) for t in aws["Tags"]]
        policy = aws["Policy"]
        aws["Policy"] = json.dumps(policy, indent=2) if switches.policy_format == "string" else policy
        deletion = aws.pop("DeletionDate", None)
        config = aws.get("MultiRegionConfiguration")
        if not switches.lone_primary_configured and config and not config["ReplicaKeys"]:
            aws.pop("MultiRegionConfiguration")  # fault new-primary-unconfigured
        out = {k: v for k, v in key.record.items() if k not in switches.hidden_key_fields}
        out["labels"] = dict(key.record["labels"])
        if deletion and switches.deletion_date_shown:
            if switches.deletion_date_in in ("aws_param", "both"):
                aws["DeletionDate"] = deletion
            if switches.deletion_date_in in ("top", "both"):
                out["deletion_date"] = deletion
        out["aws_param"] = aws
        return out

    def list_answer(self, skip: int, limit: int, total: int, resources: list[dict[str, Any]]) -> Any:
        """The list envelope; ``list_shape``/``list_total`` are what faults list-bare-array/total-is-page-size change."""
        if self.switches.list_shape == "bare-array":
            return resources
        if self.switches.list_total == "page":
            total = len(resources)
        return {"skip": skip, "limit": limit, "total": total, "resources": resources}

    # -- the key collection ----------------------------------------------------------------------

    async def list_keys(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.check_query(request, query)
        skip = int(query.get("skip", 0))
        limit = int(query.get("limit", DEFAULT_LIMIT))
        page = self.model.list_keys(query, skip, limit)
        resources = [self.render(k) for k in page.keys]
        return JSONResponse(self.list_answer(skip, limit, page.total, resources))

    async def create_key(self, request: Request) -> Response:
        body = await self.read_body(request)
        if isinstance(body, dict):  # the documented rule answers before the schema's wording of it
            aws_param = body.get("aws_param")
            policy = aws_param.get("Policy") if isinstance(aws_param, dict) else None
            self.exclusive(body, policy)
        self.validate("createAwsKey", body)
        param = body.get("aws_param") or {}
        key = self.model.create_key(
            body["kms"], body["region"], param, _principals(body), body.get("policytemplate")
        )
        return JSONResponse(self.render(key), status_code=self.switches.create_status)

    async def upload_key(self, request: Request) -> Response:
        """``upload-key``: create's body and checks plus the source key; the key leaves Enabled."""
        body = await self.read_body(request)
        if isinstance(body, dict):
            aws_param = body.get("aws_param")
            policy = aws_param.get("Policy") if isinstance(aws_param, dict) else None
            self.exclusive(body, policy)
        self.validate("uploadAwsKey", body)
        expires = body.get("key_expiration", body.get("KeyExpiration"))
        key = self.model.upload_key(
            body["kms"],
            body["region"],
            body.get("aws_param") or {},
            _principals(body),
            body.get("policytemplate"),
            **_given(body, "source_key_tier", "source_key_identifier"),
            valid_to=body.get("valid_to") if expires else None,
        )
        return JSONResponse(self.render(key), status_code=self.switches.create_status)

    # -- synchronization jobs --------------------------------------------------------------------

    async def start_sync_job(self, request: Request) -> Response:
        body = await self.read_body(request)
        self.validate("startAwsSyncJob", body)
        job = self.model.start_sync_job(
            body.get("kms") or [], body.get("regions") or [], bool(body.get("synchronize_all"))
        )
        return JSONResponse(self.job_answer(job), status_code=self.switches.create_status)

    async def list_sync_jobs(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.check_query(request, query, "listAwsSyncJobs")
        skip = int(query.get("skip", 0))
        limit = int(query.get("limit", DEFAULT_LIMIT))
        total, jobs = self.model.list_sync_jobs(query, skip, limit)
        hidden = self.switches.hidden_listed_job_fields  # fault listed-jobs-without-kms
        resources = [{k: v for k, v in self.job_answer(job).items() if k not in hidden} for job in jobs]
        if self.switches.sync_list_shape == "bare-array":  # fault sync-list-bare-array
            return JSONResponse(resources)
        return JSONResponse({"skip": skip, "limit": limit, "total": total, "resources": resources})

    async def get_sync_job(self, request: Request) -> Response:
        return JSONResponse(self.job_answer(self.model.get_sync_job(request.path_params["id"])))

    async def cancel_sync_job(self, request: Request) -> Response:
        return JSONResponse(self.job_answer(self.model.cancel_sync_job(request.path_params["id"])))

    async def get_key(self, request: Request) -> Response:
        return JSONResponse(self.render(self.model.get_key(request.path_params["id"])))

    async def delete_key(self, request: Request) -> Response:
        self.model.delete_key(request.path_params["id"])
        return Response(status_code=204)

    async def list_rotations(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.check_query(request, query, "listAwsKeyRotations")
        skip = int(query.get("skip", 0))
        limit = int(query.get("limit", DEFAULT_LIMIT))
        total, rotations = self.model.list_rotations(request.path_params["id"], query, skip, limit)
        if self.switches.rotation_list_shape == "bare-array":  # fault rotations-bare-array
            return JSONResponse(rotations)
        return JSONResponse({"skip": skip, "limit": limit, "total": total, "resources": rotations})

    async def key_rotation_status(self, request: Request) -> Response:
        status = self.model.key_rotation_status(request.path_params["id"])
        if self.switches.rotation_flag_as_string:  # fault rotation-status-flag-string
            status["KeyRotationEnabled"] = str(status["KeyRotationEnabled"]).lower()
        return JSONResponse(status)

    async def refresh_key(self, request: Request) -> Response:
        return JSONResponse({"message": self.model.refresh_key(request.path_params["id"])})

    def action(self, action: Action) -> Endpoint:
        """An operation on one key: the body is checked before the key is looked up."""

        async def run(request: Request) -> Response:
            body: Any = {}
            if action.has_body:
                body = await self.read_body(request)
                self.check_body(action.operation_id, body)
            key = action.call(self.model, request.path_params["id"], body)
            return JSONResponse(self.render(key))

        return run

    # -- the app ---------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        routes = [
            Route(TOKENS_PATH, self.endpoint(self.tokens, auth=False), methods=["POST"]),
            Route(TOKENS_PATH + "/", self.endpoint(self.tokens, auth=False), methods=["POST"]),
            Route(KEYS_PATH, self.endpoint(self.list_keys), methods=["GET"]),
            Route(KEYS_PATH, self.endpoint(self.create_key), methods=["POST"]),
            Route(UPLOAD_PATH, self.endpoint(self.upload_key), methods=["POST"]),
            Route(SYNC_PATH, self.endpoint(self.list_sync_jobs), methods=["GET"]),
            Route(SYNC_PATH, self.endpoint(self.start_sync_job), methods=["POST"]),
            Route(SYNC_PATH + "/{id}", self.endpoint(self.get_sync_job), methods=["GET"]),
            Route(SYNC_PATH + "/{id}/cancel", self.endpoint(self.cancel_sync_job), methods=["POST"]),
            Route(KEYS_PATH + "/{id}", self.endpoint(self.get_key), methods=["GET"]),
            Route(KEYS_PATH + "/{id}", self.endpoint(self.delete_key), methods=["DELETE"]),
        ]
        for action in ACTIONS:
            path = f"{KEYS_PATH}/{{id}}/{action.path}"
            routes.append(Route(path, self.endpoint(self.action(action)), methods=["POST"]))
        routes.append(Route(f"{KEYS_PATH}/{{id}}/refresh", self.endpoint(self.refresh_key), methods=["POST"]))
        routes.append(
            Route(f"{KEYS_PATH}/{{id}}/rotations", self.endpoint(self.list_rotations), methods=["GET"])
        )
        routes.append(
            Route(
                f"{KEYS_PATH}/{{id}}/get-key-rotation-status",
                self.endpoint(self.key_rotation_status),
                methods=["POST"],
            )
        )
        return routes

    def app(self) -> Starlette:
        app = Starlette(routes=self.routes(), exception_handlers={HTTPException: self.http_error})
        app.state.mock = self
        app.state.backend = self.model
        return app


def create_app(config: MockConfig) -> Starlette:
    """A fresh mock (empty key store) with the switch values ``config`` selects."""
    switches = behaviour(config)
    return CckmResponses(CckmBackend(switches.rules), switches).app()


def credentials(config: MockConfig) -> dict[str, str]:
    """What a client needs: the admin login, a connection and region, and 403/expired tokens."""
    now = time.time()
    return {
        "username": USERNAME,
        "password": PASSWORD,
        "kms": DEFAULT_KMS,
        "region": DEFAULT_REGION,
        "other_region": OTHER_REGION,
        "forbidden_token": mint_jwt(FORBIDDEN_USERNAME, now, now + 86400),
        "other_token": mint_jwt(OTHER_DOMAIN_USERNAME, now, now + 86400),
        "expired_token": mint_jwt(USERNAME, now - 3600, now - 3300),
    }

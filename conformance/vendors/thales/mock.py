"""Reference mock of Thales CipherTrust Manager CCKM (AWS keys) and its token flow.

Facts: the sources cited in ``conformance/vendors/thales/catalogue.toml``.  Where is the state machine?
``_ACTIONS`` and the ``_op_*`` methods of ``ThalesMock`` (the mock's view) and
``TRANSITIONS`` in ``conformance/vendors/thales/profile.py`` (the checks' view).

* ``POST /api/v1/auth/tokens`` (with or without the trailing slash; JSON or form body): the
  password grant (``username`` or legacy ``name``) and the refresh_token grant (2.1).  JWTs are
  HS256-signed with a per-process random secret, carry a random ``jwtid`` and expire after
  ``duration`` seconds (option ``token_duration``, default 300).
* Every ``/api/v1/cckm/...`` call needs ``Authorization: Bearer <jwt>``: missing, unknown or
  expired -> 401 ``{code 5, NCERRUnauthorizedAccess}``; the ``auditor`` user -> 403.
* AWS connections (``kms``) with their regions; keys created through them.  The AWS KeyState
  machine of 7.2 / 9.  AWS-side refusals keep the AWS exception name and text in ``message``
  (``KMSInvalidStateException: arn:aws:kms:...:key/<KeyID> is pending deletion.``).
* Request bodies and list query parameters are validated with the spec's own schemas
  (``conformance.mocks.validation``); failures -> 400 ``{code 9, NCERRInvalidParamValue}``,
  unparsable JSON -> 400 ``{code 15, NCERRBadRequest}``.  Unknown id -> 404 ``{code 16}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.mocks.base import Fault, MockConfig, MockDefinition, Option
from conformance.mocks.validation import SpecValidator
from conformance.vendors.thales import VENDOR

ACCOUNT = "123456789012"
USERNAME = "admin"
PASSWORD = "KMS-conformance-1"
FORBIDDEN_USERNAME = "auditor"  # authenticates, but has no CCKM permission (403)
FORBIDDEN_PASSWORD = "KMS-conformance-auditor-1"
USERS = {USERNAME: PASSWORD, FORBIDDEN_USERNAME: FORBIDDEN_PASSWORD}
# Configured AWS connections (CCKM "kms" containers) and their regions.
CONNECTIONS: dict[str, dict[str, Any]] = {
    "aws-conformance": {
        "id": "0b90f8de-8617-498d-ad63-ca18eb717ae7",
        "regions": ("us-east-1", "eu-west-1", "ap-south-1"),
    },
}
DEFAULT_KMS = "aws-conformance"
DEFAULT_REGION = "us-east-1"
REFRESH_TOKEN_EXPIRES_IN = 1799

_SECRET = secrets.token_bytes(32)  # per process: tokens are unguessable, never constants
KEYS_PATH = "/api/v1/cckm/aws/keys"

FAULTS = (
    Fault("cancel_to_enabled", "TH-STATE-008", "cancel-deletion leaves the key Enabled instead of Disabled"),
    Fault(
        "cancel_from_any_state",
        "TH-STATE-009",
        "cancel-deletion succeeds on keys that are not pending deletion (moto behaviour)",
    ),
    Fault("enable_while_pending_deletion", "TH-STATE-003", "enable succeeds on a PendingDeletion key"),
    Fault(
        "disable_while_pending_import",
        "TH-STATE-005",
        "disable succeeds on a PendingImport key (-> Disabled)",
    ),
    Fault("schedule_twice", "TH-STATE-007", "schedule-deletion of a PendingDeletion key succeeds again"),
    Fault("no_deletion_date", "TH-STATE-010", "a PendingDeletion key carries no DeletionDate"),
    Fault("schedule_accepts_6_days", "TH-VAL-002", "schedule-deletion accepts days=6"),
    Fault("days_string_coerced", "TH-VAL-003", 'schedule-deletion accepts days as a numeric string ("7")'),
    Fault(
        "unknown_id_400",
        "TH-VAL-004",
        "an unknown key id is answered 400 NCERRInvalidParamValue instead of 404",
    ),
    Fault("envelope_missing_codedesc", "TH-ENV-001", "error bodies lack codeDesc"),
    # A schema-valid list with an unknown sort answered 500 is also "valid data rejected" (should).
    Fault(
        "server_error_on_unknown_sort",
        "TH-GEN-001",
        "list answers 500 when sort names an unknown field",
        may_also=("TH-GEN-004",),
    ),
    Fault("enabled_flag_stale", "TH-SHAPE-002", "aws_param.Enabled stays true on a Disabled key"),
    Fault("key_without_uri", "TH-SHAPE-001", "key resources lack uri"),
    Fault("expired_token_accepted", "TH-AUTH-006", "an expired JWT is still accepted"),
    Fault("bad_password_accepted", "TH-AUTH-002", "the password grant accepts any password of a known user"),
    Fault("refresh_grant_broken", "TH-AUTH-003", "the refresh_token grant refuses every refresh token (401)"),
    Fault("total_is_page_size", "TH-PAG-003", "list total counts the page instead of every match"),
    Fault(
        "list_bare_array",
        "TH-PAG-001",
        "list answers a bare array instead of {skip, limit, total, resources}",
        may_also=("TH-GEN-003",),
    ),
)

OPTIONS = (
    Option(
        "create_status",
        ("200", "201"),
        "200",
        "HTTP status of a successful create (unverified)",
    ),
    Option(
        "state_error_status",
        ("400", "409", "422"),
        "400",
        "HTTP status of an AWS state refusal (unverified; AWS uses 400)",
    ),
    Option(
        "validation_status",
        ("400", "422"),
        "400",
        "HTTP status of an invalid parameter (CM uses 422 'Validation errors' elsewhere)",
    ),
    Option(
        "unauthorized_code",
        ("5", "1"),
        "5",
        "401 envelope: 5 NCERRUnauthorizedAccess (stubs) or 1 NCERRUnauthorized (one fake)",
    ),
    Option(
        "policy_format",
        ("string", "object"),
        "string",
        "aws_param.Policy as a JSON string (TF) or an object (doc example)",
    ),
    Option(
        "deletion_date_in",
        ("aws_param", "top", "both"),
        "aws_param",
        "where a pending key's deletion date appears (unverified)",
    ),
    Option(
        "missing_days",
        ("default", "reject"),
        "default",
        "schedule-deletion without days: AWS default 30, or refused (unverified)",
    ),
    Option(
        "refresh_token_rotation",
        ("same", "new"),
        "same",
        "the refresh grant returns the same refresh token (3P claim) or a new one",
    ),
    Option("token_duration", ("300", "60", "5"), "300", "JWT lifetime in seconds (docs: 300)"),
    Option(
        "filter_values",
        ("validate", "match"),
        "validate",
        "list filters with a value outside the documented enum: refused (400), or matching nothing "
        "(an empty page; docs silent)",
        may_fail={"match": ("TH-GEN-004",)},
    ),
    Option(
        "unknown_query_parameters",
        ("reject", "ignore"),
        "reject",
        "list with an undocumented query parameter: 400 (what schema-driven negative testing expects) or ignored (docs silent)",
    ),
)

_KNOWN_SORT_FIELDS = {
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


# -- tokens ----------------------------------------------------------------------------------------


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


# -- errors ------------------------------------------------------------------------------------------


class CckmError(Exception):
    def __init__(self, status: int, code: int, name: str, short: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.name, self.short, self.message = status, code, name, short, message


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ts(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _default_policy() -> dict[str, Any]:
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


class ThalesMock:
    """In-memory CCKM: users, tokens, connections and AWS keys behind one lock."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.keys: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> username
        self.validator = SpecValidator(VENDOR.spec)
        self.duration = int(config.option("token_duration", "300"))

    def fault(self, name: str) -> bool:
        return self.config.has(name)

    def option(self, name: str) -> str:
        default = next(o.default for o in OPTIONS if o.name == name)
        return self.config.option(name, default)

    # -- error helpers -------------------------------------------------------------------------

    def error_response(self, err: CckmError) -> JSONResponse:
        body: dict[str, Any] = {
            "code": err.code,
            "codeDesc": f"{err.name}: {err.short}",
            "message": err.message,
            "requestID": str(uuid.uuid4()),
        }
        if self.fault("envelope_missing_codedesc"):
            del body["codeDesc"]
        return JSONResponse(body, status_code=err.status)

    def unauthorized(self, message: str) -> CckmError:
        if self.option("unauthorized_code") == "1":
            return CckmError(401, 1, "NCERRUnauthorized", "invalid credentials", message)
        return CckmError(401, 5, "NCERRUnauthorizedAccess", "Unauthorized", message)

    def invalid(self, message: str) -> CckmError:
        return CckmError(
            int(self.option("validation_status")),
            9,
            "NCERRInvalidParamValue",
            "Invalid parameter value",
            message,
        )

    def not_found(self, what: str = "Resource not found") -> CckmError:
        if self.fault("unknown_id_400"):
            return self.invalid(what)
        return CckmError(404, 16, "NCERRResourceNotFound", "Resource not found", what)

    def aws_error(self, exception: str, text: str) -> CckmError:
        """An AWS refusal as CCKM passes it through: the AWS exception name and text in message."""
        status = int(self.option("state_error_status"))
        return CckmError(status, 15, "NCERRBadRequest", "AWS request failed", f"{exception}: {text}")

    # -- plumbing ------------------------------------------------------------------------------

    async def read_body(self, request: Request, *, form_ok: bool = False) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        content_type = request.headers.get("content-type", "")
        if form_ok and "application/x-www-form-urlencoded" in content_type:
            return dict(parse_qsl(raw.decode("utf-8", "replace")))
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise CckmError(
                400, 15, "NCERRBadRequest", "Bad request", "invalid JSON in request body"
            ) from None

    def validate(self, operation_id: str, body: Any) -> None:
        problems = self.validator.body_problems(operation_id, body)
        if problems:
            problem = problems[0]
            field = f"{problem.field}: " if problem.field else ""
            raise self.invalid(f"Validation errors:\n{field}{problem.message}")

    def authenticate(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise self.unauthorized("Token is missing")
        if scheme.lower() != "bearer" or not token.strip():
            raise self.unauthorized("Bearer token malformed")
        payload = read_jwt(token.strip())
        if payload is None or payload.get("preferred_username") not in USERS:
            raise self.unauthorized("Invalid token")
        expires = payload.get("exp")
        if not isinstance(expires, int) or (
            time.time() >= expires and not self.fault("expired_token_accepted")
        ):
            late = int(time.time() - expires) if isinstance(expires, int) else 0
            raise self.unauthorized(f"Bearer token malformed: Token is expired by {late}s")
        user = payload["preferred_username"]
        if user == FORBIDDEN_USERNAME:
            raise CckmError(
                403,
                3,
                "NCERRForbidden",
                "Forbidden",
                "user is not authorized to perform this action on CCKM resources",
            )
        return user

    def handler(self, func: Callable[..., Any], *, auth: bool = True) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                if auth:
                    self.authenticate(request)
                return await func(request)
            except CckmError as err:
                return self.error_response(err)
            except Exception as exc:  # noqa: BLE001 - never leak a traceback as a non-envelope 500
                return self.error_response(
                    CckmError(500, 14, "NCERRInternalServerError", "unexpected error", str(exc))
                )

        return endpoint

    # -- token flow ----------------------------------------------------------------------------

    def issue(self, username: str, refresh_token: str | None = None) -> dict[str, Any]:
        now = time.time()
        if refresh_token is None or self.option("refresh_token_rotation") == "new":
            if refresh_token is not None:
                self.refresh_tokens.pop(refresh_token, None)
            refresh_token = secrets.token_hex(32)
            self.refresh_tokens[refresh_token] = username
        return {
            "jwt": mint_jwt(username, now, now + self.duration),
            "duration": self.duration,
            "token_type": "Bearer",
            "client_id": str(uuid.uuid4()),
            "refresh_token": refresh_token,
            "refresh_token_expires_in": REFRESH_TOKEN_EXPIRES_IN,
            "refresh_token_id": str(uuid.uuid5(uuid.NAMESPACE_OID, refresh_token)),
        }

    async def tokens(self, request: Request) -> Response:
        body = await self.read_body(request, form_ok=True)
        self.validate("createToken", body)
        grant = body.get("grant_type", "password")
        with self.lock:
            if grant == "refresh_token":
                token = body.get("refresh_token")
                username = self.refresh_tokens.get(token) if isinstance(token, str) else None
                if username is None or self.fault("refresh_grant_broken"):
                    raise self.unauthorized("Invalid token")
                return JSONResponse(self.issue(username, token))
            username = body.get("username", body.get("name"))
            password = body.get("password")
            expected = USERS.get(username) if isinstance(username, str) else None
            if expected is None or (password != expected and not self.fault("bad_password_accepted")):
                raise self.unauthorized("Wrong username or password.")
            return JSONResponse(self.issue(username))

    # -- key rendering -------------------------------------------------------------------------

    def render(self, key: dict[str, Any]) -> dict[str, Any]:
        aws = dict(key["aws"])
        state = aws["KeyState"]
        aws["Enabled"] = state == "Enabled" or (self.fault("enabled_flag_stale") and state == "Disabled")
        aws["Alias"] = list(aws["Alias"])
        aws["Tags"] = [dict(t) for t in aws["Tags"]]
        policy = aws["Policy"]
        aws["Policy"] = json.dumps(policy, indent=2) if self.option("policy_format") == "string" else policy
        deletion = aws.pop("DeletionDate", None)
        out = {k: v for k, v in key.items() if k not in ("aws",)}
        out["labels"] = dict(key["labels"])
        if deletion and not self.fault("no_deletion_date"):
            where = self.option("deletion_date_in")
            if where in ("aws_param", "both"):
                aws["DeletionDate"] = deletion
            if where in ("top", "both"):
                out["deletion_date"] = deletion
        if self.fault("key_without_uri"):
            out.pop("uri", None)
        out["aws_param"] = aws
        return out

    def new_key(
        self, kms: str, region: str, param: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        connection = CONNECTIONS[kms]
        key_id = str(uuid.uuid4())
        aws_id = str(uuid.uuid4())
        if param.get("MultiRegion"):
            aws_id = "mrk-" + uuid.uuid4().hex
        now = _ts(_now())
        spec = param.get("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT")
        usage = param.get("KeyUsage") or (
            "SIGN_VERIFY"
            if spec.startswith("ECC")
            else "GENERATE_VERIFY_MAC"
            if spec.startswith("HMAC")
            else "ENCRYPT_DECRYPT"
        )
        origin = param.get("Origin", "AWS_KMS")
        alias = param.get("Alias")
        aws: dict[str, Any] = {
            "AWSAccountId": ACCOUNT,
            "Arn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{aws_id}",
            "KeyID": aws_id,
            "KeyState": "PendingImport" if origin == "EXTERNAL" else "Enabled",
            "KeyManager": "CUSTOMER",
            "KeyUsage": usage,
            "Origin": origin,
            "CustomerMasterKeySpec": spec,
            "Description": param.get("Description", ""),
            "CreationDate": now[:19] + "Z",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"] if spec == "SYMMETRIC_DEFAULT" else [],
            "KeyRotationEnabled": False,
            "MultiRegion": bool(param.get("MultiRegion", False)),
            "Alias": [alias if alias.startswith("alias/") else f"alias/{alias}"] if alias else [],
            "Tags": [
                {"TagKey": t["TagKey"], "TagValue": t.get("TagValue", "")} for t in param.get("Tags", [])
            ],
            "Policy": param.get("Policy") or _default_policy(),
        }
        if origin == "EXTERNAL":
            aws["ExpirationModel"] = ""
        key = {
            "id": key_id,
            "uri": f"kylo:kylo:cckm:aws-key:{key_id}",
            "account": "kylo:kylo:admin:accounts:kylo",
            "application": "ncryptify:gemalto:admin:apps:kylo",
            "devAccount": "ncryptify:gemalto:admin:accounts:gemalto",
            "createdAt": now,
            "updatedAt": now,
            "kms_id": connection["id"],
            "kms": kms,
            "synced_at": now,
            "rotation_status": "",
            "cloud_name": "aws",
            "key_type": "symmetric" if spec == "SYMMETRIC_DEFAULT" else spec.split("_")[0].lower(),
            "basic_view_enabled": False,
            "region": region,
            "gone": False,
            "key_material_origin": "unknown" if origin == "EXTERNAL" else "native",
            "labels": {},
            "aws": aws,
        }
        key.update(extra or {})
        self.keys[key_id] = key
        return key

    # -- collection ----------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        body = await self.read_body(request)
        self.validate("createAwsKey", body)
        kms_ref = body["kms"]
        kms = next((name for name, c in CONNECTIONS.items() if kms_ref in (name, c["id"])), None)
        if kms is None:
            raise self.not_found(f"AWS KMS connection {kms_ref!r} not found")
        region = body["region"]
        if region not in CONNECTIONS[kms]["regions"]:
            raise self.invalid(f"region {region!r} is not configured in AWS KMS connection {kms!r}")
        param = body.get("aws_param") or {}
        with self.lock:
            alias = param.get("Alias")
            if alias:
                self.check_alias_free(region, alias if alias.startswith("alias/") else f"alias/{alias}")
            extra = {
                name: body[name]
                for name in (
                    "external_accounts",
                    "key_admins",
                    "key_admins_roles",
                    "key_users",
                    "key_users_roles",
                )
                if name in body
            }
            key = self.new_key(kms, region, param, extra)
            return JSONResponse(self.render(key), status_code=int(self.option("create_status")))

    def check_alias_free(self, region: str, alias: str) -> None:
        for key in self.keys.values():
            if key["region"] == region and alias in key["aws"]["Alias"]:
                raise self.aws_error(
                    "AlreadyExistsException",
                    f"An alias with the name arn:aws:kms:{region}:{ACCOUNT}:{alias} already exists",
                )

    async def list_keys(self, request: Request) -> Response:
        query = dict(request.query_params)
        problems = self.validator.parameter_problems("listAwsKeys", "query", query)
        if self.option("unknown_query_parameters") == "reject":
            known = {p["name"] for p in self.validator.parameters["listAwsKeys"] if p.get("in") == "query"}
            unknown = sorted(set(request.query_params.keys()) - known)
            if unknown:
                raise self.invalid(f"Validation errors:\nunknown query parameter {unknown[0]!r}")
        if self.option("filter_values") == "match":
            # A filter value outside the documented enum is simply a value nothing matches.
            problems = [p for p in problems if p.field in ("skip", "limit")]
        if problems:
            raise self.invalid(f"Validation errors:\n{problems[0].message}")
        skip = int(query.get("skip", 0))
        limit = int(query.get("limit", 10))
        with self.lock:
            matches = [k for k in self.keys.values() if self.matches(k, query)]
            sort = query.get("sort")
            if sort:
                for field in reversed([f.strip() for f in sort.split(",") if f.strip()]):
                    name = field.lstrip("-")
                    if name not in _KNOWN_SORT_FIELDS:
                        if self.fault("server_error_on_unknown_sort"):
                            raise CckmError(
                                500,
                                14,
                                "NCERRInternalServerError",
                                "unexpected error",
                                f"unknown sort field {name}",
                            )
                        continue
                    matches.sort(
                        key=lambda k, n=name: str(self.field_value(k, n)), reverse=field.startswith("-")
                    )
            page = matches[skip:] if limit == -1 else matches[skip : skip + limit]
            resources = [self.render(k) for k in page]
        if self.fault("list_bare_array"):
            return JSONResponse(resources)
        total = len(resources) if self.fault("total_is_page_size") else len(matches)
        return JSONResponse({"skip": skip, "limit": limit, "total": total, "resources": resources})

    @staticmethod
    def field_value(key: dict[str, Any], name: str) -> Any:
        if name in key:
            return key[name]
        return key["aws"].get(name, "")

    @staticmethod
    def matches(key: dict[str, Any], query: dict[str, str]) -> bool:
        aws = key["aws"]

        def flag(value: bool) -> str:
            return "true" if value else "false"

        checks: dict[str, Callable[[str], bool]] = {
            "id": lambda v: key["id"] == v,
            "keyid": lambda v: aws["KeyID"] == v,
            "arn": lambda v: aws["Arn"] == v,
            "alias": lambda v: v in aws["Alias"] or f"alias/{v}" in aws["Alias"],
            "kms": lambda v: key["kms"] == v,
            "kms_id": lambda v: key["kms_id"] == v,
            "region": lambda v: key["region"] == v,
            "cloud_name": lambda v: key["cloud_name"] == v,
            "origin": lambda v: aws["Origin"] == v,
            "job_config_id": lambda v: key["labels"].get("job_config_id") == v,
            "enabled": lambda v: flag(aws["KeyState"] == "Enabled") == v,
            "gone": lambda v: flag(key["gone"]) == v,
            "keystate": lambda v: aws["KeyState"] == v,
            "keyusage": lambda v: aws["KeyUsage"] == v,
            "rotation_job_enabled": lambda v: flag("job_config_id" in key["labels"]) == v,
            "key_material_origin": lambda v: key["key_material_origin"] == v,
            "multi_region": lambda v: flag(aws["MultiRegion"]) == v,
            "multi_region_key_type": lambda v: aws["MultiRegion"] and v == "PRIMARY",
        }
        return all(check(query[name]) for name, check in checks.items() if name in query)

    # -- one key -------------------------------------------------------------------------------

    def key(self, request: Request) -> dict[str, Any]:
        key = self.keys.get(request.path_params["id"])
        if key is None:
            raise self.not_found()
        return key

    async def get(self, request: Request) -> Response:
        with self.lock:
            return JSONResponse(self.render(self.key(request)))

    async def delete(self, request: Request) -> Response:
        with self.lock:
            key = self.key(request)
            del self.keys[key["id"]]
        return Response(status_code=204)

    def action(
        self, operation_id: str, func: Callable[[dict[str, Any], Any], Any], has_body: bool
    ) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            body: Any = {}
            if has_body:
                body = await self.read_body(request)
                self.check_body(operation_id, body)
            with self.lock:
                key = self.key(request)
                result = func(key, body)
                if isinstance(result, Response):
                    return result
                key["updatedAt"] = _ts(_now())
                return JSONResponse(self.render(result if isinstance(result, dict) else key))

        return run

    def check_body(self, operation_id: str, body: Any) -> None:
        if operation_id == "scheduleAwsKeyDeletion" and isinstance(body, dict):
            days = body.get("days")
            if self.fault("schedule_accepts_6_days") and days == 6:
                return
            if self.fault("days_string_coerced") and isinstance(days, str) and days.strip().isdigit():
                body["days"] = int(days)
        self.validate(operation_id, body)

    @staticmethod
    def arn(key: dict[str, Any]) -> str:
        return key["aws"]["Arn"]

    def state_error(self, key: dict[str, Any]) -> CckmError:
        state = key["aws"]["KeyState"]
        text = {
            "PendingDeletion": "is pending deletion.",
            "PendingReplicaDeletion": "is pending deletion.",
            "PendingImport": "is pending import.",
        }.get(state, f"is {state}.")
        return self.aws_error("KMSInvalidStateException", f"{self.arn(key)} {text}")

    def set_state(self, key: dict[str, Any], state: str) -> None:
        key["aws"]["KeyState"] = state
        if state != "PendingDeletion":
            key["aws"].pop("DeletionDate", None)

    def _op_enable(self, key: dict[str, Any], body: Any) -> None:
        state = key["aws"]["KeyState"]
        if state == "PendingDeletion" and self.fault("enable_while_pending_deletion"):
            return self.set_state(key, "Enabled")
        if state not in ("Enabled", "Disabled"):
            raise self.state_error(key)
        self.set_state(key, "Enabled")

    def _op_disable(self, key: dict[str, Any], body: Any) -> None:
        state = key["aws"]["KeyState"]
        if state == "PendingImport" and self.fault("disable_while_pending_import"):
            return self.set_state(key, "Disabled")
        if state not in ("Enabled", "Disabled"):
            raise self.state_error(key)
        self.set_state(key, "Disabled")

    def _op_schedule(self, key: dict[str, Any], body: Any) -> None:
        if "days" not in body and self.option("missing_days") == "reject":
            raise self.invalid("Validation errors:\ndays: days is a required field")
        days = body.get("days", 30)
        state = key["aws"]["KeyState"]
        if state in ("PendingDeletion", "PendingReplicaDeletion") and not self.fault("schedule_twice"):
            raise self.state_error(key)
        self.set_state(key, "PendingDeletion")
        key["aws"]["DeletionDate"] = (_now() + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _op_cancel(self, key: dict[str, Any], body: Any) -> None:
        state = key["aws"]["KeyState"]
        if state not in ("PendingDeletion", "PendingReplicaDeletion") and not self.fault(
            "cancel_from_any_state"
        ):
            raise self.aws_error("KMSInvalidStateException", f"{self.arn(key)} is not pending deletion.")
        self.set_state(key, "Enabled" if self.fault("cancel_to_enabled") else "Disabled")

    def refuse_pending_deletion(self, key: dict[str, Any]) -> None:
        if key["aws"]["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
            raise self.state_error(key)

    def _op_description(self, key: dict[str, Any], body: Any) -> None:
        self.refuse_pending_deletion(key)
        key["aws"]["Description"] = body["description"]

    def _op_add_alias(self, key: dict[str, Any], body: Any) -> None:
        self.refuse_pending_deletion(key)
        alias = body["alias"] if body["alias"].startswith("alias/") else f"alias/{body['alias']}"
        if alias not in key["aws"]["Alias"]:
            self.check_alias_free(key["region"], alias)
            key["aws"]["Alias"].append(alias)

    def _op_delete_alias(self, key: dict[str, Any], body: Any) -> None:
        alias = body["alias"] if body["alias"].startswith("alias/") else f"alias/{body['alias']}"
        if alias not in key["aws"]["Alias"]:
            raise self.aws_error(
                "NotFoundException", f"Alias arn:aws:kms:{key['region']}:{ACCOUNT}:{alias} is not found."
            )
        key["aws"]["Alias"].remove(alias)

    def _op_add_tags(self, key: dict[str, Any], body: Any) -> None:
        self.refuse_pending_deletion(key)
        tags = key["aws"]["Tags"]
        for tag in body["tags"]:
            tags[:] = [t for t in tags if t["TagKey"] != tag["tag_key"]]
            tags.append({"TagKey": tag["tag_key"], "TagValue": tag.get("tag_value", "")})

    def _op_remove_tags(self, key: dict[str, Any], body: Any) -> None:
        self.refuse_pending_deletion(key)
        key["aws"]["Tags"] = [t for t in key["aws"]["Tags"] if t["TagKey"] not in body["tags"]]

    def _op_policy(self, key: dict[str, Any], body: Any) -> None:
        policy = body.get("policy") or body.get("Policy")
        if policy:
            key["aws"]["Policy"] = policy
        for name in ("external_accounts", "key_admins", "key_admins_roles", "key_users", "key_users_roles"):
            if name in body:
                kind = "role" if name.endswith("roles") else "user"
                key[name] = [
                    v if v.startswith("arn:") else f"arn:aws:iam::{ACCOUNT}:{kind}/{v}" for v in body[name]
                ]
        if "policytemplate" in body:
            key["aws"]["Tags"] = [t for t in key["aws"]["Tags"] if t["TagKey"] != "cckm_policy_template_id"]
            key["aws"]["Tags"].append(
                {"TagKey": "cckm_policy_template_id", "TagValue": body["policytemplate"]}
            )

    def check_rotation(self, key: dict[str, Any]) -> None:
        aws = key["aws"]
        if aws["Origin"] != "AWS_KMS" or aws["CustomerMasterKeySpec"] != "SYMMETRIC_DEFAULT":
            raise self.aws_error(
                "UnsupportedOperationException",
                f"{aws['Arn']} origin is {aws['Origin']} which is not valid for this operation.",
            )
        if aws["KeyState"] == "Disabled":
            raise self.aws_error("DisabledException", f"{aws['Arn']} is disabled.")
        if aws["KeyState"] != "Enabled":
            raise self.state_error(key)

    def _op_enable_rotation(self, key: dict[str, Any], body: Any) -> None:
        self.check_rotation(key)
        period = body.get("rotation_period_in_days", 365)
        key["aws"].update(
            KeyRotationEnabled=True,
            RotationPeriodInDays=period,
            NextRotationDate=(_now() + dt.timedelta(days=period)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def _op_disable_rotation(self, key: dict[str, Any], body: Any) -> None:
        self.check_rotation(key)
        key["aws"]["KeyRotationEnabled"] = False
        key["aws"].pop("RotationPeriodInDays", None)
        key["aws"].pop("NextRotationDate", None)

    def _op_rotate(self, key: dict[str, Any], body: Any) -> dict[str, Any]:
        self.refuse_pending_deletion(key)
        aws = key["aws"]
        param = {
            "CustomerMasterKeySpec": aws["CustomerMasterKeySpec"],
            "KeyUsage": aws["KeyUsage"],
            "Description": body.get("description", aws["Description"]),
            "Policy": aws["Policy"],
        }
        new = self.new_key(key["kms"], key["region"], param, {"rotated_from": key["id"]})
        if body.get("retain_alias"):
            new["aws"]["Alias"], aws["Alias"] = aws["Alias"], []
        key["rotated_to"] = new["id"]
        key["rotation_status"] = "rotated"
        return new

    def _op_import(self, key: dict[str, Any], body: Any) -> None:
        aws = key["aws"]
        if aws["Origin"] != "EXTERNAL":
            raise self.aws_error(
                "UnsupportedOperationException",
                f"{aws['Arn']} origin is {aws['Origin']} which is not valid for this operation.",
            )
        if aws["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
            raise self.state_error(key)
        self.set_state(key, "Enabled")
        key["key_material_origin"] = "cckm"
        key["key_source"] = body.get("source_key_tier", "local")
        key["local_key_id"] = secrets.token_hex(32)
        key["local_key_name"] = body.get("source_key_identifier", "kms-conformance-material")
        if body.get("key_expiration") and body.get("valid_to"):
            aws.update(ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=body["valid_to"])
        else:
            aws["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
            aws.pop("ValidTo", None)

    def _op_delete_material(self, key: dict[str, Any], body: Any) -> None:
        aws = key["aws"]
        if aws["Origin"] != "EXTERNAL":
            raise self.aws_error(
                "UnsupportedOperationException",
                f"{aws['Arn']} origin is {aws['Origin']} which is not valid for this operation.",
            )
        if aws["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion"):
            self.set_state(key, "PendingImport")
        aws.pop("ValidTo", None)
        aws["ExpirationModel"] = ""

    def _op_refresh(self, key: dict[str, Any], body: Any) -> Response:
        key["synced_at"] = _ts(_now())
        return JSONResponse({"message": f"AWS key '{key['id']}' will be refreshed and persisted"})

    # -- app -----------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        actions = [
            ("enable", "enableAwsKey", self._op_enable, False),
            ("disable", "disableAwsKey", self._op_disable, False),
            ("schedule-deletion", "scheduleAwsKeyDeletion", self._op_schedule, True),
            ("cancel-deletion", "cancelAwsKeyDeletion", self._op_cancel, False),
            ("update-description", "updateAwsKeyDescription", self._op_description, True),
            ("add-alias", "addAwsKeyAlias", self._op_add_alias, True),
            ("delete-alias", "deleteAwsKeyAlias", self._op_delete_alias, True),
            ("add-tags", "addAwsKeyTags", self._op_add_tags, True),
            ("remove-tags", "removeAwsKeyTags", self._op_remove_tags, True),
            ("policy", "updateAwsKeyPolicy", self._op_policy, True),
            ("enable-auto-rotation", "enableAwsKeyAutoRotation", self._op_enable_rotation, True),
            ("disable-auto-rotation", "disableAwsKeyAutoRotation", self._op_disable_rotation, False),
            ("rotate", "rotateAwsKey", self._op_rotate, True),
            ("import-material", "importAwsKeyMaterial", self._op_import, True),
            ("delete-material", "deleteAwsKeyMaterial", self._op_delete_material, True),
            ("refresh", "refreshAwsKey", self._op_refresh, False),
        ]
        routes = [
            Route("/api/v1/auth/tokens", self.handler(self.tokens, auth=False), methods=["POST"]),
            Route("/api/v1/auth/tokens/", self.handler(self.tokens, auth=False), methods=["POST"]),
            Route(KEYS_PATH, self.handler(self.list_keys), methods=["GET"]),
            Route(KEYS_PATH, self.handler(self.create), methods=["POST"]),
            Route(KEYS_PATH + "/{id}", self.handler(self.get), methods=["GET"]),
            Route(KEYS_PATH + "/{id}", self.handler(self.delete), methods=["DELETE"]),
        ]
        for path, op_id, func, has_body in actions:
            routes.append(
                Route(
                    f"{KEYS_PATH}/{{id}}/{path}",
                    self.handler(self.action(op_id, func, has_body)),
                    methods=["POST"],
                )
            )
        return routes

    def app(self) -> Starlette:
        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            if status == 404:
                err = CckmError(
                    404, 16, "NCERRResourceNotFound", "Resource not found", f"no route for {request.url.path}"
                )
            elif status == 405:
                err = CckmError(
                    405, 15, "NCERRBadRequest", "Method not allowed", f"{request.method} is not allowed here"
                )
            else:
                err = CckmError(
                    status, 14, "NCERRInternalServerError", "unexpected error", "unexpected error"
                )
            return self.error_response(err)

        app = Starlette(routes=self.routes(), exception_handlers={HTTPException: http_error})
        app.state.mock = self
        return app


def create_app(config: MockConfig) -> Starlette:
    return ThalesMock(config).app()


def credentials(config: MockConfig) -> dict[str, str]:
    """What a client needs: the admin login, a connection and region, and 403/expired tokens."""
    now = time.time()
    return {
        "username": USERNAME,
        "password": PASSWORD,
        "kms": DEFAULT_KMS,
        "region": DEFAULT_REGION,
        "forbidden_token": mint_jwt(FORBIDDEN_USERNAME, now, now + 86400),
        "expired_token": mint_jwt(USERNAME, now - 3600, now - 3300),
    }


MOCK = MockDefinition(
    vendor="thales", faults=FAULTS, options=OPTIONS, create_app=create_app, credentials=credentials
)

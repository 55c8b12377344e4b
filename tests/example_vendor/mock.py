"""The example vendor's bundled mock: three routes over a dict of keys, one fault, no options."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conformance.mocks.base import Fault, MockConfig, MockDefinition

TOKEN = "example-token-0123"
KEY_ID = re.compile(r"^[0-9a-f]{32}$")
FAULTS = (
    Fault("delete-twice-allowed", "EX-STATE-003", "scheduling deletion of a pending-deletion key succeeds"),
)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(config: MockConfig) -> Starlette:
    keys: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def create(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "unauthenticated", "a bearer token is needed")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "bad_request", "the body is not JSON")
        description = body.get("description", "") if isinstance(body, dict) else None
        if not isinstance(description, str) or len(description) > 64:
            return _error(400, "bad_request", "description must be a string of at most 64 characters")
        key = {"id": uuid.uuid4().hex, "state": "enabled", "description": description}
        with lock:
            keys[key["id"]] = key
        return JSONResponse(key)

    def find(request: Request) -> dict[str, Any] | JSONResponse:
        if not authorised(request):
            return _error(401, "unauthenticated", "a bearer token is needed")
        key_id = request.path_params["key_id"]
        if not KEY_ID.match(key_id):
            return _error(400, "bad_request", "keyId is 32 hex digits")
        key = keys.get(key_id)
        return key if key is not None else _error(404, "not_found", "no such key")

    async def get(request: Request) -> JSONResponse:
        key = find(request)
        return key if isinstance(key, JSONResponse) else JSONResponse(key)

    async def schedule_deletion(request: Request) -> JSONResponse:
        key = find(request)
        if isinstance(key, JSONResponse):
            return key
        with lock:
            if key["state"] == "pending-deletion" and not config.has("delete-twice-allowed"):
                return _error(409, "conflict", "the key is already pending deletion")
            key["state"] = "pending-deletion"
        return JSONResponse(key)

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return _error(404, "no_such_api", "no such API")

    return Starlette(
        routes=[
            Route("/v1/keys", create, methods=["POST"]),
            Route("/v1/keys/{key_id}", get, methods=["GET"]),
            Route("/v1/keys/{key_id}/schedule-deletion", schedule_deletion, methods=["POST"]),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )


MOCK = MockDefinition(
    vendor="example",
    faults=FAULTS,
    options=(),
    create_app=create_app,
    credentials=lambda config: {"token": TOKEN},
)

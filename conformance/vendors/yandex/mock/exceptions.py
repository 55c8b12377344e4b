"""Yandex KMS mock errors: ``ApiError`` (a gRPC code and a message) and the answers it becomes.

Where is the error envelope?  ``status_body``: a ``google.rpc.Status`` ``{code, message,
details}`` whose details carry a ``google.rpc.RequestInfo``; the same body is an HTTP error
answer and an Operation's ``error``.  ``error_answer`` picks the HTTP status from the gRPC code
(``conformance.grpc_codes``: 16->401, 7->403, 5->404, 3/9->400, ...).  No Starlette here:
responses.py wraps these bodies in JSON responses.
"""

from __future__ import annotations

import uuid
from typing import Any

from conformance.grpc_codes import HTTP_OF_CODE

TYPE = "type.googleapis.com/"
# Not a gRPC code: the undocumented-status-on-bad-token fault's answer, HTTP 422.
UNPROCESSABLE = 0
# Starlette's own "method not allowed" (a route exists, the method does not): no request id.
METHOD_NOT_ALLOWED: dict[str, Any] = {"code": 12, "message": "Method not allowed", "details": []}


class ApiError(Exception):
    """A refusal with a gRPC code.

    ``precondition`` marks a state-rule violation: options choose its code and whether it is an
    HTTP error or an Operation that ends in error (models.py ``run_operation``).
    """

    def __init__(self, code: int, message: str, *, precondition: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.precondition = precondition


def status_body(code: int, message: str, request_id: str | None = None) -> dict[str, Any]:
    """google.rpc.Status; a fresh request id unless the error already has one."""
    return {
        "code": code,
        "message": message,
        "details": [{"@type": TYPE + "google.rpc.RequestInfo", "requestId": request_id or str(uuid.uuid4())}],
    }


def error_answer(code: int, message: str, *, flat: bool = False) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of an error; ``flat`` is the flat-error-body fault's ``{"error": message}``."""
    if code == UNPROCESSABLE:
        return 422, {"code": 3, "message": message, "details": []}
    status = HTTP_OF_CODE.get(code, 500)
    if flat:
        return status, {"error": message}
    return status, status_body(code, message)


def internal_answer(exc: Exception) -> tuple[int, dict[str, Any]]:
    """A crash inside a handler (only a fault causes one): 500 with code 13, always a Status."""
    return 500, status_body(13, str(exc))

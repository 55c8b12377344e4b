"""Thales mock errors: the refusals the model and the request layer raise, and the envelope they become.

Where is the error envelope?  ``envelope()`` here: every 4xx/5xx answer is
``{code, codeDesc: "NCERR<Name>: <short>", message, requestID}``.  Which status, code and name a
refusal gets is its ``kind``'s row in ``_ANSWERS``; the rows an option or a fault may change
(statuses, the 401 code, the envelope's fields, a kind answered as another) are ``ErrorAnswers``
values, which faults.py builds.  No HTTP framework here: responses.py writes the JSON response.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

ENVELOPE_FIELDS: tuple[str, ...] = ("code", "codeDesc", "message", "requestID")


class CckmError(Exception):
    """A refusal: ``kind`` picks the answer row, ``message`` is the envelope's detail text."""

    kind: ClassVar[str] = "internal"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # overrides the row's status (an unexpected framework status)


class Unauthorized(CckmError):
    """No, an unknown or an expired JWT; bad credentials on the token endpoint (401)."""

    kind = "unauthorized"


class Forbidden(CckmError):
    """An authenticated user without CCKM permission (403)."""

    kind = "forbidden"


class InvalidParameter(CckmError):
    """A request value the spec or a documented rule refuses (code 9)."""

    kind = "invalid"


class BadRequest(CckmError):
    """A body that is not JSON at all (code 15, always 400)."""

    kind = "bad-request"


class NotFound(CckmError):
    """An unknown key id or AWS connection (404 code 16; fault unknown-id-400 answers it as invalid)."""

    kind = "not-found"


class NoRoute(CckmError):
    """A path the mock does not serve (404 code 16, whatever a fault does to unknown ids)."""

    kind = "no-route"


class MethodNotAllowed(CckmError):
    kind = "method-not-allowed"


class AwsRefusal(CckmError):
    """An AWS refusal as CCKM passes it through: the AWS exception name and text in ``message``."""

    kind = "aws"

    def __init__(self, exception: str, text: str) -> None:
        super().__init__(f"{exception}: {text}")
        self.exception = exception


class InternalError(CckmError):
    kind = "internal"


@dataclass(frozen=True)
class Answer:
    """What a refusal kind is answered with."""

    status: int
    code: int
    name: str  # the NCERR name that starts codeDesc
    short: str  # the text after it


@dataclass(frozen=True)
class ErrorAnswers:
    """The parts of the error answers a switch can change; the defaults are the chosen ones.

    The statuses and the 401 code are options (sources disagree or are silent); ``envelope_fields``
    and ``answered_as`` are what faults change.
    """

    validation_status: int = 400  # option validation-status
    state_error_status: int = 400  # option state-error-status (AWS refusals)
    unauthorized_code: str = "5"  # option unauthorized-code
    envelope_fields: tuple[str, ...] = ENVELOPE_FIELDS
    answered_as: Mapping[str, str] = field(default_factory=dict)  # kind -> the kind whose row answers it


def _answers(style: ErrorAnswers) -> dict[str, Answer]:
    """Refusal kind -> its answer under ``style``."""
    unauthorized = (
        Answer(401, 1, "NCERRUnauthorized", "invalid credentials")
        if style.unauthorized_code == "1"
        else Answer(401, 5, "NCERRUnauthorizedAccess", "Unauthorized")
    )
    return {
        "unauthorized": unauthorized,
        "forbidden": Answer(403, 3, "NCERRForbidden", "Forbidden"),
        "invalid": Answer(style.validation_status, 9, "NCERRInvalidParamValue", "Invalid parameter value"),
        "bad-request": Answer(400, 15, "NCERRBadRequest", "Bad request"),
        "not-found": Answer(404, 16, "NCERRResourceNotFound", "Resource not found"),
        "no-route": Answer(404, 16, "NCERRResourceNotFound", "Resource not found"),
        "method-not-allowed": Answer(405, 15, "NCERRBadRequest", "Method not allowed"),
        "aws": Answer(style.state_error_status, 15, "NCERRBadRequest", "AWS request failed"),
        "internal": Answer(500, 14, "NCERRInternalServerError", "unexpected error"),
    }


def answer_for(error: CckmError, style: ErrorAnswers) -> Answer:
    answer = _answers(style)[style.answered_as.get(error.kind, error.kind)]
    if error.status is not None:
        return Answer(error.status, answer.code, answer.name, answer.short)
    return answer


def envelope(error: CckmError, style: ErrorAnswers) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of the CipherTrust error envelope for ``error``; a fresh requestID each time."""
    answer = answer_for(error, style)
    body = {
        "code": answer.code,
        "codeDesc": f"{answer.name}: {answer.short}",
        "message": error.message,
        "requestID": str(uuid.uuid4()),
    }
    return answer.status, {name: body[name] for name in style.envelope_fields}

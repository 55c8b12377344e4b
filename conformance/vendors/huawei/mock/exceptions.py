"""Huawei KMS mock errors: the code table, field -> code, credential refusals, the envelopes.

Where is the error envelope?  ``ENVELOPES`` here: KMS errors answer ``{"error": {error_code,
error_msg}}``, the API gateway's (APIGW.xxxx) a flat ``{error_code, error_msg, request_id}``.
Which one an answer uses is a ``Behaviour`` value (faults.py may change it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# code -> (HTTP status, documented message)
MESSAGES = {
    "KMS.0101": (500, "KMS error."),
    "KMS.0202": (400, "Invalid JSON format of the request message."),
    "KMS.0204": (400, "Parameters missing in the request message."),
    "KMS.0205": (400, "Invalid key ID."),
    "KMS.0206": (400, "Invalid sequence number."),
    "KMS.0207": (404, "The key does not exist."),
    "KMS.0209": (400, "The key has been disabled."),
    "KMS.0210": (400, "The key is in Scheduled deletion state and cannot be used."),
    "KMS.0301": (403, "Invalid or null X-Auth-Token."),
    "KMS.0302": (403, "Invalid X-Auth-Token."),
    "KMS.0303": (403, "X-Auth-Token expired."),
    "KMS.0306": (403, "No access permissions."),
    "KMS.0308": (400, "Invalid parameter."),
    "KMS.0309": (400, "The key origin must be external."),
    "KMS.0310": (400, "The key is not in Pending import state."),
    "KMS.0311": (400, "Failed to decrypt the data with the RSA private key."),
    "KMS.0312": (400, "External keys cannot be rotated."),
    "KMS.0313": (400, "Key rotation is not enabled."),
    "KMS.0321": (403, "URIs in URL and X-Auth-Token do not match."),
    "KMS.0401": (400, "The tag list cannot be empty."),
    "KMS.0404": (400, "Invalid action."),
    "KMS.0405": (400, "Invalid tag value."),
    "KMS.0406": (400, "Invalid tag key."),
    "KMS.0409": (400, "Too many tags."),
    "KMS.0416": (404, "Invalid tag ID."),
    "KMS.0417": (400, "Invalid offset."),
    "KMS.1101": (400, "Invalid key_alias."),
    "KMS.1103": (400, "Invalid key_description."),
    "KMS.1104": (400, "Duplicate key aliases."),
    "KMS.1105": (400, "Too many keys."),
    "KMS.1201": (400, "The key is not disabled."),
    "KMS.1301": (400, "The key is not enabled."),
    "KMS.1401": (400, "Set the pending deletion period between 7 to 1096 days."),
    "KMS.1402": (400, "The key is already in Pending deletion state."),
    "KMS.1501": (400, "The key is not in Pending deletion state."),
    "KMS.1601": (400, "Invalid limit."),
    "KMS.1602": (400, "marker must be greater than or equals 0."),
    "KMS.1901": (400, "datakey_length must be in the range 8 bits to 8,192 bits."),
    "KMS.1903": (400, "datakey_length must be a multiple of 8 (whole bytes)."),
    "KMS.1801": (400, "Invalid random_data_length."),
    "KMS.2001": (400, "Invalid datakey_length."),
    "KMS.2101": (400, "Invalid plain_text."),
    "KMS.2102": (400, "Invalid datakey_plain_length."),
    "KMS.2103": (400, "The data key digest does not match."),
    "KMS.2201": (400, "Invalid cipher_text."),
    "KMS.2202": (400, "Invalid datakey_cipher_length."),
    "KMS.2203": (400, "The data key digest does not match."),
    "KMS.2401": (400, "The operations cannot be only create-grant."),
    "KMS.2402": (400, "Invalid grantee or retiring principal."),
    "KMS.2404": (400, "Too many grants on the key."),
    "KMS.2501": (400, "The grant does not exist."),
    "KMS.2502": (400, "The grant_id does not match the key_id."),
    "KMS.2601": (400, "The import token has expired."),
    "KMS.2602": (400, "The expiration time of the imported key must be later than the current time."),
    "KMS.2603": (400, "The key_id does not match the key_id in the import token."),
    "KMS.2604": (400, "The external key material has the wrong length."),
    "KMS.2605": (400, "Failed to verify the import token."),
    "KMS.2606": (400, "Re-imported key material must be the material imported before."),
    "KMS.2701": (400, "Key material can be deleted only when the key is enabled or disabled."),
    "KMS.2901": (400, "Key rotation is not disabled."),
    "KMS.3001": (400, "Invalid rotation_interval."),
}

# Field -> the KMS code its validation failure maps to (the DEW API and error-code pages).
FIELD_CODES: Mapping[str, str] = {
    "key_id": "KMS.0205",
    "sequence": "KMS.0206",
    "key_alias": "KMS.1101",
    "key_description": "KMS.1103",
    "pending_days": "KMS.1401",
    "limit": "KMS.1601",
    "marker": "KMS.1602",
    "offset": "KMS.0417",
    "datakey_length": "KMS.1901",
    "plain_text": "KMS.2101",
    "datakey_plain_length": "KMS.2102",
    "datakey_cipher_length": "KMS.2202",
    "random_data_length": "KMS.1801",
    "cipher_text": "KMS.2201",
    "rotation_interval": "KMS.3001",
    "action": "KMS.0404",
    "tag": "KMS.0406",
    "tags": "KMS.0406",
    "grantee_principal": "KMS.2402",
    "retiring_principal": "KMS.2402",
}
OTHER_FIELD_CODE = "KMS.0308"  # a field FIELD_CODES does not name
# More specific codes the error-code page gives for some values of a field
# (https://support.huaweicloud.com/api-dew/ErrorCode.md): datakey_length within range but not a
# whole number of bytes, and a batch-tags request whose tag list is empty.
NOT_WHOLE_BYTES = "KMS.1903"
EMPTY_TAG_LIST = "KMS.0401"
# The error table's code for datakey_length in create-datakey-without-plaintext.
WITHOUT_PLAINTEXT_LENGTH = "KMS.2001"
# create-grant whose operations are only create-grant (the error table's create-grant row).
ONLY_CREATE_GRANT = "KMS.2401"
INVALID_KEY_ID = "KMS.0205"  # a key_id in the path that is not key-id shaped


class KmsError(Exception):
    """A KMS service error (KMS.xxxx): status and default message from ``MESSAGES``."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status, default = MESSAGES.get(code, (400, "Invalid parameter."))
        self.message = message or default


class GatewayError(Exception):
    """An API gateway error (APIGW.xxxx): answered before KMS sees the request."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def no_such_api() -> GatewayError:
    """The gateway's answer to a path or method it does not route."""
    return GatewayError(
        404, "APIGW.0101", "The API does not exist or has not been published in the environment"
    )


def bad_signature(problem: str) -> GatewayError:
    return GatewayError(401, "APIGW.0301", f"Incorrect IAM authentication information: {problem}")


@dataclass(frozen=True)
class Refusal:
    """A documented refusal of a credential: a KMS code, or (with ``gateway_status``) the gateway's."""

    code: str
    message: str | None = None
    gateway_status: int | None = None

    def error(self) -> KmsError | GatewayError:
        """A fresh exception to raise (one per request)."""
        if self.gateway_status is None:
            return KmsError(self.code, self.message)
        return GatewayError(self.gateway_status, self.code, self.message or "")


# What kind of credential -> how it is refused (None: served).  The gateway answers first for
# missing and unknown tokens (401 APIGW.0301); KMS refuses expired and unpermitted ones (403).
CREDENTIAL_REFUSALS: Mapping[str, Refusal | None] = {
    "missing": Refusal("APIGW.0301", "Incorrect IAM authentication information: x-auth-token not found", 401),
    "invalid": Refusal("APIGW.0301", "Incorrect IAM authentication information: decrypt token fail", 401),
    "expired": Refusal("KMS.0303"),
    "forbidden": Refusal("KMS.0306"),
    "valid": None,
}
# The KMS-side alternatives (option missing-credentials / invalid-token = kms-403).
KMS_MISSING_TOKEN = Refusal("KMS.0301")
KMS_INVALID_TOKEN = Refusal("KMS.0302")

Envelope = Callable[[str, str, str], dict[str, Any]]  # (code, message, request_id) -> body

ENVELOPES: Mapping[str, Envelope] = {
    # KMS: every documented error status carries an "error" object.
    "wrapped": lambda code, message, request_id: {"error": {"error_code": code, "error_msg": message}},
    # The API gateway: flat, with the request id in the body.
    "flat": lambda code, message, request_id: {
        "error_code": code,
        "error_msg": message,
        "request_id": request_id,
    },
    # Undocumented (fault bare-error-body).
    "bare": lambda code, message, request_id: {"message": message},
}

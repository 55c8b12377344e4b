"""Yandex Cloud KMS symmetric keys: ``/kms/v1/keys`` with custom verbs, asynchronous ``Operation``s.

Where is the Yandex state machine?  ``TRANSITIONS`` below (the checks' view) and
``conformance/vendors/yandex/mock/models.py`` (the mock's view).  Facts and their sources: ``NOTES.md`` beside this file and the ``source``/``basis`` of each row in ``catalogue.toml``.

State names used in the tables (a key plus its *subject* version, the version created with it):

| name | meaning |
|---|---|
| ``enabled`` | key ACTIVE, subject ACTIVE and primary (a fresh key) |
| ``disabled`` | key INACTIVE |
| ``protected`` | key ACTIVE with deletionProtection on |
| ``rotated`` | key ACTIVE, subject ACTIVE but no longer primary (after Rotate) |
| ``version-scheduled`` | subject SCHEDULED_FOR_DESTRUCTION |
| ``version-destroyed`` | subject DESTROYED (needs a target whose clock can be advanced: the bundled mock) |
| ``deleted`` | the key was deleted: Get answers 404 |

Mutating calls answer an ``Operation``; ``call()`` polls it on the operation service until done
(bounded wait) and returns the final operation as the body.  If the operation ended in error,
the Outcome's ``code`` is that gRPC code and its status the HTTP status of the first answer (200),
so refusals accept both "HTTP 400 + code" and "200 + Operation error + code".
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from conformance.auth.tokens import RenewingAuth
from conformance.grpc_codes import HTTP_OF_CODE
from conformance.profiles.base import (
    MISSING,
    CleanupRefused,
    NotCovered,
    Outcome,
    Probe,
    Profile,
    TargetError,
    Transition,
    read_json,
)
from conformance.profiles.polling import Polling
from conformance.transport import is_loopback
from conformance.verdict import StepFailed

REAL_KMS_HOST = "kms.api.cloud.yandex.net"
REAL_OPERATION_URL = "https://operation.api.cloud.yandex.net"
REAL_CRYPTO_URL = "https://kms.yandex"
KMS = "type.googleapis.com/yandex.cloud.kms.v1."


STATES: dict[str, str] = {
    "enabled": "enabled",
    "disabled": "disabled",
    "protected": "enabled",
    "rotated": "enabled",
    "version-scheduled": "pending-deletion",
    "version-destroyed": "destroyed",
    "deleted": "destroyed",
}
ALIASES = {"ACTIVE": "enabled", "INACTIVE": "disabled"}

# operation -> (method, path template, default body or query, returns an Operation)
OPERATIONS: dict[str, tuple[str, str, dict[str, Any], bool]] = {
    "create": (
        "POST",
        "/kms/v1/keys",
        {
            "folderId": "{folder}",
            "name": "{name}",
            "labels": "{labels}",
            "description": "{description}",
            "defaultAlgorithm": "AES_256",
        },
        True,
    ),
    "list": ("GET", "/kms/v1/keys", {"folderId": "{folder}"}, False),
    "get": ("GET", "/kms/v1/keys/{key_id}", {}, False),
    "list_versions": ("GET", "/kms/v1/keys/{key_id}/versions", {}, False),
    "list_operations": ("GET", "/kms/v1/keys/{key_id}/operations", {}, False),
    "update": (
        "PATCH",
        "/kms/v1/keys/{key_id}",
        {"updateMask": "description", "description": "{description}"},
        True,
    ),
    "disable": ("PATCH", "/kms/v1/keys/{key_id}", {"updateMask": "status", "status": "INACTIVE"}, True),
    "enable": ("PATCH", "/kms/v1/keys/{key_id}", {"updateMask": "status", "status": "ACTIVE"}, True),
    "protect": (
        "PATCH",
        "/kms/v1/keys/{key_id}",
        {"updateMask": "deletionProtection", "deletionProtection": True},
        True,
    ),
    "unprotect": (
        "PATCH",
        "/kms/v1/keys/{key_id}",
        {"updateMask": "deletionProtection", "deletionProtection": False},
        True,
    ),
    "delete": ("DELETE", "/kms/v1/keys/{key_id}", {}, True),
    "rotate": ("POST", "/kms/v1/keys/{key_id}:rotate", {}, True),
    "set_primary": ("POST", "/kms/v1/keys/{key_id}:setPrimaryVersion", {"versionId": "{version}"}, True),
    "schedule_version_destruction": (
        "POST",
        "/kms/v1/keys/{key_id}:scheduleVersionDestruction",
        {"versionId": "{version}"},
        True,
    ),
    "cancel_version_destruction": (
        "POST",
        "/kms/v1/keys/{key_id}:cancelVersionDestruction",
        {"versionId": "{version}"},
        True,
    ),
    "list_access_bindings": ("GET", "/kms/v1/keys/{key_id}:listAccessBindings", {}, False),
    "set_access_bindings": ("POST", "/kms/v1/keys/{key_id}:setAccessBindings", {"accessBindings": []}, True),
    "encrypt": (
        "POST",
        "/kms/v1/keys/{key_id}:encrypt",
        {"plaintext": base64.b64encode(b"kms-conformance").decode()},
        False,
    ),
    "generate_data_key": ("POST", "/kms/v1/keys/{key_id}:generateDataKey", {"dataKeySpec": "AES_256"}, False),
    "decrypt": ("POST", "/kms/v1/keys/{key_id}:decrypt", {}, False),
    "re_encrypt": ("POST", "/kms/v1/keys/{key_id}:reEncrypt", {}, False),
}


# -- asymmetric keys (AsymmetricEncryptionKeyService, AsymmetricSignatureKeyService, their crypto) ----


@dataclass(frozen=True)
class KeyPair:
    """A kind of scratch key pair that state names ask for: ``<kind>-<status>`` (``sig-rsa-disabled``)."""

    prefix: str  # the call names' prefix: "enc" or "sig"
    collection: str  # /kms/v1/<collection>
    package: str  # the protobuf package of its messages
    message: str  # the key message
    algorithm_field: str
    algorithm: str  # what the scratch key pair is created with


KEY_PAIRS: dict[str, KeyPair] = {
    "enc": KeyPair(
        "enc",
        "asymmetricEncryptionKeys",
        "yandex.cloud.kms.v1.asymmetricencryption.",
        "AsymmetricEncryptionKey",
        "encryptionAlgorithm",
        "RSA_2048_ENC_OAEP_SHA_256",
    ),
    "sig": KeyPair(
        "sig",
        "asymmetricSignatureKeys",
        "yandex.cloud.kms.v1.asymmetricsignature.",
        "AsymmetricSignatureKey",
        "signatureAlgorithm",
        "ECDSA_NIST_P256_SHA_256",
    ),
    "sig-rsa": KeyPair(
        "sig",
        "asymmetricSignatureKeys",
        "yandex.cloud.kms.v1.asymmetricsignature.",
        "AsymmetricSignatureKey",
        "signatureAlgorithm",
        "RSA_2048_SIGN_PSS_SHA_256",
    ),
}
PAIR_STATUSES = ("enabled", "disabled", "protected", "deleted")
PAIR_MESSAGE = b"kms-conformance asymmetric check"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
# the protos' algorithm names -> (key kind, RSA bits or curve name, hash)
PAIR_ALGORITHMS: dict[str, tuple[str, Any, type[hashes.HashAlgorithm]]] = {
    "RSA_2048_ENC_OAEP_SHA_256": ("rsa", 2048, hashes.SHA256),
    "RSA_2048_SIGN_PSS_SHA_256": ("rsa", 2048, hashes.SHA256),
    "ECDSA_NIST_P256_SHA_256": ("ec", "secp256r1", hashes.SHA256),
}


def pair_state(state: str) -> tuple[str, str] | None:
    """(kind, status) of a key-pair state name, or None for a symmetric key's state."""
    kind, _, status = state.rpartition("-")
    return (kind, status) if kind in KEY_PAIRS and status in PAIR_STATUSES else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pair_operations(pair: KeyPair) -> dict[str, tuple[str, str, dict[str, Any], bool]]:
    root = f"/kms/v1/{pair.collection}"
    key = root + "/{key_id}"
    p = pair.prefix

    def update(mask: str, value: Any) -> tuple[str, str, dict[str, Any], bool]:
        return ("PATCH", key, {"updateMask": mask, mask: value}, True)

    ops: dict[str, tuple[str, str, dict[str, Any], bool]] = {
        f"{p}_create": (
            "POST",
            root,
            {
                "folderId": "{folder}",
                "name": "{name}",
                "labels": "{labels}",
                "description": "{description}",
                pair.algorithm_field: pair.algorithm,
            },
            True,
        ),
        f"{p}_list": ("GET", root, {"folderId": "{folder}", "pageSize": "1000"}, False),
        f"{p}_get": ("GET", key, {}, False),
        f"{p}_disable": update("status", "INACTIVE"),
        f"{p}_enable": update("status", "ACTIVE"),
        f"{p}_protect": update("deletionProtection", True),
        f"{p}_unprotect": update("deletionProtection", False),
        f"{p}_delete": ("DELETE", key, {}, True),
        f"{p}_update": ("PATCH", key, {}, True),
        f"{p}_list_operations": ("GET", key + "/operations", {}, False),
        f"{p}_public_key": ("GET", key + "/publicKey", {}, False),
        f"{p}_set_access_bindings": ("POST", key + ":setAccessBindings", {"accessBindings": []}, True),
    }
    if p == "enc":
        ops["enc_decrypt"] = ("POST", key + ":decrypt", {"ciphertext": "{ciphertext}"}, False)
    else:
        ops["sig_sign"] = ("POST", key + ":sign", {"message": _b64(PAIR_MESSAGE)}, False)
        digest = hashlib.sha256(PAIR_MESSAGE).digest()  # the scratch pairs' algorithms hash with SHA-256
        ops["sig_sign_hash"] = ("POST", key + ":signHash", {"hash": _b64(digest)}, False)
    return ops


OPERATIONS.update(_pair_operations(KEY_PAIRS["enc"]))
OPERATIONS.update(_pair_operations(KEY_PAIRS["sig"]))
# Calls made of several requests (``YandexProfile._pair_call``): the public key is read first (a
# set-up step), the crypto call's outcome carries what the check needs to judge it.
PAIR_CALLS = {
    "enc_decrypt_round_trip",
    "sig_sign_verified",
    "sig_sign_hash_verified",
    "enc_list_finds",
    "sig_list_finds",
}
PAIR_OPERATION_IDS: dict[str, str] = {
    **{
        f"{p}_{call}": f"{verb}AsymEncryption{noun}" if p == "enc" else f"{verb}AsymSignature{noun}"
        for p in ("enc", "sig")
        for call, verb, noun in (
            ("create", "create", "Key"),
            ("list", "list", "Keys"),
            ("list_finds", "list", "Keys"),
            ("get", "get", "Key"),
            ("disable", "update", "Key"),
            ("enable", "update", "Key"),
            ("protect", "update", "Key"),
            ("unprotect", "update", "Key"),
            ("delete", "delete", "Key"),
            ("update", "update", "Key"),
            ("list_operations", "list", "KeyOperations"),
            ("public_key", "get", "PublicKey"),
            ("set_access_bindings", "set", "KeyAccessBindings"),
        )
    },
    "enc_decrypt": "asymmetricDecrypt",
    "enc_decrypt_round_trip": "asymmetricDecrypt",
    "sig_sign": "asymmetricSign",
    "sig_sign_verified": "asymmetricSign",
    "sig_sign_hash": "asymmetricSignHash",
    "sig_sign_hash_verified": "asymmetricSignHash",
}
CRYPTO_OPERATIONS = {"encrypt", "generate_data_key", "decrypt", "re_encrypt"}
# The response type each Operation-returning call declares (the methods' descriptors).
RESPONSE_TYPES = {
    **dict.fromkeys(
        ("create", "update", "disable", "enable", "protect", "unprotect", "rotate", "set_primary", "delete"),
        "SymmetricKey",
    ),
    **dict.fromkeys(("schedule_version_destruction", "cancel_version_destruction"), "SymmetricKeyVersion"),
}

STATUS_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}

# RFC 3339 date-time: the reference says "RFC3339 text format"; Z or a numeric offset.
TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
DURATION = re.compile(r"^-?[0-9]+(\.[0-9]{1,9})?s$")
CAMEL = re.compile(r"^(@type|[a-z][a-zA-Z0-9]*)$")
TIMESTAMP_FIELDS = {"createdAt", "modifiedAt", "rotatedAt", "destroyAt"}
DURATION_FIELDS = {"rotationPeriod", "pendingPeriod"}


@dataclass(frozen=True)
class OperationOutcome(Outcome):
    """An Outcome for an Operation-returning call: ``body`` is the final Operation.

    Only finished, readable Operations become outcomes: ``YandexProfile._readable`` raises
    ``StepFailed`` for the rest.
    """

    first_body: Any = None
    polls: int = 0


# -- checks (each returns an error string or None) ------------------------------------------------


def _parse_ts(text: str) -> datetime:
    text = re.sub(r"\.([0-9]{1,6})[0-9]*Z$", r".\1Z", text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _walk(value: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """(path, field name, value) of every object member, skipping label maps."""
    found = []
    if isinstance(value, dict):
        for name, item in value.items():
            found.append((f"{path}.{name}", name, item))
            if name != "labels":
                found.extend(_walk(item, f"{path}.{name}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_walk(item, f"{path}[{i}]"))
    return found


def _done(outcome: Outcome) -> str | None:
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if body.get("done") is not True:
        return f"operation is not done: {str(body)[:300]}"
    return None


def _envelope(outcome: Outcome) -> str | None:
    bodies = [outcome.body]
    if isinstance(outcome, OperationOutcome):
        bodies.insert(0, outcome.first_body)
    for body in bodies:
        if not isinstance(body, dict):
            return f"not an Operation: {str(body)[:200]}"
        if "done" not in body:
            return f"Operation {body.get('id')} has no done field"
        both = "error" in body and "response" in body
        if both:
            return f"Operation {body.get('id')} carries both error and response"
        if body["done"] is True and "error" not in body and "response" not in body:
            return f"done Operation {body.get('id')} carries neither error nor response"
        if body["done"] is not True and "response" in body:
            return f"unfinished Operation {body.get('id')} already carries a response"
    return _done(outcome)


def _types(metadata: str, response: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        problem = _done(outcome)
        if problem:
            return problem
        body = outcome.body
        got_meta = (body.get("metadata") or {}).get("@type")
        if got_meta != KMS + metadata:
            return f"metadata @type is {got_meta!r}, expected {KMS + metadata!r}"
        got = (body.get("response") or {}).get("@type")
        if "error" not in body and got != KMS + response:
            return f"response @type is {got!r}, expected {KMS + response!r}"
        return None

    return check


def _response(outcome: Outcome) -> dict[str, Any]:
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if "done" in body and "metadata" in body:
        return body.get("response") or {}
    return body


def _all(*checks: Callable[[Outcome], str | None]) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        for one in checks:
            problem = one(outcome)
            if problem:
                return problem
        return None

    return check


def _refused(*codes: str) -> Callable[[Outcome], str | None]:
    """A refusal: HTTP 4xx with the code, or HTTP 200 whose Operation ended in error with the code."""

    def check(outcome: Outcome) -> str | None:
        if outcome.status >= 400 and outcome.code is None:
            return None  # no readable google.rpc.Status: the envelope requirement owns that
        if outcome.code not in codes:
            detail = f"operation error {outcome.code}" if outcome.code else "it succeeded"
            return f"expected a refusal with gRPC code {' or '.join(codes)}, but {detail}: {str(outcome.body)[:300]}"
        return None

    return check


def _not_camel_case(body: Any) -> str | None:
    """The path of the first field whose name is not lowerCamelCase, or None."""
    return next((path for path, name, _ in _walk(body) if not CAMEL.match(name)), None)


def _camel_case(outcome: Outcome) -> str | None:
    path = _not_camel_case(outcome.body)
    return f"field {path} is not lowerCamelCase" if path else None


def _timestamps(outcome: Outcome) -> str | None:
    found = 0
    for path, name, value in _walk(outcome.body):
        if name in TIMESTAMP_FIELDS:
            found += 1
            if not isinstance(value, str) or not TIMESTAMP.match(value):
                return f"{path} = {value!r} is not an RFC 3339 UTC timestamp with Z"
    return None if found else "no timestamp in the body"


def _durations(expected: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        value = _response(outcome).get("rotationPeriod")
        if not isinstance(value, str) or not DURATION.match(value):
            return f"rotationPeriod = {value!r} is not a proto3 JSON duration like {expected!r}"
        if float(value[:-1]) != float(expected[:-1]):
            return f"rotationPeriod = {value!r}, expected {expected!r}"
        return None

    return check


def _new_key(outcome: Outcome) -> str | None:
    key = _response(outcome)
    version = key.get("primaryVersion") or {}
    if key.get("status") != "ACTIVE":
        return f"new key status is {key.get('status')!r}, expected 'ACTIVE'"
    if version.get("status") != "ACTIVE" or version.get("primary") is not True:
        return f"the new key's primaryVersion is not an ACTIVE primary version: {version}"
    if version.get("algorithm") != key.get("defaultAlgorithm"):
        return f"primaryVersion algorithm {version.get('algorithm')!r} != defaultAlgorithm {key.get('defaultAlgorithm')!r}"
    return None


def _first_names_key(outcome: Outcome) -> str | None:
    first = outcome.first_body if isinstance(outcome, OperationOutcome) else outcome.body
    meta = (first or {}).get("metadata") or {}
    if not meta.get("keyId"):
        return f"the first answer to Create has no metadata.keyId: {str(first)[:300]}"
    return None


def _scheduled(outcome: Outcome) -> str | None:
    version = _response(outcome)
    if version.get("status") != "SCHEDULED_FOR_DESTRUCTION":
        return f"scheduled version has status {version.get('status')!r}"
    if not version.get("destroyAt"):
        return "scheduled version has no destroyAt"
    meta_at = (outcome.body.get("metadata") or {}).get("destroyAt")
    if meta_at and _parse_ts(meta_at) != _parse_ts(version["destroyAt"]):
        return f"version destroyAt {version['destroyAt']} != metadata destroyAt {meta_at}"
    return None


def _default_pending(outcome: Outcome) -> str | None:
    version = _response(outcome)
    created = outcome.body.get("createdAt")
    if not version.get("destroyAt") or not created:
        return f"cannot compare destroyAt with the operation's createdAt: {str(outcome.body)[:300]}"
    delta = (_parse_ts(version["destroyAt"]) - _parse_ts(created)).total_seconds()
    if abs(delta - 604800) > 120:
        return f"destroyAt is {delta:.0f}s after the request, expected 604800s (7 days)"
    return None


def _cancelled(outcome: Outcome) -> str | None:
    version = _response(outcome)
    if version.get("status") != "ACTIVE":
        return f"cancelled version has status {version.get('status')!r}, expected 'ACTIVE'"
    return None


def _no_destroy_at(outcome: Outcome) -> str | None:
    version = _response(outcome)
    if version.get("destroyAt"):
        return f"cancelled version still has destroyAt {version['destroyAt']}"
    return None


def _rotated(outcome: Outcome) -> str | None:
    key = _response(outcome)
    new = (outcome.body.get("metadata") or {}).get("newPrimaryVersionId")
    primary = (key.get("primaryVersion") or {}).get("id")
    if not new or primary != new:
        return f"after Rotate the primary version is {primary!r}, not the new version {new!r}"
    return None


def _primary_set(outcome: Outcome) -> str | None:
    key = _response(outcome)
    wanted = (outcome.body.get("metadata") or {}).get("versionId")
    primary = (key.get("primaryVersion") or {}).get("id")
    if primary != wanted:
        return f"after SetPrimaryVersion the primary version is {primary!r}, not {wanted!r}"
    return None


def _lists_operations(outcome: Outcome) -> str | None:
    operations = (outcome.body or {}).get("operations") or []
    if not operations:
        return "ListOperations of a key that was created and rotated lists no operation"
    for op in operations:
        if "id" not in op or "done" not in op or "@type" not in (op.get("metadata") or {}):
            return f"listed operation lacks id, done or metadata @type: {str(op)[:200]}"
    return None


def _served_operation(outcome: Outcome) -> str | None:
    body = outcome.body or {}
    if not body.get("id") or "done" not in body:
        return f"GET /operations/{{id}} did not answer an Operation: {str(body)[:200]}"
    return None


# -- asymmetric key checks --------------------------------------------------------------------------

TYPE = "type.googleapis.com/"


@dataclass(frozen=True)
class PairOutcome(Outcome):
    """The outcome of a key-pair call made of several requests (``PAIR_CALLS``), with what its check needs."""

    key_id: str = ""
    public_key: Any = None  # the pair's public key, as ``cryptography`` loaded it
    sent: bytes = b""  # the message signed, the digest signed, or the plaintext encrypted
    algorithm: str = ""
    prehashed: bool = False


def _path_key_id(outcome: Outcome) -> str:
    """The key id a ``/kms/v1/<collection>/{keyId}[/…|:verb]`` request named."""
    parts = outcome.response.request.url.path.split("/")
    collections = {pair.collection for pair in KEY_PAIRS.values()}
    at = next((i for i, part in enumerate(parts) if part in collections), len(parts))
    return parts[at + 1].partition(":")[0] if at + 1 < len(parts) else ""


def public_key_problem(outcome: Outcome) -> str | None:
    """Why a GetPublicKey answer is not ``{keyId, publicKey}`` with a PEM SubjectPublicKeyInfo, or None."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    pem = body.get("publicKey")
    if outcome.status != 200 or not isinstance(pem, str):
        return f"GetPublicKey answered {outcome.status} without a publicKey string: {str(outcome.body)[:200]}"
    if body.get("keyId") != _path_key_id(outcome):
        return f"GetPublicKey names keyId {body.get('keyId')!r}, not the key asked for"
    if not pem.lstrip().startswith("-----BEGIN PUBLIC KEY-----"):
        return f"publicKey is not a PEM SubjectPublicKeyInfo (-----BEGIN PUBLIC KEY-----): {pem[:80]!r}"
    try:
        serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        return f"publicKey does not load as a PEM SubjectPublicKeyInfo: {exc}"
    return None


def _public_key_of(algorithm: str) -> Callable[[Outcome], str | None]:
    kind, size, _ = PAIR_ALGORITHMS[algorithm]

    def check(outcome: Outcome) -> str | None:
        problem = public_key_problem(outcome)
        if problem:
            return problem
        key = serialization.load_pem_public_key(outcome.body["publicKey"].encode())
        if kind == "rsa":
            if not isinstance(key, rsa.RSAPublicKey) or key.key_size != size:
                return f"{algorithm}: the public key should be RSA with a {size}-bit modulus, is {_describe(key)}"
        elif not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != size:
            return f"{algorithm}: the public key should be ECDSA on {size}, is {_describe(key)}"
        return None

    return check


def _describe(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


def _verifies(outcome: Outcome) -> str | None:
    """The signature in the answer verifies with the pair's public key over what was sent."""
    if not isinstance(outcome, PairOutcome) or outcome.public_key is None:
        return "no public key to verify the signature with"
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if body.get("keyId") != outcome.key_id:
        return f"the answer names keyId {body.get('keyId')!r}, not {outcome.key_id!r}"
    try:
        signature = base64.b64decode(body.get("signature", ""), validate=True)
    except ValueError:
        return f"signature is not base64: {str(body.get('signature'))[:80]!r}"
    _, _, hash_type = PAIR_ALGORITHMS[outcome.algorithm]
    algorithm: Any = utils.Prehashed(hash_type()) if outcome.prehashed else hash_type()
    key = outcome.public_key
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, outcome.sent, ec.ECDSA(algorithm))
        else:
            # RFC 8017 RSASSA-PSS, MGF1 of the algorithm's hash; the salt length is not documented
            pss = padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=padding.PSS.AUTO)
            key.verify(signature, outcome.sent, pss, algorithm)
    except (InvalidSignature, ValueError):
        what = "digest" if outcome.prehashed else "message"
        return f"the {outcome.algorithm} signature does not verify with the key pair's public key over the {what}"
    return None


def _decrypted(outcome: Outcome) -> str | None:
    if not isinstance(outcome, PairOutcome):
        return "no plaintext to compare with"
    body = outcome.body if isinstance(outcome.body, dict) else {}
    try:
        plaintext = base64.b64decode(body.get("plaintext", ""), validate=True)
    except ValueError:
        return f"plaintext is not base64: {str(body.get('plaintext'))[:80]!r}"
    if body.get("keyId") != outcome.key_id:
        return f"the answer names keyId {body.get('keyId')!r}, not {outcome.key_id!r}"
    if plaintext != outcome.sent:
        return f"Decrypt answered {plaintext[:64]!r}, but the public key encrypted {outcome.sent!r}"
    return None


def _listed(expected: bool) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        key_id = outcome.key_id if isinstance(outcome, PairOutcome) else ""
        keys = (outcome.body or {}).get("keys") or [] if isinstance(outcome.body, dict) else []
        found = any(isinstance(k, dict) and k.get("id") == key_id for k in keys)
        if found and not expected:
            return f"the deleted key pair {key_id} is still listed in its folder"
        if expected and not found:
            return f"List of the folder does not show key pair {key_id} ({len(keys)} keys listed)"
        return None

    return check


def _pair_operation(pair: KeyPair, method: str) -> Callable[[Outcome], str | None]:
    """A Create/Delete Operation: metadata ``<Method><Key>Metadata`` naming the key, response the key."""
    metadata, response = (
        TYPE + pair.package + f"{method}{pair.message}Metadata",
        TYPE + pair.package + pair.message,
    )

    def check(outcome: Outcome) -> str | None:
        problem = _done(outcome)
        if problem:
            return problem
        body = outcome.body
        meta = body.get("metadata") or {}
        if meta.get("@type") != metadata:
            return f"metadata @type is {meta.get('@type')!r}, expected {metadata!r}"
        if not meta.get("keyId"):
            return f"{method} metadata names no keyId: {str(meta)[:200]}"
        if "error" in body:
            return f"{method} ended in error: {str(body['error'])[:200]}"
        key = body.get("response") or {}
        if key.get("@type") != response:
            return f"response @type is {key.get('@type')!r}, expected {response!r}"
        if key.get("id") != meta["keyId"]:
            return f"the response is key {key.get('id')!r}, the metadata names {meta['keyId']!r}"
        if method == "Create" and key.get(pair.algorithm_field) != pair.algorithm:
            return f"the new key's {pair.algorithm_field} is {key.get(pair.algorithm_field)!r}, asked {pair.algorithm!r}"
        if method == "Create" and key.get("status") != "ACTIVE":
            return f"the new key pair's status is {key.get('status')!r}, expected 'ACTIVE'"
        return None

    return check


def _bindings_operation(outcome: Outcome) -> str | None:
    problem = _done(outcome)
    if problem:
        return problem
    body = outcome.body
    meta = body.get("metadata") or {}
    expected = TYPE + "yandex.cloud.access.SetAccessBindingsMetadata"
    if meta.get("@type") != expected:
        return f"metadata @type is {meta.get('@type')!r}, expected {expected!r}"
    if meta.get("resourceId") != _path_key_id(outcome):
        return f"SetAccessBindings metadata names resourceId {meta.get('resourceId')!r}, not the key pair"
    got = (body.get("response") or {}).get("@type")
    if "error" in body or got != TYPE + "google.protobuf.Empty":
        return f"SetAccessBindings should end with google.protobuf.Empty, ended with {str(body.get('error') or got)[:200]}"
    return None


# -- multi-request calls (``STORIES``): what a later call shows after an earlier one ----------------
# Each story is one profile call made of a few requests on the row's own scratch key; its outcome's
# body holds what the requests answered (``StoryOutcome.seen``), and the row's check judges that.
# A request a story needs before the one it judges (an Encrypt before a Decrypt) is a set-up step:
# when it breaks, the story's own requirement fails and says why.

SENT = b"kms-conformance symmetric check"
AAD = b"kms-conformance aad"
OTHER_AAD = b"kms-conformance other aad"
CHECK_LABEL = {"kms-conformance-check": "kept"}  # beside the run's own label
CREATE_ATTRIBUTES: dict[str, Any] = {
    "description": "kms-conformance attributes kept",
    "rotationPeriod": "2592000s",
    "deletionProtection": True,
}
PAIR_ATTRIBUTES: dict[str, Any] = {"description": "kms-conformance key pair kept"}


@dataclass(frozen=True)
class StoryOutcome(Outcome):
    """The last request's outcome, with what every request of the story answered (``seen``)."""

    key_id: str = ""
    seen: Mapping[str, Any] | None = None


def _seen(outcome: Outcome) -> Mapping[str, Any]:
    return (outcome.seen or {}) if isinstance(outcome, StoryOutcome) else {}


def _b64_of(value: Any) -> bytes | None:
    try:
        return (
            base64.b64decode(value or "", validate=True) if isinstance(value, str) or value is None else None
        )
    except ValueError:
        return None


def _round_trip(outcome: Outcome) -> str | None:
    """Encrypt answered keyId, the primary versionId and a ciphertext; Decrypt opened it to the plaintext."""
    seen = _seen(outcome)
    enc, dec = seen.get("encrypt") or {}, seen.get("decrypt") or {}
    key_id = outcome.key_id if isinstance(outcome, StoryOutcome) else ""
    if enc.get("keyId") != key_id:
        return f"Encrypt names keyId {enc.get('keyId')!r}, not {key_id!r}"
    if enc.get("versionId") != seen.get("primary"):
        return f"Encrypt names versionId {enc.get('versionId')!r}, not the primary version {seen.get('primary')!r}"
    if dec.get("keyId") != key_id or dec.get("versionId") != enc.get("versionId"):
        return f"Decrypt names key {dec.get('keyId')!r} version {dec.get('versionId')!r}, Encrypt used {enc.get('versionId')!r}"
    if _b64_of(dec.get("plaintext")) != SENT:
        return f"Decrypt answered plaintext {str(dec.get('plaintext'))[:80]!r}, Encrypt was given {SENT!r}"
    return None


def _opens_to(field: str, expected_version: str) -> Callable[[Outcome], str | None]:
    """Decrypt (the story's last request) opened to SENT (or to the data key), with ``expected_version``."""

    def check(outcome: Outcome) -> str | None:
        seen = _seen(outcome)
        dec = seen.get("decrypt") or {}
        want = SENT if field == "sent" else _b64_of((seen.get("first") or {}).get(field))
        if want is None or (field != "sent" and not want):
            return f"the first answer carries no {field}: {str(seen.get('first'))[:200]}"
        if _b64_of(dec.get("plaintext")) != want:
            return f"Decrypt answered plaintext {str(dec.get('plaintext'))[:80]!r}, expected {want[:64]!r}"
        version = seen.get(expected_version)
        if version and dec.get("versionId") != version:
            return f"Decrypt names versionId {dec.get('versionId')!r}, expected {version!r}"
        return None

    return check


def _re_encrypted(outcome: Outcome) -> str | None:
    seen = _seen(outcome)
    re_body = seen.get("first") or {}
    key_id = outcome.key_id if isinstance(outcome, StoryOutcome) else ""
    expected = {
        "keyId": key_id,
        "sourceKeyId": seen.get("source"),
        "sourceVersionId": seen.get("source_version"),
    }
    for name, value in expected.items():
        if re_body.get(name) != value:
            return f"ReEncrypt answers {name} {re_body.get(name)!r}, expected {value!r}"
    if not re_body.get("versionId"):
        return "ReEncrypt names no versionId"
    return _opens_to("sent", "")(outcome)


def _no_plaintext(outcome: Outcome) -> str | None:
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if body.get("dataKeyPlaintext"):
        return "GenerateDataKey with skipPlaintext still answers dataKeyPlaintext"
    if not body.get("dataKeyCiphertext"):
        return "GenerateDataKey with skipPlaintext answers no dataKeyCiphertext"
    return None


def _same(sent: Any, got: Any, name: str) -> bool:
    if name == "rotationPeriod" and isinstance(got, str) and DURATION.match(got) and isinstance(sent, str):
        return float(got[:-1]) == float(sent[:-1])
    return bool(sent == got)


def _persisted(outcome: Outcome) -> str | None:
    """Get shows every attribute the story set (``seen['sent']``) and kept every one it did not (``seen['kept']``)."""
    seen = _seen(outcome)
    got = outcome.body if isinstance(outcome.body, dict) else {}
    for name, value in (seen.get("sent") or {}).items():
        if not _same(value, got.get(name), name):
            return f"Get shows {name} = {got.get(name)!r}, but {value!r} was set"
    for name, value in (seen.get("kept") or {}).items():
        if got.get(name) != value:
            return f"Get shows {name} = {got.get(name)!r}; the update mask did not name it, it was {value!r}"
    return None


def _key_listed(expected: bool) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        key_id = outcome.key_id if isinstance(outcome, StoryOutcome) else ""
        keys = (outcome.body or {}).get("keys") or [] if isinstance(outcome.body, dict) else []
        found = any(isinstance(k, dict) and k.get("id") == key_id for k in keys)
        if found and not expected:
            return f"the deleted key {key_id} is still listed in its folder"
        if expected and not found:
            return f"List of the folder does not show key {key_id} ({len(keys)} keys listed)"
        return None

    return check


def _paged(array: str) -> Callable[[Outcome], str | None]:
    """pageSize 1 gave one item and a nextPageToken; that token gave one other item."""

    def check(outcome: Outcome) -> str | None:
        seen = _seen(outcome)
        first, second = seen.get("first") or {}, outcome.body if isinstance(outcome.body, dict) else {}
        one, two = first.get(array) or [], second.get(array) or []
        if len(one) != 1 or not first.get("nextPageToken"):
            return f"pageSize 1 answered {len(one)} {array} and nextPageToken {first.get('nextPageToken')!r}; {seen.get('needed')} exist"
        if len(two) != 1:
            return f"the page after nextPageToken holds {len(two)} {array}, expected 1"
        if two[0].get("id") == one[0].get("id"):
            return f"the page after nextPageToken repeats {one[0].get('id')!r}: the token was not followed"
        return None

    return check


def _last_page(outcome: Outcome) -> str | None:
    """The page after the token holds the key's last version: it carries no nextPageToken."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if body.get("nextPageToken"):
        return f"the last page of a key's 2 versions still carries nextPageToken {body['nextPageToken']!r}"
    return None


def _newest_first(outcome: Outcome) -> str | None:
    operations = (outcome.body or {}).get("operations") or [] if isinstance(outcome.body, dict) else []
    first = str(((operations[0] if operations else {}).get("metadata") or {}).get("@type", ""))
    if not first.endswith("RotateSymmetricKeyMetadata"):
        return f"a created then rotated key's operations start with {first or 'nothing'!r}, not its Rotate"
    return None


def _algorithm_is(expected: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        got = _response(outcome).get("defaultAlgorithm")
        return None if got == expected else f"defaultAlgorithm 3 made a key of {got!r}, expected {expected!r}"

    return check


def _data_key_bytes(length: int) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        body = outcome.body if isinstance(outcome.body, dict) else {}
        key = _b64_of(body.get("dataKeyPlaintext"))
        if key is None or len(key) != length:
            return f"the data key is {len(key) if key is not None else 'not base64'} bytes, dataKeySpec asked {length}"
        return None

    return check


def _rotated_at(outcome: Outcome) -> str | None:
    key = _response(outcome)
    if not key.get("rotatedAt"):
        return f"the rotated key carries no rotatedAt: {str(key)[:200]}"
    if key.get("createdAt") and _parse_ts(key["rotatedAt"]) < _parse_ts(key["createdAt"]):
        return f"rotatedAt {key['rotatedAt']} is before the key's createdAt {key['createdAt']}"
    return None


def _pending(seconds: int) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        version = _response(outcome)
        created = outcome.body.get("createdAt") if isinstance(outcome.body, dict) else None
        if not version.get("destroyAt") or not created:
            return f"no destroyAt / createdAt to compare: {str(outcome.body)[:200]}"
        delta = (_parse_ts(version["destroyAt"]) - _parse_ts(created)).total_seconds()
        if abs(delta - seconds) > 120:
            return f"destroyAt is {delta:.0f}s after the request, pendingPeriod asked {seconds}s"
        return None

    return check


def _new_versions_take(algorithm: str) -> Callable[[Outcome], str | None]:
    def check(outcome: Outcome) -> str | None:
        seen = _seen(outcome)
        versions = (outcome.body or {}).get("keyVersions") or [] if isinstance(outcome.body, dict) else []
        new: dict[str, Any] = next((v for v in versions if v.get("primary")), {})
        old: dict[str, Any] = next((v for v in versions if v.get("id") == seen.get("old")), {})
        if new.get("algorithm") != algorithm:
            return f"the version Rotate made has algorithm {new.get('algorithm')!r}, the key's defaultAlgorithm is {algorithm!r}"
        if old.get("algorithm") != seen.get("old_algorithm"):
            return f"the first version's algorithm changed to {old.get('algorithm')!r}"
        return None

    return check


def _get_fields(outcome: Outcome) -> str | None:
    body = outcome.body if isinstance(outcome.body, dict) else {}
    missing = [
        n
        for n in ("id", "folderId", "createdAt", "status", "defaultAlgorithm", "primaryVersion")
        if not body.get(n)
    ]
    if missing:
        return f"Get of an ACTIVE key lacks {', '.join(missing)}: {str(body)[:200]}"
    version = body["primaryVersion"]
    if not isinstance(version, dict) or not version.get("id") or version.get("primary") is not True:
        return f"Get's primaryVersion is not the primary version: {str(version)[:200]}"
    return None


def _symmetric_bindings_operation(outcome: Outcome) -> str | None:
    problem = _done(outcome)
    if problem:
        return problem
    body = outcome.body
    meta = body.get("metadata") or {}
    expected = TYPE + "yandex.cloud.access.SetAccessBindingsMetadata"
    if meta.get("@type") != expected:
        return f"metadata @type is {meta.get('@type')!r}, expected {expected!r}"
    key_id = outcome.response.request.url.path.rsplit("/", 1)[-1].split(":", 1)[0]
    if meta.get("resourceId") != key_id:
        return (
            f"SetAccessBindings metadata names resourceId {meta.get('resourceId')!r}, not the key {key_id!r}"
        )
    got = (body.get("response") or {}).get("@type")
    if "error" in body or got != TYPE + "google.protobuf.Empty":
        return f"SetAccessBindings should end with google.protobuf.Empty, ended with {str(body.get('error') or got)[:200]}"
    return None


def _lists_create(outcome: Outcome) -> str | None:
    key_id = _path_key_id(outcome)
    operations = (outcome.body or {}).get("operations") or [] if isinstance(outcome.body, dict) else []
    creates = [
        op
        for op in operations
        if isinstance(op, dict)
        and str((op.get("metadata") or {}).get("@type", "")).endswith("KeyMetadata")
        and "Create" in str((op.get("metadata") or {}).get("@type", ""))
        and (op.get("metadata") or {}).get("keyId") == key_id
    ]
    if not creates:
        return f"ListOperations of key pair {key_id} does not show its Create ({len(operations)} operations listed)"
    return None


def _idempotent(outcome: Outcome) -> str | None:
    seen = _seen(outcome)
    first, second = seen.get("first_id"), seen.get("second_id")
    if not first or first != second:
        return f"the same Idempotency-Key answered operation {first!r}, then {second!r}"
    if seen.get("first_key") != seen.get("second_key"):
        return (
            f"the same Idempotency-Key created key {seen.get('first_key')!r}, then {seen.get('second_key')!r}"
        )
    return None


# call name -> (the operationId it is reported under, the requirement that owns its set-up requests)
STORIES: dict[str, tuple[str, str]] = {
    "encrypt_round_trip": ("encrypt", "YC-CRYPTO-001"),
    "decrypt_other_aad": ("decrypt", "YC-CRYPTO-002"),
    "re_encrypt_round_trip": ("reEncrypt", "YC-CRYPTO-003"),
    "data_key_round_trip": ("generateDataKey", "YC-CRYPTO-004"),
    "encrypt_old_version": ("encrypt", "YC-CRYPTO-006"),
    "rotate_then_decrypt": ("decrypt", "YC-CRYPTO-007"),
    "list_finds": ("listKeys", "YC-LIST-001"),
    "list_misses": ("listKeys", "YC-LIST-002"),
    "list_paged": ("listKeys", "YC-LIST-003"),
    "versions_paged": ("listKeyVersions", "YC-LIST-003"),
    "create_persists": ("createKey", "YC-PERSIST-001"),
    "update_persists": ("updateKey", "YC-PERSIST-002"),
    "update_outside_mask": ("updateKey", "YC-PERSIST-003"),
    "algorithm_then_rotate": ("rotateKey", "YC-STATE-015"),
    "create_idempotent": ("createKey", "YC-IDEM-001"),
    "enc_create_persists": ("createAsymEncryptionKey", "YC-ASYM-013"),
    "sig_create_persists": ("createAsymSignatureKey", "YC-ASYM-013"),
    "enc_update_persists": ("updateAsymEncryptionKey", "YC-ASYM-014"),
    "sig_update_persists": ("updateAsymSignatureKey", "YC-ASYM-014"),
}


# -- tables -----------------------------------------------------------------------------------------

_PRECONDITION = frozenset({"9", "3"})
_REFUSED_STATUS = frozenset({400, 200})
_NOT_FOUND_STATUS = frozenset({404, 200})


def _refuse(
    req: str,
    op: str,
    state: str,
    codes: frozenset[str] = _PRECONDITION,
    status: frozenset[int] = _REFUSED_STATUS,
) -> Transition:
    return Transition(req, op, state, status=status, codes=codes)


TRANSITIONS: tuple[Transition, ...] = (
    # key ACTIVE <-> INACTIVE via Update
    Transition("YC-STATE-001", "disable", "enabled", "disabled"),
    Transition("YC-STATE-001", "enable", "disabled", "enabled"),
    Transition("YC-STATE-001", "disable", "rotated", "disabled"),
    # rotation
    Transition("YC-STATE-008", "rotate", "enabled", "rotated"),
    Transition("YC-STATE-008", "rotate", "rotated", "rotated"),
    Transition("YC-STATE-008", "rotate", "version-scheduled", "version-scheduled"),
    # the primary version cannot be scheduled
    _refuse("YC-STATE-002", "schedule_version_destruction", "enabled"),
    _refuse("YC-STATE-002", "schedule_version_destruction", "disabled"),
    _refuse("YC-STATE-002", "schedule_version_destruction", "protected"),
    # version ACTIVE -> SCHEDULED_FOR_DESTRUCTION -> ACTIVE (cancel)
    Transition("YC-STATE-003", "schedule_version_destruction", "rotated", "version-scheduled"),
    _refuse("YC-STATE-003", "schedule_version_destruction", "version-scheduled"),
    Transition("YC-STATE-006", "cancel_version_destruction", "version-scheduled", "rotated"),
    _refuse("YC-STATE-006", "cancel_version_destruction", "enabled"),
    _refuse("YC-STATE-006", "cancel_version_destruction", "rotated"),
    _refuse("YC-STATE-006", "cancel_version_destruction", "disabled"),
    # set-primary only to an ACTIVE version
    Transition("YC-STATE-009", "set_primary", "rotated", "enabled"),
    _refuse("YC-STATE-009", "set_primary", "version-scheduled"),
    # DESTROYED is terminal
    _refuse("YC-STATE-012", "cancel_version_destruction", "version-destroyed"),
    _refuse("YC-STATE-003", "schedule_version_destruction", "version-destroyed"),
    _refuse("YC-STATE-012", "set_primary", "version-destroyed"),
    # deletion protection, deletion
    Transition("YC-STATE-010", "protect", "enabled", "protected"),
    _refuse("YC-STATE-010", "delete", "protected"),
    Transition("YC-STATE-010", "unprotect", "protected", "enabled"),
    Transition("YC-STATE-011", "delete", "enabled", "deleted"),
    Transition("YC-STATE-011", "delete", "disabled", "deleted"),
    Transition("YC-STATE-011", "delete", "version-scheduled", "deleted"),
    _refuse("YC-STATE-011", "get", "deleted", frozenset({"5"}), frozenset({404})),
    _refuse("YC-STATE-011", "rotate", "deleted", frozenset({"5"}), _NOT_FOUND_STATUS),
    _refuse("YC-STATE-011", "enable", "deleted", frozenset({"5"}), _NOT_FOUND_STATUS),
    _refuse("YC-STATE-011", "delete", "deleted", frozenset({"5"}), _NOT_FOUND_STATUS),
    # key pairs (asymmetric keys): ACTIVE <-> INACTIVE via Update
    Transition("YC-ASYM-001", "enc_disable", "enc-enabled", "enc-disabled"),
    Transition("YC-ASYM-001", "enc_enable", "enc-disabled", "enc-enabled"),
    Transition("YC-ASYM-001", "sig_disable", "sig-enabled", "sig-disabled"),
    # an INACTIVE key pair cannot be used (crypto calls answer at once: no Operation form)
    _refuse("YC-ASYM-002", "enc_decrypt", "enc-disabled", status=frozenset({400})),
    _refuse("YC-ASYM-002", "sig_sign", "sig-disabled", status=frozenset({400})),
    _refuse("YC-ASYM-002", "sig_sign_hash", "sig-disabled", status=frozenset({400})),
    # deletion: the key pair is absent from Get
    Transition("YC-ASYM-003", "enc_delete", "enc-enabled", "enc-deleted"),
    Transition("YC-ASYM-003", "sig_delete", "sig-disabled", "sig-deleted"),
    _refuse("YC-ASYM-003", "enc_get", "enc-deleted", frozenset({"5"}), frozenset({404})),
    _refuse("YC-ASYM-003", "sig_get", "sig-deleted", frozenset({"5"}), frozenset({404})),
    # deletion protection
    Transition("YC-ASYM-004", "enc_protect", "enc-enabled", "enc-protected"),
    _refuse("YC-ASYM-004", "enc_delete", "enc-protected"),
    _refuse("YC-ASYM-004", "sig_delete", "sig-protected"),
    Transition("YC-ASYM-004", "sig_unprotect", "sig-protected", "sig-enabled"),
)

_400 = frozenset({400})
_401 = frozenset({401})
_403 = frozenset({403})
_404 = frozenset({404})
_200 = frozenset({200})
_3 = frozenset({"3"})
_5 = frozenset({"5"})


def _probe(req: str, name: str, op: str, **kw: Any) -> Probe:
    return Probe(req, name, op, **kw)


def _refusal_probe(req: str, name: str, op: str, key: str, **kw: Any) -> Probe:
    return Probe(
        req, name, op, key=key, status=_REFUSED_STATUS, codes=_PRECONDITION, check=_refused("9", "3"), **kw
    )


PROBES: tuple[Probe, ...] = (
    # auth
    _probe(
        "YC-AUTH-001",
        "get-without-token",
        "get",
        auth="none",
        status=_401,
        codes=frozenset({"16"}),
        read_only=True,
    ),
    _probe(
        "YC-AUTH-001",
        "create-without-token",
        "create",
        key="none",
        auth="none",
        status=_401,
        codes=frozenset({"16"}),
        read_only=True,
    ),
    _probe(
        "YC-AUTH-002",
        "get-garbage-token",
        "get",
        auth="invalid",
        status=_401,
        codes=frozenset({"16"}),
        read_only=True,
    ),
    _probe(
        "YC-AUTH-002",
        "rotate-garbage-token",
        "rotate",
        auth="invalid",
        status=_401,
        codes=frozenset({"16"}),
        read_only=True,
    ),
    _probe(
        "YC-AUTH-003",
        "get-expired-token",
        "get",
        auth="expired",
        status=_401,
        codes=frozenset({"16"}),
        read_only=True,
    ),
    _probe(
        "YC-AUTH-004",
        "get-forbidden-token",
        "get",
        auth="forbidden",
        status=_403,
        codes=frozenset({"7"}),
        read_only=True,
    ),
    _probe(
        "YC-AUTH-004",
        "rotate-forbidden-token",
        "rotate",
        auth="forbidden",
        status=_403,
        codes=frozenset({"7"}),
        read_only=True,
    ),
    # validation
    _probe("YC-VAL-001", "get-51-char-id", "get", key="malformed", status=_400, codes=_3, read_only=True),
    _probe(
        "YC-VAL-001", "rotate-51-char-id", "rotate", key="malformed", status=_400, codes=_3, read_only=True
    ),
    _probe(
        "YC-VAL-002",
        "create-without-folderId",
        "create",
        key="none",
        body={"folderId": MISSING},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-VAL-003",
        "label-key-uppercase",
        "create",
        key="none",
        body={"labels": {"Bad-Key": "x"}},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-VAL-003",
        "label-value-uppercase",
        "create",
        key="none",
        body={"labels": {"kms-conformance": "UPPER"}},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-VAL-003",
        "label-value-64-chars",
        "update",
        body={"updateMask": "labels", "labels": {"k": "a" * 64}},
        status=_400,
        codes=_3,
    ),
    _probe(
        "YC-VAL-004",
        "pendingPeriod-7d",
        "schedule_version_destruction",
        key="rotated",
        body={"pendingPeriod": "7d"},
        status=_400,
        codes=_3,
    ),
    _probe(
        "YC-VAL-004",
        "rotationPeriod-168h",
        "update",
        body={"updateMask": "rotationPeriod", "rotationPeriod": "168h"},
        status=_400,
        codes=_3,
    ),
    _probe(
        "YC-VAL-005",
        "list-pageSize-1001",
        "list",
        key="none",
        body={"pageSize": "1001"},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-VAL-005",
        "list-versions-pageSize-1001",
        "list_versions",
        body={"pageSize": "1001"},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-VAL-005",
        "list-pageSize-1000",
        "list",
        key="none",
        body={"pageSize": "1000"},
        status=_200,
        read_only=True,
    ),
    _probe(
        "YC-VAL-006",
        "update-without-updateMask",
        "update",
        body={"updateMask": MISSING},
        status=_400,
        codes=_3,
    ),
    _probe(
        "YC-VAL-007",
        "update-status-CREATING",
        "update",
        body={"updateMask": "status", "status": "CREATING"},
        status=_400,
        codes=_3,
    ),
    _probe("YC-VAL-008", "get-unknown-key", "get", key="unknown", status=_404, codes=_5, read_only=True),
    _probe(
        "YC-VAL-008",
        "list-versions-unknown-key",
        "list_versions",
        key="unknown",
        status=_404,
        codes=_5,
        read_only=True,
    ),
    _probe(
        "YC-VAL-008",
        "rotate-unknown-key",
        "rotate",
        key="unknown",
        status=_NOT_FOUND_STATUS,
        codes=_5,
        check=_refused("5"),
        read_only=True,
    ),
    _probe(
        "YC-VAL-008",
        "disable-unknown-key",
        "disable",
        key="unknown",
        status=_NOT_FOUND_STATUS,
        codes=_5,
        check=_refused("5"),
        read_only=True,
    ),
    _probe(
        "YC-VAL-009",
        "schedule-unknown-version",
        "schedule_version_destruction",
        key="rotated",
        body={"versionId": "abj00000000000000000"},
        status=_NOT_FOUND_STATUS,
        codes=_5,
        check=_refused("5"),
    ),
    # state rules, with the code of every refusal (the transitions check the states)
    _refusal_probe("YC-STATE-002", "schedule-primary", "schedule_version_destruction", "enabled"),
    _refusal_probe("YC-STATE-003", "schedule-scheduled", "schedule_version_destruction", "version-scheduled"),
    _probe(
        "YC-STATE-003",
        "schedule-non-primary",
        "schedule_version_destruction",
        key="rotated",
        check=_scheduled,
    ),
    _probe(
        "YC-STATE-004",
        "destroyAt-matches-metadata",
        "schedule_version_destruction",
        key="rotated",
        body={"pendingPeriod": "172800s"},
        check=_scheduled,
    ),
    _probe(
        "YC-STATE-005",
        "default-pendingPeriod-7-days",
        "schedule_version_destruction",
        key="rotated",
        check=_default_pending,
    ),
    _refusal_probe("YC-STATE-006", "cancel-active-version", "cancel_version_destruction", "rotated"),
    _refusal_probe("YC-STATE-006", "cancel-primary-version", "cancel_version_destruction", "enabled"),
    _probe(
        "YC-STATE-006",
        "cancel-scheduled-version",
        "cancel_version_destruction",
        key="version-scheduled",
        check=_cancelled,
    ),
    _probe(
        "YC-STATE-007",
        "cancel-clears-destroyAt",
        "cancel_version_destruction",
        key="version-scheduled",
        check=_no_destroy_at,
    ),
    _probe("YC-STATE-008", "rotate-new-primary", "rotate", check=_rotated),
    _probe("YC-STATE-009", "set-primary-active-version", "set_primary", key="rotated", check=_primary_set),
    _refusal_probe("YC-STATE-009", "set-primary-scheduled-version", "set_primary", "version-scheduled"),
    _refusal_probe("YC-STATE-010", "delete-protected-key", "delete", "protected"),
    _probe("YC-STATE-011", "get-deleted-key", "get", key="deleted", status=_404, codes=_5),
    _refusal_probe(
        "YC-STATE-012", "cancel-destroyed-version", "cancel_version_destruction", "version-destroyed"
    ),
    _refusal_probe("YC-STATE-012", "set-primary-destroyed-version", "set_primary", "version-destroyed"),
    # operations
    _probe("YC-ASYNC-001", "create-reaches-done", "create", key="none", check=_done),
    _probe("YC-ASYNC-001", "rotate-reaches-done", "rotate", check=_done),
    _probe("YC-ASYNC-002", "create-operation-envelope", "create", key="none", check=_envelope),
    _probe(
        "YC-ASYNC-002",
        "schedule-operation-envelope",
        "schedule_version_destruction",
        key="rotated",
        check=_envelope,
    ),
    _probe(
        "YC-ASYNC-002",
        "refused-operation-envelope",
        "schedule_version_destruction",
        key="enabled",
        status=_REFUSED_STATUS,
        codes=_PRECONDITION,
        check=lambda o: _envelope(o) if o.status == 200 else None,
    ),
    _probe(
        "YC-ASYNC-003",
        "create-types",
        "create",
        key="none",
        check=_types("CreateSymmetricKeyMetadata", "SymmetricKey"),
    ),
    _probe(
        "YC-ASYNC-003", "update-types", "update", check=_types("UpdateSymmetricKeyMetadata", "SymmetricKey")
    ),
    _probe(
        "YC-ASYNC-003", "rotate-types", "rotate", check=_types("RotateSymmetricKeyMetadata", "SymmetricKey")
    ),
    _probe(
        "YC-ASYNC-003",
        "schedule-types",
        "schedule_version_destruction",
        key="rotated",
        check=_types("ScheduleSymmetricKeyVersionDestructionMetadata", "SymmetricKeyVersion"),
    ),
    _probe(
        "YC-ASYNC-003",
        "cancel-types",
        "cancel_version_destruction",
        key="version-scheduled",
        check=_types("CancelSymmetricKeyVersionDestructionMetadata", "SymmetricKeyVersion"),
    ),
    _probe(
        "YC-ASYNC-003",
        "set-primary-types",
        "set_primary",
        key="rotated",
        check=_types("SetPrimarySymmetricKeyVersionMetadata", "SymmetricKey"),
    ),
    _probe(
        "YC-ASYNC-004",
        "list-operations",
        "list_operations",
        key="rotated",
        check=_lists_operations,
        read_only=True,
    ),
    _probe(
        "YC-ASYNC-004",
        "get-operation",
        "get_operation",
        key="rotated",
        check=_served_operation,
        read_only=True,
    ),
    _probe("YC-ASYNC-005", "create-names-key-at-once", "create", key="none", check=_first_names_key),
    # JSON conventions
    _probe("YC-SHAPE-001", "get-camelCase", "get", key="rotated", check=_camel_case, read_only=True),
    _probe("YC-SHAPE-001", "create-camelCase", "create", key="none", check=_camel_case),
    _probe(
        "YC-SHAPE-001",
        "versions-camelCase",
        "list_versions",
        key="version-scheduled",
        check=_camel_case,
        read_only=True,
    ),
    _probe("YC-SHAPE-002", "get-timestamps", "get", key="rotated", check=_timestamps, read_only=True),
    _probe("YC-SHAPE-002", "operation-timestamps", "rotate", check=_timestamps),
    _probe(
        "YC-SHAPE-002",
        "versions-timestamps",
        "list_versions",
        key="version-scheduled",
        check=_timestamps,
        read_only=True,
    ),
    _probe(
        "YC-SHAPE-003",
        "rotationPeriod-seconds",
        "update",
        body={"updateMask": "rotationPeriod", "rotationPeriod": "604800s"},
        check=_durations("604800s"),
    ),
    _probe("YC-SHAPE-004", "new-key-version", "create", key="none", check=_new_key),
    # key pairs (asymmetric keys)
    _probe(
        "YC-ASYM-003",
        "deleted-key-pair-not-listed",
        "enc_list_finds",
        key="enc-deleted",
        check=_listed(False),
        read_only=True,
    ),
    _probe(
        "YC-ASYM-005",
        "enc-create-operation",
        "enc_create",
        key="none",
        check=_pair_operation(KEY_PAIRS["enc"], "Create"),
    ),
    _probe(
        "YC-ASYM-005",
        "sig-create-operation",
        "sig_create",
        key="none",
        check=_pair_operation(KEY_PAIRS["sig"], "Create"),
    ),
    _probe(
        "YC-ASYM-005",
        "sig-delete-operation",
        "sig_delete",
        key="sig-enabled",
        check=_pair_operation(KEY_PAIRS["sig"], "Delete"),
    ),
    _probe(
        "YC-ASYM-006",
        "enc-public-key-pem",
        "enc_public_key",
        key="enc-enabled",
        check=_public_key_of("RSA_2048_ENC_OAEP_SHA_256"),
        read_only=True,
    ),
    _probe(
        "YC-ASYM-006",
        "sig-public-key-pem",
        "sig_public_key",
        key="sig-enabled",
        check=_public_key_of("ECDSA_NIST_P256_SHA_256"),
        read_only=True,
    ),
    _probe(
        "YC-ASYM-007",
        "ecdsa-sign-verifies",
        "sig_sign_verified",
        key="sig-enabled",
        check=_verifies,
        read_only=True,
    ),
    _probe(
        "YC-ASYM-007",
        "rsa-pss-sign-verifies",
        "sig_sign_verified",
        key="sig-rsa-enabled",
        check=_verifies,
        read_only=True,
    ),
    _probe(
        "YC-ASYM-007",
        "sign-hash-verifies",
        "sig_sign_hash_verified",
        key="sig-enabled",
        check=_verifies,
        read_only=True,
    ),
    _probe(
        "YC-ASYM-008",
        "decrypt-round-trip",
        "enc_decrypt_round_trip",
        key="enc-enabled",
        check=_decrypted,
        read_only=True,
    ),
    _probe(
        "YC-ASYM-009",
        "sign-hash-20-bytes",
        "sig_sign_hash",
        key="sig-enabled",
        body={"hash": _b64(bytes(20))},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-ASYM-010",
        "enc-list-finds-key",
        "enc_list_finds",
        key="enc-enabled",
        check=_listed(True),
        read_only=True,
    ),
    _probe(
        "YC-ASYM-010",
        "sig-list-finds-key",
        "sig_list_finds",
        key="sig-enabled",
        check=_listed(True),
        read_only=True,
    ),
    _probe(
        "YC-ASYM-011",
        "set-access-bindings-operation",
        "enc_set_access_bindings",
        key="enc-enabled",
        check=_bindings_operation,
    ),
    _probe(
        "YC-ASYM-011",
        "sig-set-access-bindings-operation",
        "sig_set_access_bindings",
        key="sig-enabled",
        check=_bindings_operation,
    ),
    _probe(
        "YC-ASYM-003",
        "deleted-sig-pair-not-listed",
        "sig_list_finds",
        key="sig-deleted",
        check=_listed(False),
        read_only=True,
    ),
    _probe(
        "YC-ASYM-012",
        "enc-operations-list-create",
        "enc_list_operations",
        key="enc-enabled",
        check=_lists_create,
        read_only=True,
    ),
    _probe(
        "YC-ASYM-012",
        "sig-operations-list-create",
        "sig_list_operations",
        key="sig-enabled",
        check=_lists_create,
        read_only=True,
    ),
    _probe("YC-ASYM-013", "enc-create-keeps-attributes", "enc_create_persists", key="none", check=_persisted),
    _probe("YC-ASYM-013", "sig-create-keeps-attributes", "sig_create_persists", key="none", check=_persisted),
    _probe(
        "YC-ASYM-014",
        "enc-update-keeps-attributes",
        "enc_update_persists",
        key="enc-enabled",
        check=_persisted,
    ),
    _probe(
        "YC-ASYM-014",
        "sig-update-keeps-attributes",
        "sig_update_persists",
        key="sig-enabled",
        check=_persisted,
    ),
    # symmetric crypto (SymmetricCryptoService)
    _probe("YC-CRYPTO-001", "encrypt-decrypt-round-trip", "encrypt_round_trip", check=_round_trip),
    _probe("YC-CRYPTO-002", "decrypt-other-aad", "decrypt_other_aad", status=_400),
    _probe("YC-CRYPTO-003", "re-encrypt-round-trip", "re_encrypt_round_trip", check=_re_encrypted),
    _probe(
        "YC-CRYPTO-004", "data-key-round-trip", "data_key_round_trip", check=_opens_to("dataKeyPlaintext", "")
    ),
    _probe(
        "YC-CRYPTO-005",
        "data-key-skip-plaintext",
        "generate_data_key",
        body={"skipPlaintext": True},
        check=_no_plaintext,
        read_only=True,
    ),
    _probe(
        "YC-CRYPTO-006",
        "encrypt-named-version",
        "encrypt_old_version",
        key="rotated",
        check=_opens_to("sent", "old"),
    ),
    _probe(
        "YC-CRYPTO-007",
        "decrypt-after-rotate",
        "rotate_then_decrypt",
        check=_opens_to("sent", "encrypted_with"),
    ),
    _probe(
        "YC-VAL-010",
        "plaintext-32769-bytes",
        "encrypt",
        body={"plaintext": _b64(bytes(32769))},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-VAL-010",
        "aad-8193-bytes",
        "encrypt",
        body={"aadContext": _b64(bytes(8193))},
        status=_400,
        codes=_3,
        read_only=True,
    ),
    _probe(
        "YC-VAL-010",
        "plaintext-32768-bytes",
        "encrypt",
        body={"plaintext": _b64(bytes(32768))},
        read_only=True,
    ),
    _probe(
        "YC-VAL-011",
        "get-unknown-operation",
        "get_operation",
        key="unknown",
        status=_404,
        codes=_5,
        read_only=True,
    ),
    _probe(
        "YC-VAL-008", "encrypt-unknown-key", "encrypt", key="unknown", status=_404, codes=_5, read_only=True
    ),
    _probe(
        "YC-VAL-008", "enc-get-unknown-key", "enc_get", key="unknown", status=_404, codes=_5, read_only=True
    ),
    _probe(
        "YC-VAL-008", "sig-get-unknown-key", "sig_get", key="unknown", status=_404, codes=_5, read_only=True
    ),
    # listing, paging and what later reads show
    _probe("YC-LIST-001", "list-finds-key", "list_finds", check=_key_listed(True), read_only=True),
    _probe(
        "YC-LIST-002",
        "deleted-key-not-listed",
        "list_misses",
        key="deleted",
        check=_key_listed(False),
        read_only=True,
    ),
    _probe("YC-LIST-003", "list-keys-next-page", "list_paged", check=_paged("keys")),
    _probe(
        "YC-LIST-003",
        "list-versions-next-page",
        "versions_paged",
        key="rotated",
        check=_paged("keyVersions"),
        read_only=True,
    ),
    _probe("YC-PERSIST-001", "create-keeps-attributes", "create_persists", key="none", check=_persisted),
    _probe("YC-PERSIST-002", "update-applies-mask", "update_persists", check=_persisted),
    _probe("YC-PERSIST-003", "update-keeps-unmasked", "update_outside_mask", check=_persisted),
    _probe("YC-STATE-013", "rotate-sets-rotatedAt", "rotate", check=_rotated_at),
    _probe(
        "YC-STATE-014",
        "pendingPeriod-2-days",
        "schedule_version_destruction",
        key="rotated",
        body={"pendingPeriod": "172800s"},
        check=_pending(172800),
    ),
    _probe(
        "YC-STATE-015",
        "rotate-takes-defaultAlgorithm",
        "algorithm_then_rotate",
        check=_new_versions_take("AES_128"),
    ),
    _probe(
        "YC-LIST-004",
        "list-versions-last-page",
        "versions_paged",
        key="rotated",
        check=_last_page,
        read_only=True,
    ),
    _probe(
        "YC-VAL-012",
        "defaultAlgorithm-by-number",
        "create",
        key="none",
        body={"defaultAlgorithm": 3},
        check=_algorithm_is("AES_256"),
    ),
    _probe(
        "YC-VAL-013",
        "pendingPeriod-1-hour",
        "schedule_version_destruction",
        key="rotated",
        body={"pendingPeriod": "3600s"},
        status=_REFUSED_STATUS,
        codes=frozenset({"3", "9"}),
        check=_refused("3", "9"),
    ),
    _probe(
        "YC-ASYNC-007",
        "operations-newest-first",
        "list_operations",
        key="rotated",
        check=_newest_first,
        read_only=True,
    ),
    _probe(
        "YC-CRYPTO-008",
        "data-key-AES_128-16-bytes",
        "generate_data_key",
        body={"dataKeySpec": "AES_128"},
        check=_data_key_bytes(16),
        read_only=True,
    ),
    _probe("YC-SHAPE-005", "get-key-fields", "get", check=_get_fields, read_only=True),
    _probe(
        "YC-ASYNC-003", "delete-types", "delete", check=_types("DeleteSymmetricKeyMetadata", "SymmetricKey")
    ),
    _probe(
        "YC-ASYNC-006",
        "set-access-bindings-types",
        "set_access_bindings",
        check=_symmetric_bindings_operation,
    ),
    _probe("YC-IDEM-001", "create-same-idempotency-key", "create_idempotent", key="none", check=_idempotent),
)


# -- the profile ------------------------------------------------------------------------------------


# The asymmetric key collections (specs/yandex.yaml): keys the generated layer creates there are
# owned by the run and cleaned like scratch keys.
ASYMMETRIC_COLLECTIONS = ("asymmetricEncryptionKeys", "asymmetricSignatureKeys")
ASYMMETRIC_CREATES = ("createAsymEncryptionKey", "createAsymSignatureKey")
# the calls and operationIds that create a key pair -> its kind
PAIR_CREATES = {
    "enc_create": "enc",
    "createAsymEncryptionKey": "enc",
    "sig_create": "sig",
    "createAsymSignatureKey": "sig",
}


# Tenant isolation: a key of the run's folder, through an IAM token of another folder
# (``--other-token``, ``--other-folder-id``).  The documented answers for a resource the caller
# may not see are PERMISSION_DENIED (7, HTTP 403) or NOT_FOUND (5, HTTP 404); a listing of the
# other folder does not name the key; a refused change leaves it as it was.
_NOT_THERE: dict[str, Any] = {"status": frozenset({403, 404}), "codes": frozenset({"5", "7"})}
ISOLATION_PROBES: tuple[Probe, ...] = (
    Probe("YC-ISO-001", "other-folder-get", "get", auth="other", **_NOT_THERE),
    Probe("YC-ISO-001", "other-folder-list", "list", auth="other", hides_key=True),
    Probe("YC-ISO-001", "other-folder-disable", "disable", auth="other", unchanged=True, **_NOT_THERE),
    Probe("YC-ISO-001", "other-folder-delete", "delete", auth="other", unchanged=True, **_NOT_THERE),
    Probe("YC-ISO-001", "other-folder-encrypt", "encrypt", auth="other", **_NOT_THERE),
    # key pairs of the run's folder, the same way
    Probe("YC-ISO-001", "other-folder-enc-get", "enc_get", key="enc-enabled", auth="other", **_NOT_THERE),
    Probe("YC-ISO-001", "other-folder-sig-sign", "sig_sign", key="sig-enabled", auth="other", **_NOT_THERE),
    Probe(
        "YC-ISO-001",
        "other-folder-enc-disable",
        "enc_disable",
        key="enc-enabled",
        auth="other",
        unchanged=True,
        **_NOT_THERE,
    ),
    # the run's own token listing the other folder
    Probe(
        "YC-ISO-002",
        "own-token-other-folder-list",
        "list",
        auth="crossed",
        needs=("other_folder_id",),
        read_only=True,
        **_NOT_THERE,
    ),
)


class YandexProfile(Profile):
    vendor: ClassVar[str] = "yandex"
    product: ClassVar[str] = "Yandex Cloud KMS"
    preflight_call = ("list", False, {"pageSize": "1"})
    transitions: ClassVar[tuple[Transition, ...]] = TRANSITIONS
    probes: ClassVar[tuple[Probe, ...]] = PROBES + ISOLATION_PROBES
    # Tenant isolation needs an IAM token with access to a second folder, and that folder.
    other_scope: ClassVar[tuple[tuple[str, ...], ...]] = (("other_token", "other_folder_id"),)
    envelope_requirement: ClassVar[str] = "YC-ENV-001"
    error_schemas: ClassVar[tuple[Mapping[str, Any], ...]] = (STATUS_SCHEMA,)
    generated_requirements: ClassVar[Mapping[str, str]] = {
        "not_a_server_error": "YC-GEN-001",
        "status_code_conformance": "YC-GEN-002",
        "response_schema_conformance": "YC-GEN-003",
        "negative_data_rejection": "YC-GEN-004",
        "ignored_auth": "YC-GEN-005",
    }
    read_only_operations: ClassVar[frozenset[str]] = frozenset(
        {
            "listKeys",
            "getKey",
            "listKeyVersions",
            "listKeyOperations",
            "listAccessBindings",
            "getOperation",
            # asymmetric keys (specs/yandex.yaml); their crypto calls change nothing either
            "listAsymEncryptionKeys",
            "getAsymEncryptionKey",
            "listAsymEncryptionKeyOperations",
            "listAsymEncryptionKeyAccessBindings",
            "getAsymEncryptionPublicKey",
            "listAsymSignatureKeys",
            "getAsymSignatureKey",
            "listAsymSignatureKeyOperations",
            "listAsymSignatureKeyAccessBindings",
            "getAsymSignaturePublicKey",
        }
    )
    lifecycle_operations: ClassVar[frozenset[str]] = frozenset(
        {
            "createKey",
            "listKeys",
            "getKey",
            "updateKey",
            "deleteKey",
            "listKeyVersions",
            "listKeyOperations",
            "setPrimaryVersion",
            "scheduleVersionDestruction",
            "cancelVersionDestruction",
            "rotateKey",
            "getOperation",
        }
    )
    key_id_pattern: ClassVar[str] = r"[a-z][a-z0-9]{19}"
    read_only_calls: ClassVar[frozenset[str]] = frozenset(
        {
            "list",
            "get",
            "list_versions",
            "list_operations",
            "get_operation",
            *CRYPTO_OPERATIONS,
            *(
                f"{p}_{call}"
                for p in ("enc", "sig")
                for call in ("list", "get", "public_key", "list_finds", "list_operations")
            ),
            "list_finds",
            "list_misses",
            "versions_paged",
            "enc_decrypt",
            "enc_decrypt_round_trip",
            "sig_sign",
            "sig_sign_hash",
            "sig_sign_verified",
            "sig_sign_hash_verified",
        }
    )
    key_id_fields: ClassVar[tuple[str, ...]] = ("keyId", "resourceId")
    operation_ids: ClassVar[Mapping[str, str]] = {
        "create": "createKey",
        "list": "listKeys",
        "get": "getKey",
        "list_versions": "listKeyVersions",
        "list_operations": "listKeyOperations",
        "update": "updateKey",
        "disable": "updateKey",
        "enable": "updateKey",
        "protect": "updateKey",
        "unprotect": "updateKey",
        "delete": "deleteKey",
        "rotate": "rotateKey",
        "set_primary": "setPrimaryVersion",
        "schedule_version_destruction": "scheduleVersionDestruction",
        "cancel_version_destruction": "cancelVersionDestruction",
        "list_access_bindings": "listAccessBindings",
        "set_access_bindings": "setAccessBindings",
        "encrypt": "encrypt",
        "generate_data_key": "generateDataKey",
        "get_operation": "getOperation",
        "decrypt": "decrypt",
        "re_encrypt": "reEncrypt",
        **PAIR_OPERATION_IDS,
        **{name: operation_id for name, (operation_id, _) in STORIES.items()},
    }
    served_requirement: ClassVar[str] = "YC-API-001"
    transport_requirement: ClassVar[str] = "YC-TRANSPORT-001"
    setup_requirements: ClassVar[Mapping[str, str]] = {
        "create": "YC-SHAPE-004",
        "read-state": "YC-SHAPE-004",
        "operation": "YC-ASYNC-001",  # an Operation reaches done
        "operation-envelope": "YC-ASYNC-002",  # ... carrying exactly one of error and response
        "operation-type": "YC-ASYNC-003",  # ... whose response has the method's @type
        "field-names": "YC-SHAPE-001",  # answers the profile reads are lowerCamelCase
        "disabled": "YC-STATE-001",
        "protected": "YC-STATE-010",
        "rotated": "YC-STATE-008",
        "version-scheduled": "YC-STATE-003",
        "deleted": "YC-STATE-011",
        "version-destroyed": "YC-STATE-012",
        # key pairs (asymmetric keys)
        "key-pair-create": "YC-ASYM-005",  # Create answers an Operation naming the new key pair
        "enc-disabled": "YC-ASYM-001",
        "sig-disabled": "YC-ASYM-001",
        "enc-deleted": "YC-ASYM-003",
        "sig-deleted": "YC-ASYM-003",
        "enc-protected": "YC-ASYM-004",
        "sig-protected": "YC-ASYM-004",
        "public-key": "YC-ASYM-006",  # GetPublicKey answers a PEM public key (read before crypto checks)
    }

    # How call() polls an Operation until done (pauses, deadlines): see Polling.
    polling: Polling = Polling()

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.subject: dict[str, str] = {}  # key id -> the version created with it
        self._serial = itertools.count(1)  # next() is atomic: names stay unique across threads
        self._stuck_once = False
        self.pairs: dict[str, str] = {}  # key-pair id -> its KEY_PAIRS kind (which collection has it)
        self._public: dict[str, Any] = {}  # key-pair id -> its public key, once read

    # -- targets ---------------------------------------------------------------------------------

    @property
    def _host(self) -> str:
        return urlsplit(self.settings.base_url).hostname or ""

    @property
    def is_real_api(self) -> bool:
        return self._host == REAL_KMS_HOST

    @property
    def operation_url(self) -> str:
        if self.settings.operation_url:
            return self.settings.operation_url.rstrip("/")
        return REAL_OPERATION_URL if self.is_real_api else self.settings.base_url.rstrip("/")

    @property
    def crypto_url(self) -> str:
        return REAL_CRYPTO_URL if self.is_real_api else self.settings.base_url.rstrip("/")

    # -- auth --------------------------------------------------------------------------------------

    invalid_token: ClassVar[str] = "kms-conformance-not-an-iam-token"

    def valid_token(self) -> str | None:
        tokens = self.token_source()
        if tokens is None:
            raise TargetError("Yandex needs an IAM token (--token or --token-command)")
        return tokens.token()

    def auth_for(self, mode: str) -> httpx.Auth | None:
        tokens = self.token_source() if mode == "valid" else None
        return RenewingAuth(tokens, "Authorization", "Bearer {token}") if tokens is not None else None

    def prepare_credentials(self) -> None:
        if self.token_source() is None:
            raise TargetError("Yandex needs an IAM token (--token or --token-command)")
        if not self.settings.folder_id:
            raise TargetError("Yandex needs the folder for scratch keys (--folder-id)")

    # -- requests ----------------------------------------------------------------------------------

    def _labels(self) -> dict[str, str]:
        value = re.sub(r"[^-_0-9a-z]", "-", self.settings.run_id.lower())[:63]
        return {"kms-conformance": value}

    def _fill(self, value: Any, key_id: str | None) -> Any:
        if value == "{folder}":
            return self.scoped("folder_id")
        if value == "{name}":
            return f"{self.settings.run_id}-{next(self._serial)}"[:100]
        if value == "{labels}":
            return self._labels()
        if value == "{description}":
            return f"kms-conformance scratch key, run {self.settings.run_id}"[:1024]
        if value == "{version}":
            return self.subject.get(key_id or "", self.unknown_key_id())
        if value == "{ciphertext}":
            # what the pair's public key encrypted, once read (driving to enc-disabled reads it first)
            public = self._public.get(key_id or "")
            return _b64(public.encrypt(PAIR_MESSAGE, OAEP) if public is not None else bytes(256))
        return value

    def build_request(
        self, client: httpx.Client, operation: str, key_id: str | None, body: Mapping[str, Any]
    ) -> httpx.Request:
        try:
            method, path, defaults, _ = OPERATIONS[operation]
        except KeyError:
            raise ValueError(f"unknown yandex operation {operation!r}") from None
        data = {name: self._fill(value, key_id) for name, value in defaults.items()}
        data.update(body)
        data = {name: value for name, value in data.items() if value is not MISSING}
        url = path.replace("{key_id}", key_id or "")
        if operation in CRYPTO_OPERATIONS:
            url = self.crypto_url + url
        if method in ("GET", "DELETE"):
            return client.build_request(method, url, params=data or None)
        if operation == "rotate" and not data:
            return client.build_request(method, url)
        return client.build_request(method, url, json=data)

    def error_code(self, body: Any) -> str | None:
        if isinstance(body, dict) and isinstance(body.get("code"), int):
            return str(body["code"])
        return None

    def created_key_id(self, operation_id: str, body: Any) -> str | None:
        if operation_id in ("create", "createKey", *PAIR_CREATES) and isinstance(body, dict):
            key_id = (body.get("metadata") or {}).get("keyId")
            if key_id and operation_id in PAIR_CREATES:
                self.pairs.setdefault(key_id, PAIR_CREATES[operation_id])  # cleanup knows its collection
            return key_id
        return None

    # -- multi-request calls (STORIES) -------------------------------------------------------------

    def _step(self, operation: str, key_id: str | None, body: Mapping[str, Any], owner: str) -> Outcome:
        """A request a story needs answered before the one it judges; a failure is ``owner``'s."""
        outcome = self.call(operation, key_id, body)
        if outcome.status != 200 or outcome.code or not isinstance(outcome.body, dict):
            raise StepFailed(owner, f"{operation} answered {outcome.describe()}")
        return outcome

    def _story(self, operation: str, key_id: str | None, body: Mapping[str, Any]) -> Outcome:
        owner = STORIES[operation][1]
        seen: dict[str, Any] = {}
        key = key_id or ""
        sealed = {"plaintext": _b64(SENT), "aadContext": _b64(AAD)}
        if operation in ("encrypt_round_trip", "decrypt_other_aad", "rotate_then_decrypt"):
            enc = self._step("encrypt", key_id, sealed, owner)
            seen.update(
                encrypt=enc.body, primary=self.subject.get(key), encrypted_with=enc.body.get("versionId")
            )
            if operation == "rotate_then_decrypt":
                self._step("rotate", key_id, {}, owner)
            aad = OTHER_AAD if operation == "decrypt_other_aad" else AAD
            last = self.call(
                "decrypt", key_id, {"ciphertext": enc.body.get("ciphertext", ""), "aadContext": _b64(aad)}
            )
            seen["decrypt"] = last.body
        elif operation == "encrypt_old_version":
            old = self.subject.get(key, "")
            enc = self._step("encrypt", key_id, {**sealed, "versionId": old}, owner)
            seen.update(first=enc.body, old=old)
            if enc.body.get("versionId") != old:
                raise StepFailed(
                    owner, f"Encrypt with versionId {old} names version {enc.body.get('versionId')!r}"
                )
            last = self.call(
                "decrypt", key_id, {"ciphertext": enc.body.get("ciphertext", ""), "aadContext": _b64(AAD)}
            )
            seen["decrypt"] = last.body
        elif operation == "re_encrypt_round_trip":
            source = self.key_in("enabled")
            enc = self._step("encrypt", source, sealed, owner)
            seen.update(source=source, source_version=enc.body.get("versionId"))
            request = {
                "sourceKeyId": source,
                "ciphertext": enc.body.get("ciphertext", ""),
                "sourceAadContext": _b64(AAD),
                "aadContext": _b64(OTHER_AAD),
            }
            re_enc = self._step("re_encrypt", key_id, request, owner)
            seen["first"] = re_enc.body
            opened = {"ciphertext": re_enc.body.get("ciphertext", ""), "aadContext": _b64(OTHER_AAD)}
            last = self.call("decrypt", key_id, opened)
            seen["decrypt"] = last.body
        elif operation == "data_key_round_trip":
            made = self._step("generate_data_key", key_id, {"aadContext": _b64(AAD)}, owner)
            seen["first"] = made.body
            opened = {"ciphertext": made.body.get("dataKeyCiphertext", ""), "aadContext": _b64(AAD)}
            last = self.call("decrypt", key_id, opened)
            seen["decrypt"] = last.body
        elif operation in ("list_finds", "list_misses"):
            last = self._list_all("list", {"pageSize": "1000"}, "valid")
        elif operation == "list_paged":
            self.key_in("enabled")  # the folder holds at least two keys: this one and the row's
            first = self._step("list", None, {"pageSize": "1"}, owner)
            seen.update(first=first.body, needed="at least 2 keys")
            token = first.body.get("nextPageToken") or ""
            last = self.call("list", None, {"pageSize": "1", "pageToken": token}) if token else first
        elif operation == "versions_paged":
            first = self._step("list_versions", key_id, {"pageSize": "1"}, owner)
            seen.update(first=first.body, needed="2 versions")
            token = first.body.get("nextPageToken") or ""
            last = (
                self.call("list_versions", key_id, {"pageSize": "1", "pageToken": token}) if token else first
            )
        elif operation == "create_persists":
            sent = {
                "name": f"{self.settings.run_id}-attributes"[:100],
                **CREATE_ATTRIBUTES,
                "labels": {**self._labels(), **CHECK_LABEL},
            }
            made = self._step("create", None, sent, owner)
            key = str((made.body.get("metadata") or {}).get("keyId") or "")
            seen["sent"] = sent
            last = self.call("get", key)
        elif operation in ("update_persists", "update_outside_mask"):
            before = self._step("get", key_id, {}, owner).body
            if operation == "update_persists":
                sent = {
                    "name": f"{self.settings.run_id}-renamed"[:100],
                    "labels": {**self._labels(), "kms-conformance-check": "renamed"},
                }
                self._step("update", key_id, {"updateMask": "name,labels", **sent}, owner)
                seen["sent"] = sent
            else:
                sent = {"description": "kms-conformance updated"}
                self._step(
                    "update", key_id, {"updateMask": "description", **sent, "name": "not-in-the-mask"}, owner
                )
                seen.update(sent=sent, kept={"name": before.get("name")})
            last = self.call("get", key_id)
        elif operation == "algorithm_then_rotate":
            old = self.subject.get(key, "")
            self._step(
                "update", key_id, {"updateMask": "defaultAlgorithm", "defaultAlgorithm": "AES_128"}, owner
            )
            self._step("rotate", key_id, {}, owner)
            seen.update(old=old, old_algorithm="AES_256")
            last = self.call("list_versions", key_id, {"pageSize": "1000"})
        elif operation == "create_idempotent":
            last = self._idempotent_create(seen, owner)
        else:
            pair = KEY_PAIRS[operation[:3]]
            if operation.endswith("_create_persists"):
                sent = {
                    "name": f"{self.settings.run_id}-pair-attributes"[:100],
                    **PAIR_ATTRIBUTES,
                    "labels": {**self._labels(), **CHECK_LABEL},
                }
                made = self._step(f"{pair.prefix}_create", None, sent, owner)
                key = str((made.body.get("metadata") or {}).get("keyId") or "")
                seen["sent"] = sent
            elif operation.endswith("_update_persists"):
                sent = {
                    "name": f"{self.settings.run_id}-pair-renamed"[:100],
                    "labels": {**self._labels(), "kms-conformance-check": "renamed"},
                }
                self._step(f"{pair.prefix}_update", key_id, {"updateMask": "name,labels", **sent}, owner)
                seen["sent"] = sent
            last = self.call(f"{pair.prefix}_get", key)
        return StoryOutcome(last.status, last.code, last.body, last.response, key_id=key, seen=seen)

    def _idempotent_create(self, seen: dict[str, Any], owner: str) -> Outcome:
        """Create twice with one Idempotency-Key; both keys (if two are made) are owned and cleaned."""
        idem = str(uuid.uuid4())  # the idempotency page: a unique key, a UUID for instance
        template = self.build_request(self.client, "create", None, {})
        last: Outcome | None = None
        for turn in ("first", "second"):
            request = self.client.build_request(
                template.method,
                template.url,
                content=template.content,
                headers={"Content-Type": "application/json", "Idempotency-Key": idem},
            )
            response = self.client.send(request)
            self.adopt_created("create", response)
            last = self.outcome(response)
            if last.status != 200 or not isinstance(last.body, dict):
                raise StepFailed(owner, f"Create with an Idempotency-Key answered {last.describe()}")
            seen[f"{turn}_id"] = last.body.get("id")
            seen[f"{turn}_key"] = (last.body.get("metadata") or {}).get("keyId")
        assert last is not None
        return last

    def call(
        self,
        operation: str,
        key_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        auth: str = "valid",
        raw: bytes | None = None,
    ) -> Outcome:
        if operation == "get_operation":
            return self._get_operation(key_id, auth)
        if operation in PAIR_CALLS:
            return self._pair_call(operation, key_id, body or {}, auth)
        if operation in STORIES:
            return self._story(operation, key_id, body or {})
        first = super().call(operation, key_id, body, auth=auth, raw=raw)
        returns_operation = operation in OPERATIONS and OPERATIONS[operation][3]
        if not returns_operation or first.status != 200 or not isinstance(first.body, dict):
            return first
        if operation == "create":
            meta = first.body.get("metadata") or {}
            if meta.get("keyId") and meta.get("primaryVersionId"):
                self.subject.setdefault(meta["keyId"], meta["primaryVersionId"])
        final, polls, stuck = self.wait(first.body, auth)
        self._readable(operation, final, stuck)
        error = final.get("error") if isinstance(final, dict) else None
        code = str(error["code"]) if isinstance(error, dict) and isinstance(error.get("code"), int) else None
        return OperationOutcome(first.status, code, final, first.response, first_body=first.body, polls=polls)

    def _readable(self, operation: str, final: Any, stuck: str) -> None:
        """Only a finished, well-formed Operation can be judged: otherwise the requirement that
        owns the broken part fails once and the check that needed the answer is blocked by it."""
        owner = self.setup_requirements
        if stuck:
            raise StepFailed(owner["operation"], stuck)
        if not isinstance(final, dict):
            raise StepFailed(
                owner["operation-envelope"],
                f"{operation}: the answer is not an Operation: {str(final)[:200]}",
            )
        if "error" in final and "response" in final:
            raise StepFailed(
                owner["operation-envelope"],
                f"{operation}: Operation {final.get('id')} carries both error and response",
            )
        expected = RESPONSE_TYPES.get(operation)
        got = (final.get("response") or {}).get("@type") if isinstance(final.get("response"), dict) else None
        if expected and "response" in final and got != KMS + expected:
            raise StepFailed(
                owner["operation-type"],
                f"{operation}: response @type is {got!r}, expected {KMS + expected!r}",
            )
        snake = _not_camel_case(final)
        if snake:
            raise StepFailed(owner["field-names"], f"{operation}: field {snake} is not lowerCamelCase")

    def wait(self, operation: dict[str, Any], auth: str = "valid") -> tuple[dict[str, Any], int, str]:
        """Poll GET {operation_url}/operations/{id} until done, within a bounded wait."""
        if operation.get("done") is True or not operation.get("id"):
            return operation, 0, ""
        limit = self.polling.deadline(
            loopback=is_loopback(self.settings.base_url), stuck_before=self._stuck_once
        )
        deadline = time.monotonic() + limit
        delays = self.polling.delays()
        polls, current = 0, operation
        url = f"{self.operation_url}/operations/{operation['id']}"
        client = self.client if auth == "valid" else self.new_client(auth)
        try:
            while True:
                response = client.get(url)
                polls += 1
                if response.status_code != 200:
                    return (
                        current,
                        polls,
                        (
                            f"polling operation {operation['id']} on {self.operation_url} answered HTTP "
                            f"{response.status_code}: {response.text[:200]}"
                        ),
                    )
                current = read_json(response)
                if not isinstance(current, dict):
                    return (
                        operation,
                        polls,
                        f"polling operation {operation['id']} answered a body that is not an Operation: "
                        f"{response.text[:200]!r}",
                    )
                if current.get("done") is True:
                    return current, polls, ""
                delay = next(delays)
                if time.monotonic() + delay > deadline:
                    self._stuck_once = True
                    return (
                        current,
                        polls,
                        (
                            f"operation {operation['id']} is still not done after {polls} polls over {limit:.0f}s "
                            f"on {self.operation_url}"
                        ),
                    )
                time.sleep(delay)
        finally:
            if client is not self.client:
                client.close()

    def _get_operation(self, key_id: str | None, auth: str) -> Outcome:
        listed = self.call("list_operations", key_id)
        operations = (listed.body or {}).get("operations") or [] if isinstance(listed.body, dict) else []
        op_id = operations[0]["id"] if operations else "abj00000000000000000"
        client = self.client if auth == "valid" else self.new_client(auth)
        try:
            response = client.get(f"{self.operation_url}/operations/{op_id}")
        finally:
            if client is not self.client:
                client.close()
        return self.outcome(response)

    # -- key pairs (asymmetric keys) ---------------------------------------------------------------

    def _pair_call(self, operation: str, key_id: str | None, body: Mapping[str, Any], auth: str) -> Outcome:
        """A ``PAIR_CALLS`` call: its crypto or list request, with what the check needs to judge it."""
        kind = self.pairs.get(key_id or "", operation[:3])
        pair = KEY_PAIRS[kind]
        extra: dict[str, Any] = {"key_id": key_id or "", "algorithm": pair.algorithm}
        if operation.endswith("_list_finds"):
            outcome = self._list_all(f"{pair.prefix}_list", body, auth)
        elif operation == "enc_decrypt_round_trip":
            public = self.public_key(key_id or "")
            ciphertext = public.encrypt(PAIR_MESSAGE, OAEP)
            outcome = self.call("enc_decrypt", key_id, {"ciphertext": _b64(ciphertext), **body}, auth=auth)
            extra["sent"] = PAIR_MESSAGE
        else:
            public = self.public_key(key_id or "")
            _, _, hash_type = PAIR_ALGORITHMS[pair.algorithm]
            if operation == "sig_sign_verified":
                sent, request = PAIR_MESSAGE, {"message": _b64(PAIR_MESSAGE)}
                outcome = self.call("sig_sign", key_id, {**request, **body}, auth=auth)
            else:
                digest = hashes.Hash(hash_type())
                digest.update(PAIR_MESSAGE)
                sent = digest.finalize()
                outcome = self.call("sig_sign_hash", key_id, {"hash": _b64(sent), **body}, auth=auth)
                extra["prehashed"] = True
            extra.update(sent=sent, public_key=public)
        return PairOutcome(outcome.status, outcome.code, outcome.body, outcome.response, **extra)

    def _list_all(self, operation: str, body: Mapping[str, Any], auth: str) -> Outcome:
        """List every page of the folder's key pairs (at most 20 pages of 1000) as one outcome."""
        outcome = self.call(operation, None, body, auth=auth)
        keys: list[Any] = []
        for _ in range(20):
            if outcome.status != 200 or not isinstance(outcome.body, dict):
                return outcome
            keys.extend(outcome.body.get("keys") or [])
            token = outcome.body.get("nextPageToken")
            if not token:
                break
            outcome = self.call(operation, None, {**body, "pageToken": token}, auth=auth)
        return Outcome(outcome.status, outcome.code, {**outcome.body, "keys": keys}, outcome.response)

    def public_key(self, key_id: str) -> Any:
        """The key pair's public key (read once; a broken answer fails the GetPublicKey requirement)."""
        if key_id in self._public:
            return self._public[key_id]
        pair = KEY_PAIRS[self.pairs[key_id]]
        outcome = self.call(f"{pair.prefix}_public_key", key_id)
        problem = public_key_problem(outcome)
        if problem:
            raise self.step_failed("public-key", f"key pair {key_id}: {problem}")
        public = serialization.load_pem_public_key(outcome.body["publicKey"].encode())
        self._public[key_id] = public
        return public

    def key_in(self, state: str) -> str:
        found = pair_state(state)
        if found is None:
            return super().key_in(state)
        kind, status = found
        pair = KEY_PAIRS[kind]
        outcome = self.call(f"{pair.prefix}_create", None, {pair.algorithm_field: pair.algorithm})
        key_id = (
            ((outcome.body or {}).get("metadata") or {}).get("keyId")
            if isinstance(outcome.body, dict)
            else None
        )
        if outcome.status != 200 or not key_id or outcome.code:
            raise self.step_failed("key-pair-create", f"Create answered {outcome.describe()}")
        self.own(key_id)
        self.pairs[key_id] = kind
        step = f"{pair.prefix}-{status}"
        if status == "disabled":
            if pair.prefix == "enc":
                self.public_key(key_id)  # decrypt rows need a ciphertext the pair opens
            self._must(f"{pair.prefix}_disable", key_id, step=step)
        elif status == "protected":
            self._must(f"{pair.prefix}_protect", key_id, step=step)
        elif status == "deleted":
            self._must(f"{pair.prefix}_delete", key_id, step=step)
        reached = self.key_state(key_id)
        if reached != state:
            raise self.step_failed(
                step if status != "enabled" else "key-pair-create",
                f"the key pair should now be {state}, is {reached}",
            )
        return key_id

    def _pair_state(self, key_id: str) -> str:
        kind = self.pairs[key_id]
        outcome = self.call(f"{KEY_PAIRS[kind].prefix}_get", key_id)
        if outcome.status == 404:
            return f"{kind}-deleted"
        if outcome.status != 200 or not isinstance(outcome.body, dict):
            return f"unreadable (Get answered {outcome.status})"
        status = outcome.body.get("status")
        if status == "INACTIVE":
            return f"{kind}-disabled"
        if status != "ACTIVE":
            return f"{kind}-{status}"
        return f"{kind}-protected" if outcome.body.get("deletionProtection") else f"{kind}-enabled"

    # -- scratch keys ------------------------------------------------------------------------------

    def create_key(self) -> str:
        outcome = self.call("create")
        key_id = (
            ((outcome.body or {}).get("metadata") or {}).get("keyId")
            if isinstance(outcome.body, dict)
            else None
        )
        if outcome.status != 200 or not key_id or outcome.code:
            raise self.step_failed("create", f"Create answered {outcome.describe()}")
        return key_id

    def _versions(self, key_id: str) -> list[dict[str, Any]]:
        outcome = self.call("list_versions", key_id, {"pageSize": "1000"})
        if outcome.status != 200:
            raise self.step_failed("read-state", f"listing versions: {outcome.describe()}")
        return outcome.body.get("keyVersions") or []

    def key_state(self, key_id: str) -> str:
        if key_id in self.pairs:
            return self._pair_state(key_id)
        outcome = self.call("get", key_id)
        if outcome.status == 200 and isinstance(outcome.body, dict):
            snake = _not_camel_case(outcome.body)
            if snake:
                raise StepFailed(
                    self.setup_requirements["field-names"],
                    f"reading key {key_id}: field {snake} is not lowerCamelCase",
                )
        if outcome.status == 404:
            return "deleted"
        if outcome.status != 200 or not isinstance(outcome.body, dict):
            return f"unreadable (Get answered {outcome.status})"
        key = outcome.body
        if key.get("status") == "INACTIVE":
            return "disabled"
        if key.get("status") != "ACTIVE":
            return str(key.get("status"))
        subject_id = self.subject.get(key_id)
        subject = next((v for v in self._versions(key_id) if v.get("id") == subject_id), None)
        if subject is None:
            return "unknown-subject"
        status, primary = subject.get("status"), bool(subject.get("primary"))
        if status == "SCHEDULED_FOR_DESTRUCTION":
            return "version-scheduled" + ("+primary" if primary else "")
        if status == "DESTROYED":
            return "version-destroyed" + ("+primary" if primary else "")
        if status != "ACTIVE":
            return f"version-{status}"
        if key.get("deletionProtection"):
            return "protected" if primary else "protected+rotated"
        return "enabled" if primary else "rotated"

    def _must(
        self, operation: str, key_id: str, body: Mapping[str, Any] | None = None, *, step: str
    ) -> Outcome:
        outcome = self.call(operation, key_id, body)
        if outcome.status != 200 or outcome.code:
            raise self.step_failed(
                step, f"{operation} failed: {outcome.describe()} {str(outcome.body)[:300]}"
            )
        return outcome

    def drive_to(self, key_id: str, state: str) -> None:
        state = ALIASES.get(state, state)
        if state == "enabled":
            return
        if state == "disabled":
            self._must("disable", key_id, step=state)
        elif state == "protected":
            self._must("protect", key_id, step=state)
        elif state == "rotated":
            self._must("rotate", key_id, step=state)
        elif state == "version-scheduled":
            self.drive_to(key_id, "rotated")
            self._must("schedule_version_destruction", key_id, step=state)
        elif state == "version-destroyed":
            if not is_loopback(self.settings.base_url):
                raise NotCovered(
                    "a DESTROYED version needs a target clock that can be advanced (the bundled mock)"
                )
            self.drive_to(key_id, "rotated")
            self._must(
                "schedule_version_destruction", key_id, {"pendingPeriod": "86400s"}, step="version-scheduled"
            )
            self.advance_mock_clock(86400 + 1)
        elif state == "deleted":
            self._must("delete", key_id, step=state)
        else:
            raise ValueError(f"unknown yandex state {state!r}")
        reached = self.key_state(key_id)
        if reached != state:
            # The step answered success without doing it: its requirement fails, not the row's.
            step = state if state in self.setup_requirements else "create"
            raise self.step_failed(step, f"the key should now be {state}, is {reached}")

    def advance_mock_clock(self, seconds: float) -> None:
        """Move the bundled mock's clock (not part of the vendor API; loopback targets only)."""
        response = self.client.post("/_mock/clock", json={"advanceSeconds": seconds})
        if response.status_code != 200:
            raise NotCovered("the target has no test clock: DESTROYED versions are not covered")

    # A key read as gone -- a documented NOT_FOUND, see ``settled`` -- needs no cleanup.
    settled_states: ClassVar[frozenset[str]] = frozenset(
        {"deleted", *(f"{kind}-deleted" for kind in KEY_PAIRS)}
    )

    def settled(self, key_id: str, state: str) -> None:
        last = self.history[-1] if self.history else None
        if last is not None and last.status_code == 404 and self.error_code(read_json(last)):
            super().settled(key_id, state)  # a proxy's bare 404 says nothing about the key

    def cleanup_key(self, key_id: str) -> None:
        if key_id in self.pairs:
            collection = KEY_PAIRS[self.pairs[key_id]].collection
            if not self._deleted_at_once(f"/kms/v1/{collection}/{key_id}"):
                self._cleanup_asymmetric(key_id, (collection,))
            return
        # Most scratch keys are symmetric and unprotected: delete at once (one request, not a read
        # first).  Anything but a documented success -- protected, not a symmetric key, an error --
        # takes the careful way: read it, unprotect it, delete it, or find its collection.
        first = self.call("delete", key_id)
        if first.status == 200 and isinstance(first.body, dict) and not first.code:
            return
        outcome = self.call("get", key_id)
        if outcome.status == 404 and outcome.code:
            # not a symmetric key (any more): an asymmetric key the generated layer created, or gone
            self._cleanup_asymmetric(key_id)
            return  # already deleted (a documented NOT_FOUND, not a proxy's bare 404)
        if outcome.status != 200 or not isinstance(outcome.body, dict):
            raise CleanupRefused(f"Get answered {outcome.status} {outcome.text[:200]}")
        if outcome.body.get("deletionProtection"):
            self.call("unprotect", key_id)
        deleted = self.call("delete", key_id)
        if (deleted.status == 404 and deleted.code) or (
            deleted.status == 200 and isinstance(deleted.body, dict) and not deleted.code
        ):
            return
        raise CleanupRefused(
            f"Delete answered {deleted.status} {deleted.code or ''} {str(deleted.body)[:200]}"
        )

    def _deleted_at_once(self, path: str) -> bool:
        """Delete without reading first; True only when the deletion's operation ended well."""
        deleted = self.client.delete(path)
        final = read_json(deleted)
        if deleted.status_code != 200 or not isinstance(final, dict) or final.get("error"):
            return False
        final, _, stuck = self.wait(final)
        return not stuck and not final.get("error")

    def _cleanup_asymmetric(self, key_id: str, collections: tuple[str, ...] = ASYMMETRIC_COLLECTIONS) -> None:
        """Delete ``key_id`` from the asymmetric collection that has it (unprotecting it first).

        Ids look alike in every collection, and the ledger keeps ids only, so each is asked in turn;
        a collection that does not know the id (404) or is not served (501) is skipped.
        """
        for collection in collections:
            path = f"/kms/v1/{collection}/{key_id}"
            got = self.client.get(path)
            body = read_json(got)
            if len(collections) == 1 and got.status_code != 200 and not (got.status_code == 404 and body):
                raise CleanupRefused(f"Get answered {got.status_code} {got.text[:200]}")
            if got.status_code != 200 or not isinstance(body, dict):
                continue
            if body.get("deletionProtection"):
                unprotect = self.client.patch(
                    path, json={"updateMask": "deletionProtection", "deletionProtection": False}
                )
                if unprotect.status_code == 200 and isinstance(read_json(unprotect), dict):
                    self.wait(read_json(unprotect))
            deleted = self.client.delete(path)
            final = read_json(deleted)
            if deleted.status_code == 200 and isinstance(final, dict):
                final, _, stuck = self.wait(final)
                if not stuck and not final.get("error"):
                    return
            raise CleanupRefused(f"Delete answered {deleted.status_code} {deleted.text[:200]}")

    def not_served(self, outcome: Outcome) -> str | None:
        # gRPC-transcoded services answer an unrouted method with UNIMPLEMENTED (code 12, HTTP 501).
        if outcome.code == "12" or outcome.status == 501:
            return f"HTTP {outcome.status} UNIMPLEMENTED"
        return super().not_served(outcome)

    def unknown_key_id(self) -> str:
        return "abj00000000000000000"

    def malformed_key_id(self) -> str:
        return "abj" + "0" * 48

    # -- envelopes ---------------------------------------------------------------------------------

    def envelope_problem(self, outcome: Outcome) -> str | None:
        problem = super().envelope_problem(outcome)
        if problem or outcome.status < 400:
            return problem
        code = outcome.body.get("code")
        if HTTP_OF_CODE.get(code) != outcome.status:
            return f"gRPC code {code} belongs with HTTP {HTTP_OF_CODE.get(code)}, not {outcome.status}"
        return None


PROFILE = YandexProfile

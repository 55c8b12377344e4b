"""The Yandex KMS mock's state and business rules: keys, versions, operations, rotation, crypto.

Where is the Yandex state machine?  Here.  ``VERSION_MOVES`` says from which version statuses
each version operation is allowed; the key statuses (CREATING -> ACTIVE <-> INACTIVE) move in
``YandexKms.create``/``update``; ``settle`` turns a version whose destroyAt has passed into
DESTROYED.  ``Rules`` holds every row and value a fault or option may change (faults.py builds
it); the model reads its rules from nothing else.

Mutations run as Operations: ``run_operation`` checks the change against a copy of the key (so a
refusal answers at once), then applies it now (``immediate``) or when the operation is polled or
old enough (``async``).  A finished operation keeps a snapshot of its result for later answers.

No HTTP here: responses.py parses requests, calls ``YandexKms`` and writes the JSON answers.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from conformance.vendors.yandex.mock import asymmetric
from conformance.vendors.yandex.mock.exceptions import ApiError

# -- the mock account ----------------------------------------------------------------------------
FOLDER_ID = "b1gmockfolder0000001"
OTHER_FOLDER_ID = "b1gmockfolder0000002"  # a second folder, with a token of its own (tenant isolation)
USER_ID = "ajemockuser000000001"  # who the valid token belongs to: every Operation's createdBy

# -- statuses (enum names on the wire) -----------------------------------------------------------
CREATING = "CREATING"  # key, only while an async Create is pending
ACTIVE = "ACTIVE"  # key and version
INACTIVE = "INACTIVE"  # key
SCHEDULED = "SCHEDULED_FOR_DESTRUCTION"  # version
DESTROYED = "DESTROYED"  # version, for good
VERSION_STATUSES = frozenset({ACTIVE, SCHEDULED, DESTROYED})

DEFAULT_PENDING = 7 * 24 * 3600.0  # pendingPeriod when the request names none
MIN_PENDING = 24 * 3600.0  # "for the next day at least"
DELETE_GRACE = timedelta(hours=72)  # Delete schedules every ACTIVE version this far ahead
KEY_BYTES = {"AES_128": 16, "AES_192": 24, "AES_256": 32, "AES_256_HSM": 32, "GOST_R_3412_2015_K": 32}

# version operation -> the version statuses it is allowed from (anything else is a precondition refusal)
VERSION_MOVES: Mapping[str, frozenset[str]] = {
    "schedule": frozenset({ACTIVE}),
    "cancel": frozenset({SCHEDULED}),
    "set-primary": frozenset({ACTIVE}),
}

# Key attributes Update may set (its updateMask paths, as model attribute names).
UPDATE_FIELDS = frozenset(
    {"name", "description", "labels", "status", "default_algorithm", "rotation_period", "deletion_protection"}
)


class Missing:
    """The value of an Update field the request body leaves out."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@dataclass(frozen=True)
class Rules:
    """The business rules a switch can change; the defaults are the documented ones."""

    version_moves: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(VERSION_MOVES))
    schedule_primary: bool = False  # the primary version may be scheduled for destruction
    cancel_clears_destroy_at: bool = True
    rotate_makes_primary: bool = True
    delete_honours_protection: bool = True
    update_fields: frozenset[str] = UPDATE_FIELDS  # what Update applies; other mask paths are ignored
    default_pending: float = DEFAULT_PENDING
    unknown_key: tuple[int, str] = (5, "Symmetric key {key_id!r} not found")  # gRPC code, message
    unknown_operation: tuple[int, str] = (5, "Operation {operation_id!r} not found")
    operations_finish: bool = True  # False: every operation stays done: false
    # -- documented alternatives (options) --
    asynchronous: bool = False  # operations answer done: false first
    async_polls: int = 2  # ... and finish after this many polls
    async_seconds: float = 1.0  # ... or after this long
    precondition_in_operation: bool = False  # state-rule refusals as HTTP 200 + Operation error
    precondition_code: int = 9  # FAILED_PRECONDITION (or 3)
    # -- asymmetric keys --
    asym_status_settable: bool = True  # Update sets an asymmetric key's status
    asym_inactive_usable: bool = False  # an INACTIVE key pair decrypts and signs
    asym_deleted_hidden: bool = True  # a deleted key pair is absent from Get and List
    asym_delete_honours_protection: bool = True
    inactive_public_key: bool = False  # option: GetPublicKey of an INACTIVE key pair is answered
    # -- what later calls show --
    aad_bound: bool = True  # a ciphertext opens only with the aadContext it was sealed with
    rotate_keeps_old_material: bool = True  # False: Rotate replaces the old versions' material
    rotate_sets_rotated_at: bool = True
    rotate_takes_default_algorithm: bool = True  # False: a new version copies the primary's algorithm
    pending_period_honoured: bool = True  # False: every schedule uses the default pendingPeriod
    deleted_keys_listed: bool = False  # List shows deleted symmetric keys
    idempotency_honoured: bool = True  # a repeated Idempotency-Key answers the first Operation
    asym_update_sets_labels: bool = True  # Update of a key pair applies its labels
    min_pending: float = MIN_PENDING  # the shortest pendingPeriod ScheduleVersionDestruction takes
    operations_newest_first: bool = True  # False: a key's ListOperations starts with its oldest


@dataclass
class Version:
    id: str
    key_id: str
    algorithm: str
    created_at: datetime
    secret: bytes
    status: str = ACTIVE
    primary: bool = False
    destroy_at: datetime | None = None


@dataclass
class Key:
    id: str
    folder_id: str
    created_at: datetime
    default_algorithm: str
    name: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    status: str = ACTIVE
    rotated_at: datetime | None = None
    rotation_period: float | None = None  # seconds
    deletion_protection: bool = False
    versions: list[Version] = field(default_factory=list)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def primary(self) -> Version:
        return next(v for v in self.versions if v.primary)

    def version(self, version_id: str) -> Version:
        for v in self.versions:
            if v.id == version_id:
                return v
        raise ApiError(5, f"Symmetric key version {version_id!r} not found")


@dataclass
class AsymKey:
    """An asymmetric encryption or signature key: one key pair, no versions.

    The private key is made on first use (``private``), so creating keys costs nothing; it is kept
    as PKCS#8 DER bytes, which copy like any other field.
    """

    id: str
    family: str  # "encryption" or "signature"
    folder_id: str
    created_at: datetime
    algorithm: str
    name: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    status: str = ACTIVE
    deletion_protection: bool = False
    bindings: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    private_der: bytes = b""


@dataclass(frozen=True)
class AsymKeySpec:
    """What an asymmetric Create asks for (already parsed)."""

    family: str
    folder_id: str
    algorithm: str
    name: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    deletion_protection: bool = False


@dataclass(frozen=True)
class KeySpec:
    """What Create asks for (already parsed from the request)."""

    folder_id: str
    default_algorithm: str
    name: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    rotation_period: float | None = None
    deletion_protection: bool = False


class Empty:
    """google.protobuf.Empty: the result of the access-binding operations."""


EMPTY = Empty()
Result = Key | Version | AsymKey | Empty  # what an operation yields: a snapshot, never the live object


@dataclass(frozen=True)
class Failure:
    """How an operation ended in error; the request id is fixed when it fails, not per answer."""

    code: int
    message: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Operation:
    id: str
    kind: (
        str  # the method that started it: create, update, delete, set-primary, schedule, cancel, rotate, ...
    )
    description: str
    created_at: datetime
    modified_at: datetime
    key_id: str
    version_id: str | None = None  # the version the method names (its metadata)
    destroy_at: datetime | None = None  # schedule: when the version will be destroyed
    done: bool = False
    response: Result | None = None
    error: Failure | None = None
    pending: Callable[[], Result] | None = None
    polls: int = 0
    started: float = field(default_factory=time.monotonic)


def new_id() -> str:
    """An id shaped like the service's: 20 characters of [a-z0-9] starting ``abj``."""
    return "abj" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(17))


def _keystream(secret: bytes, nonce: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(secret + nonce + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[YandexKms, P], R]) -> Callable[Concatenate[YandexKms, P], R]:
    """Run a public model method under the model's lock."""

    @functools.wraps(method)
    def run(kms: YandexKms, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with kms.lock:
            return method(kms, *args, **kwargs)

    return run


class YandexKms:
    """The in-memory service behind one app.

    Thread-safe: every public method runs under ``lock`` (re-entrant, so responses.py holds it
    across a whole request too, making a lookup and the change it leads to one step).
    """

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self.lock = threading.RLock()
        self.keys: dict[str, Key] = {}
        self.asym: dict[str, AsymKey] = {}  # asymmetric encryption and signature keys
        self.operations: dict[str, Operation] = {}
        self.idempotency: dict[str, str] = {}  # Idempotency-Key -> operation id
        self.clock_offset = 0.0  # seconds the mock's clock runs ahead (the /_mock/clock hook)

    def live(self, key_id: str) -> Any:
        """The stored key (symmetric or asymmetric) an operation changes, deleted or not."""
        return self.keys[key_id] if key_id in self.keys else self.asym[key_id]

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    @_locked
    def advance_clock(self, seconds: float) -> datetime:
        self.clock_offset += seconds
        return self.now()

    def precondition(self, message: str) -> ApiError:
        """A state-rule refusal: its code and how it is reported are options."""
        return ApiError(self.rules.precondition_code, message, precondition=True)

    # -- lookups ---------------------------------------------------------------------------------

    @_locked
    def get_key(self, key_id: str) -> Key:
        """The live key (settled), or the unknown-key refusal for a missing or deleted one."""
        k = self.keys.get(key_id)
        if k is None or k.deleted:
            code, message = self.rules.unknown_key
            raise ApiError(code, message.format(key_id=key_id))
        self.settle(k)
        return k

    @_locked
    def keys_in(self, folder_id: str) -> list[Key]:
        keys = [
            k
            for k in self.keys.values()
            if k.folder_id == folder_id and (not k.deleted or self.rules.deleted_keys_listed)
        ]
        for k in keys:
            self.settle(k)
        return keys

    @_locked
    def operations_of(self, key: Key | AsymKey) -> list[Operation]:
        """The key's operations, newest first."""
        return sorted(
            (op for op in self.operations.values() if op.key_id == key.id),
            key=lambda o: o.created_at,
            reverse=self.rules.operations_newest_first,
        )

    @_locked
    def operation(self, operation_id: str) -> Operation:
        op = self.operations.get(operation_id)
        if op is None:
            code, message = self.rules.unknown_operation
            raise ApiError(code, message.format(operation_id=operation_id))
        return op

    def settle(self, k: Key) -> None:
        """Versions whose destroyAt has passed are DESTROYED (irreversible); due operations finish."""
        now = self.now()
        for v in k.versions:
            if v.status == SCHEDULED and v.destroy_at is not None and v.destroy_at <= now:
                v.status = DESTROYED
                v.destroy_at = None
        for op in list(self.operations.values()):
            if op.key_id == k.id:
                self.advance(op, poll=False)

    # -- operations ------------------------------------------------------------------------------

    def _asynchronous(self) -> bool:
        """Whether a new operation waits (the async option, or the fault that never finishes one)."""
        return self.rules.asynchronous or not self.rules.operations_finish

    @_locked
    def advance(self, op: Operation, *, poll: bool) -> None:
        """Finish a pending operation once polled often enough or old enough."""
        if op.done or op.pending is None or not self.rules.operations_finish:
            return
        if poll:
            op.polls += 1
        if op.polls >= self.rules.async_polls or time.monotonic() - op.started >= self.rules.async_seconds:
            self._finish(op, op.pending)

    def _finish(self, op: Operation, effect: Callable[[], Result]) -> None:
        try:
            op.response = effect()
        except ApiError as exc:
            op.error = Failure(exc.code, exc.message)
        op.pending = None
        op.done = True
        op.modified_at = self.now()

    @_locked
    def cancel_operation(self, op: Operation) -> None:
        self.advance(op, poll=False)
        if not op.done:
            op.pending, op.done, op.modified_at = None, True, self.now()
            op.error = Failure(1, "Operation cancelled")

    def run_operation(
        self,
        kind: str,
        description: str,
        key: Any,
        effect: Callable[[Any], Result],
        idempotency_key: str | None,
        **metadata: Any,
    ) -> Operation:
        """Check ``effect`` against a copy of ``key`` (errors answer at once), then apply it now or later.

        A repeated ``idempotency_key`` answers the operation it started instead.
        """
        if not self.rules.idempotency_honoured:
            idempotency_key = None
        if idempotency_key and idempotency_key in self.idempotency:
            return self.operations[self.idempotency[idempotency_key]]
        now = self.now()
        op = Operation(new_id(), kind, description, now, now, key.id, **metadata)
        asynchronous = self._asynchronous()
        try:
            if asynchronous:
                effect(copy.deepcopy(key))
            else:
                op.response = effect(key)
                op.done = True
        except ApiError as exc:
            if exc.precondition and self.rules.precondition_in_operation:
                op.error = Failure(exc.code, exc.message)
                op.done = True
            else:
                raise
        if asynchronous and not op.done:
            op.pending = lambda: effect(self.live(key.id))
        self.operations[op.id] = op
        if idempotency_key:
            self.idempotency[idempotency_key] = op.id
        return op

    # -- SymmetricKeyService ---------------------------------------------------------------------

    @_locked
    def create(self, spec: KeySpec, idem: str | None) -> Operation:
        """A new key with one ACTIVE primary version (CREATING until done in async mode)."""
        now = self.now()
        key = Key(
            new_id(),
            spec.folder_id,
            now.replace(microsecond=0),
            spec.default_algorithm,
            spec.name,
            spec.description,
            spec.labels,
            rotation_period=spec.rotation_period,
            deletion_protection=spec.deletion_protection,
        )
        version = Version(
            new_id(), key.id, spec.default_algorithm, key.created_at, secrets.token_bytes(32), primary=True
        )
        key.versions.append(version)
        if self.rules.asynchronous:
            key.status = CREATING
        self.keys[key.id] = key

        def effect(k: Key) -> Result:
            if k.status == CREATING:
                k.status = ACTIVE
            return copy.deepcopy(k)

        return self.run_operation("create", "Create symmetric key", key, effect, idem, version_id=version.id)

    @_locked
    def update(self, key: Key, changes: Sequence[tuple[str, Any]], idem: str | None) -> Operation:
        """Apply ``(attribute, value or MISSING)`` pairs in mask order; Update never touches versions."""

        def effect(k: Key) -> Result:
            if k.status == CREATING:
                raise self.precondition("The key is being created")
            for attribute, value in changes:
                if attribute in self.rules.update_fields:
                    _set_field(k, attribute, value)
            return copy.deepcopy(k)

        return self.run_operation("update", "Update symmetric key", key, effect, idem)

    @_locked
    def delete(self, key: Key, idem: str | None) -> Operation:
        """The key disappears; its ACTIVE versions are scheduled for destruction in 72 hours."""

        def effect(k: Key) -> Result:
            if k.deletion_protection and self.rules.delete_honours_protection:
                raise self.precondition("Deletion protection is enabled; disable it before deleting the key")
            k.deleted = True
            when = self.now() + DELETE_GRACE
            for v in k.versions:
                if v.status == ACTIVE:
                    v.status, v.destroy_at = SCHEDULED, when
            return copy.deepcopy(k)

        return self.run_operation("delete", "Delete symmetric key", key, effect, idem)

    def _allowed(self, move: str, version: Version) -> bool:
        return version.status in self.rules.version_moves[move]

    @_locked
    def set_primary(self, key: Key, version_id: str, idem: str | None) -> Operation:
        key.version(version_id)

        def effect(k: Key) -> Result:
            target = k.version(version_id)
            if not self._allowed("set-primary", target):
                raise self.precondition(
                    f"Version {version_id} is {target.status}; only an ACTIVE version can be primary"
                )
            for v in k.versions:
                v.primary = v is target
            return copy.deepcopy(k)

        return self.run_operation(
            "set-primary", "Set primary version", key, effect, idem, version_id=version_id
        )

    @_locked
    def schedule(self, key: Key, version_id: str, pending: float | None, idem: str | None) -> Operation:
        """Schedule a version's destruction ``pending`` seconds ahead (the rules' default if None)."""
        key.version(version_id)
        if pending is None or not self.rules.pending_period_honoured:
            pending = self.rules.default_pending
        if pending < self.rules.min_pending:
            raise ApiError(
                3, "pendingPeriod: destruction can be scheduled for the next day at least (>= 86400s)"
            )
        destroy_at = self.now() + timedelta(seconds=pending)

        def effect(k: Key) -> Result:
            target = k.version(version_id)
            if target.primary and not self.rules.schedule_primary:
                raise self.precondition("The primary version of a key cannot be destroyed")
            if not self._allowed("schedule", target):
                raise self.precondition(
                    f"Version {version_id} is {target.status}; only an ACTIVE version can be scheduled"
                )
            target.status, target.destroy_at = SCHEDULED, destroy_at
            return copy.deepcopy(target)

        return self.run_operation(
            "schedule",
            "Schedule version destruction",
            key,
            effect,
            idem,
            version_id=version_id,
            destroy_at=destroy_at,
        )

    @_locked
    def cancel(self, key: Key, version_id: str, idem: str | None) -> Operation:
        key.version(version_id)

        def effect(k: Key) -> Result:
            target = k.version(version_id)
            if not self._allowed("cancel", target):
                raise self.precondition(
                    f"Version {version_id} is {target.status}; only a version scheduled for destruction can be restored"
                )
            target.status = ACTIVE
            if self.rules.cancel_clears_destroy_at:
                target.destroy_at = None
            return copy.deepcopy(target)

        return self.run_operation(
            "cancel", "Cancel version destruction", key, effect, idem, version_id=version_id
        )

    @_locked
    def rotate(self, key: Key, idem: str | None) -> Operation:
        """A new version with the key's defaultAlgorithm becomes primary; the old ones stay ACTIVE."""
        version_id = new_id()

        def effect(k: Key) -> Result:
            if k.status == CREATING:
                raise self.precondition("The key is being created")
            now = self.now().replace(microsecond=0)
            algorithm = (
                k.default_algorithm if self.rules.rotate_takes_default_algorithm else k.primary.algorithm
            )
            version = Version(version_id, k.id, algorithm, now, secrets.token_bytes(32))
            if not self.rules.rotate_keeps_old_material:
                for v in k.versions:
                    v.secret = secrets.token_bytes(32)
            if self.rules.rotate_makes_primary:
                for v in k.versions:
                    v.primary = False
                version.primary = True
            k.versions.append(version)
            if self.rules.rotate_sets_rotated_at:
                k.rotated_at = now
            return copy.deepcopy(k)

        return self.run_operation("rotate", "Rotate symmetric key", key, effect, idem, version_id=version_id)

    @_locked
    def set_bindings(self, key: Key | AsymKey, bindings: list[dict[str, Any]], idem: str | None) -> Operation:
        bindings = copy.deepcopy(bindings)

        def effect(k: Key) -> Result:
            k.bindings = bindings
            return EMPTY

        return self.run_operation("set-bindings", "Set access bindings", key, effect, idem)

    @_locked
    def update_bindings(
        self, key: Key | AsymKey, deltas: list[dict[str, Any]], idem: str | None
    ) -> Operation:
        deltas = copy.deepcopy(deltas)

        def effect(k: Key) -> Result:
            for delta in deltas:
                binding = delta["accessBinding"]
                present = binding in k.bindings
                if delta["action"] == "ADD" and not present:
                    k.bindings.append(binding)
                elif delta["action"] == "REMOVE" and present:
                    k.bindings.remove(binding)
            return EMPTY

        return self.run_operation("update-bindings", "Update access bindings", key, effect, idem)

    # -- AsymmetricEncryptionKeyService, AsymmetricSignatureKeyService -----------------------------

    @_locked
    def get_asym(self, family: str, key_id: str) -> AsymKey:
        """The live asymmetric key of ``family``; a missing, deleted or other-family id is code 5."""
        k = self.asym.get(key_id)
        if k is None or (k.deleted and self.rules.asym_deleted_hidden) or k.family != family:
            raise ApiError(5, f"Asymmetric {family} key {key_id!r} not found")
        for op in list(self.operations.values()):
            if op.key_id == k.id:
                self.advance(op, poll=False)
        return k

    @_locked
    def asym_in(self, family: str, folder_id: str) -> list[AsymKey]:
        return [
            self.get_asym(family, k.id)
            for k in list(self.asym.values())
            if k.family == family
            and k.folder_id == folder_id
            and not (k.deleted and self.rules.asym_deleted_hidden)
        ]

    @_locked
    def create_asym(self, spec: AsymKeySpec, idem: str | None) -> Operation:
        """A new key pair (CREATING until done in async mode); the private key is made on first use."""
        key = AsymKey(
            new_id(),
            spec.family,
            spec.folder_id,
            self.now().replace(microsecond=0),
            spec.algorithm,
            spec.name,
            spec.description,
            dict(spec.labels),
            deletion_protection=spec.deletion_protection,
        )
        if self.rules.asynchronous:
            key.status = CREATING
        self.asym[key.id] = key

        def effect(k: AsymKey) -> Result:
            if k.status == CREATING:
                k.status = ACTIVE
            return copy.deepcopy(k)

        return self.run_operation("asym-create", f"Create asymmetric {spec.family} key", key, effect, idem)

    @_locked
    def update_asym(self, key: AsymKey, changes: Sequence[tuple[str, Any]], idem: str | None) -> Operation:
        def effect(k: AsymKey) -> Result:
            if k.status == CREATING:
                raise self.precondition("The key is being created")
            for attribute, value in changes:
                if attribute == "labels":
                    if self.rules.asym_update_sets_labels:
                        k.labels = dict({} if value is MISSING else value)
                elif attribute == "deletion_protection":
                    k.deletion_protection = bool(False if value is MISSING else value)
                elif attribute == "status":
                    if value is not MISSING and self.rules.asym_status_settable:
                        k.status = value
                else:
                    setattr(k, attribute, "" if value is MISSING else value)
            return copy.deepcopy(k)

        return self.run_operation("asym-update", f"Update asymmetric {key.family} key", key, effect, idem)

    @_locked
    def delete_asym(self, key: AsymKey, idem: str | None) -> Operation:
        def effect(k: AsymKey) -> Result:
            if k.deletion_protection and self.rules.asym_delete_honours_protection:
                raise self.precondition("Deletion protection is enabled; disable it before deleting the key")
            k.deleted = True
            return copy.deepcopy(k)

        return self.run_operation("asym-delete", f"Delete asymmetric {key.family} key", key, effect, idem)

    def usable_asym(self, k: AsymKey, *, public: bool = False) -> bytes:
        """The private key of an ACTIVE key (made now if this is its first use).

        ``public``: only the public half is wanted (GetPublicKey), which the option
        ``inactive-public-key`` may serve for an INACTIVE key pair.
        """
        usable = k.status == ACTIVE or (
            k.status == INACTIVE
            and (self.rules.asym_inactive_usable or (public and self.rules.inactive_public_key))
        )
        if not usable:
            raise self.precondition(f"Key {k.id} is {k.status} and cannot be used")
        if not k.private_der:
            k.private_der = asymmetric.generate(k.algorithm)
        return k.private_der

    # -- SymmetricCryptoService ------------------------------------------------------------------

    def usable_version(self, k: Key, version_id: str | None) -> Version:
        """The version a crypto call uses (the primary unless named): key and version must be ACTIVE."""
        if k.status != ACTIVE:
            raise self.precondition(f"Key {k.id} is {k.status} and cannot be used")
        v = k.version(version_id) if version_id else k.primary
        if v.status != ACTIVE:
            raise self.precondition(f"Version {v.id} is {v.status} and cannot be used")
        return v

    @staticmethod
    def seal(v: Version, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext naming its version and bound to the AAD (not real cryptography)."""
        nonce = secrets.token_bytes(12)
        stream = _keystream(v.secret, nonce, len(plaintext))
        body = bytes(a ^ b for a, b in zip(plaintext, stream, strict=True))
        head = v.id.encode()
        tag = hmac.new(v.secret, head + nonce + aad + body, hashlib.sha256).digest()[:16]
        return bytes([len(head)]) + head + nonce + tag + body

    def open(self, k: Key, ciphertext: bytes, aad: bytes) -> tuple[Version, bytes]:
        """The version that sealed ``ciphertext`` and the plaintext; the version must still be usable."""
        try:
            n = ciphertext[0]
            version_id = ciphertext[1 : 1 + n].decode()
            nonce, tag, body = ciphertext[1 + n : 13 + n], ciphertext[13 + n : 29 + n], ciphertext[29 + n :]
            if len(nonce) != 12 or len(tag) != 16:
                raise ValueError
        except (IndexError, ValueError, UnicodeDecodeError):
            raise ApiError(3, "Ciphertext is malformed") from None
        match = next((v for v in k.versions if v.id == version_id), None)
        if match is None:
            raise ApiError(3, "Ciphertext was not produced by this key")
        v = self.usable_version(k, match.id)
        expected = hmac.new(v.secret, version_id.encode() + nonce + aad + body, hashlib.sha256).digest()[:16]
        if not self.rules.aad_bound:  # the fault: the tag is not checked, so any aadContext opens it
            expected = tag
        if not hmac.compare_digest(expected, tag):
            raise ApiError(3, "Ciphertext or AAD context does not match")
        stream = _keystream(v.secret, nonce, len(body))
        return v, bytes(a ^ b for a, b in zip(body, stream, strict=True))

    @staticmethod
    def data_key(spec: str) -> bytes:
        """A fresh data key of the algorithm's length (32 bytes for anything unknown)."""
        return secrets.token_bytes(KEY_BYTES.get(spec, 32))


_UPDATE_DEFAULTS: Mapping[str, Any] = {
    "name": "",
    "description": "",
    "rotation_period": None,
    "deletion_protection": False,
}


def _set_field(k: Key, attribute: str, value: Any) -> None:
    """One Update mask path: an absent value resets the field, except defaultAlgorithm (required)."""
    if attribute == "default_algorithm" and value is MISSING:
        raise ApiError(3, "Request validation error: defaultAlgorithm: required")
    if attribute == "labels":
        k.labels = dict({} if value is MISSING else value)
    elif attribute == "deletion_protection":
        k.deletion_protection = bool(False if value is MISSING else value)
    else:
        setattr(k, attribute, _UPDATE_DEFAULTS.get(attribute) if value is MISSING else value)

"""The Huawei KMS mock's state and business rules: keys, states, transitions, tags, crypto.

Where is the Huawei state machine?  ``TRANSITIONS`` here: per operation, the key states it is
allowed from, the state it leads to and the code it refuses with otherwise.  ``Rules`` holds the
rows and values a fault may change (faults.py builds it); the model reads nothing else.
No HTTP here: responses.py parses requests, calls ``HuaweiKms`` and writes the answers.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from conformance.mocks import keypairs
from conformance.vendors.huawei.mock.exceptions import KmsError

# -- the mock account ----------------------------------------------------------------------
PROJECT_ID = "0123456789abcdef0123456789abcdef"
DOMAIN_ID = "b168fe00ff56492495a7d22974df2d0b"
TOKEN = "hw-mock-token-7d1c5a9e"
# A second project of the account and a token scoped to it (tenant isolation).
OTHER_PROJECT_ID = "fedcba9876543210fedcba9876543210"
OTHER_TOKEN = "hw-mock-other-project-token-5e0a"
FORBIDDEN_TOKEN = "hw-mock-forbidden-token-41b2"
EXPIRED_TOKEN = "hw-mock-expired-token-93fe"
AK = "HWMOCKACCESSKEY0001"
IAM_USER = "hw-mock-user"
IAM_PASSWORD = "hw-mock-password-3c1d"
IAM_DOMAIN = "hw-mock-domain"
SK = "hw-mock-secret-key-5b8e0c"
KEY_QUOTA = 10_000
MAX_TAGS = 10
# The IAM user every mock credential acts as: the issuing principal of its grants, and the
# principal list-retirable-grants / retire-grant compare with.
USER_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
GRANT_QUOTA = 100  # grants per key (ShowUserQuotas: grant_per_CMK, quota 100)

# -- key states (strings on the wire) ------------------------------------------------------
TO_BE_ACTIVATED = "1"  # only ever shown (option create-state), never stored
ENABLED = "2"
DISABLED = "3"
PENDING_DELETION = "4"
PENDING_IMPORT = "5"
STATES_ALL = (ENABLED, DISABLED, PENDING_DELETION, PENDING_IMPORT)  # what a stored key can be in


@dataclass(frozen=True)
class Transition:
    """One state-changing operation: allowed from ``allowed``, leads to ``target``.

    A refused state answers ``refused_from[state]`` when listed, else ``refusal``.
    """

    allowed: frozenset[str]
    target: str
    refusal: str
    refused_from: Mapping[str, str] = field(default_factory=dict)

    def refusal_for(self, state: str) -> str:
        return self.refused_from.get(state, self.refusal)


# operation -> its row.  schedule-key-deletion refuses a key already pending deletion with
# KMS.1402; any other refused state (only a fault makes one) gets KMS.0308.
TRANSITIONS: Mapping[str, Transition] = {
    "enable-key": Transition(frozenset({DISABLED}), ENABLED, "KMS.1201"),
    "disable-key": Transition(frozenset({ENABLED}), DISABLED, "KMS.1301"),
    "schedule-key-deletion": Transition(
        frozenset({ENABLED, DISABLED, PENDING_IMPORT}),
        PENDING_DELETION,
        "KMS.0308",
        {PENDING_DELETION: "KMS.1402"},
    ),
    "cancel-key-deletion": Transition(frozenset({PENDING_DELETION}), DISABLED, "KMS.1501"),
}


@dataclass(frozen=True)
class Rules:
    """The business rules a switch can change; the defaults are the documented ones."""

    transitions: Mapping[str, Transition] = field(default_factory=lambda: dict(TRANSITIONS))
    unknown_key_code: str = "KMS.0207"  # a well-formed key_id no key has
    projects_isolated: bool = True  # a request sees the keys of its own project only
    pending_days_max: int = 1096  # the spec refuses more; a fault lowers it
    list_honours_limit: bool = True
    activation_reads: int = 0  # describes that still show a new KMS key as "1" (to be activated)
    datakey_bits: Mapping[str, int] = field(default_factory=lambda: dict(DATAKEY_BITS))  # per key_spec
    datakey_checks_state: bool = True  # data-key calls refuse disabled / pending-deletion keys
    list_grants_shows: bool = True  # list-grants lists the key's grants
    revoke_deletes: bool = True  # revoke-grant removes the grant
    unknown_grant_code: str | None = "KMS.2501"  # revoke/retire of a grant no key has (None: accepted)
    import_requires_external: bool = True  # get-parameters-for-import checks origin first (KMS.0309)
    import_enables: bool = True  # import-key-material moves the key to enabled
    import_parameters_pending_only: bool = True  # get-parameters-for-import refuses keys not pending import
    delete_material_states: frozenset[str] = frozenset({ENABLED, DISABLED})  # KMS.2701 otherwise
    delete_material_resets: bool = True  # delete-imported-key-material moves the key to pending import
    publickey_asymmetric_only: bool = True  # get-publickey refuses symmetric keys
    decrypt_ignores_algorithm: bool = False  # decrypt-data of an RSA ciphertext takes any algorithm
    asymmetric_plain_dropped: int = 0  # decrypt-data of an RSA ciphertext loses this many bytes
    # -- what later reads show (each a fault's switch) --
    create_keeps_description: bool = True  # create-key stores key_description
    update_alias_stores: bool = True  # update-key-alias changes the stored alias
    update_description_stores: bool = True  # update-key-description changes the stored description
    deletion_days: int | None = None  # scheduled_deletion_date this many days on, whatever pending_days says
    symmetric_plain_dropped: int = 0  # decrypt-data of a symmetric ciphertext loses this many bytes
    # -- listing --
    list_all_every_spec: bool = True  # list-keys key_spec ALL lists every key spec
    list_filters_state: bool = True  # list-keys key_state lists only keys in that state
    # -- rotation --
    rotation_default_on: bool = False  # a new key's rotation is on
    enable_rotation_stores: bool = True  # enable-key-rotation turns rotation on
    enable_rotation_refuses_twice: bool = True  # KMS.2901 when rotation is already on
    rotation_interval_stores: bool = True  # update-key-rotation-interval changes the interval
    disable_rotation_stores: bool = True  # disable-key-rotation turns rotation off
    rotation_refuses_external: bool = True  # external keys cannot be rotated (KMS.0312)
    # -- validation the model does --
    plaintext_counts_bytes: bool = True  # encrypt-data's 4096 limit counts UTF-8 bytes, not characters
    import_checks_token: bool = True  # import-key-material verifies the import token (KMS.2605/2603/2601)
    import_checks_expiration: bool = True  # an expiration_time not in the future is KMS.2602
    import_requires_pending: bool = True  # import-key-material on a key not pending import is KMS.0310
    unwrap_failure_code: str = "KMS.0311"  # material that does not unwrap
    reimport_same_material: bool = True  # material re-imported after a deletion must be the same (KMS.2606)
    sign_checks_usage: bool = True  # only SIGN_VERIFY keys sign and verify
    sign_message_max: int = 4095  # Sign.html: a message smaller than 4096 bytes
    datakey_length_wins: bool = True  # create-datakey: datakey_length wins over key_spec
    datakey_checks_digest: bool = True  # encrypt-datakey: the SHA-256 must be the data key's (KMS.2103)
    grant_id_hex: bool = True  # grant ids are 64 hexadecimal characters (else a UUID)
    asymmetric_default_usage: str = "SIGN_VERIFY"  # CreateKey.html: asymmetric keys default to SIGN_VERIFY
    datakey_foreign_code: str = "KMS.2201"  # decrypt-datakey of a ciphertext not made under the key
    alias_unique_on_update: bool = True  # update-key-alias refuses another key's alias (KMS.1104)
    grant_of_other_key_code: str | None = (
        "KMS.2502"  # revoke/retire naming another key's grant (None: KMS.2501)
    )
    token_key_checked: bool = True  # an import token made for another key is KMS.2603
    cipher_padded: bool = True  # encrypt-data pads the plaintext to 16-byte blocks (124 + 16k bytes)
    # -- tags --
    tags_stored: bool = True  # create-kms-tag / batch create add the tags
    max_tags: int = MAX_TAGS  # KMS.0409 beyond it
    batch_delete_removes: bool = True  # batch-create-kms-tags action delete removes the tags
    delete_tag_removes: bool = True  # delete-tag removes the tag
    unknown_tag_code: str | None = "KMS.0416"  # delete-tag of a tag the key does not have (None: accepted)
    search_filters_tags: bool = True  # list-kms-by-tags keeps only keys carrying the tags


@dataclass
class Key:
    key_id: str
    alias: str
    description: str
    spec: str
    usage: str
    origin: str
    state: str
    created_ms: int
    deletion_ms: int | None = None
    rotation_enabled: bool = False
    rotation_interval: int = 365
    tags: dict[str, str] = field(default_factory=dict)
    activation_reads: int = 0  # "1" (to be activated) is shown for this many more describes
    grants: dict[str, Grant] = field(default_factory=dict)  # grant_id -> grant, in creation order
    # -- imported material (origin "external") --
    has_material: bool = False
    material_digest: bytes | None = None  # SHA-256 of the first material imported; kept after deletion
    material_expiry_s: int | None = None  # import-key-material's expiration_time
    signer: keypairs.PrivateKey | None = None  # an asymmetric key's private key, made at first use


@dataclass(frozen=True)
class Grant:
    """One grant on a key (CreateGrant.html / ListGrants.html)."""

    grant_id: str
    key_id: str
    grantee_principal: str
    grantee_type: str
    operations: tuple[str, ...]
    name: str
    retiring_principal: str
    issuing_principal: str
    created_ms: int


@dataclass(frozen=True)
class GrantPage:
    """One list-grants / list-retirable-grants page."""

    grants: list[Grant]
    next_marker: str
    truncated: bool
    total: int


DEFAULT_GRANT_PAGE = 1000  # ListRetirableGrants.html / ListGrants.html: limit defaults to 1000


def _page(items: list[Grant], marker: Any, limit: Any) -> GrantPage:
    start = int(marker or 0)
    size = int(limit) if limit not in (None, "") else DEFAULT_GRANT_PAGE
    size = size or DEFAULT_GRANT_PAGE  # "0": the default (inferred; the pages give no minimum)
    truncated = start + size < len(items)
    return GrantPage(
        grants=items[start : start + size],
        next_marker=str(start + size) if truncated else "",
        truncated=truncated,
        total=len(items),
    )


@dataclass(frozen=True)
class Page:
    """One list-keys page."""

    keys: list[Key]
    next_marker: str
    truncated: bool
    total: int


def now_ms() -> int:
    return int(time.time() * 1000)


# -- crypto helpers: not cryptography, just reversible blobs that carry their key id ----------
# encrypt-data's ciphertext is documented as 124 bytes of header (key id, algorithm, version,
# digest) plus the plaintext padded to 16-byte blocks, then Base64: 124 + ceil(n / 16) * 16 bytes.
# The mock's blob has exactly that size, so every legal plaintext (1-4096 bytes) fits the
# documented ciphertext limit.  (FAQ: https://support.huaweicloud.com/intl/en-us/dew_faq/dew_01_0215.html)
CIPHER_HEADER_BYTES = 124
CIPHER_BLOCK_BYTES = 16
PLAINTEXT_MAX_BYTES = 4096  # EncryptData.html: plain_text is 1 to 4096 bytes
_MAGIC = b"HWMOCK01"
_KEY_ID_BYTES = 36


def seal(key_id: str, plain: bytes, pad: bool = True) -> str:
    """encrypt-data's ciphertext: Base64 of a header naming the key, then the padded plaintext
    (``pad`` False: unpadded, what fault ciphertext-unpadded answers)."""
    header = _MAGIC + key_id.encode().ljust(_KEY_ID_BYTES) + len(plain).to_bytes(4, "big")
    padded = plain + b"\0" * (-len(plain) % CIPHER_BLOCK_BYTES if pad else 0)
    return base64.b64encode(header.ljust(CIPHER_HEADER_BYTES, b"\0") + padded).decode()


def unseal(cipher_text: str) -> tuple[str, bytes]:
    """(key id, plaintext bytes) of a ``seal`` blob; KMS.2201 for anything else."""
    try:
        raw = base64.b64decode(cipher_text, validate=True)
    except ValueError:
        raise KmsError("KMS.2201") from None
    body = raw[CIPHER_HEADER_BYTES:]
    start = len(_MAGIC)
    size = int.from_bytes(raw[start + _KEY_ID_BYTES : start + _KEY_ID_BYTES + 4], "big")
    if (
        not raw.startswith(_MAGIC)
        or len(raw) < CIPHER_HEADER_BYTES
        or not len(body) - CIPHER_BLOCK_BYTES < size <= len(body)
    ):
        raise KmsError("KMS.2201")
    try:
        key_id = raw[start : start + _KEY_ID_BYTES].decode().strip()
    except UnicodeDecodeError:
        raise KmsError("KMS.2201") from None
    return key_id, body[:size]


# Data key sizes per key_spec when datakey_length is absent (CreateDatakey.html: AES_256 is a
# 256-bit key, AES_128 a 128-bit one; neither given: 256 bits).  SM4 is a 128-bit cipher; the
# HMAC specs take their digest size.
DATAKEY_BITS: Mapping[str, int] = {
    "AES_256": 256,
    "AES_128": 128,
    "SM4": 128,
    "HMAC_256": 256,
    "HMAC_384": 384,
    "HMAC_512": 512,
    "HMAC_SM3": 256,
}
DEFAULT_DATAKEY_BITS = 256


_DEK_MAGIC = b"HWDK"
DIGEST_BYTES = 32  # SHA-256


def wrap(key_id: str, plain: bytes) -> bytes:
    """A data key "encrypted" under ``key_id``: the key id, the data key and its SHA-256 digest."""
    return _DEK_MAGIC + key_id.encode().ljust(_KEY_ID_BYTES) + plain + hashlib.sha256(plain).digest()


def unwrap(key_id: str, wrapped: bytes) -> bytes:
    """The data key of a ``wrap`` blob made under ``key_id``: KMS.2201 for any other, KMS.2203 if tampered."""
    start = len(_DEK_MAGIC)
    if (
        not wrapped.startswith(_DEK_MAGIC)
        or len(wrapped) <= start + _KEY_ID_BYTES + DIGEST_BYTES
        or wrapped[start : start + _KEY_ID_BYTES] != key_id.encode().ljust(_KEY_ID_BYTES)
    ):
        raise KmsError("KMS.2201")
    plain, digest = wrapped[start + _KEY_ID_BYTES : -DIGEST_BYTES], wrapped[-DIGEST_BYTES:]
    if hashlib.sha256(plain).digest() != digest:
        raise KmsError("KMS.2203")
    return plain


def data_key(key_id: str, bits: int) -> tuple[bytes, bytes]:
    """(plain, wrapped) data key of ``bits`` bits; the wrapped form carries the key id."""
    plain = secrets.token_bytes(bits // 8)
    return plain, wrap(key_id, plain)


# -- importing key material -----------------------------------------------------------------
# get-parameters-for-import hands out an RSA-2048 public key (CreateParametersForImport.html:
# "an RSA_2048 public key is returned by default"); clients wrap 32 bytes of AES_256 material with
# RSAES-OAEP-SHA-256 (KMS.2604: the material must be 32 bytes).  One wrapping key per process.
WRAPPING_ALGORITHMS = frozenset({"RSAES_OAEP_SHA_256"})
IMPORT_TOKEN_SECONDS = 86_400  # inferred: the pages give the expiry, not the lifetime
MATERIAL_BYTES: Mapping[str, int] = {"AES_256": 32, "SM4": 16}
_TOKEN_MAGIC = b"HWIT"
_TOKEN_BYTES = 200  # 268 Base64 characters: within import_token's documented 200-6144
_MAC_BYTES = 32


def wrapping_key() -> keypairs.rsa.RSAPrivateKey:
    """The RSA key pair whose public half get-parameters-for-import hands out (one per process)."""
    return keypairs.shared_rsa_key(2048)


def unwrap_material(wrapped_b64: str) -> bytes:
    """The material of a Base64 RSAES-OAEP-SHA-256 ciphertext (MGF1 with SHA-256, or SHA-1 as Java's
    default OAEP does); KMS.0311 ("RSA private key decryption failed") otherwise."""
    try:
        wrapped = base64.b64decode(wrapped_b64, validate=True)
    except ValueError:
        raise KmsError("KMS.0311") from None
    for mgf in ("sha256", "sha1"):
        try:
            return keypairs.oaep_decrypt(wrapping_key(), wrapped, "sha256", mgf)
        except keypairs.DecryptError:
            continue
    raise KmsError("KMS.0311")


# -- asymmetric keys -------------------------------------------------------------------------
# Sign.html lists the algorithms; which ones a key spec takes follows from their names.
RSA_BITS: Mapping[str, int] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
_RSA_ALGORITHMS = {
    f"RSASSA_{scheme}_SHA_{bits}": ("pss" if scheme == "PSS" else "pkcs1", f"sha{bits}")
    for scheme in ("PSS", "PKCS1_V1_5")
    for bits in (256, 384, 512)
}
SIGNING_ALGORITHMS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    **{spec: _RSA_ALGORITHMS for spec in RSA_BITS},
    "EC_P256": {"ECDSA_SHA_256": ("ecdsa", "sha256")},
    "SECP256K1": {"ECDSA_SHA_256": ("ecdsa", "sha256")},
    "EC_P384": {"ECDSA_SHA_384": ("ecdsa", "sha384")},
}
ASYMMETRIC_SPECS = frozenset({*SIGNING_ALGORITHMS, "SM2", "ED25519"})
SIGN_MESSAGE_MAX_BYTES = 4095  # Sign.html: "smaller than 4,096 bytes"
# EncryptData.html / DecryptData.html: encryption_algorithm, only for asymmetric keys.  SM2_ENCRYPT
# is not modelled (the cryptography package has no SM2).
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
RSA_OAEP_SHA_256 = "RSAES_OAEP_SHA_256"
ASYMMETRIC_ENCRYPTION = frozenset({RSA_OAEP_SHA_256})


_OAEP_SHA_256 = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _oaep_decrypt(private: keypairs.rsa.RSAPrivateKey, data: bytes) -> bytes:
    """RSAES-OAEP-SHA-256 (MGF1 with SHA-256) decryption; ValueError when it fails."""
    return private.decrypt(data, _OAEP_SHA_256)


def oaep_max_bytes(key_bits: int) -> int:
    """The longest plaintext RSAES-OAEP with SHA-256 takes: k - 2 * 32 - 2 bytes (RFC 8017)."""
    return key_bits // 8 - 2 * 32 - 2


# The mock's EC curve names for Huawei's key specs.
EC_CURVES: Mapping[str, str] = {"EC_P256": "P-256", "EC_P384": "P-384", "SECP256K1": "secp256k1"}


P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[HuaweiKms, P], R]) -> Callable[Concatenate[HuaweiKms, P], R]:
    """Run a public model method under the model's lock."""

    @functools.wraps(method)
    def run(kms: HuaweiKms, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with kms.lock:
            return method(kms, *args, **kwargs)

    return run


class HuaweiKms:
    """The mock's keys, per project, and what the operations do to them.

    Thread-safe: every public method runs under ``lock`` (re-entrant, so the app may hold it
    across a whole request as well).
    """

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self.lock = threading.RLock()
        self.projects: dict[str, dict[str, Key]] = {}
        self.iam_tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self.import_secret = secrets.token_bytes(32)  # signs this mock's import tokens

    # -- lookup ----------------------------------------------------------------------------
    @_locked
    def keys(self, project: str) -> dict[str, Key]:
        return self.projects.setdefault(project, {})

    @_locked
    def visible(self, project: str) -> dict[str, Key]:
        """The keys a request in ``project`` sees: that project's (a fault: every project's)."""
        if self.rules.projects_isolated:
            return self.keys(project)
        return {key_id: key for keys in self.projects.values() for key_id, key in keys.items()}

    def find(self, project: str, key_id: Any) -> Key:
        key = self.visible(project).get(key_id)
        if key is None:
            raise KmsError(self.rules.unknown_key_code)
        return key

    def _usable_for_edit(self, project: str, key_id: Any) -> Key:
        key = self.find(project, key_id)
        if key.state == PENDING_DELETION:
            raise KmsError("KMS.0210")
        return key

    def _usable_for_datakey(self, project: str, key_id: Any) -> Key:
        """The key for create-datakey, encrypt-datakey and decrypt-datakey (a fault skips the state check)."""
        if not self.rules.datakey_checks_state:
            return self.find(project, key_id)
        return self._usable_for_crypto(project, key_id)

    def _usable_for_crypto(self, project: str, key_id: Any) -> Key:
        key = self.find(project, key_id)
        if key.state == DISABLED:
            raise KmsError("KMS.0209")
        if key.state == PENDING_DELETION:
            raise KmsError("KMS.0210")
        if key.state != ENABLED:
            raise KmsError("KMS.0308")
        return key

    # -- life cycle ------------------------------------------------------------------------
    @_locked
    def create_key(
        self, project: str, alias: str, description: str, spec: str, usage: str | None, origin: str
    ) -> Key:
        if alias.endswith("/default"):
            raise KmsError("KMS.1101")
        keys = self.keys(project)
        if any(k.alias == alias for k in keys.values()):
            raise KmsError("KMS.1104")
        if len(keys) >= KEY_QUOTA:
            raise KmsError("KMS.1105")
        key = Key(
            key_id=str(uuid.uuid4()),
            alias=alias,
            description=description if self.rules.create_keeps_description else "",
            spec=spec,
            usage=usage
            or ("ENCRYPT_DECRYPT" if spec in ("AES_256", "SM4") else self.rules.asymmetric_default_usage),
            origin=origin,
            state=PENDING_IMPORT if origin == "external" else ENABLED,
            created_ms=now_ms(),
        )
        if origin != "external":
            key.activation_reads = self.rules.activation_reads
            key.rotation_enabled = self.rules.rotation_default_on
        keys[key.key_id] = key
        return key

    @_locked
    def describe_key(self, project: str, key_id: Any) -> tuple[Key, bool]:
        """The key, and whether this describe still shows it as "1" (to be activated)."""
        key = self.find(project, key_id)
        activating = key.activation_reads > 0
        if activating:
            key.activation_reads -= 1
        return key, activating

    @_locked
    def list_keys(self, project: str, spec: str, state: Any, marker: Any, limit: Any) -> Page:
        """Keys of ``spec`` (``ALL``: every spec) and ``state`` (None: any); marker/limit page them."""
        matching = [
            k
            for k in self.visible(project).values()
            if (k.spec == spec or (spec == "ALL" and (self.rules.list_all_every_spec or k.spec == "AES_256")))
            and (state is None or k.state == state or not self.rules.list_filters_state)
        ]
        start = int(marker or 0)
        size = int(limit or 0) or len(matching) or 1
        if not self.rules.list_honours_limit:
            size = len(matching) or 1
        truncated = start + size < len(matching)
        return Page(
            keys=matching[start : start + size],
            next_marker=str(start + size) if truncated else "",
            truncated=truncated,
            total=len(matching),
        )

    @_locked
    def transition(self, operation: str, project: str, key_id: Any, pending_days: Any = "7") -> Key:
        """enable-key, disable-key, schedule-key-deletion or cancel-key-deletion, per its row."""
        key = self.find(project, key_id)
        row = self.rules.transitions[operation]
        if key.state not in row.allowed:
            raise KmsError(row.refusal_for(key.state))
        if operation == "schedule-key-deletion":
            days = int(pending_days)
            if days > self.rules.pending_days_max:
                raise KmsError("KMS.1401")
            key.deletion_ms = now_ms() + (self.rules.deletion_days or days) * 86_400_000
            key.state = row.target
        elif operation == "cancel-key-deletion":
            key.deletion_ms = None
            # An external key still without material goes back to waiting for its import.
            key.state = PENDING_IMPORT if key.origin == "external" and not key.has_material else row.target
        else:
            key.state = row.target
        return key

    @_locked
    def update_alias(self, project: str, key_id: Any, alias: str) -> Key:
        key = self._usable_for_edit(project, key_id)
        if alias.endswith("/default"):
            raise KmsError("KMS.1101")
        if self.rules.alias_unique_on_update and any(
            k.alias == alias and k is not key for k in self.keys(project).values()
        ):
            raise KmsError("KMS.1104")
        if self.rules.update_alias_stores:
            key.alias = alias
        return key

    @_locked
    def update_description(self, project: str, key_id: Any, description: str) -> Key:
        key = self._usable_for_edit(project, key_id)
        if self.rules.update_description_stores:
            key.description = description
        return key

    # -- crypto ----------------------------------------------------------------------------
    @_locked
    def create_datakey(self, project: str, key_id: Any, length: Any, spec: Any) -> tuple[Key, bytes, bytes]:
        """(key, plain data key, wrapped data key): ``length`` bits if given, else per ``spec``."""
        key = self._usable_for_datakey(project, key_id)
        by_spec = self.rules.datakey_bits.get(spec, DEFAULT_DATAKEY_BITS)
        bits = int(length) if length and (self.rules.datakey_length_wins or not spec) else by_spec
        plain, wrapped = data_key(key.key_id, bits)
        return key, plain, wrapped

    @_locked
    def encrypt_datakey(self, project: str, key_id: Any, plain_and_digest: bytes, length: int) -> Key:
        """Check encrypt-datakey's input (data key + its SHA-256 digest) and the key; the key."""
        if len(plain_and_digest) != length + DIGEST_BYTES:
            raise KmsError("KMS.2102")
        plain, digest = plain_and_digest[:length], plain_and_digest[length:]
        if hashlib.sha256(plain).digest() != digest and self.rules.datakey_checks_digest:
            raise KmsError("KMS.2103")
        return self._usable_for_datakey(project, key_id)

    @_locked
    def decrypt_datakey(self, project: str, key_id: Any, wrapped: bytes, length: int) -> bytes:
        """The data key of a create-datakey / encrypt-datakey ciphertext made under ``key_id``."""
        key = self._usable_for_datakey(project, key_id)
        try:
            plain = unwrap(key.key_id, wrapped)
        except KmsError as exc:
            raise KmsError(self.rules.datakey_foreign_code if exc.code == "KMS.2201" else exc.code) from None
        if len(plain) != length:
            raise KmsError("KMS.2202")
        return plain

    @_locked
    def encrypt(
        self, project: str, key_id: Any, plain_text: str, algorithm: str = SYMMETRIC_DEFAULT
    ) -> tuple[Key, str]:
        """The ciphertext of ``plain_text`` (UTF-8: its limit is in bytes, not characters): a symmetric
        key's ``seal`` blob, or an ENCRYPT_DECRYPT RSA key's RSAES-OAEP-SHA-256 ciphertext (Base64)."""
        try:
            plain = plain_text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800") is no text at all
            raise KmsError("KMS.2101") from None
        if (
            not 1
            <= (len(plain) if self.rules.plaintext_counts_bytes else len(plain_text))
            <= PLAINTEXT_MAX_BYTES
        ):
            raise KmsError("KMS.2101")
        key = self._usable_for_crypto(project, key_id)
        if key.spec not in ASYMMETRIC_SPECS:
            if algorithm != SYMMETRIC_DEFAULT:
                raise KmsError("KMS.0308", f"encryption_algorithm {algorithm} does not fit a symmetric key.")
            return key, seal(key.key_id, plain, pad=self.rules.cipher_padded)
        private = self._decrypter(key, algorithm)
        if len(plain) > oaep_max_bytes(private.key_size):
            raise KmsError(
                "KMS.2101", f"RSAES_OAEP_SHA_256 takes at most {oaep_max_bytes(private.key_size)} bytes."
            )
        return key, base64.b64encode(private.public_key().encrypt(plain, _OAEP_SHA_256)).decode()

    def _decrypter(self, key: Key, algorithm: str) -> keypairs.rsa.RSAPrivateKey:
        """The RSA key of an asymmetric ENCRYPT_DECRYPT key for ``algorithm`` (RSAES_OAEP_SHA_256)."""
        if key.usage != "ENCRYPT_DECRYPT":
            raise KmsError("KMS.0308", "Only an asymmetric key whose key_usage is ENCRYPT_DECRYPT encrypts.")
        bits = RSA_BITS.get(key.spec)
        if bits is None or algorithm == "SM2_ENCRYPT":
            raise KmsError("KMS.0308", f"{key.spec} / {algorithm} encryption is not supported by this mock.")
        if algorithm not in ASYMMETRIC_ENCRYPTION:
            raise KmsError("KMS.0308", f"encryption_algorithm {algorithm} does not fit a {key.spec} key.")
        if key.signer is None:
            key.signer = keypairs.shared_rsa_key(bits)
        assert isinstance(key.signer, keypairs.rsa.RSAPrivateKey)
        return key.signer

    @_locked
    def decrypt(
        self, project: str, cipher_text: str, key_id: Any = None, algorithm: str = SYMMETRIC_DEFAULT
    ) -> tuple[Key, bytes]:
        """A ``seal`` blob names its key; an asymmetric ciphertext needs ``key_id`` and the algorithm it
        was made with (DecryptData.html: a key or algorithm that does not match fails)."""
        named = self.find(project, key_id) if key_id is not None else None
        if named is None or named.spec not in ASYMMETRIC_SPECS:
            if algorithm != SYMMETRIC_DEFAULT:
                raise KmsError(
                    "KMS.0308", f"encryption_algorithm {algorithm} needs the asymmetric key's key_id."
                )
            sealed_by, plain = unseal(cipher_text)
            return self._usable_for_crypto(project, sealed_by), plain[
                : len(plain) - self.rules.symmetric_plain_dropped
            ]
        key = self._usable_for_crypto(project, key_id)
        if self.rules.decrypt_ignores_algorithm:
            algorithm = RSA_OAEP_SHA_256
        if algorithm == SYMMETRIC_DEFAULT:
            raise KmsError(
                "KMS.0308", "An asymmetric ciphertext is decrypted with the algorithm that made it."
            )
        private = self._decrypter(key, algorithm)
        try:
            plain = _oaep_decrypt(private, base64.b64decode(cipher_text, validate=True))
        except ValueError:
            raise KmsError("KMS.2201") from None
        return key, plain[: len(plain) - self.rules.asymmetric_plain_dropped]

    # -- rotation --------------------------------------------------------------------------
    @_locked
    def rotation_status(self, project: str, key_id: Any) -> Key:
        return self.find(project, key_id)

    def _rotatable(self, project: str, key_id: Any) -> Key:
        key = self.find(project, key_id)
        if key.origin == "external" and self.rules.rotation_refuses_external:
            raise KmsError("KMS.0312")
        if key.state == PENDING_DELETION:
            raise KmsError("KMS.0210")
        return key

    @_locked
    def enable_rotation(self, project: str, key_id: Any) -> None:
        key = self._rotatable(project, key_id)
        if key.rotation_enabled and self.rules.enable_rotation_refuses_twice:
            raise KmsError("KMS.2901")
        if self.rules.enable_rotation_stores:
            key.rotation_enabled = True

    def _rotating(self, project: str, key_id: Any) -> Key:
        key = self._rotatable(project, key_id)
        if not key.rotation_enabled:
            raise KmsError("KMS.0313")
        return key

    @_locked
    def disable_rotation(self, project: str, key_id: Any) -> None:
        key = self._rotating(project, key_id)
        if self.rules.disable_rotation_stores:
            key.rotation_enabled = False

    @_locked
    def set_rotation_interval(self, project: str, key_id: Any, interval: Any) -> None:
        key = self._rotating(project, key_id)
        if self.rules.rotation_interval_stores:
            key.rotation_interval = interval

    # -- grants ----------------------------------------------------------------------------
    @_locked
    def create_grant(
        self,
        project: str,
        key_id: Any,
        grantee: str,
        operations: list[str],
        *,
        grantee_type: str = "user",
        name: str = "",
        retiring: str = "",
    ) -> Grant:
        """A new grant on the key: refused for a key pending deletion (KMS.0210) or at the quota."""
        key = self.find(project, key_id)
        if key.state == PENDING_DELETION:
            raise KmsError("KMS.0210")
        if len(key.grants) >= GRANT_QUOTA:
            raise KmsError("KMS.2404")
        grant = Grant(
            grant_id=secrets.token_hex(32) if self.rules.grant_id_hex else str(uuid.uuid4()),
            key_id=key.key_id,
            grantee_principal=grantee,
            grantee_type=grantee_type,
            operations=tuple(operations),
            name=name,
            retiring_principal=retiring,
            issuing_principal=USER_ID,
            created_ms=now_ms(),
        )
        key.grants[grant.grant_id] = grant
        return grant

    @_locked
    def list_grants(self, project: str, key_id: Any, marker: Any, limit: Any) -> GrantPage:
        """The key's grants, in any key state."""
        grants = list(self.find(project, key_id).grants.values())
        return _page(grants if self.rules.list_grants_shows else [], marker, limit)

    @_locked
    def list_retirable_grants(self, project: str, marker: Any, limit: Any) -> GrantPage:
        """Grants on the project's keys that name the caller as retiring principal."""
        found = [
            grant
            for key in self.keys(project).values()
            for grant in key.grants.values()
            if grant.retiring_principal == USER_ID
        ]
        return _page(found, marker, limit)

    def _grant(self, project: str, key_id: Any, grant_id: Any) -> Key:
        key = self.find(project, key_id)
        if grant_id in key.grants:
            return key
        if self.rules.grant_of_other_key_code and any(
            grant_id in other.grants for other in self.keys(project).values()
        ):
            raise KmsError(self.rules.grant_of_other_key_code)  # a grant of another key
        if self.rules.unknown_grant_code is None:
            return key  # fault unknown-grant-accepted: the caller finds nothing to remove
        raise KmsError(self.rules.unknown_grant_code)

    @_locked
    def revoke_grant(self, project: str, key_id: Any, grant_id: Any) -> None:
        key = self._grant(project, key_id, grant_id)
        if self.rules.revoke_deletes:
            key.grants.pop(grant_id, None)

    @_locked
    def retire_grant(self, project: str, key_id: Any, grant_id: Any) -> None:
        """The retiring principal, or a grantee allowed retire-grant, gives the grant up."""
        key = self._grant(project, key_id, grant_id)
        grant = key.grants.get(grant_id)
        if grant is None:
            return
        if grant.retiring_principal != USER_ID and not (
            grant.grantee_principal == USER_ID and "retire-grant" in grant.operations
        ):
            raise KmsError("KMS.0306")
        del key.grants[grant_id]

    # -- importing key material --------------------------------------------------------------
    def _external(self, project: str, key_id: Any) -> Key:
        key = self.find(project, key_id)
        if key.origin != "external" and self.rules.import_requires_external:
            raise KmsError("KMS.0309")
        if key.state == PENDING_DELETION:
            raise KmsError("KMS.0210")
        return key

    @_locked
    def import_parameters(self, project: str, key_id: Any, algorithm: str) -> tuple[Key, str, int, bytes]:
        """(key, import token, its expiry in epoch seconds, DER public key) for a key pending import."""
        key = self._external(project, key_id)
        if key.state != PENDING_IMPORT and self.rules.import_parameters_pending_only:
            raise KmsError("KMS.0310")
        if algorithm not in WRAPPING_ALGORITHMS:
            # CreateParametersForImport.html: "SM2_ENCRYPT: not supported at some sites" -- the mock is one.
            raise KmsError("KMS.0308", f"wrapping_algorithm {algorithm} is not supported at this site.")
        expiry = int(time.time()) + IMPORT_TOKEN_SECONDS
        return key, self._import_token(key.key_id, expiry), expiry, keypairs.public_der(wrapping_key())

    def _import_token(self, key_id: str, expiry: int) -> str:
        body = _TOKEN_MAGIC + key_id.encode().ljust(_KEY_ID_BYTES) + expiry.to_bytes(8, "big")
        body += secrets.token_bytes(_TOKEN_BYTES - len(body) - _MAC_BYTES)
        return base64.b64encode(body + hmac.digest(self.import_secret, body, "sha256")).decode()

    def _check_token(self, key_id: str, token: str) -> None:
        """KMS.2605 if the token is not one of this mock's, KMS.2603 for another key's, KMS.2601 expired."""
        try:
            raw = base64.b64decode(token, validate=True)
        except ValueError:
            raise KmsError("KMS.2605") from None
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if (
            len(raw) != _TOKEN_BYTES
            or not body.startswith(_TOKEN_MAGIC)
            or not hmac.compare_digest(mac, hmac.digest(self.import_secret, body, "sha256"))
        ):
            raise KmsError("KMS.2605")
        start = len(_TOKEN_MAGIC)
        if (
            body[start : start + _KEY_ID_BYTES] != key_id.encode().ljust(_KEY_ID_BYTES)
            and self.rules.token_key_checked
        ):
            raise KmsError("KMS.2603")
        expiry = int.from_bytes(body[start + _KEY_ID_BYTES : start + _KEY_ID_BYTES + 8], "big")
        if time.time() >= expiry:
            raise KmsError("KMS.2601")

    @_locked
    def import_material(
        self, project: str, key_id: Any, token: str, wrapped: str, expiration: int | None
    ) -> Key:
        """Unwrap the material (RSAES-OAEP-SHA-256) and enable the key."""
        key = self._external(project, key_id)
        if key.state != PENDING_IMPORT and self.rules.import_requires_pending:
            raise KmsError("KMS.0310")
        if self.rules.import_checks_token:
            self._check_token(key.key_id, token)
        if expiration is not None and expiration <= time.time() and self.rules.import_checks_expiration:
            raise KmsError("KMS.2602")
        size = MATERIAL_BYTES.get(key.spec)
        if size is None:  # asymmetric and HMAC material (encrypted_privatekey) is not modelled
            raise KmsError("KMS.0308", f"importing {key.spec} material is not supported by this mock.")
        try:
            material = unwrap_material(wrapped)
        except KmsError:
            raise KmsError(self.rules.unwrap_failure_code) from None
        if len(material) != size:
            raise KmsError("KMS.2604")
        digest = hashlib.sha256(material).digest()
        if (
            key.material_digest is not None
            and not hmac.compare_digest(digest, key.material_digest)
            and self.rules.reimport_same_material
        ):
            raise KmsError("KMS.2606")
        key.material_digest = digest
        key.has_material = True
        key.material_expiry_s = expiration
        if self.rules.import_enables:
            key.state = ENABLED
        return key

    @_locked
    def delete_material(self, project: str, key_id: Any) -> Key:
        """Only from enabled or disabled (KMS.2701); the key waits for an import again."""
        key = self.find(project, key_id)
        if key.origin != "external":
            raise KmsError("KMS.0309")
        if key.state not in self.rules.delete_material_states:
            raise KmsError("KMS.2701")
        key.has_material = False
        key.material_expiry_s = None
        if self.rules.delete_material_resets:
            key.state = PENDING_IMPORT
        return key

    # -- asymmetric keys -------------------------------------------------------------------
    def _signer(self, key: Key) -> keypairs.PrivateKey:
        if key.spec not in SIGNING_ALGORITHMS:
            raise KmsError("KMS.0308", f"{key.spec} keys are not supported by this mock.")
        if key.signer is None:
            bits = RSA_BITS.get(key.spec)
            # RSA pairs are shared per size (generating 4096-bit pairs per key costs seconds).
            key.signer = keypairs.shared_rsa_key(bits) if bits else keypairs.ec_key(EC_CURVES[key.spec])
        return key.signer

    @_locked
    def public_key(self, project: str, key_id: Any) -> tuple[Key, str]:
        """The PEM public key of an asymmetric key in any state but pending deletion."""
        key = self.find(project, key_id)
        if key.spec not in ASYMMETRIC_SPECS and not self.rules.publickey_asymmetric_only:
            return key, keypairs.public_pem(keypairs.shared_rsa_key(2048))  # fault publickey-for-symmetric
        if key.spec not in ASYMMETRIC_SPECS:
            raise KmsError("KMS.0308", "The key is not an asymmetric key.")
        if key.state == PENDING_DELETION:
            raise KmsError("KMS.0210")
        return key, keypairs.public_pem(self._signer(key))

    def _signing(
        self, project: str, key_id: Any, algorithm: str, message: str, message_type: str
    ) -> tuple[Key, str, str, bytes]:
        """(key, scheme, hash, digest) for sign / verify, after the documented refusals."""
        key = self._usable_for_crypto(project, key_id)
        if key.spec not in ASYMMETRIC_SPECS or (key.usage != "SIGN_VERIFY" and self.rules.sign_checks_usage):
            raise KmsError(
                "KMS.0308", "Only an asymmetric key whose key_usage is SIGN_VERIFY signs and verifies."
            )
        self._signer(key)
        allowed = SIGNING_ALGORITHMS[key.spec]
        if algorithm not in allowed:
            raise KmsError("KMS.0308", f"signing_algorithm {algorithm} does not fit a {key.spec} key.")
        scheme, hash_name = allowed[algorithm]
        try:
            data = base64.b64decode(message, validate=True)
        except ValueError:
            raise KmsError("KMS.0308", "message is not Base64.") from None
        if not 1 <= len(data) <= self.rules.sign_message_max:
            raise KmsError("KMS.0308", "message must be 1 to 4095 bytes.")
        if message_type == "RAW":
            return key, scheme, hash_name, hashlib.new(hash_name, data).digest()
        if len(data) != hashlib.new(hash_name).digest_size:
            raise KmsError(
                "KMS.0308", f"a {hash_name} digest has {hashlib.new(hash_name).digest_size} bytes."
            )
        return key, scheme, hash_name, data

    @_locked
    def sign(
        self, project: str, key_id: Any, algorithm: str, message: str, message_type: str
    ) -> tuple[Key, bytes]:
        key, scheme, hash_name, digest = self._signing(project, key_id, algorithm, message, message_type)
        assert key.signer is not None
        return key, keypairs.sign_digest(key.signer, scheme, hash_name, digest)

    @_locked
    def verify(
        self, project: str, key_id: Any, algorithm: str, message: str, message_type: str, signature: str
    ) -> tuple[Key, bool]:
        key, scheme, hash_name, digest = self._signing(project, key_id, algorithm, message, message_type)
        try:
            raw = base64.b64decode(signature, validate=True)
        except ValueError:
            raise KmsError("KMS.0308", "signature is not Base64.") from None
        assert key.signer is not None
        return key, keypairs.verify_digest(key.signer, scheme, hash_name, digest, raw)

    # -- tags ------------------------------------------------------------------------------
    @_locked
    def project_tags(self, project: str) -> list[tuple[str, list[str]]]:
        """Every tag name in the project with its values, both sorted."""
        values: dict[str, set[str]] = {}
        for key in self.keys(project).values():
            for name, value in key.tags.items():
                values.setdefault(name, set()).add(value)
        return [(name, sorted(found)) for name, found in sorted(values.items())]

    @_locked
    def add_tags(self, project: str, key_id: Any, tags: list[tuple[Any, Any]]) -> None:
        key = self.find(project, key_id)
        merged = {**key.tags, **dict(tags)}
        if len(merged) > self.rules.max_tags:
            raise KmsError("KMS.0409")
        if self.rules.tags_stored:
            key.tags = merged

    @_locked
    def remove_tags(self, project: str, key_id: Any, names: list[Any]) -> None:
        key = self.find(project, key_id)
        for name in names if self.rules.batch_delete_removes else ():
            key.tags.pop(name, None)

    @_locked
    def delete_tag(self, project: str, key_id: Any, name: Any) -> None:
        key = self.find(project, key_id)
        if name not in key.tags:
            if self.rules.unknown_tag_code is None:
                return
            raise KmsError(self.rules.unknown_tag_code)
        if self.rules.delete_tag_removes:
            del key.tags[name]

    @_locked
    def search(self, project: str, tags: list[tuple[Any, Any]], names: list[Any]) -> list[Key]:
        """Keys carrying every tag (one of its values, if any are listed) whose alias holds every name."""
        return [
            key
            for key in self.keys(project).values()
            if (
                all(t in key.tags and (not values or key.tags[t] in values) for t, values in tags)
                or not self.rules.search_filters_tags
            )
            and all(n in key.alias for n in names)
        ]

    @_locked
    def key_count(self, project: str) -> int:
        return len(self.keys(project))

    # -- IAM tokens (issued by the mock's stand-in for IAM) ---------------------------------
    @_locked
    def issue_iam_token(self, token: str, expires: float) -> None:
        self.iam_tokens[token] = expires

    @_locked
    def iam_token_expiry(self, token: str) -> float | None:
        return self.iam_tokens.get(token)

"""The vendor-profile interface: everything vendor-specific that scenario checks need.

Scenario checks are written once against this interface and driven by a profile's data
tables (``transitions`` and ``probes``).  A new vendor is a spec, a profile, a mock and a
requirement catalogue -- not a fork of the checks.
"""

from __future__ import annotations

import functools
import re
import ssl
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jsonschema

from conformance.auth.tokens import CommandToken, TokenError, TokenSource
from conformance.concurrency import run_all
from conformance.ledger import Ledger, LedgerEntry
from conformance.metrics import REQUESTS
from conformance.settings import Settings
from conformance.transport import (
    MEBIBYTE,
    GuardedTransport,
    Limits,
    ResponseTooLarge,
    TargetHealth,
    TargetUnusable,
    describe_failure,
)
from conformance.verdict import StepFailed

# Marker for "leave this field out of the request" in probe bodies.
MISSING: Any = object()

# Auth modes a probe can ask for.
# The credentials a run may be given besides its own, and what is not covered without them.
_OTHER_CREDENTIALS = {
    "forbidden": "no --forbidden-token given: 403 for a credential without permission is not covered",
    "expired": "no --expired-token given: the answer to an expired credential is not covered",
}


class TargetError(Exception):
    """The target could not be reached or credentials could not be obtained (exit status 3)."""


class OwnershipError(Exception):
    """A changing call on a key this run did not create; refused before it leaves the process."""


class CleanupRefused(Exception):
    """The target did not confirm a scratch key's deletion: the key stays pending in the ledger."""


class NotCovered(Exception):
    """A check cannot run against this target (e.g. no forbidden credential was given)."""


@dataclass(frozen=True)
class Outcome:
    """What came back from one operation, normalised for checks."""

    status: int
    code: str | None  # the vendor's error code from the envelope, if any
    body: Any  # parsed JSON, or None
    response: httpx.Response

    @property
    def text(self) -> str:
        return self.response.text[:500]

    def describe(self) -> str:
        req = self.response.request
        return f"{req.method} {req.url.path} -> {self.status} {self.text}"


@dataclass(frozen=True)
class Transition:
    """One row of a state table: ``operation`` on a key in ``from_state``.

    A row with ``to_state`` must succeed (``status``) and leave the key in ``to_state``;
    a row without must be refused with one of ``status`` and one of ``codes`` (empty: any
    code) and leave the key where it was.
    """

    requirement: str
    operation: str
    from_state: str
    to_state: str | None = None
    status: frozenset[int] = frozenset({200})
    codes: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        target = self.to_state if self.to_state else "refused"
        return f"{self.requirement}:{self.operation}@{self.from_state}->{target}"


@dataclass(frozen=True)
class Probe:
    """One request with one thing changed, and the documented answer(s) to it.

    ``key`` picks the key the request names: a scratch key in that state, ``"unknown"``
    (well-formed, never existed), ``"malformed"``, or ``"none"`` for operations without a key.
    ``body`` entries override or (with ``MISSING``) drop request fields; ``raw`` replaces the
    body with bytes.  ``status``/``codes`` list every documented alternative.
    ``check`` optionally inspects a successful outcome further (shape checks).
    """

    requirement: str
    name: str
    operation: str
    key: str = "enabled"
    body: Mapping[str, Any] = field(default_factory=dict)
    raw: bytes | None = None
    auth: str = "valid"
    status: frozenset[int] = frozenset({200})
    codes: frozenset[str] = frozenset()
    check: Callable[[Outcome], str | None] | None = None
    read_only: bool = False  # True: the request itself changes nothing on the target
    # Tenant isolation rows (``auth="other"``): a successful answer must not name the key
    # (``hides_key``: a listing of the other scope), and afterwards the key, read with the run's own
    # credentials, must still be in ``key``'s state (``unchanged``: a refused change changed nothing).
    hides_key: bool = False
    unchanged: bool = False
    # Settings the row needs beyond its auth mode's (e.g. ``("other_token",)``): "not covered" without.
    needs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.requirement}:{self.name}"

    @property
    def safe(self) -> bool:
        """Runs under --read-only: a read-only request that needs no scratch key of its own."""
        return self.read_only and self.key in ("none", "unknown", "malformed")


def shared_ssl_context(verify: ssl.SSLContext | bool | str) -> ssl.SSLContext:
    """One TLS context per verify setting (and CA bundle file version) in this process.

    Loading a CA bundle costs 20-70 ms, and every run builds several profiles, each with clients;
    a context is safe to share between clients and threads.  A changed bundle file (another
    modification time or size) gets a context of its own.
    """
    if isinstance(verify, ssl.SSLContext):
        return verify
    stamp: tuple[int, int] | None = None
    if isinstance(verify, str):
        try:
            info = Path(verify).stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None  # httpx names the missing file
    return _ssl_context(verify, stamp)


@functools.lru_cache(maxsize=16)
def _ssl_context(verify: bool | str, stamp: tuple[int, int] | None) -> ssl.SSLContext:
    return httpx.create_ssl_context(verify=verify)


def _mark_auth(mode: str, request: httpx.Request) -> None:
    """Say which credential mode a request carries (a recording replays it with the same mode)."""
    request.extensions = {**request.extensions, "kms_auth": mode}


class Profile(ABC):
    """A vendor: how to authenticate, make scratch keys, read states and call operations."""

    vendor: ClassVar[str]
    transitions: ClassVar[tuple[Transition, ...]]
    probes: ClassVar[tuple[Probe, ...]]
    # Requirement proved by "every error body has the documented envelope".
    envelope_requirement: ClassVar[str]
    # Requirement proved by transport-level checks every vendor gets from here: a response with a
    # body declares it as JSON (scenario outcomes, and Schemathesis' content_type_conformance).
    transport_requirement: ClassVar[str] = ""
    # JSON schemas of the documented error envelopes; a body matching any one is fine.
    error_schemas: ClassVar[tuple[Mapping[str, Any], ...]]
    # Schemathesis check name -> requirement id, for the generated layer.
    generated_requirements: ClassVar[Mapping[str, str]]
    # Operations (spec operationIds) that change nothing; the generated layer's --read-only set.
    read_only_operations: ClassVar[frozenset[str]] = frozenset()
    # Operations (spec operationIds) of the key life cycle, for --scope lifecycle.  The one
    # definition of the scope: generated cases, stateful sequences, state rows and probes are all
    # filtered through it (rows via ``operation_ids``).
    lifecycle_operations: ClassVar[frozenset[str]] = frozenset()
    # Profile call name -> the spec operationId it sends.
    operation_ids: ClassVar[Mapping[str, str]] = {}
    # Requirement "every operation of the spec is served" (an answer that means "no such API"
    # fails it once, and blocks the checks that needed the operation).
    served_requirement: ClassVar[str] = ""

    # Regex of a well-formed key id; the ownership guard swaps such ids the run does not own.
    key_id_pattern: ClassVar[str] = r".+"
    # Profile operations (``call`` names) that change no key; every other one is ownership-guarded.
    read_only_calls: ClassVar[frozenset[str]] = frozenset()
    # Where generated cases carry a key id (path parameter or top-level body field names).
    key_id_fields: ClassVar[tuple[str, ...]] = ("key_id",)
    # The requirement that owns each set-up step: ``create`` (a scratch key), ``read-state``,
    # ``operation`` (an asynchronous completion) and every state name a key is driven to.  When a
    # step breaks, that requirement fails once and the check that needed the key is blocked by it.
    setup_requirements: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def spec_path(cls) -> Path:
        """The vendor's OpenAPI document, as its registry entry names it."""
        from conformance import vendors

        return vendors.get(cls.vendor).spec

    @classmethod
    def in_scope(cls, call: str, scope: str) -> bool:
        """Whether profile call ``call`` belongs to ``scope`` (``full``: everything)."""
        return scope != "lifecycle" or cls.operation_ids.get(call, call) in cls.lifecycle_operations

    @classmethod
    def out_of_scope(cls, calls: list[str], scope: str) -> str | None:
        """Why a row calling ``calls`` is skipped under ``scope``, or None when it runs."""
        outside = [cls.operation_ids.get(c, c) for c in calls if not cls.in_scope(c, scope)]
        return (
            f"outside --scope {scope}: {', '.join(dict.fromkeys(outside))} is not a key life-cycle operation"
            if outside
            else None
        )

    def not_served(self, outcome: Outcome) -> str | None:
        """Why ``outcome`` means the target does not serve the operation at all, or None.

        Vendor profiles recognise their gateway's "no such API" answer; the default is a 404 or
        501 whose body is not JSON (a plain router's answer), which no vendor documents for a key.
        """
        if outcome.status in (404, 405, 501) and outcome.body is None:
            return f"HTTP {outcome.status} without a JSON body"
        return None

    def check_served(self, operation: str, outcome: Outcome) -> None:
        """Raise ``StepFailed`` on the served requirement when the target says "no such API"."""
        if not self.served_requirement:
            return
        why = self.not_served(outcome)
        if why:
            op_id = self.operation_ids.get(operation, operation)
            raise StepFailed(self.served_requirement, f"operation {op_id} is not served by the target: {why}")

    @classmethod
    def named_requirements(cls) -> dict[str, str]:
        """Every requirement id this profile's tables name, with where it is named."""
        named: dict[str, str] = {}
        for row in cls.transitions:
            named.setdefault(row.requirement, f"transition {row.id}")
        for probe in cls.probes:
            named.setdefault(probe.requirement, f"probe {probe.id}")
        for check, req in cls.generated_requirements.items():
            named.setdefault(req, f"generated check {check}")
        for step, req in cls.setup_requirements.items():
            named.setdefault(req, f"set-up step {step}")
        for what in ("envelope_requirement", "transport_requirement", "served_requirement"):
            req = getattr(cls, what, "")
            if req:
                named.setdefault(req, what)
        return named

    @classmethod
    def unknown_requirements(cls) -> list[str]:
        """Ids named by the tables but missing from the vendor's catalogue ("ID (where)")."""
        from conformance.requirements import load_catalogue

        catalogue = load_catalogue(cls.vendor)
        return [f"{req} ({where})" for req, where in cls.named_requirements().items() if req not in catalogue]

    def step_failed(self, step: str, message: str) -> StepFailed:
        """The exception for a broken set-up ``step`` (see ``setup_requirements``)."""
        return StepFailed(self.setup_requirements[step], f"setting up a scratch key ({step}): {message}")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.created: list[str] = []  # keys this run owns, in creation order (see own())
        self.ledger = Ledger(settings.ledger) if settings.ledger else None
        self.health = TargetHealth(limits_of(settings))
        self._tokens: TokenSource | None = None
        self._ssl: ssl.SSLContext | None = None
        self._client: httpx.Client | None = None
        # Checks run on several threads at once (``conformance.concurrency``): what they share --
        # the client, the credentials, the list of owned keys -- is made under this lock, and each
        # thread keeps the exchanges of the check it is running apart (``history``).
        self._lock = threading.RLock()
        self._local = threading.local()
        # Owned keys whose last exchange was a read showing them already scheduled for deletion
        # (``settled``): cleanup has nothing to send for them.  Any later request naming the key
        # takes it off (``_touched``), so only a read nothing came after counts.
        self._settled: dict[str, str] = {}
        # The state a key's create answer showed (``answered_in``): a key no step changes since
        # needs no read to know it (``drive_to``).
        self._answered_state: dict[str, str] = {}

    @property
    def history(self) -> list[httpx.Response]:
        """The last exchanges of the check running on this thread, for a failure's evidence."""
        found: list[httpx.Response] | None = getattr(self._local, "history", None)
        if found is None:
            found = self._local.history = []
        return found

    @history.setter
    def history(self, exchanges: list[httpx.Response]) -> None:
        self._local.history = list(exchanges)

    # -- transport -------------------------------------------------------------------------

    def verify(self) -> ssl.SSLContext | bool | str:
        if self.settings.insecure:
            return False
        return self.settings.ca_bundle or True

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of the run's verify settings, shared by every client of the process."""
        if self._ssl is None:
            self._ssl = shared_ssl_context(self.verify())
        return self._ssl

    def new_client(self, auth: str = "valid") -> httpx.Client:
        """A client for ``base_url`` carrying credentials of the given mode."""
        return httpx.Client(
            base_url=self.settings.base_url,
            timeout=httpx.Timeout(self.settings.timeout),
            transport=self.transport(),
            auth=self.auth_for(auth),
            headers=self.headers_for(auth),
            event_hooks={"request": [functools.partial(_mark_auth, auth)], "response": [self._record]},
            trust_env=False,  # nothing from the environment (see ``transport.guarded_session``)
        )

    def transport(self) -> GuardedTransport:
        """A transport with the run's bounds; every client and session of the run shares ``health``."""
        return GuardedTransport(self.health, verify=self.ssl_context(), on_request=self._touched)

    # States in which an owned key needs nothing from cleanup: it is scheduled for deletion, or
    # gone.  A vendor whose cleanup does something else there leaves this empty.
    settled_states: ClassVar[frozenset[str]] = frozenset({"pending-deletion"})

    def answered_in(self, key_id: str, state: str) -> None:
        """Note the state the answer that created ``key_id`` showed it in (the whole key resource,
        as some APIs answer a create): ``drive_to`` takes it instead of reading the key again."""
        with self._lock:
            self._answered_state[key_id] = state

    def settled(self, key_id: str, state: str) -> None:
        """Note that the read just made of ``key_id`` showed ``state`` (call it right after the
        read): in a ``settled_states`` state, cleanup counts the key cleaned without a request,
        unless some request names the key afterwards."""
        if state in self.settled_states and key_id in self.created:
            with self._lock:
                self._settled[key_id] = state

    def _touched(self, request: httpx.Request) -> None:
        if not self._settled:
            return
        try:
            where = request.url.raw_path + request.content
        except httpx.RequestNotRead:  # a streamed body: it may name any key
            where = b""
            with self._lock:
                self._settled.clear()
        with self._lock:
            for key_id in [k for k in self._settled if k.encode() in where]:
                del self._settled[key_id]

    def _record(self, response: httpx.Response) -> None:
        REQUESTS.add()
        self.history.append(response)
        del self.history[:-6]

    @property
    def client(self) -> httpx.Client:
        """The run's client with valid credentials; one for all threads (httpx clients are thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self.new_client()
        return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def token_source(self) -> TokenSource | None:
        """The run's renewable token (``--token-command``, a vendor token fetch) or fixed ``--token``."""
        if self._tokens is None:
            with self._lock:
                if self._tokens is None:
                    try:
                        self._tokens = self.make_token_source()
                    except TokenError as exc:
                        raise TargetError(str(exc)) from None
        return self._tokens

    def make_token_source(self) -> TokenSource | None:
        if self.settings.token_command:
            return CommandToken(self.settings.token_command, timeout=max(self.settings.timeout, 30.0))
        if self.settings.token:
            return TokenSource(self.settings.token)
        return None

    def auth_for(self, mode: str) -> httpx.Auth | None:
        """An httpx auth flow for ``mode`` (request signing, token refresh); None for headers only."""
        return None

    # How a credential travels: the header and its value with ``{token}`` in it.  ``headers_for``
    # builds every auth mode from this; a vendor whose credential is fetched overrides ``valid_token``.
    auth_header: ClassVar[tuple[str, str]] = ("Authorization", "Bearer {token}")
    # A well-formed credential no target issued (the "invalid" auth mode).
    invalid_token: ClassVar[str] = "kms-conformance-invalid-token"

    def valid_token(self) -> str | None:
        """The run's own credential, renewed when it expires; None when there is none."""
        tokens = self.token_source()
        return tokens.token() if tokens else None

    def headers_for(self, mode: str) -> dict[str, str]:
        """Static headers carrying the credential of ``mode``: valid, none, invalid, forbidden,
        expired, other (the second scope's) or crossed (the run's own, sent into the second scope).

        Raise ``NotCovered`` when the run has no credential of that kind.
        """
        header, value = self.auth_header
        if mode == "none":
            return {}
        if mode == "valid":
            token = self.valid_token()
            return {header: value.format(token=token)} if token else {}
        if mode == "invalid":
            return {header: value.format(token=self.invalid_token)}
        if mode == "crossed":  # the run's own credential sent into the second scope
            return self.headers_for("valid")
        if mode == "other":
            self.require_other_scope()
            token = self.settings.other_token
            return {header: value.format(token=token)} if token else self.headers_for("valid")
        if mode not in _OTHER_CREDENTIALS:
            raise ValueError(f"unknown auth mode {mode!r}")
        token = getattr(self.settings, f"{mode}_token")
        if not token:
            raise NotCovered(_OTHER_CREDENTIALS[mode])
        return {header: value.format(token=token)}

    # -- a second tenant scope (``--other-*``: the tenant isolation requirements) -------------

    # The settings the "other" auth mode needs; a vendor where the run's own credential can reach
    # the second scope (Thales: another connection or region) leaves ``other_token`` out.
    other_scope: ClassVar[tuple[tuple[str, ...], ...]] = (("other_token",),)

    def require_other_scope(self) -> None:
        """Raise ``NotCovered`` unless the run was given a second scope (every setting of one
        group of ``other_scope``)."""
        if any(all(getattr(self.settings, name) for name in group) for group in self.other_scope):
            return
        wanted = " or ".join(
            " and ".join(f"--{name.replace('_', '-')}" for name in group) for group in self.other_scope
        )
        raise NotCovered(f"no second tenant scope given ({wanted}): tenant isolation is not covered")

    def require(self, names: tuple[str, ...]) -> None:
        """Raise ``NotCovered`` unless every setting in ``names`` is given."""
        missing = [f"--{name.replace('_', '-')}" for name in names if not getattr(self.settings, name)]
        if missing:
            raise NotCovered(f"no {' '.join(missing)} given: this check is not covered")

    def in_other_scope(self) -> bool:
        """Whether the call being built is sent through the second scope (``auth="other"``)."""
        return bool(getattr(self._local, "other", False))

    def scoped(self, name: str) -> Any:
        """A scope setting (``project_id``, ``folder_id``, ``kms``, ``region``) of the scope the call
        being built uses: the run's own, or with ``auth="other"`` the ``other_<name>`` one when given."""
        if self.in_other_scope():
            other = getattr(self.settings, f"other_{name}", None)
            if other:
                return other
        return getattr(self.settings, name)

    # The one request preflight sends: (profile call, whether it names the unknown key id, body).
    preflight_call: ClassVar[tuple[str, bool, Mapping[str, Any]]] = ("describe", True, {})
    product: ClassVar[str] = ""  # the vendor's product name, for "not a ... endpoint"

    def prepare_credentials(self) -> None:
        """Obtain the run's credentials once (a login, a token command); raise ``TargetError``."""
        self.token_source()

    def preflight(self) -> None:
        """Reach the target, obtain credentials and recognise the vendor's API, once.

        Raises ``TargetError`` (exit status 3, one line) when the target cannot be reached, refuses
        the credentials, or answers like something other than this vendor's KMS (a plain web server,
        a gateway error page): a run against the wrong host would be thirty findings about nothing.
        """
        operation, unknown_key, body = self.preflight_call
        try:
            self.prepare_credentials()
            request = self.build_request(
                self.client, operation, self.unknown_key_id() if unknown_key else None, body
            )
            outcome = self.read_outcome(self.client.send(request))
        except httpx.HTTPError as exc:
            raise TargetError(describe_transport_error(self.settings.base_url, exc)) from None
        except TargetUnusable as exc:
            raise TargetError(str(exc)) from None
        foreign = self.foreign_answer(outcome)
        if foreign:
            raise TargetError(foreign)
        if outcome.status in (401, 403):
            raise TargetError(
                f"{self.settings.base_url} refused the credentials: HTTP {outcome.status}"
                + (f" {outcome.code}" if outcome.code else "")
            )

    def foreign_answer(self, outcome: Outcome) -> str | None:
        """Why ``outcome`` cannot have come from this vendor's API, or None.

        Every documented answer of the three APIs is JSON and says so in its Content-Type; an
        answer that is neither JSON nor labelled JSON (an HTML page, plain text) says the URL points at
        something else -- a web server, a gateway's error page.  A JSON answer that breaks the
        documented shapes is the vendor's API done wrong: the checks' findings, not a wrong host.
        """
        response = outcome.response
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json" or kind.endswith("+json") or outcome.body is not None:
            return None  # JSON (a mislabelled JSON body is the transport requirement's finding)
        size = f"{len(response.content)} bytes of {kind}" if kind else "an unlabelled body"
        got = f"HTTP {outcome.status} with {size if response.content else 'no body'}, not JSON"
        return (
            f"{self.settings.base_url} does not answer like a {self.product or self.vendor} endpoint "
            f"(check --base-url): {response.request.method} {response.request.url.path} got {got}"
        )

    # -- operations ------------------------------------------------------------------------

    @abstractmethod
    def build_request(
        self, client: httpx.Client, operation: str, key_id: str | None, body: Mapping[str, Any]
    ) -> httpx.Request:
        """The request for ``operation`` on ``key_id`` with ``body`` merged over the defaults."""

    @abstractmethod
    def error_code(self, body: Any) -> str | None:
        """The vendor error code in an error body, or None."""

    def call(
        self,
        operation: str,
        key_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        auth: str = "valid",
        raw: bytes | None = None,
    ) -> Outcome:
        if key_id is not None and operation not in self.read_only_calls:
            self.guard_key(operation, key_id)
        client = self.client if auth == "valid" else self.new_client(auth)
        # build_request reads the scope through ``scoped``: "other" sends the second scope's
        # credential there, "crossed" the run's own
        self._local.other = auth in ("other", "crossed")
        try:
            request = self.build_request(client, operation, key_id, body or {})
            if raw is not None:
                request = client.build_request(
                    request.method, request.url, content=raw, headers={"Content-Type": "application/json"}
                )
            response = client.send(request)
        finally:
            self._local.other = False
            if client is not self.client:
                client.close()
        self.adopt_created(operation, response)
        outcome = self.outcome(response)
        if auth in ("valid", "other", "crossed"):  # a credential the target takes: "no such API" means it
            self.check_served(operation, outcome)
        return outcome

    def outcome(self, response: httpx.Response) -> Outcome:
        """The outcome of a profile call (vendor profiles may add what they learn from it)."""
        return self.read_outcome(response)

    def read_outcome(self, response: Any) -> Outcome:
        """Status, error code and body of any response (httpx or requests), with no side effects."""
        body = read_json(response)
        code = self.error_code(body) if response.status_code >= 400 else None
        return Outcome(response.status_code, code, body, response)

    # -- scratch keys ----------------------------------------------------------------------

    @abstractmethod
    def create_key(self) -> str:
        """Create a scratch key (named with the run id) and return its id."""

    @abstractmethod
    def key_state(self, key_id: str) -> str:
        """The vendor state name of ``key_id``."""

    # State -> the profile calls that take a freshly created key there (documented operations
    # only), and the statuses that count as a step done.  ``drive_to`` runs this table.
    state_steps: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    step_statuses: ClassVar[frozenset[int]] = frozenset({200})

    def drive_to(self, key_id: str, state: str) -> None:
        """Move a freshly created key to ``state`` through ``state_steps``, then read that it got there.

        A step answered with an error fails the state's set-up requirement; a key that is not in
        ``state`` afterwards fails it too -- or ``create`` when no step was needed (the new key
        was not created in the documented state).
        """
        if state not in self.state_steps:
            raise ValueError(f"cannot drive a {self.vendor} key to {state!r}")
        steps = self.state_steps[state]
        for operation in steps:
            outcome = self.call(operation, key_id)
            if outcome.status not in self.step_statuses:
                raise self.step_failed(state, f"{operation} answered {outcome.describe()}")
        answered = None if steps else self._answered_state.pop(key_id, None)
        reached = answered or self.key_state(key_id)
        if reached != state:
            step = state if steps and state in self.setup_requirements else "create"
            raise self.step_failed(step, f"key {key_id} should be {state} but is {reached}")

    @abstractmethod
    def cleanup_key(self, key_id: str) -> None:
        """Schedule deletion of an owned key with the shortest window the vendor allows.

        Return only when the target's answer is a documented success (scheduled, already pending
        deletion, gone); raise ``CleanupRefused`` otherwise, so the ledger keeps the key pending.
        """

    @abstractmethod
    def unknown_key_id(self) -> str:
        """A well-formed id that names no key (the same one for the life of the profile)."""

    @abstractmethod
    def malformed_key_id(self) -> str:
        """An id that breaks the documented id format."""

    def key_in(self, state: str) -> str:
        key_id = self.create_key()
        self.own(key_id)
        self.drive_to(key_id, state)
        return key_id

    def moved_on(self, state: str, key_id: str) -> str | None:
        """Why ``key_id``, made in ``state`` for a row, is no longer in it by itself -- or None.

        A few states end on their own, on the target's clock (a Thales synchronization job in
        progress completes).  A row whose answer was not the documented one asks this: when the
        state had already ended before the request landed, the request did not test the row, which
        is then not covered (saying why) instead of failed.  Most states never end by themselves.
        """
        return None

    # -- the generated layer -----------------------------------------------------------------

    def requests_auth(self) -> Any:
        """A ``requests`` auth object for generated cases (request signing), or None."""
        return None

    def generated_path_parameters(self) -> dict[str, str]:
        """Path parameters generated cases must not vary (e.g. the account's project id)."""
        return {}

    def created_key_id(self, operation_id: str, body: Any) -> str | None:
        """The id of a key a successful ``operation_id`` created, so the run owns and cleans it."""
        return None

    def adopt_created(self, operation_id: str, response: Any) -> None:
        if response.status_code >= 300:
            return
        key_id = self.created_key_id(operation_id, read_json(response))
        if key_id:
            self.own(key_id)

    def own(self, key_id: str) -> None:
        """Record a key this run created: the ownership guard allows changes to it, the ledger
        remembers it (before anything else happens to it) and cleanup removes it."""
        with self._lock:
            if key_id in self.created:
                return
            self.created.append(key_id)
            if self.ledger is not None:
                scope = {
                    name: str(getattr(self.settings, name))
                    for name in ("project_id", "folder_id", "kms", "region")
                    if getattr(self.settings, name)
                }
                self.ledger.created(LedgerEntry(self.vendor, key_id, self.settings.base_url, scope))

    def adopt_ledgered(self) -> list[str]:
        """Own the keys the ledger says were created and not cleaned that this profile does not
        know -- made by another process of the same run (``conformance.concurrency``) -- so cleanup
        removes them too.  The ledger already holds them: nothing is written."""
        if self.ledger is None or not self.ledger.path.exists():
            return []
        try:
            pending = self.ledger.pending()
        except ValueError:
            return []
        with self._lock:
            new = [entry.key_id for entry in pending if entry.key_id not in self.created]
            self.created.extend(new)
        return new

    def cleanup(self, workers: int = 1) -> tuple[list[str], list[str]]:
        """Schedule deletion of every owned key, ``workers`` at a time; returns (cleaned, left), both
        in creation order, and records each key's end in the ledger as it happens.

        A key counts as cleaned only when the target confirmed it (``cleanup_key`` returned).  Once
        the target stops answering, the keys not yet tried are not tried -- each would wait its
        full timeout -- and stay pending in the ledger, saying why.
        """
        self.health.resume()
        keys = list(self.created)
        confirmed: dict[str, bool] = {}
        gone: list[str] = []  # why the target is given up on, once it is

        def finish(key_id: str, ok: bool, why: str = "") -> None:
            confirmed[key_id] = ok
            if self.ledger is not None:
                self.ledger.finished(key_id, ok, why[:300])

        def clean(key_id: str) -> None:
            if gone:
                finish(key_id, False, f"not tried: {gone[0]}")
                return
            with self._lock:
                state = self._settled.pop(key_id, None)
            if state is not None:
                finish(key_id, True, f"already {state} when last read, and nothing was sent for it since")
                return
            try:
                self.cleanup_key(key_id)
            except Exception as exc:  # noqa: BLE001 - one stuck key must not stop the others
                finish(key_id, False, f"{type(exc).__name__}: {exc}")
                if isinstance(exc, (httpx.TransportError, TargetUnusable)) and not isinstance(
                    exc, ResponseTooLarge
                ):
                    with self._lock:
                        if not gone:
                            gone.append(
                                f"the target did not answer the deletion of {key_id} ({describe_failure(exc)})"
                            )
                return
            finish(key_id, True)

        run_all(clean, keys, workers, name="kms-cleanup")
        cleaned = [key for key in keys if confirmed.get(key)]
        return cleaned, [key for key in keys if not confirmed.get(key)]

    def guard_key(self, operation: str, key_id: str) -> None:
        """Ownership guard for profile calls: only keys this run created may be changed."""
        if key_id in self.created or key_id in (self.unknown_key_id(), self.malformed_key_id()):
            return
        if re.fullmatch(self.key_id_pattern, key_id):
            raise OwnershipError(f"refusing {operation} on key {key_id}: this run did not create it")

    def guard_case(self, case: Any) -> None:
        """Ownership guard: a changing call on a well-formed id the run did not create is
        redirected to ``unknown_key_id()`` before it is sent."""
        op_id = case.operation.definition.raw.get("operationId", "")
        if op_id in self.read_only_operations or case.method.upper() == "GET":
            return
        pattern = re.compile(self.key_id_pattern)
        owned = set(self.created)
        containers = [case.path_parameters, case.body if isinstance(case.body, dict) else None]
        for container in containers:
            if not container:
                continue
            for name in self.key_id_fields:
                value = container.get(name)
                if isinstance(value, str) and value not in owned and pattern.fullmatch(value):
                    container[name] = self.unknown_key_id()

    # -- envelopes and transport -----------------------------------------------------------

    def transport_problem(self, outcome: Outcome) -> str | None:
        """Why the answer breaks the transport rules every vendor documents, or None.

        All three APIs document JSON bodies: an answer with a body must say ``application/json``
        (or a ``+json`` type) in its Content-Type.
        """
        if not outcome.response.content:
            return None
        kind = outcome.response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            return (
                f"HTTP {outcome.status} body declared as {kind or 'no Content-Type'!r}, not application/json"
            )
        if outcome.body is None:
            return f"HTTP {outcome.status} body is not JSON: {outcome.text[:200]!r}"
        return None

    def envelope_problem(self, outcome: Outcome) -> str | None:
        """Why an error outcome's body is not a documented envelope, or None."""
        if outcome.status < 400 or outcome.body is None:
            # No JSON at all is the transport requirement's finding (``transport_problem``).
            return None
        for schema in self.error_schemas:
            if jsonschema.Draft202012Validator(schema).is_valid(outcome.body):
                return None
        return f"error body does not match any documented envelope: {outcome.text}"


def limits_of(settings: Settings) -> Limits:
    return Limits(
        timeout=settings.timeout,
        max_response_bytes=int(settings.max_response_mb * MEBIBYTE),
        throttle_budget=settings.throttle_budget,
        max_rps=settings.max_rps,
    )


def read_json(response: Any) -> Any:
    """A response's JSON body, or None when there is none or it cannot be read.

    Any failure to parse a target's answer -- not JSON, bad encoding, nesting deep enough to
    exhaust the parser's recursion -- is a finding about that answer, never a crash of the run.
    """
    try:
        return response.json() if response.content else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def describe_transport_error(base_url: str, exc: Exception) -> str:
    """One line saying why ``base_url`` could not be used."""
    text = str(exc) or exc.__class__.__name__
    if isinstance(exc, httpx.ConnectError):
        lowered = text.lower()
        if "certificate" in lowered or "ssl" in lowered:
            return f"TLS failure talking to {base_url}: {text} (use --ca-bundle, or --insecure)"
        if "name or service" in lowered or "nodename" in lowered or "getaddrinfo" in lowered:
            return f"cannot resolve the host of {base_url}: {text}"
        return f"cannot connect to {base_url}: {text}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out talking to {base_url}"
    return f"cannot reach {base_url}: {text}"

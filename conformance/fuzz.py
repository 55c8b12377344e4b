"""The generated layer: Schemathesis cases for every selected operation of a vendor spec.

Each operation is one pytest item.  Cases are drawn from the spec (positive and negative),
sent with the run's credentials, and validated with the Schemathesis checks the profile maps
to requirements (``Profile.generated_requirements``).  Failures are collected per check, not
raised through Hypothesis, so one item reports every distinct broken requirement with a
redacted curl reproduction, and the run's request count stays bounded and predictable.

Safety: a changing call never names a key the run does not own (``guard_case``); ids the
run did not create are swapped for a well-formed unknown id before the request leaves.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure

from conformance import case_cache
from conformance.concurrency import GENERATION
from conformance.metrics import REQUESTS
from conformance.profiles.base import Profile
from conformance.redaction import CREDENTIAL_HEADERS, Redactor
from conformance.settings import Settings
from conformance.specs import spec_path
from conformance.transport import ResponseTooLarge, TargetUnusable, guarded_session, is_loopback
from conformance.verdict import Verdict

# Exceptions that mean an exchange did not complete (not a finding about one generated case).
BROKE_OFF = (TargetUnusable, ResponseTooLarge, requests.exceptions.RequestException)

# Which checks run for which kind of case.  Positive cases may legitimately hit a state
# conflict (400) or an unknown id (404) -- generation cannot know key states -- so
# positive_data_acceptance accepts those.
POSITIVE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
    "positive_data_acceptance",
)
NEGATIVE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
# Requirement key for "auth is enforced": probed by ``GeneratedRun.probe_auth`` rather than
# Schemathesis' ignored_auth, which cannot tell request signing (Huawei AK/SK) from generated auth.
AUTH_CHECK = "ignored_auth"

_CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""

_MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

# How ``GeneratedRun.run`` draws, as part of the case cache's key: change it with the drawing.
RECIPE = (
    "one_of(positive, negative); phases explicit, generate; derandomized; no local constants; "
    + _CONFIG.strip()
)


def _draw_from_the_spec_alone() -> None:
    """Keep Hypothesis from mixing literals of the suite's own source into the cases it draws.

    Hypothesis (6.1xx) harvests the string and number literals of every imported module outside
    site-packages and the standard library -- here the suite's own modules when it is installed
    editable or run from a checkout, and the user's modules in plugin mode -- and draws them now
    and then.  So the cases for one seed depended on the install and on which modules happened to
    be loaded: a Huawei run forked from the ``--vendor all`` parent (which loads every vendor)
    sent 209 of its 1181 requests differently from ``--vendor huawei``, and a reproduction command
    could miss the case it names.  The target's source is never among those modules, so they add
    no power against it.  Hypothesis offers no setting for this; its one entry point is replaced
    with an empty harvest (``tests/test_case_cache.py`` fails if a Hypothesis release moves it).
    """
    from hypothesis.internal.conjecture import providers

    if callable(getattr(providers, "_get_local_constants", None)):
        empty = providers.Constants()
        providers._get_local_constants = lambda: empty


_draw_from_the_spec_alone()


@cache
def _spec_bytes(spec_file: Path) -> bytes:
    return spec_path(spec_file).read_bytes()


@cache
def _schema(spec_file: Path) -> Any:
    config = schemathesis.Config.from_str(_CONFIG)
    return schemathesis.openapi.from_path(str(spec_path(spec_file)), config=config)


def _check(name: str) -> Any:
    import schemathesis.checks as checks

    return getattr(checks, name)


def selected_operations(profile: type[Profile], settings: Settings) -> list[Any]:
    """The spec's operations this run exercises (scope and read-only filters applied)."""
    operations = []
    for result in _schema(profile.spec_path()).get_all_operations():
        operation = result.ok()
        op_id = operation.definition.raw.get("operationId", operation.label)
        if settings.scope == "lifecycle" and op_id not in profile.lifecycle_operations:
            continue
        writes_allowed = not settings.read_only and (
            settings.destructive_fuzzing or is_loopback(settings.base_url)
        )
        if not writes_allowed and op_id not in profile.read_only_operations:
            continue
        operations.append(operation)
    return operations


def is_unauthenticated(operation: Any) -> bool:
    """The operation's OpenAPI ``security`` is an empty list (or holds an empty requirement)."""
    raw = operation.definition.raw
    security = raw.get("security")
    if security is None:
        security = operation.schema.raw_schema.get("security")
    return security is not None and (security == [] or {} in security)


def generated_requirements(profile: Profile | type[Profile]) -> dict[str, str]:
    """Schemathesis check name -> requirement id: the profile's table plus the shared transport check."""
    mapping = dict(profile.generated_requirements)
    if profile.transport_requirement:
        mapping["content_type_conformance"] = profile.transport_requirement
    return mapping


def failed_checks(exc: BaseException, mapping: Mapping[str, str]) -> dict[str, list[str]]:
    """Requirement id -> messages for Schemathesis failures inside ``exc`` (groups included)."""
    found: dict[str, list[str]] = {}
    stack = [exc]
    while stack:
        current = stack.pop()
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        elif isinstance(current, Failure):
            for check in type(current).checks:
                if check in mapping:
                    found.setdefault(mapping[check], []).append(f"{current.code} {current.title}")
    return found


class GeneratedRun:
    """Sends generated cases for one operation (or, with ``operation=None``, stateful sequences
    through the spec's links) and records failures in a ``Verdict``."""

    def __init__(self, profile: Profile, operation: Any, verdict: Verdict) -> None:
        self.profile = profile
        self.operation = operation
        self.verdict = verdict
        self.settings = profile.settings
        self.redactor = Redactor(self.settings.secrets())
        self.seen: set[tuple[str, str]] = set()
        self.sent: set[str] = set()  # the cases sent, as ``first_time`` writes them
        self.requirements = generated_requirements(profile)
        self.auth_probed = False
        self.session = guarded_session(profile.transport())
        verify = profile.verify()
        self.session.verify = verify if isinstance(verify, (bool, str)) else True
        self.session.auth = profile.requests_auth()
        # Checks that re-send a case without credentials (ignored_auth) must not sign it.
        self.bare_session = guarded_session(profile.transport())
        self.bare_session.verify = self.session.verify
        # The first exchange that could not complete (timeout, reset, too large, target stopped):
        # later cases are not sent and it is raised once generation ends, so Hypothesis never
        # replays against a broken target (its "inconsistent data" error would hide the cause).
        self.broke_off: BaseException | None = None
        self.drawn: list[dict[str, Any]] | None = None  # the cases drawn, to keep (``run``)

    def strategy(self) -> st.SearchStrategy[Any]:
        params = self._pinned_path_parameters()
        kwargs: dict[str, Any] = {"path_parameters": params} if params else {}
        positive = self.operation.as_strategy(GenerationMode.POSITIVE, **kwargs)
        negative = self.operation.as_strategy(GenerationMode.NEGATIVE, **kwargs)
        return st.one_of(positive, negative)

    def _pinned_path_parameters(self) -> dict[str, Any]:
        fixed = self.profile.generated_path_parameters()
        return {k: v for k, v in fixed.items() if k in self._path_parameter_names()}

    def _path_parameter_names(self) -> set[str]:
        return {p.name for p in self.operation.path_parameters}

    def cache_key(self) -> str:
        """The case cache's name for this operation's cases (see ``conformance.case_cache``)."""
        return case_cache.key(
            spec=_spec_bytes(self.profile.spec_path()) + RECIPE.encode(),
            operation=self.operation.label,
            max_examples=max(1, self.settings.max_examples),
            path_parameters=self._pinned_path_parameters(),
        )

    def run(self) -> None:
        """Send this operation's cases: the kept ones when the case cache has them, else drawn."""
        for requirement in set(self.requirements.values()):
            self.verdict.covered(requirement)
        folder = case_cache.folder_for(self.settings.case_cache)
        cache = case_cache.CaseCache(folder) if folder is not None else None
        name = self.cache_key() if cache is not None else ""
        kept = cache.load(name, self.operation) if cache is not None else None
        # Filled by ``one`` as Hypothesis draws; ``send`` stays as it was written, for derandomized
        # Hypothesis seeds each test from its function's source: the same source, the same cases.
        self.drawn = [] if cache is not None and kept is None else None

        @hypothesis.settings(
            max_examples=max(1, self.settings.max_examples),
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.given(case=self.strategy())
        def send(case: Any) -> None:
            self.one(case)

        try:
            with GENERATION.held():
                if kept is not None:
                    for case in kept:
                        self.one(case)
                else:
                    send()
        except Exception:
            self.raise_broke_off()  # the cause, not Hypothesis' view of a target that changed under it
            raise
        finally:
            self.session.close()
            self.bare_session.close()
        case_cache.SOURCES.add(case_cache.CACHED if kept is not None else case_cache.DRAWN)
        if cache is not None and kept is None and self.drawn is not None:
            cache.store(name, self.operation.label, self.drawn)
        self.raise_broke_off()

    def raise_broke_off(self) -> None:
        if self.broke_off is not None:
            raise self.broke_off from None

    @contextlib.contextmanager
    def unless_broken(self) -> Iterator[bool]:
        """Run one case unless an earlier one broke off; remember the first that does."""
        if self.broke_off is not None:
            yield False
            return
        try:
            yield True
        except BROKE_OFF as exc:
            self.broke_off = exc

    def call_kwargs(self) -> dict[str, Any]:
        # ``verify`` goes per request: Schemathesis passes its own default (True) otherwise, which
        # overrides the session's --ca-bundle / --insecure choice.
        return {
            "base_url": self.settings.base_url,
            "session": self.session,
            "timeout": self.settings.timeout,
            "headers": self.profile.headers_for("valid"),
            "verify": self.session.verify,
        }

    def prepare(self, case: Any) -> None:
        """Pin the account's path parameters and apply the ownership guard."""
        for name, value in self.profile.generated_path_parameters().items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        self.profile.guard_case(case)

    def one(self, case: Any) -> None:
        if self.drawn is not None:
            try:
                self.drawn.append(case_cache.snapshot(case))  # as drawn, before the run changes it
            except (TypeError, ValueError):  # a value the file cannot hold: these cases are not kept
                self.drawn = None
        with self.unless_broken() as going:
            if going:
                self.send_one(case)

    def send_one(self, case: Any) -> None:
        self.prepare(case)
        if not self.first_time(case):
            return  # the very request this check already sent and judged: nothing new to learn
        kwargs = self.call_kwargs()
        REQUESTS.add()
        with GENERATION.released():
            response = case.call(**kwargs)
        if self.is_positive(case):
            self.check_served(case, response)
        self.check(case, response, kwargs["headers"])
        if (
            self.is_positive(case)
            and not self.auth_probed
            and AUTH_CHECK in self.profile.generated_requirements
        ):
            self.probe_auth(case)

    def first_time(self, case: Any) -> bool:
        """Whether this check has not yet sent ``case`` as it would leave now, in its mode.

        Cases differ only in what the ownership guard replaces, for instance (every id it did not
        create becomes the one unknown id): sent again, they would get the answer already judged.
        """
        try:
            sent = json.dumps(
                [
                    self.is_positive(case),
                    case.method,
                    case.formatted_path,
                    case.query,
                    case.body,
                    case.headers,
                    case.media_type,
                ],
                sort_keys=True,
                default=repr,
            )
        except (TypeError, ValueError):  # a body JSON cannot say (raw bytes, a cycle): send it
            return True
        if sent in self.sent:
            return False
        self.sent.add(sent)
        return True

    def check_served(self, case: Any, response: Any) -> None:
        """A valid case answered "no such API": one finding on the served requirement, and this
        operation's generated checks are blocked by it (a cascade of status/schema failures would
        blame requirements that never got a chance)."""
        if not self.profile.served_requirement:
            return
        self.verdict.covered(self.profile.served_requirement)
        outcome = self.profile.read_outcome(response)
        self.profile.check_served(
            case.operation.definition.raw.get("operationId", case.operation.label), outcome
        )

    @staticmethod
    def is_positive(case: Any) -> bool:
        return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE

    def check(self, case: Any, response: Any, headers: dict[str, str], recorder: Any = None) -> None:
        """Run the checks that fit the case's mode; record failures; adopt keys the case created."""
        names = POSITIVE_CHECKS if self.is_positive(case) else NEGATIVE_CHECKS
        mapping = self.requirements
        checks = [_check(n) for n in names if n in mapping]
        try:
            case.validate_response(
                response,
                checks=checks,
                headers=headers,
                transport_kwargs={
                    "session": self.bare_session,
                    "headers": headers,
                    "timeout": self.settings.timeout,
                    "verify": self.session.verify,
                },
                recorder=recorder,
            )
        except (Failure, BaseExceptionGroup) as exc:
            self._record(exc, case, headers, getattr(response, "status_code", 0))
        self.profile.adopt_created(case.operation.definition.raw.get("operationId", ""), response)

    def run_stateful(self, operations: list[Any], step_count: int = 6) -> None:
        """Sequences through the spec's OpenAPI links (create -> describe/disable/schedule/cancel ...)."""
        for requirement in set(self.requirements.values()):
            self.verdict.covered(requirement)
        labels = {op.label for op in operations}
        schema = _schema(self.profile.spec_path()).include(func=lambda ctx: ctx.operation.label in labels)
        run = self

        class Machine(schema.as_state_machine()):  # type: ignore[misc]
            def before_call(self, case: Any) -> None:
                run.prepare(case)
                REQUESTS.add()

            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                return run.call_kwargs()

            def call(self, case: Any, **kwargs: Any) -> Any:
                with GENERATION.released():
                    return super().call(case, **kwargs)

            def validate_response(
                self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
            ) -> None:
                run.check(case, response, kwargs.get("headers") or {}, recorder=self.recorder)

            def step(self, input: Any) -> Any:
                with run.unless_broken() as going:
                    if going:
                        return super().step(input)
                return None

        try:
            with GENERATION.held():
                Machine.run(
                    settings=hypothesis.settings(
                        max_examples=max(1, self.settings.max_examples),
                        stateful_step_count=step_count,
                        deadline=None,
                        database=None,
                        derandomize=True,
                        phases=[Phase.generate],
                        suppress_health_check=list(HealthCheck),
                        verbosity=hypothesis.Verbosity.quiet,
                    )
                )
        except Exception:
            self.raise_broke_off()
            raise
        finally:
            self.session.close()
            self.bare_session.close()
        self.raise_broke_off()

    def probe_auth(self, case: Any) -> None:
        """Re-send one valid case without credentials (once per operation): it must be refused.

        Operations whose spec ``security`` is empty (a login endpoint) take no credentials by
        design: they are exempt, and the report says which and why.
        """
        self.auth_probed = True
        if is_unauthenticated(case.operation):
            self.verdict.note(
                self.profile.generated_requirements[AUTH_CHECK],
                f"exempt: {case.operation.label} (its spec security is empty: unauthenticated by design)",
            )
            return
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
        headers = self.profile.headers_for("none")
        REQUESTS.add()
        with GENERATION.released():
            response = case.call(
                base_url=self.settings.base_url,
                session=self.bare_session,
                headers=headers,
                timeout=self.settings.timeout,
                verify=self.session.verify,
            )
        if response.status_code not in (401, 403):
            curl = self.redactor.text(case.as_curl_command(headers=headers, base_url=self.settings.base_url))
            self.verdict.require(
                self.profile.generated_requirements[AUTH_CHECK],
                False,
                f"{case.operation.label}: a request without credentials got {response.status_code}, "
                f"not 401/403\n  reproduce: {curl}",
            )

    def _record(self, exc: BaseException, case: Any, headers: dict[str, str], status: int = 0) -> None:
        curl = self.redactor.text(case.as_curl_command(headers=headers, base_url=self.settings.base_url))
        mapping = self.requirements
        if status >= 400 and "response_schema_conformance" in mapping:
            # An error body that breaks its schema breaks the vendor's error envelope: that
            # requirement owns it (with the level the envelope's documentation justifies).
            mapping = {**mapping, "response_schema_conformance": self.profile.envelope_requirement}
        for requirement, messages in failed_checks(exc, mapping).items():
            for message in messages:
                key = (requirement, message)
                if key in self.seen:
                    continue
                self.seen.add(key)
                self.verdict.require(
                    requirement, False, f"{case.operation.label}: {message}\n  reproduce: {curl}"
                )

"""The pytest plugin: conformance checks inside any pytest run, and mock fixtures for users.

Two uses, one module (registered through the ``pytest11`` entry point):

* ``pytest --pyargs conformance.checks --kms-vendor huawei [--kms-base-url URL ...]`` runs the
  conformance checks against a target (the bundled mock when no URL is given), writing
  ``summary.json`` when ``--kms-summary`` is set.  ``kms-conformance run`` drives exactly this.
* ``kms_mock`` / ``huawei_mock`` / ``thales_mock`` / ``yandex_mock`` fixtures give a team's own
  tests a running fake KMS and the credentials to use it.

Without ``--kms-vendor`` the plugin only offers the fixtures and stays out of the way.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import inspect
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from conformance import case_cache
from conformance.concurrency import GENERATION, AheadOfTime, Job, concurrency_for
from conformance.metrics import REQUESTS
from conformance.mocks import RunningMock, start_mock
from conformance.options import (
    RunOptions,
    add_plugin_options,
    plugin_spelling,
    plugin_values,
    settings_fields,
)
from conformance.redaction import Redactor
from conformance.report.baseline import BaselineEntry
from conformance.report.evidence import exchange_text, shell_variables
from conformance.report.junit import requirement_properties
from conformance.report.summary import build_summary, reproduce_command, reproduction_options, write_summary
from conformance.requirements import load_catalogue
from conformance.settings import Settings, default_report_dir, new_run_id
from conformance.transport import ResponseTooLarge
from conformance.verdict import (
    BLOCKED,
    FAILED,
    NOT_COVERED,
    PASSED,
    RequirementRecord,
    StepFailed,
    Verdict,
    VerdictFailed,
)

CONTEXT_PLUGIN_NAME = (
    "kms-conformance-run"  # the name a RunContext built from --kms-* options is registered under
)


@dataclass(eq=False)
class RunContext:
    """Everything one conformance session needs; registered as a plugin by the runner."""

    settings: Settings
    summary_path: Path | None = None
    baseline: Mapping[str, BaselineEntry] = field(default_factory=dict)
    gate_levels: tuple[str, ...] = ("must",)
    mock: RunningMock | None = None  # started by the plugin itself when no base URL was given
    mock_info: dict[str, Any] | None = None  # the bundled mock's faults and options, for the reports
    records: dict[str, RequirementRecord] = field(default_factory=dict)
    tests: int = 0
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    started: float = field(default_factory=time.monotonic)
    summary: dict[str, Any] | None = None
    cleanup: dict[str, list[str]] = field(default_factory=lambda: {"cleaned": [], "left": []})
    profile: Any = None  # the session's profile, so an interrupted run still cleans before reporting
    cleaned_up: bool = False
    stopped: str | None = None  # why the target became unusable mid-run (the run then ends, exit 3)
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM (exit 130), not by the target
    ran: set[str] = field(default_factory=set)  # node ids of the checks that ran
    standalone: bool = False  # built from --kms-* options (plugin mode), not by ``kms-conformance run``
    ahead: AheadOfTime | None = None  # the checks' bodies running concurrently (--concurrency > 1)
    ahead_decided: bool = False

    @property
    def redactor(self) -> Redactor:
        return Redactor(self.settings.secrets())

    def spell(self, text: str) -> str:
        """A reason in this run's terms: the plugin's ``--kms-*`` names in plugin mode, else as is."""
        return plugin_spelling(text) if self.standalone else text

    def pytest_html_report_title(self, report: Any) -> None:
        """The CLI's per-check log (``checks.html``) says what it is instead of its file name."""
        if not self.standalone:
            report.title = f"kms-conformance {self.settings.vendor}: every check of the run"

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C or SIGTERM mid-run: the run is stopped, not finished.

        (A hook on the context, which is registered as a plugin: the hook gets no config.)  What
        the run did not reach is blocked and the verdict is FAIL -- an interrupted run must not
        read "pass" in summary.json -- and ``kms-conformance run`` exits 130.
        """
        if isinstance(excinfo.value, pytest.Session.Interrupted | pytest.Session.Failed):
            return  # pytest's own stop (``shouldstop``: the target became unusable), not a signal
        if not self.stopped:
            why = str(excinfo.value) or "Ctrl-C"
            self.stopped = f"interrupted ({why}) before the checks finished"
        self.interrupted = True
        if self.ahead is not None:
            # Before pytest formats the interrupt: the checks still running stop at their next
            # exchange and the children end (Hypothesis' threads must not outlive the session).
            self.ahead.stop()

    def record(
        self,
        requirement: str,
        test: str,
        outcome: str,
        message: str = "",
        evidence: str = "",
        blocked_by: str = "",
    ) -> None:
        redactor = self.redactor
        if outcome in (NOT_COVERED, BLOCKED):
            message = self.spell(message)  # our reasons; a finding (FAILED) is left as worded
        self.records.setdefault(requirement, RequirementRecord()).add(
            test, outcome, redactor.text(message), redactor.text(evidence), blocked_by
        )


_E = TypeVar("_E", bound=BaseException)
_context_key = pytest.StashKey[RunContext]()
_verdict_key = pytest.StashKey[Verdict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``--kms-*`` options: the plugin rows of the one option table (``conformance.options``)."""
    add_plugin_options(parser.getgroup("kms-conformance", "KMS conformance checks"))


def pytest_configure(config: pytest.Config) -> None:
    context = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, RunContext)), None)
    if context is None:
        vendor = config.getoption("kms_vendor", None)
        if not vendor:
            return
        context = _context_from_options(config, vendor)
        config.pluginmanager.register(context, CONTEXT_PLUGIN_NAME)
    config.stash[_context_key] = context
    from conformance.profiles import profile_class

    unknown = profile_class(context.settings.vendor).unknown_requirements()
    if unknown:
        # A suite defect, said before any check runs: an outcome under such an id would have no row.
        raise pytest.UsageError(
            f"kms-conformance: the {context.settings.vendor} tables name requirement ids missing from the "
            f"catalogue: {', '.join(unknown)}"
        )
    try:
        selected_requirements(context.settings.vendor, context.settings.requirement)
    except ValueError as exc:
        raise pytest.UsageError(f"kms-conformance: {context.spell(str(exc))}") from None


def selected_requirements(vendor: str, patterns: Iterable[str]) -> frozenset[str] | None:
    """The catalogue ids ``--requirement`` names (ids or globs such as ``HW-STATE-*``), or None: all.

    ValueError (one line) for a pattern that matches no requirement of ``vendor``: a typo must not
    turn into a run that checks nothing and passes.
    """
    patterns = [p.strip().upper() for p in patterns if p.strip()]
    if not patterns:
        return None
    catalogue = list(load_catalogue(vendor))
    chosen: set[str] = set()
    for pattern in patterns:
        matched = fnmatch.filter(catalogue, pattern)
        if not matched:
            raise ValueError(f"--requirement {pattern} names no requirement of the {vendor} catalogue")
        chosen.update(matched)
    return frozenset(chosen)


def check_requirements(profile: Any, item: pytest.Item) -> frozenset[str] | None:
    """The requirements check ``item`` names, or None for a check the plugin cannot place (it always runs).

    A table row names its own requirement; a generated check names those of the profile's
    Schemathesis mapping.  Every check also verifies the shared ones along the way -- the error
    envelope, the transport rules, "the operation is served" -- so selecting one of those selects all.
    """
    from conformance.fuzz import generated_requirements

    shared = {
        req
        for req in (profile.envelope_requirement, profile.transport_requirement, profile.served_requirement)
        if req
    }
    declared = set(_declared_requirements(item))
    if declared:
        return frozenset(declared | shared)
    if _is_generated(item):
        return frozenset(set(generated_requirements(profile).values()) | shared)
    return None


def _is_generated(item: pytest.Item) -> bool:
    """Whether ``item`` is a generated check: an operation's cases or the stateful sequences."""
    return (
        "api_operation" in getattr(item, "fixturenames", ())
        or getattr(item, "originalname", "") == "test_stateful"
    )


def _context_from_options(config: pytest.Config, vendor: str) -> RunContext:
    """Plugin mode: the same safety as ``kms-conformance run`` -- a run id naming every scratch key,
    a ledger written as keys appear (``--kms-ledger``; default beside ``--kms-summary``, else
    ``reports/<vendor>-<UTC>/ledger.jsonl``), cleanup at the end and the same transport bounds."""
    from conformance import vendors
    from conformance.report.baseline import BaselineError, load_baseline

    try:
        vendors.get(vendor)
        values = plugin_values(config.getoption, os.environ)
    except ValueError as exc:
        raise pytest.UsageError(f"kms-conformance: {plugin_spelling(str(exc))}") from None
    asked = RunOptions(**{k: v for k, v in values.items() if k not in settings_fields()})
    values = {
        k: v for k, v in values.items() if k in settings_fields() and v not in (None, "") and k != "vendor"
    }
    try:
        known = load_baseline(asked.baseline) if asked.baseline and not asked.strict else {}
    except BaselineError as exc:
        raise pytest.UsageError(f"kms-conformance: {exc}") from None
    started = dt.datetime.now(dt.UTC)
    if asked.summary:
        _make_folder("--kms-summary", Path(asked.summary))
    if values.get("ledger"):
        _make_folder("--kms-ledger", Path(values["ledger"]))
    else:
        folder = Path(asked.summary).parent if asked.summary else default_report_dir(vendor, started)
        values["ledger"] = str(folder / "ledger.jsonl")
    mock = None
    if not values.get("base_url"):
        chosen = dict(item.partition("=")[::2] for item in asked.mock_option)
        try:
            mock = start_mock(vendor, asked.mock_fault, chosen)
        except ValueError as exc:
            raise pytest.UsageError(f"kms-conformance: {exc}") from None
        values = {**mock.credentials, **values, "base_url": mock.url}
    return RunContext(
        settings=Settings(vendor=vendor, run_id=new_run_id(started), **values),
        summary_path=Path(asked.summary) if asked.summary else None,
        baseline=known,
        gate_levels=("must",) if asked.level == "must" else ("must", "should"),
        mock=mock.server if mock else None,
        mock_info=mock.info if mock else None,
        started_at=started,
        standalone=True,
    )


def _make_folder(option: str, path: Path) -> None:
    """Create the folder of a file the user named (``--kms-summary out/summary.json``), before any check.

    Created rather than refused: ``kms-conformance run --report-dir`` creates its folder and the
    ledger creates its own, so a user naming ``out/summary.json`` expects ``out/`` to appear -- not
    a run of every check that ends in a traceback when the summary cannot be written.  What cannot
    be created (a file in the way, no permission), or a path that is itself a folder, is a pytest
    usage error (exit status 4, one line) before any check runs.
    """
    if path.is_dir():
        raise pytest.UsageError(f"kms-conformance: {option} {path} is a folder; name a file in it")
    in_the_way = next((p for p in path.parents if p.exists()), None)
    if in_the_way is not None and not in_the_way.is_dir():
        raise pytest.UsageError(f"kms-conformance: {option} {path}: {in_the_way} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(
            f"kms-conformance: {option} {path}: cannot create its folder {path.parent}: {exc.strerror or exc}"
        ) from None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Plugin mode: the CLI's preflight (``Profile.preflight``) before any check runs.

    A target that cannot be used -- unreachable, refusing the credentials, not this vendor's API --
    ends the session with one line on stderr and exit status 3, ``kms-conformance run``'s "target
    unusable" code, instead of every check failing the same way.  No check runs and no summary is
    written (as with the CLI); credentials are redacted from the line.  ``--collect-only`` sends
    nothing.  (``kms-conformance run`` preflights before it starts pytest, so it is not done twice.)
    """
    context = _context(session.config)
    if context is None or not context.standalone or session.config.option.collectonly:
        return
    from conformance.profiles import TargetError, profile_class
    from conformance.runner import EXIT_TARGET

    profile = profile_class(context.settings.vendor)(context.settings)
    try:
        profile.preflight()
    except TargetError as exc:
        reason = context.redactor.text(context.spell(str(exc)))
        pytest.exit(f"kms-conformance: the target cannot be used: {reason}", returncode=EXIT_TARGET)
    finally:
        profile.close()
    REQUESTS.reset()  # the run's count, as the CLI's, starts after the preflight
    case_cache.SOURCES.reset()


def pytest_unconfigure(config: pytest.Config) -> None:
    context = config.stash.get(_context_key, None)
    if context is not None and context.mock is not None:
        context.mock.stop()
        context.mock = None


def _context(config: pytest.Config) -> RunContext | None:
    return config.stash.get(_context_key, None)


# -- parametrization from the profile's data tables ---------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    context = _context(metafunc.config)
    wanted = {"transition", "probe", "api_operation"} & set(metafunc.fixturenames)
    if not wanted:
        return
    if context is None:
        metafunc.parametrize(
            sorted(wanted)[0], [pytest.param(None, marks=pytest.mark.skip(reason="no --kms-vendor"))]
        )
        return
    from conformance.profiles import profile_class

    settings = context.settings
    profile = profile_class(settings.vendor)
    if "transition" in wanted:
        transitions = [] if settings.read_only else list(profile.transitions)
        metafunc.parametrize(
            "transition", _scoped(profile, transitions, settings.scope), ids=[r.id for r in transitions]
        )
    if "probe" in wanted:
        probes = [p for p in profile.probes if p.safe or not settings.read_only]
        metafunc.parametrize("probe", _scoped(profile, probes, settings.scope), ids=[r.id for r in probes])
    if "api_operation" in wanted:
        from conformance.fuzz import selected_operations

        operations = selected_operations(profile, settings)
        metafunc.parametrize("api_operation", operations, ids=[op.label for op in operations])


def _scoped(profile: Any, rows: list[Any], scope: str) -> list[Any]:
    """Rows as pytest params; a row whose operation is outside ``scope`` is skipped, saying why."""
    params = []
    for row in rows:
        why = profile.out_of_scope([row.operation], scope)
        params.append(pytest.param(row, marks=pytest.mark.skip(reason=why)) if why else row)
    return params


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kms_settings(request: pytest.FixtureRequest) -> Settings:
    context = _context(request.config)
    if context is None:
        pytest.skip("no --kms-vendor given: conformance checks are off")
    return context.settings


@pytest.fixture(scope="session")
def kms_profile(kms_settings: Settings, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The vendor profile for the run's target, with its scratch keys cleaned up at the end."""
    from conformance.profiles import profile_class

    profile = profile_class(kms_settings.vendor)(kms_settings)
    context = _context(request.config)
    if context is not None:
        context.profile = profile
    yield profile
    _clean(context, profile)


def _clean(context: RunContext | None, profile: Any) -> None:
    """Schedule deletion of the run's scratch keys once, and record what really happened.

    Runs at the end of the session fixture, or -- when the run was interrupted before that
    teardown -- from ``pytest_sessionfinish``, so summary.json is always written after cleanup.
    What is left is read back from the ledger: a key counts as cleaned only once it says so.
    """
    if context is not None and context.cleaned_up:
        return
    if context is not None and context.ahead is not None:
        context.ahead.stop()  # nothing may still be talking to the target (or creating keys) now
    with REQUESTS.attributed("cleanup"):
        cleaned, left = profile.cleanup(workers=concurrency_for(profile.settings))
    profile.close()
    if context is None:
        return
    context.cleaned_up = True
    ledger = profile.settings.ledger
    if ledger and Path(ledger).exists():
        from conformance.ledger import Ledger

        try:
            left = [entry.key_id for entry in Ledger(Path(ledger)).pending()]
        except ValueError:
            pass
    context.cleanup = {"cleaned": cleaned, "left": left}


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> Verdict:
    """Soft assertions keyed by requirement id; the test fails if any was not met."""
    found = Verdict()
    request.node.stash[_verdict_key] = found
    return found


@pytest.fixture(autouse=True)
def _fresh_history(request: pytest.FixtureRequest) -> None:
    if "kms_profile" in request.fixturenames:
        request.getfixturevalue("kms_profile").history.clear()


@dataclass
class MockHandle:
    """A running bundled mock and the settings that reach it."""

    vendor: str
    url: str
    credentials: dict[str, Any]
    server: RunningMock

    @property
    def settings(self) -> Settings:
        return Settings(vendor=self.vendor, base_url=self.url, **self.credentials)


@pytest.fixture
def kms_mock() -> Iterator[Callable[..., MockHandle]]:
    """Factory: ``kms_mock("huawei", faults=[...], options={...})`` starts a mock on loopback.

    ``calibrated_from="run.har"`` (a ``run --record`` recording) starts it with the options that
    make it answer most like the recording (``conformance.parity.session.calibrated_options``);
    explicit ``options`` win over calibrated ones.
    """
    servers: list[RunningMock] = []

    def start(
        vendor: str,
        faults: list[str] | tuple[str, ...] = (),
        options: Mapping[str, str] | None = None,
        calibrated_from: str | Path | None = None,
    ) -> MockHandle:
        if calibrated_from is not None:
            from conformance.parity.session import calibrated_options

            options = {**calibrated_options(calibrated_from, vendor), **(options or {})}
        mock = start_mock(vendor, faults, options)
        servers.append(mock.server)
        return MockHandle(vendor, mock.url, mock.credentials, mock.server)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def huawei_mock(kms_mock: Callable[..., MockHandle]) -> MockHandle:
    """A faithful Huawei Cloud KMS mock: ``.url``, ``.credentials`` (token, project_id, ak, sk)."""
    return kms_mock("huawei")


@pytest.fixture
def thales_mock(kms_mock: Callable[..., MockHandle]) -> MockHandle:
    """A faithful CipherTrust CCKM mock: ``.url``, ``.credentials`` (username, password, kms, region)."""
    return kms_mock("thales")


@pytest.fixture
def yandex_mock(kms_mock: Callable[..., MockHandle]) -> MockHandle:
    """A faithful Yandex Cloud KMS mock: ``.url``, ``.credentials`` (token, folder_id)."""
    return kms_mock("yandex")


# -- per-requirement outcomes --------------------------------------------------------------------


def _declared_requirements(item: pytest.Item) -> list[str]:
    found: list[str] = []
    for mark in item.iter_markers("requirement"):
        found.extend(mark.args)
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for value in callspec.params.values():
            req = getattr(value, "requirement", None)
            if isinstance(req, str):
                found.append(req)
    return list(dict.fromkeys(found))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A Ctrl-C noted during the last check (and not yet raised by an exchange) ends the run here."""
    from conformance.interrupts import INTERRUPTS
    from conformance.parity import har

    INTERRUPTS.checkpoint()
    har.set_check(item.nodeid)  # a recording (--record) names the check each exchange came from


# The fixtures a check's body may take to run ahead of pytest (``conformance.concurrency``): the
# session's profile and settings, its row, and the verdict (a fresh one per body).
_AHEAD_ARGUMENTS = frozenset(
    {"kms_profile", "kms_settings", "verdict", "transition", "probe", "api_operation"}
)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A check whose body already ran ahead (``--concurrency`` > 1) takes that body's result.

    The first check of the session starts the pool: every later check the pool can run is
    submitted then, heaviest first.  The item then reports exactly what its body left -- its
    verdict, its last exchanges as evidence, the exception it ended with (a skip, a broken step,
    a target that stopped) -- so the rest of the plugin cannot tell it from an inline run.
    """
    context = _context(pyfuncitem.config)
    profile: Any = pyfuncitem.funcargs.get("kms_profile") if context is not None else None
    if context is None or profile is None:
        return None
    if not context.ahead_decided:
        context.ahead_decided = True
        context.ahead = _start_ahead(context, pyfuncitem.session, profile)
    ahead = context.ahead
    if ahead is None or not ahead.owns(pyfuncitem.nodeid):
        return None
    done = ahead.take(pyfuncitem.nodeid)
    found = pyfuncitem.funcargs.get("verdict")
    if isinstance(found, Verdict):
        found.results.update(done.results)
        found.notes.update(done.notes)
    profile.history = done.history
    if done.error is not None:
        raise done.error
    return True


def _start_ahead(context: RunContext, session: pytest.Session, profile: Any) -> AheadOfTime | None:
    workers = concurrency_for(context.settings)
    if workers <= 1 or hasattr(session.config, "workerinput"):
        return None  # sequential, or a pytest-xdist worker (which runs only some of the items)
    jobs = [job for item in session.items if (job := _ahead_job(item, context, profile)) is not None]
    if len(jobs) < 2:
        return None
    from conformance import generation_process

    elsewhere: dict[str, str] = {}  # generated checks for a process of their own, by operation label
    in_process = context.mock is not None or context.mock_info is not None  # the bundled mock, here
    if generation_process.wanted(context.settings, workers, target_in_process=in_process):
        elsewhere = {
            job.key: job.arguments["api_operation"].label for job in jobs if "api_operation" in job.arguments
        }
    ahead = AheadOfTime(profile, workers, Verdict)
    ahead.start(jobs, elsewhere)
    return ahead


def _ahead_job(item: pytest.Item, context: RunContext, profile: Any) -> Job | None:
    """The body of ``item`` as a ``Job``, or None when it must run inline (not one of the suite's
    checks, marked to skip, or taking a fixture the pool cannot give it)."""
    if not isinstance(item, pytest.Function) or not item.module.__name__.startswith("conformance.checks"):
        return None
    if any(True for name in ("skip", "skipif", "xfail") for _ in item.iter_markers(name)):
        return None
    names = list(inspect.signature(item.obj).parameters)
    if "verdict" not in names or not set(names) <= _AHEAD_ARGUMENTS:
        return None
    params = item.callspec.params if hasattr(item, "callspec") else {}
    given = {"kms_profile": profile, "kms_settings": context.settings}
    arguments: dict[str, Any] = {}
    for name in names:
        if name == "verdict":
            continue
        if name not in given and name not in params:
            return None
        arguments[name] = given[name] if name in given else params[name]
    # Stateful sequences and generated operations send the most requests: they start first.
    cost = 60 if item.originalname == "test_stateful" else 11 if "api_operation" in names else 3
    return Job(item.nodeid, item.obj, arguments, cost)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with REQUESTS.attributed(item.nodeid):  # a body that ran ahead was counted where it ran
        result = yield
    found = item.stash.get(_verdict_key, None)
    if found is not None and found.failures:
        raise VerdictFailed(found.failure_text())
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # pytest parses source (``ast``) to show a failure; with generated checks running on other
    # threads that must wait for the baton, as their own Hypothesis does (``concurrency.Baton``).
    with GENERATION.held():
        report = yield
    context = _context(item.config)
    if context is None:
        return report
    if report.skipped and isinstance(report.longrepr, tuple) and context.standalone:
        path, line, reason = report.longrepr
        report.longrepr = (path, line, context.spell(reason))  # pytest's own lines say it too
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _record_item(context, item, call, report)
        _stop_if_unusable(context, item)
    return report


def _stop_if_unusable(context: RunContext, item: pytest.Item) -> None:
    """End the session after this check when the target stopped answering or throttles beyond the
    budget: every later request would fail the same way, each after its full timeout."""
    health = getattr(context.profile, "health", None)
    reason = getattr(health, "stopped", None)
    if reason and not context.stopped:
        context.stopped = reason
    if context.stopped:
        item.session.shouldstop = context.stopped


def _record_item(
    context: RunContext, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> None:
    from conformance.fuzz import failed_checks

    context.tests += 1
    context.ran.add(item.nodeid)
    name = item.nodeid.split("::", 1)[-1]
    found = item.stash.get(_verdict_key, None) or Verdict()
    declared = _declared_requirements(item)
    # A generated check answers for the generated layer's requirements even when it ended before
    # saying so in its verdict (a broken-off child process, a crash): blocked, never silent.
    requirements = list(dict.fromkeys([*declared, *_generated_ids(context, item), *found.results]))
    item.user_properties.extend(
        p
        for p in requirement_properties(context.settings.vendor, requirements)
        if p not in item.user_properties
    )
    evidence = _evidence(item, context)
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        for req in requirements:
            context.record(req, name, NOT_COVERED, reason)
        return
    if report.passed:
        for req in requirements:
            notes = found.notes.get(req, [])
            context.record(req, name, PASSED, "; ".join(notes))
        return
    failures = dict(found.failures)
    exc = call.excinfo.value if call.excinfo is not None else None
    step = _step_failure(exc)
    too_large = _find(exc, ResponseTooLarge)
    if step is None and too_large is not None:
        # The target answered, with more than the run reads: a finding about that answer, owned
        # by the transport requirement (documented answers are small JSON documents).
        from conformance.profiles import profile_class

        owner = profile_class(context.settings.vendor).transport_requirement
        if owner:
            step = StepFailed(owner, str(too_large))
    if step is not None:
        # A step the check depends on broke its own requirement: fail that one, block the rest.
        failures.setdefault(step.requirement, []).append(step.message)
        requirements = list(dict.fromkeys([*requirements, step.requirement]))
        blocked = f"blocked by {step.requirement}: {step.message}"
        blocker = step.requirement
    elif exc is None or isinstance(exc, VerdictFailed):
        blocked, blocker = "", ""
    elif isinstance(exc, AssertionError) and declared:
        # A check's own assertion: it names the requirement it broke.
        for req in declared:
            failures.setdefault(req, []).append(_short(call.excinfo) if call.excinfo else "")
        blocked, blocker = "", ""
    else:
        by_check = failed_checks(exc, getattr(item, "_kms_generated_requirements", {}))
        for req, messages in by_check.items():
            failures.setdefault(req, []).extend(messages)
        # The check broke off (transport error, crash in the target's answer, ...): what it had
        # not yet proved is not proved -- never "passed".
        stopped = context.stopped or getattr(getattr(context.profile, "health", None), "stopped", None)
        if stopped:
            # Whatever the exception says (Hypothesis replaying a stopped target says "inconsistent
            # data generation"), the cause is the target.
            blocked = f"the check did not complete: {stopped}"
        elif call.excinfo is not None:
            blocked = f"the check did not complete: {_short(call.excinfo)}"
        else:
            blocked = "setup failed"
        blocker = ""
    for req in requirements:
        if req in failures:
            context.record(req, name, FAILED, " | ".join(failures[req]), evidence)
        elif blocked:
            context.record(req, name, BLOCKED, blocked, blocked_by=blocker)
        else:
            context.record(req, name, PASSED, "; ".join(found.notes.get(req, [])))
    for property_name, value in (("requirements", " ".join(requirements)), ("failed", " ".join(failures))):
        item.user_properties.append((property_name, value))


def _generated_ids(context: RunContext, item: pytest.Item) -> list[str]:
    """The requirements a generated check (``_is_generated``) proves."""
    if not _is_generated(item):
        return []
    from conformance.fuzz import generated_requirements
    from conformance.profiles import profile_class

    return list(dict.fromkeys(generated_requirements(profile_class(context.settings.vendor)).values()))


def _step_failure(exc: BaseException | None) -> StepFailed | None:
    """The ``StepFailed`` inside ``exc`` (exception groups and causes included), if any."""
    return _find(exc, StepFailed)


def _find(exc: BaseException | None, kind: type[_E]) -> _E | None:
    """The first exception of ``kind`` inside ``exc`` (exception groups and causes included)."""
    stack = [exc] if exc is not None else []
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None


def _short(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(excinfo.value).strip() or excinfo.typename
    return text if len(text) < 1500 else text[:1500] + " ..."


def _evidence(item: pytest.Item, context: RunContext) -> str:
    profile = item.funcargs.get("kms_profile") if hasattr(item, "funcargs") else None
    if profile is None or not profile.history:
        return ""
    variables = shell_variables(context.settings)
    return "\n\n".join(exchange_text(r, context.redactor, variables) for r in profile.history[-2:])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    context = _context(config)
    if context is None:
        return
    chosen = selected_requirements(context.settings.vendor, context.settings.requirement)
    if chosen is not None:
        # --requirement: only the checks that name a selected requirement run (see check_requirements).
        from conformance.profiles import profile_class

        profile = profile_class(context.settings.vendor)
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            names = check_requirements(profile, item)
            (kept if names is None or names & chosen else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
    for item in items:
        reqs = _declared_requirements(item)
        if reqs:
            item.user_properties.append(("requirements", " ".join(reqs)))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    context = _context(session.config)
    if context is None:
        return
    if context.profile is not None:
        reason = getattr(context.profile.health, "stopped", None)
        context.stopped = context.stopped or reason
        _clean(context, context.profile)
    settings = context.settings
    chosen = selected_requirements(settings.vendor, settings.requirement)
    if chosen is not None:
        # Not asked for and not met along the way: not covered, saying why (never blocked or failed).
        why = f"not selected: the run was limited to --requirement {' '.join(settings.requirement)}"
        why = context.spell(why)
        for req in load_catalogue(settings.vendor):
            if req not in chosen and req not in context.records:
                context.records[req] = RequirementRecord(skip_reasons=[why])
    if context.stopped:
        _block_unreached(context, session)
    context.summary = build_summary(
        vendor=settings.vendor,
        target="bundled mock" if context.mock_info else Redactor(settings.secrets()).text(settings.base_url),
        started_at=context.started_at,
        duration_s=time.monotonic() - context.started,
        catalogue=load_catalogue(settings.vendor),
        records=context.records,
        baseline=context.baseline,
        tests=context.tests,
        requests=REQUESTS.value,
        requests_by_check=REQUESTS.snapshot(),
        gate_levels=context.gate_levels,
    )
    if context.mock_info:
        context.summary["mock"] = context.mock_info
    from conformance.facts import FactMapError, run_coverage

    try:
        statuses = {row["id"]: row["status"] for row in context.summary["requirements"]}
        context.summary["coverage"] = run_coverage(settings.vendor, statuses)
    except FactMapError as exc:  # checked before the run starts; a map edited mid-run says so
        context.summary["coverage"] = {"error": str(exc)}
    context.summary["cleanup"] = context.cleanup
    context.summary["stopped"] = context.spell(context.stopped) if context.stopped else None
    if context.stopped:
        context.summary["verdict"] = "fail"  # checks that never ran prove nothing
    context.summary["transport"] = {
        "tls_verify": not settings.insecure,
        "ca_bundle": bool(settings.ca_bundle),
        "read_only": settings.read_only,
        "scope": settings.scope,
    }
    sources = case_cache.SOURCES.snapshot()
    context.summary["generated_cases"] = {
        "cache": "off" if case_cache.folder_for(settings.case_cache) is None else "on",
        "checks_drawn": sources.get(case_cache.DRAWN, 0),
        "checks_from_cache": sources.get(case_cache.CACHED, 0),
    }
    if not context.mock_info:
        context.summary["run_options"] = reproduction_options(settings)
    for row in context.summary["requirements"]:
        if row["status"] in ("failed", "blocked", "allowed"):
            row["reproduce"] = reproduce_command(context.summary, row["id"])
    if context.summary_path is not None:
        write_summary(context.summary, context.summary_path)
        from conformance.report.outputs import write_run_outputs

        write_run_outputs(context.summary, context.summary_path.parent)


def _block_unreached(context: RunContext, session: pytest.Session) -> None:
    """Checks the stopped run never reached are blocked (never "passed", never "not covered")."""
    for item in session.items:
        if item.nodeid in context.ran:
            continue
        name = item.nodeid.split("::", 1)[-1]
        for req in _declared_requirements(item):
            context.record(req, name, BLOCKED, f"not run: {context.stopped}")
    for req in load_catalogue(context.settings.vendor):
        if req not in context.records:  # checked only along the way by checks that never ran
            context.record(req, "(not reached)", BLOCKED, f"not run: {context.stopped}")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Plugin mode: say what cleanup did and, when keys are left, the command that finishes it."""
    context = _context(config)
    if context is None or not context.standalone:
        return
    ledger = context.settings.ledger
    cleaned, left = context.cleanup["cleaned"], context.cleanup["left"]
    line = f"kms-conformance: cleanup: {len(cleaned)} scratch keys scheduled for deletion"
    if left:
        line += f", {len(left)} left -- finish with: kms-conformance cleanup --ledger {ledger}"
    terminalreporter.write_line(line + f" (ledger: {ledger})")
    if context.stopped:
        terminalreporter.write_line(
            f"kms-conformance: {context.redactor.text(context.spell(context.stopped))}"
        )


def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    context = _context(session.config)
    if context is None or context.summary is None:
        return
    if not context.standalone:
        # The CLI's checks.html: the compliance report is report.html beside it.
        verdict = context.summary["verdict"].upper()
        prefix.append(
            f"<p><b>{verdict}</b>: the compliance report (requirements, failures, reproductions) is "
            "<a href='report.html'>report.html</a>; this page lists every check the run made.</p>"
        )
        return
    from conformance.report.html import requirement_matrix

    prefix.append(requirement_matrix(context.summary))


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    context = _context(config)
    if context is None:
        return None
    s = context.settings
    return [
        f"kms-conformance: vendor={s.vendor} target={Redactor(s.secrets()).text(s.base_url)} scope={s.scope}"
    ]

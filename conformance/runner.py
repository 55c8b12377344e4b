"""``kms-conformance run``: one vendor target, start to verdict.

The runner prepares settings (starting the bundled mock when no base URL is given), checks
the target is reachable and the credentials work (exit 3 otherwise), runs the checks as an
in-process pytest session with the plugin's ``RunContext``, and turns the requirement
summary into the exit status: 0 conformant, 1 non-conformant.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest

from conformance import case_cache, vendors
from conformance.facts import coverage_line, load_facts
from conformance.interrupts import EXIT_INTERRUPTED, INTERRUPTS, InterruptWatchdog, grace_for
from conformance.metrics import REQUESTS
from conformance.mocks import BundledMock, start_mock
from conformance.options import flag_for
from conformance.plugin import RunContext, selected_requirements
from conformance.profiles import profile_class
from conformance.profiles.base import TargetError
from conformance.progress import progress_plugins
from conformance.redaction import Redactor
from conformance.report.baseline import BaselineEntry
from conformance.report.summary import mock_switches
from conformance.settings import Settings, default_report_dir, new_run_id

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3


class UsageProblem(Exception):
    """Bad options or configuration: exit status 2 with one line."""


@dataclass
class RunRequest:
    """What the user asked for, before any mock is started."""

    vendor: str
    values: dict[str, Any]  # Settings fields given by options/env/config
    report_dir: Path | None = None
    baseline: Mapping[str, BaselineEntry] = field(default_factory=dict)
    gate_levels: tuple[str, ...] = ("must",)
    mock_faults: tuple[str, ...] = ()
    mock_options: Mapping[str, str] = field(default_factory=dict)
    verbose: bool = False
    record: Path | None = None  # --record: the HAR file every exchange of the run is written to


@dataclass
class RunResult:
    vendor: str
    exit_code: int
    summary: dict[str, Any] | None
    report_dir: Path


def check_target_settings(vendor: str, values: Mapping[str, Any]) -> None:
    """Raise UsageProblem naming, in one line, every option a real target still needs (the
    vendor's registry row): required settings, credentials, and what creating scratch keys needs."""
    entry = vendors.get(vendor)
    needs = []
    missing = [flag_for(name) for name in entry.required if not values.get(name)]
    if missing:
        needs.append(" and ".join(missing))
    if not any(all(values.get(n) for n in group) for group in entry.credentials):
        options = " or ".join(" and ".join(flag_for(n) for n in group) for group in entry.credentials)
        needs.append(f"credentials: {options}")
    if not values.get("read_only"):
        writes = [flag_for(name) for name in entry.for_writes if not values.get(name)]
        if writes:
            needs.append(f"{' and '.join(writes)} to create scratch keys (or use --read-only)")
    if needs:
        raise UsageProblem(f"--vendor {vendor} with --base-url needs {', and '.join(needs)}")


@contextlib.contextmanager
def target_settings(
    request: RunRequest, run_id: str, ledger: Path
) -> Iterator[tuple[Settings, dict[str, Any] | None]]:
    """Settings for the run; starts (and stops) the bundled mock when no base URL is given.

    The second value describes the bundled mock (url, faults, options) for the reports, or is None.
    """
    values = dict(request.values)
    mock: BundledMock | None = None
    mock_info: dict[str, Any] | None = None
    if not values.get("base_url"):
        try:
            mock = start_mock(request.vendor, request.mock_faults, request.mock_options)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
        mock_info = mock.info
        values = {**mock.credentials, **{k: v for k, v in values.items() if v}, "base_url": mock.url}
    else:
        if request.mock_faults or request.mock_options:
            raise UsageProblem(
                "--mock-fault/--mock-option apply to the bundled mock, not to --base-url targets"
            )
        check_target_settings(request.vendor, values)
    try:
        yield Settings(vendor=request.vendor, run_id=run_id, ledger=str(ledger), **values), mock_info
    finally:
        if mock is not None:
            mock.stop()


def _describe_mock(info: Mapping[str, Any]) -> str:
    switches = mock_switches(info)
    return f"the bundled mock at {info['url']}" + (f" ({', '.join(switches)})" if switches else " (faithful)")


def hypothesis_home() -> Path:
    """Where generation keeps its caches across runs (not the user's working directory).

    Hypothesis builds a Unicode table on first use (~1.5 s CPU, ~150 MB); keeping it in a
    per-user cache makes every later run start warm.  ``HYPOTHESIS_STORAGE_DIRECTORY`` wins.
    """
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return Path(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"])
    return case_cache.user_cache() / "hypothesis"


def use_hypothesis_home() -> Path:
    from hypothesis.configuration import set_hypothesis_home_dir

    home = hypothesis_home()
    set_hypothesis_home_dir(home)
    return home


def warm_hypothesis() -> None:
    """Build Hypothesis' Unicode tables once (or load them, when built), so parallel children do
    not each build them; ``hypothesis_warm`` is true afterwards."""
    use_hypothesis_home()
    from hypothesis import strategies as st
    from hypothesis.errors import NonInteractiveExampleWarning

    with warnings.catch_warnings():  # .example() outside a REPL warns; here it is meant
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        st.text().example()
    _warm_marker().touch()


def hypothesis_warm() -> bool:
    """Whether ``warm_hypothesis`` has built the tables of this Hypothesis version.  (Its folders
    alone prove nothing: importing Schemathesis writes one table, not the one a run needs most.)"""
    return _warm_marker().exists()


def _warm_marker() -> Path:
    from importlib.metadata import version

    return hypothesis_home() / f"kms-conformance-warm-{version('hypothesis')}"


def run_vendor(request: RunRequest, out: TextIO = sys.stdout, err: TextIO | None = None) -> RunResult:
    """One run, start to verdict: the requirement table goes to ``out``, the one-line reason for
    an unusable target (exit 3) or an abnormal end to ``err`` (default: ``sys.stderr``)."""
    err = err or sys.stderr
    unknown = profile_class(request.vendor).unknown_requirements()
    if unknown:
        raise UsageProblem(
            f"the {request.vendor} tables name requirement ids missing from the catalogue: "
            f"{', '.join(unknown)}"
        )
    try:
        selected_requirements(request.vendor, request.values.get("requirement") or ())
        load_facts(request.vendor)  # a fact map that does not parse is a suite defect: said now
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if request.record is not None:
        from conformance.parity.har import check_writable

        problem = check_writable(request.record)
        if problem:
            raise UsageProblem(problem)
    use_hypothesis_home()
    started = dt.datetime.now(dt.UTC)
    report_dir = request.report_dir or default_report_dir(request.vendor, started)
    run_id = new_run_id(started)
    with (
        target_settings(request, run_id, report_dir / "ledger.jsonl") as (settings, mock_info),
        INTERRUPTS.installed(),
        InterruptWatchdog(grace_for(settings.timeout), report_dir, report_dir / "ledger.jsonl"),
        recording(request.record, settings, mock_info),
    ):
        redactor = Redactor(settings.secrets())
        profile = profile_class(request.vendor)(settings)
        try:
            profile.preflight()
        except TargetError as exc:
            print(f"kms-conformance: {redactor.text(str(exc))}", file=err)
            return RunResult(request.vendor, EXIT_TARGET, None, report_dir)
        finally:
            profile.close()
        try:
            report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageProblem(f"cannot create report directory {report_dir}: {exc.strerror}") from None
        context = RunContext(
            settings=settings,
            summary_path=report_dir / "summary.json",
            baseline=request.baseline,
            gate_levels=request.gate_levels,
            mock_info=mock_info,
        )
        REQUESTS.reset()
        case_cache.SOURCES.reset()
        where = _describe_mock(mock_info) if mock_info else redactor.text(settings.base_url)
        print(
            f"kms-conformance: {request.vendor} against {where} (scope {settings.scope})",
            file=out,
            flush=True,
        )
        progress = progress_plugins(request.vendor, request.verbose)
        with tempfile.TemporaryDirectory(prefix="kms-conformance-") as scratch:
            args = _pytest_args(report_dir, request.verbose, Path(scratch))
            code = pytest.main(args, plugins=[context, *progress])
    summary = context.summary
    if summary is not None and summary.get("stopped"):
        # The target became unusable mid-run, or the run was interrupted: reports are written and
        # cleanup was tried, but the run is not a verdict on the target's behaviour.
        print_summary(summary, report_dir, out)
        print(f"kms-conformance: {redactor.text(summary['stopped'])}", file=err)
        code = EXIT_INTERRUPTED if context.interrupted else EXIT_TARGET
        return RunResult(request.vendor, code, summary, report_dir)
    if summary is None or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        print(f"kms-conformance: the check session ended abnormally (pytest exit {int(code)})", file=err)
        return RunResult(request.vendor, EXIT_FAIL, summary, report_dir)
    print_summary(summary, report_dir, out)
    return RunResult(
        request.vendor, EXIT_PASS if summary["verdict"] == "pass" else EXIT_FAIL, summary, report_dir
    )


@contextlib.contextmanager
def recording(path: Path | None, settings: Settings, mock_info: Mapping[str, Any] | None) -> Iterator[None]:
    """``--record``: every exchange of the run (this process and its generated-check children)
    goes into ``path`` as a redacted HAR when the run ends, however it ends."""
    if path is None:
        yield
        return
    import shutil

    from conformance.parity import har, recording_meta
    from conformance.parity.rules import rules_for

    recorder = har.Recorder(har.run_credentials(settings))
    parts = Path(tempfile.mkdtemp(prefix="kms-conformance-har-"))
    os.environ[har.PART_DIR_ENV] = str(parts)
    har.install(recorder)
    try:
        yield
    finally:
        har.install(None)
        os.environ.pop(har.PART_DIR_ENV, None)
        har.merge_parts(parts, recorder)
        shutil.rmtree(parts, ignore_errors=True)
        document = har.archive(
            recorder.ordered(),
            recording_meta(settings, mock_info),
            Redactor(settings.secrets()),
            rules_for(settings.vendor).secret_fields,
        )
        try:
            har.write(path, document)
        except OSError as exc:
            print(f"kms-conformance: cannot write --record {path}: {exc.strerror or exc}", file=sys.stderr)


def _pytest_args(report_dir: Path, verbose: bool, scratch: Path) -> list[str]:
    """The in-process session's arguments.  An empty ini file (in ``scratch``, a directory the
    caller removes after the session, so the report folder holds only the run's outputs) keeps
    pytest from reading the user's pytest.ini/pyproject.toml/tox.ini and their ``addopts``."""
    ini = scratch / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    return [
        "--pyargs",
        "conformance.checks",
        "-c",
        str(ini),
        "--rootdir",
        str(report_dir),
        "-p",
        "no:cacheprovider",
        # pytest loads the conftest.py of every test*/ folder of the working directory before it
        # collects anything: a user's own (or this project's) test hooks would run inside the run.
        "--noconftest",
        # Its end-of-session garbage collections (several full ones, 0.3 s) look for exceptions
        # raised in finalizers, to turn them into pytest warnings -- which no report of ours shows.
        "-p",
        "no:unraisableexception",
        # Nor the pytest plugins installed beside the suite (pytest-randomly would reorder the
        # checks, pytest-rerunfailures send them twice, xdist alone costs a second of imports):
        # a run loads its own plugin and the HTML report's, by their entry-point names.
        "--disable-plugin-autoload",
        *("-p", "kms_conformance", "-p", "metadata", "-p", "html"),
        # The checks assert through Verdict, with messages of their own.  Assertion rewriting would
        # recompile every module of each pytest-plugin distribution as it is imported (schemathesis
        # and hypothesis: some 300), seconds per run wherever no bytecode cache can be written.
        "--assert=plain",
        "--junitxml",
        str(report_dir / "junit.xml"),
        "--html",
        str(report_dir / "checks.html"),  # report.html is the compliance report (report/html.py)
        "--self-contained-html",
        "-o",
        "junit_family=xunit2",
        "-W",
        "ignore::DeprecationWarning",
        "--tb=short" if verbose else "--tb=line",
        "-v" if verbose else "-q",
    ]


def print_summary(summary: Mapping[str, Any], report_dir: Path, out: TextIO) -> None:
    totals = summary["totals"]
    print("", file=out)
    print(f"{'requirement':<14} {'level':<6} {'status':<11} statement", file=out)
    for req in summary["requirements"]:
        print(f"{req['id']:<14} {req['level']:<6} {req['status']:<11} {req['title']}", file=out)
        if req["status"] in ("failed", "blocked", "not_covered", "allowed") and req["message"]:
            print(f"{'':<33}-> {req['message'].splitlines()[0][:200]}", file=out)
    levels = ", ".join(
        f"{level}: {c['passed']} passed / {c['failed']} failed / {c.get('blocked', 0)} blocked / "
        f"{c['allowed']} allowed / {c['not_covered']} not covered"
        for level, c in totals["by_level"].items()
    )
    print("", file=out)
    mock = summary.get("mock")
    against = f"{summary['vendor']}, bundled mock" if mock else summary["vendor"]
    if mock and mock_switches(mock):
        against += " with " + ", ".join(mock_switches(mock))
    coverage = summary.get("coverage")
    if coverage and "error" not in coverage:
        print(f"coverage: {coverage_line(coverage)}", file=out)
    cases = summary.get("generated_cases") or {}
    if cases.get("checks_from_cache"):
        print(
            f"generated cases: {cases['checks_from_cache']} operations sent the cases kept by an earlier "
            f"run (same spec and settings), {cases.get('checks_drawn', 0)} drew new ones (--case-cache off: "
            "draw all)",
            file=out,
        )
    # In the order things happened: the checks (the table above), cleanup, then the verdict.
    cleanup = summary.get("cleanup") or {}
    if cleanup.get("cleaned") or cleanup.get("left"):
        left = len(cleanup.get("left", []))
        print(
            f"cleanup: {len(cleanup.get('cleaned', []))} scratch keys scheduled for deletion"
            + (
                f", {left} left -- finish with: kms-conformance cleanup --ledger {report_dir / 'ledger.jsonl'}"
                if left
                else ""
            ),
            file=out,
        )
    print(
        f"verdict: {summary['verdict'].upper()} ({against}) -- {totals['requirements']} requirements ({levels}); "
        f"{totals['tests']} tests, {totals['requests']} requests, {summary['duration_s']} s",
        file=out,
    )
    if (summary.get("transport") or {}).get("tls_verify") is False:
        print("warning: TLS certificates were NOT verified (--insecure)", file=out)
    print(f"report: {report_dir / 'report.html'}", file=out)

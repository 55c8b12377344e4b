"""The ``kms-conformance`` command line (contract: docs/design.md, "Command line").

Every option of ``run`` can also come from ``KMS_CONFORMANCE_<NAME>`` environment variables
and from a TOML config file (``--config``; keys as option names, top level or under
``[tool.kms-conformance]``).  Precedence: command line > environment > config file.
Bad input ends with one line on stderr and exit status 2; an unusable target with 3.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import click

from conformance import vendors as registry
from conformance.options import (
    ENV_PREFIX,
    RunOptions,
    click_options,
    flag_for,
    iter_env_names,
    rows_for,
    settings_fields,
)
from conformance.report.baseline import BaselineError, load_baseline
from conformance.runner import (
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_PASS,
    EXIT_TARGET,
    EXIT_USAGE,
    RunRequest,
    UsageProblem,
    default_report_dir,
    run_vendor,
)
from conformance.side_by_side import preload, run_side_by_side


def _load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if not value:
        return value
    try:
        data = tomllib.loads(Path(value).read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.BadParameter(f"cannot read {value}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise click.BadParameter(f"{value} is not valid TOML: {exc}") from None
    tool = data.get("tool")
    table = tool["kms-conformance"] if isinstance(tool, dict) and "kms-conformance" in tool else data
    known = {p.name for p in ctx.command.params if p.name and p.name != "config"}
    unknown = [str(k) for k in table if str(k).replace("-", "_") not in known]
    if unknown:
        # A typo must not fall back silently to a default (``base-urll`` would run the bundled mock).
        where = "[tool.kms-conformance]" if table is not data else "top level"
        raise click.BadParameter(
            f"{value}: unknown key(s) {', '.join(repr(k) for k in unknown)} ({where}); "
            f"keys are the option names of '{ctx.command_path}', e.g. base-url"
        )
    ctx.default_map = {str(k).replace("-", "_"): v for k, v in table.items()}
    return value


def known_environment() -> set[str]:
    """Every ``KMS_CONFORMANCE_*`` variable kms-conformance reads (CLI or plugin): the table's rows."""
    return {ENV_PREFIX + "CONFIG", ENV_PREFIX + "PROGRESS", *iter_env_names()}


def check_environment() -> None:
    """Unknown ``KMS_CONFORMANCE_*`` variables are usage errors: a misspelt one would be ignored."""
    import os

    unknown = sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k not in known_environment())
    if unknown:
        raise UsageProblem(
            f"unknown environment variable(s) {', '.join(unknown)}: kms-conformance reads "
            f"{ENV_PREFIX}<OPTION> for its options (e.g. {ENV_PREFIX}BASE_URL)"
        )


def _name_values(items: tuple[str, ...], flag: str) -> dict[str, str]:
    """``NAME=VALUE`` option values (mock options) as a dict; anything else is a usage error."""
    chosen = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageProblem(f"{flag} takes NAME=VALUE, got {item!r}")
        chosen[name] = value
    return chosen


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="kms-conformance")
def cli() -> None:
    """Conformance suite and reference mocks for cloud KMS key life-cycle APIs."""


@cli.command()
@click.option(
    "--config",
    callback=_load_config,
    is_eager=True,
    expose_value=False,
    envvar=ENV_PREFIX + "CONFIG",
    help="TOML file with option values ([tool.kms-conformance] or top level).",
)
@click_options("run", registry.names)
def run(**values: Any) -> None:
    """Check a target (or the bundled mock) and write its reports.

    Into the report directory: report.html (the compliance report), checks.html (every check),
    summary.json, junit.xml, junit-requirements.xml, report.sarif and ledger.jsonl (the scratch
    keys).  Without --base-url the bundled mock of the vendor is started on loopback.
    """
    from conformance.progress import set_mode
    from conformance.report.outputs import finish_runs

    check_environment()
    asked = RunOptions(**{k: v for k, v in values.items() if k not in settings_fields()})
    values = {k: v for k, v in values.items() if k in settings_fields()}
    vendor = values.pop("vendor")
    set_mode(asked.progress)
    if asked.baseline_update and not asked.baseline:
        raise UsageProblem("--baseline-update needs --baseline FILE (the file to write)")
    baseline = asked.baseline
    try:
        known = (
            load_baseline(baseline, missing_ok=asked.baseline_update) if baseline and not asked.strict else {}
        )
    except BaselineError as exc:
        raise UsageProblem(str(exc)) from None
    options = _name_values(asked.mock_option, "--mock-option")
    base_url = values.get("base_url")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise UsageProblem(f"--base-url must start with http:// or https://, got {base_url!r}")
    if vendor == "all" and base_url:
        raise UsageProblem("--vendor all runs the bundled mocks; give one vendor with --base-url")
    vendors = list(registry.names()) if vendor == "all" else [vendor]
    gate = ("must",) if asked.level == "must" else ("must", "should")
    report_dir = asked.report_dir
    if len(vendors) > 1 and asked.record:
        raise UsageProblem("--record writes one vendor's exchanges; use a single --vendor")
    if len(vendors) > 1:
        if asked.mock_fault or asked.mock_option:
            raise UsageProblem("--mock-fault/--mock-option name one vendor's switches; use a single --vendor")
        root = Path(report_dir) if report_dir else default_report_dir("all")
    given = {k: v for k, v in values.items() if v not in (None, False)}
    workers = asked.workers or (len(vendors) if (os.cpu_count() or 1) > 1 else 1)
    if len(vendors) > 1 and workers > 1:
        args, secrets = _passthrough(values, None if asked.strict else baseline, asked.level, asked.verbose)
        codes = run_side_by_side(vendors, root, args, workers, secrets=secrets)
    elif len(vendors) > 1:
        preload(vendors)
        codes = []
        for v in vendors:
            codes.append(
                run_vendor(RunRequest(v, given, root / v, known, gate, (), {}, asked.verbose)).exit_code
            )
            if codes[-1] == EXIT_INTERRUPTED:
                break  # Ctrl-C stops the whole run, not just this vendor's part
    else:
        preload(vendors)
        request = RunRequest(
            vendor,
            given,
            Path(report_dir) if report_dir else default_report_dir(vendor),
            known,
            gate,
            asked.mock_fault,
            options,
            asked.verbose,
            Path(asked.record) if asked.record else None,
        )
        codes = [run_vendor(request).exit_code]
    ran = vendors[: len(codes)]  # the vendors not yet started when a run is interrupted are not run
    dirs: list[Path] = [root / v for v in ran] if len(vendors) > 1 else [request.report_dir or root]
    finish_runs(
        dirs,
        combined_root=root if len(vendors) > 1 else None,
        baseline=baseline,
        update_baseline=asked.baseline_update,
    )
    status = overall_status(codes)
    if len(vendors) > 1:
        click.echo(overall_verdict(vendors, codes, status))
    sys.exit(status)


def overall_status(codes: list[int]) -> int:
    """The exit status of several vendor runs: interrupted, then unusable target, then usage error,
    then non-conformant; any other non-zero status (a crashed child) is non-conformant too."""
    worst = next((c for c in (EXIT_INTERRUPTED, EXIT_TARGET, EXIT_USAGE, EXIT_FAIL) if c in codes), None)
    if worst is not None:
        return worst
    return EXIT_PASS if all(c == EXIT_PASS for c in codes) else EXIT_FAIL


_OUTCOMES = {
    EXIT_FAIL: "failed",
    EXIT_USAGE: "usage error",
    EXIT_TARGET: "target unusable",
    EXIT_INTERRUPTED: "interrupted",
}


def overall_verdict(vendors: list[str], codes: list[int], status: int) -> str:
    """``--vendor all``'s last line: PASS only when the exit status is 0, else what went wrong where.

    ``codes`` are the exit statuses of the vendors that ran, in order; the rest were not run
    (an interrupt stops the whole run)."""
    notes = []
    for index, name in enumerate(vendors):
        if index >= len(codes):
            notes.append(f"{name} not run")
        elif codes[index] != EXIT_PASS:
            notes.append(f"{name} {_OUTCOMES.get(codes[index], f'exit {codes[index]}')}")
    if status == EXIT_PASS and not notes:
        return f"verdict: PASS ({len(vendors)} vendors)"
    return f"verdict: FAIL ({len(vendors)} vendors{': ' + ', '.join(notes) if notes else ''})"


def _passthrough(
    values: dict[str, Any], baseline: str | None, level: str, verbose: bool
) -> tuple[list[str], dict[str, str]]:
    """What a per-vendor child run of ``--vendor all`` inherits: every check option given, as it
    would reach a vendor run one after another -- arguments, and secrets in the environment (a
    command line is readable by every user of the machine)."""
    args = ["--level", level]
    secrets: dict[str, str] = {}
    for row in rows_for("run"):
        value = values.get(row.name)
        if row.name == "vendor" or row.name not in settings_fields() or value in (None, False, (), ""):
            continue
        if row.secret:
            secrets[row.env] = str(value)
        elif row.opt.kind == "flag":
            args.append(row.flag)
        elif row.opt.kind in ("multi", "pairs"):
            for one in value or ():
                args += [row.flag, str(one)]
        else:
            args += [row.flag, str(value)]
    if baseline:
        args += ["--baseline", baseline]
    if verbose:
        args.append("--verbose")
    return args, secrets


@cli.command()
@click.option("--vendor", required=True, type=click.Choice(list(registry.names())))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--fault", multiple=True, help="Turn on a fault switch (repeatable); see --list.")
@click.option(
    "--option", "options", multiple=True, help="NAME=VALUE for an ambiguous behaviour (repeatable)."
)
@click.option("--list", "list_switches", is_flag=True, help="List the mock's faults and options and exit.")
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve HTTPS with this certificate (PEM).",
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False), help="The certificate's private key (PEM)."
)
def mock(
    vendor: str,
    host: str,
    port: int,
    fault: tuple[str, ...],
    options: tuple[str, ...],
    list_switches: bool,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Serve the bundled mock for VENDOR until interrupted."""
    from conformance.mocks import mock_definition, start_mock

    definition = mock_definition(vendor)
    if list_switches:
        for item in definition.options:
            click.echo(
                f"option {item.name}={'|'.join(item.choices)} (default {item.default}): {item.description}"
            )
        for switch in definition.faults:
            click.echo(f"fault  {switch.name} [{switch.requirement}]: {switch.description}")
        return
    chosen = _name_values(options, "--option")
    try:
        server = start_mock(
            vendor, fault, chosen, host=host, port=port, log_level="info", certfile=tls_cert, keyfile=tls_key
        )
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    except OSError as exc:
        raise UsageProblem(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    click.echo(f"{vendor} mock listening on {server.url}")
    for name, value in server.credentials.items():
        click.echo(f"  {flag_for(name)} {value}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


@cli.command()
@click.option(
    "--ledger",
    "ledger_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="ledger.jsonl of a run (in its report directory).",
)
@click_options("cleanup")
def cleanup(ledger_path: str, **values: Any) -> None:
    """Schedule deletion of every scratch key a run left behind (after a crash)."""
    from conformance.cleanup import cleanup_ledger

    sys.exit(cleanup_ledger(Path(ledger_path), {k: v for k, v in values.items() if v not in (None, False)}))


@cli.command()
@click.argument("har_file", type=click.Path(dir_okay=False))
@click_options("parity", registry.names)
@click.option(
    "--output",
    "output",
    type=click.Path(file_okay=False),
    default="reports/parity",
    show_default=True,
    help="Directory for parity.json and parity.html.",
)
@click.option("--no-calibrate", is_flag=True, help="Bundled mock only: do not search its options.")
@click.option(
    "--calibration-budget",
    type=click.FloatRange(1, 3600),
    default=180.0,
    show_default=True,
    help="Seconds calibration may take, over all its trials.",
)
def parity(har_file: str, output: str, no_calibrate: bool, calibration_budget: float, **values: Any) -> None:
    """Replay a recording (run --record FILE.har) against a target (or the bundled mock) and compare.

    Every answer is held to the recorded one structurally: status, error code, body fields and
    their JSON types, state values.  Exit status 0 when every exchange matches, 1 on a divergence.
    Against the bundled mock, the option set that matches the recording best is searched too.
    """
    from conformance.parity.session import ParityRequest, ParityUsage, TargetDown, run_parity

    check_environment()
    vendor = values.pop("vendor")
    faults = tuple(values.pop("mock_fault", ()) or ())
    options = _name_values(tuple(values.pop("mock_option", ()) or ()), "--mock-option")
    base_url = values.get("base_url")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise UsageProblem(f"--base-url must start with http:// or https://, got {base_url!r}")
    given = {k: v for k, v in values.items() if v not in (None, False, ())}
    request = ParityRequest(
        Path(har_file),
        vendor,
        given,
        faults,
        options,
        Path(output),
        calibrate=not no_calibrate,
        calibration_budget=calibration_budget,
    )
    try:
        code = run_parity(request)
    except ParityUsage as exc:
        raise UsageProblem(str(exc)) from None
    except TargetDown as exc:
        click.echo(f"kms-conformance: {exc}", err=True)
        sys.exit(EXIT_TARGET)
    sys.exit(code)


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path(dir_okay=False))
def lint(specs: tuple[str, ...]) -> None:
    """Validate the bundled (or given) OpenAPI documents.

    Exit status 0 when every document is valid, 1 when one is not; a file that cannot be read is
    a usage error (2), reported before any document is checked.
    """
    from conformance.lint import lint_spec
    from conformance.specs import bundled_specs

    paths = [Path(s) for s in specs] or bundled_specs()
    for path in paths:
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise UsageProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    failed = False
    for path in paths:
        problems = lint_spec(path)
        click.echo(f"{path}: {'ok' if not problems else 'INVALID'}")
        for problem in problems:
            click.echo(f"  {problem}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


@cli.command()
@click.option("--vendor", type=click.Choice(list(registry.names())), help="Only this vendor.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def requirements(vendor: str | None, fmt: str) -> None:
    """Print the requirement catalogue."""
    from dataclasses import asdict

    from conformance.requirements import load_catalogue

    rows: list[dict[str, Any]] = []
    for name in [vendor] if vendor else registry.names():
        try:
            rows.extend(asdict(r) for r in load_catalogue(name).values())
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:<14} {row['level']:<6} {row['area']:<11} {row['title']}")
    click.echo(f"{len(rows)} requirements ({sum(r['level'] == 'must' for r in rows)} must)")


@cli.group()
def report() -> None:
    """Work with the reports of finished runs."""


@report.command("merge")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    default="reports/merged",
    show_default=True,
    help="Directory for the merged report.html, summary.json, report.sarif and junit-requirements.xml.",
)
def report_merge(inputs: tuple[str, ...], output: str) -> None:
    """Combine the summaries of several runs (run directories or summary.json files) into one report.

    Exit status 0 when every run passed its gate, 1 otherwise.
    """
    from conformance.report.merge import MergeError, find_summaries, merge_summaries, write_merged

    try:
        merged = merge_summaries(find_summaries(inputs))
    except MergeError as exc:
        raise UsageProblem(str(exc)) from None
    page = write_merged(merged, output)
    for run in merged["runs"]:
        totals = run["summary"]["totals"]
        click.echo(
            f"{run['label']:<24} {run['summary']['verdict'].upper():<5} {totals['passed']} passed, "
            f"{totals['failed']} failed, {totals['allowed']} allowed, {totals['not_covered']} not covered"
        )
    click.echo(f"verdict: {merged['verdict'].upper()} ({len(merged['runs'])} runs)")
    click.echo(f"report: {page}")
    sys.exit(EXIT_PASS if merged["verdict"] == "pass" else EXIT_FAIL)


def main() -> None:
    if hasattr(signal, "SIGUSR1"):
        # ``kill -USR1 <pid>``: every thread's stack on stderr, for a run that seems stuck.
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        cli.main(standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        click.echo(f"kms-conformance: error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(f"kms-conformance: error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("kms-conformance: aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except UsageProblem as exc:
        click.echo(f"kms-conformance: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("kms-conformance: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)

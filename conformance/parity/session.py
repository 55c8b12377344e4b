"""``kms-conformance parity``: one recording replayed against one target, with calibration.

Exit status: 0 every exchange matched, 1 a divergence, 2 usage or configuration (a bad HAR file),
3 the target could not be reached or its credentials not obtained -- as for ``run``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from conformance.parity import har, profile_urls
from conformance.parity.replay import Exchange, Replayer
from conformance.parity.report import document, print_summary, write
from conformance.parity.rules import ParityRules, rules_for

EXIT_MATCH, EXIT_DIVERGED, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3
REPLAY_BUDGET_S = 600.0  # the longest one replay may take
CALIBRATION_BUDGET_S = 180.0  # the longest calibration may take, over all its trials


class ParityUsage(Exception):
    """Bad input for ``parity``: one line, exit status 2."""


class TargetDown(Exception):
    """The replay target cannot be used: one line, exit status 3."""


@dataclass
class ParityRequest:
    har: Path
    vendor: str
    values: dict[str, Any]  # Settings fields for the target (base URL, credentials, ...)
    mock_faults: tuple[str, ...] = ()
    mock_options: Mapping[str, str] = field(default_factory=dict)
    out_dir: Path = Path("reports/parity")
    calibrate: bool = True
    calibration_budget: float = CALIBRATION_BUDGET_S


def load(path: Path, vendor: str) -> dict[str, Any]:
    try:
        log = har.read(path)
    except har.HarError as exc:
        raise ParityUsage(str(exc)) from None
    recorded = log.get("_vendor")
    if recorded and recorded != vendor:
        raise ParityUsage(f"{path} records a {recorded} run; replay it with --vendor {recorded}")
    return log


@contextlib.contextmanager
def target(
    vendor: str, values: Mapping[str, Any], faults: Sequence[str], options: Mapping[str, str]
) -> Iterator[Any]:
    """The replay target's profile (the bundled mock when no base URL is given), preflighted."""
    from conformance.profiles import profile_class
    from conformance.profiles.base import TargetError
    from conformance.runner import RunRequest, UsageProblem, target_settings

    with tempfile.TemporaryDirectory(prefix="kms-conformance-parity-") as scratch:
        request = RunRequest(vendor, dict(values), mock_faults=tuple(faults), mock_options=dict(options))
        try:
            with target_settings(request, "kmsconf-parity", Path(scratch) / "ledger.jsonl") as (
                settings,
                mock,
            ):
                profile = profile_class(vendor)(settings)
                try:
                    try:
                        profile.preflight()
                    except TargetError as exc:
                        from conformance.redaction import Redactor

                        raise TargetDown(Redactor(settings.secrets()).text(str(exc))) from None
                    yield profile, mock
                finally:
                    profile.close()
        except UsageProblem as exc:
            raise ParityUsage(str(exc)) from None


def replay_against(log: Mapping[str, Any], profile: Any, rules: ParityRules, budget: float) -> list[Exchange]:
    from conformance.profiles.base import NotCovered
    from conformance.redaction import Redactor

    settings = profile.settings
    redactor = Redactor(settings.secrets())
    clients: dict[str, httpx.Client] = {}

    def client_for(mode: str) -> httpx.Client:
        if mode == "valid":
            return profile.client
        if mode not in clients:
            try:
                clients[mode] = profile.new_client(mode)
            except (NotCovered, ValueError):
                clients[mode] = profile.new_client("invalid")
        return clients[mode]

    recorded_urls = log.get("_urls") or {}
    target_urls = profile_urls(settings, profile)
    bases = {recorded_urls[k]: target_urls[k] for k in recorded_urls if k in target_urls}
    recorded_settings = log.get("_settings") or {}
    mapped = {
        str(recorded_settings.get(name)): str(getattr(settings, name))
        for name in rules.mapped_settings
        if recorded_settings.get(name) and getattr(settings, name, None)
    }

    def redact(text: str) -> str:
        return redactor.text(har._hide_fields(text, rules.secret_fields))

    replayer = Replayer(rules, client_for, profile.read_outcome, bases, mapped, redact)
    entries = sorted(log["entries"], key=lambda e: int(e.get("_sequence") or 0))
    try:
        return replayer.run(entries, time.monotonic() + budget)
    finally:
        for client in clients.values():
            client.close()


def diverged(exchanges: Sequence[Exchange]) -> int:
    return sum(1 for e in exchanges if e.outcome == "diverged")


def calibrate(
    log: Mapping[str, Any],
    vendor: str,
    faults: Sequence[str],
    start: Mapping[str, str],
    budget: float,
    first: int | None = None,
) -> dict[str, Any]:
    """The bundled-mock option set that makes the mock match the recording best.

    Every single-option alternative to ``start`` is tried (a fresh in-process mock each); the
    improving ones are then combined greedily, best first.  Trials stop when ``budget`` is spent.
    """
    from conformance.mocks import mock_definition

    rules = rules_for(vendor)
    definition = mock_definition(vendor)
    began = time.monotonic()
    trials = 0

    def trial(options: Mapping[str, str]) -> list[Exchange]:
        nonlocal trials
        trials += 1
        with target(vendor, {}, faults, options) as (profile, _mock):
            return replay_against(log, profile, rules, max(1.0, budget - (time.monotonic() - began)))

    base = dict(start)
    if first is None:
        first = diverged(trial(base))
    scores: list[tuple[int, str, str]] = []
    for option in definition.options:
        for choice in option.choices:
            if choice == base.get(option.name, option.default) or time.monotonic() - began > budget:
                continue
            score = diverged(trial({**base, option.name: choice}))
            if score < first:
                scores.append((score, option.name, choice))
    best, best_score = dict(base), first
    remaining: list[Exchange] | None = None
    for _score, name, choice in sorted(scores):
        if name in best and best[name] != base.get(name) or time.monotonic() - began > budget:
            continue
        candidate = {**best, name: choice}
        result = trial(candidate)
        if diverged(result) < best_score:
            best, best_score, remaining = candidate, diverged(result), result
    defaults = {o.name: o.default for o in definition.options}
    return {
        "best": {k: v for k, v in sorted(best.items()) if defaults.get(k) != v},
        "diverged": best_score,
        "trials": trials,
        "seconds": round(time.monotonic() - began, 1),
        "remaining": [
            {"sequence": e.sequence, "method": e.method, "path": e.path, "differences": e.differences}
            for e in (remaining or [])
            if e.outcome == "diverged"
        ],
    }


def calibrated_options(path: str | Path, vendor: str, budget: float = CALIBRATION_BUDGET_S) -> dict[str, str]:
    """The bundled-mock options (changed from the defaults) that make ``vendor``'s mock behave most
    like the recording at ``path``: ``kms_mock(vendor, options=calibrated_options("run.har", vendor))``."""
    log = load(Path(path), vendor)
    return dict(calibrate(log, vendor, (), {}, budget)["best"])


def run_parity(request: ParityRequest, out: TextIO = sys.stdout) -> int:
    log = load(request.har, request.vendor)
    rules = rules_for(request.vendor)
    with target(request.vendor, request.values, request.mock_faults, request.mock_options) as (profile, mock):
        from conformance.transport import TargetUnusable

        where = "bundled mock" if mock else profile.settings.base_url
        if mock:
            switches = [*mock["faults"], *(f"{k}={v}" for k, v in mock["changed_options"].items())]
            where += f" ({', '.join(switches)})" if switches else " (faithful)"
        from conformance.redaction import Redactor

        where = Redactor(profile.settings.secrets()).text(where)
        print(
            f"kms-conformance: replaying {len(log['entries'])} exchanges of {request.har} against {where}",
            file=out,
        )
        try:
            exchanges = replay_against(log, profile, rules, REPLAY_BUDGET_S)
        except TargetUnusable as exc:
            raise TargetDown(str(exc)) from None
    calibration = None
    if mock and request.calibrate and diverged(exchanges):
        calibration = calibrate(
            log,
            request.vendor,
            request.mock_faults,
            dict(mock["changed_options"]),
            request.calibration_budget,
            first=diverged(exchanges),
        )
    meta = {
        "vendor": request.vendor,
        "recording": str(request.har),
        "recorded_run_id": log.get("_run_id"),
        "spec_version": log.get("_spec_version"),
        "recorded_target": log.get("_target"),
        "recorded_mock": log.get("_mock"),
        "target": where,
    }
    data = document(exchanges, meta, calibration)
    _scrub(data, profile.settings.secrets())
    try:
        paths = write(request.out_dir, data)
    except OSError as exc:
        raise ParityUsage(f"cannot write to {request.out_dir}: {exc.strerror or exc}") from None
    print_summary(data, paths, out)
    return EXIT_DIVERGED if diverged(exchanges) else EXIT_MATCH


def _scrub(data: dict[str, Any], secrets: Sequence[str]) -> None:
    """A last pass: no credential of the target appears anywhere in the parity output."""
    from conformance.redaction import Redactor

    text = json.dumps(data)
    clean = Redactor(secrets).text(text)
    if clean != text:
        data.clear()
        data.update(json.loads(clean))

"""Hostile targets: every run ends in bounded time, with a clean verdict and an honest ledger.

For each vendor and each misbehaviour of ``tests/servers/hostile.py`` -- from the first request,
and half-way through a run (after ``HALF_WAY`` faithful answers, so scratch keys exist) -- a
``kms-conformance run`` must:

* exit 1 with report.html, junit.xml and summary.json, or exit 3 with one clear line on stderr;
* print no traceback, stay under ``PEAK_MB`` of memory and end within the mode's bound;
* keep an honest ledger: every key the target created is in it, and none is marked cleaned
  unless the target really confirmed its deletion.

Most of the matrix runs in this process (``run_hostile_in_process``: the runner the CLI calls,
its stdout and stderr text, the rise of this process's peak memory).  The modes whose point is
the process itself run the real CLI as a child process (``run_hostile``: its own peak memory and
output): ``huge`` (200 MB answers must not be read into memory), and the SIGTERM tests below.

``benchmarks/hostile.py`` prints the same matrix with wall time and peak memory per run.
"""

from __future__ import annotations

import json

import pytest

from conformance import vendors
from tests.servers.hostile import HostileRun, run_hostile, run_hostile_in_process

PEAK_MB = 500
HALF_WAY = 30
# Per mode: the exits allowed, the bound (seconds, the child's whole life) and what a stopped run
# (exit 3) must say on its one stderr line.  Runs use --timeout 1 and --throttle-budget 3
# (tests/servers/hostile.py: RUN_OPTIONS).
EXPECT: dict[str, tuple[frozenset[int], float, str]] = {
    "html-502": (frozenset({1, 3}), 60, "does not answer like a"),
    "garbage": (frozenset({1, 3}), 60, ""),
    "empty": (frozenset({1, 3}), 60, ""),
    "hang": (frozenset({3}), 40, ""),
    "reset": (frozenset({3}), 40, ""),
    "slow-body": (frozenset({3}), 40, ""),
    "throttle": (frozenset({3}), 40, "throttles every request"),
    "throttle-forever": (frozenset({3}), 30, "throttles every request"),
    "huge": (frozenset({1, 3}), 90, "response too large"),
    "nested": (frozenset({1, 3}), 60, ""),
    "redirect-loop": (frozenset({1}), 90, ""),
    "plain-web": (frozenset({3}), 30, "does not answer like a"),
}
FROM_START = (
    "html-502",
    "garbage",
    "empty",
    "hang",
    "reset",
    "slow-body",
    "throttle-forever",
    "huge",
    "nested",
    "plain-web",
)
HALF_WAY_MODES = tuple(m for m in EXPECT if m != "plain-web")
IN_A_CHILD = frozenset({"huge"})  # memory is the point: the child's own peak, not this process's rise
# Modes that are about the exchange deadline run in-process with a shorter one (--timeout 0.5
# instead of 1): the same three timeouts in a row end the run, in half the waiting.
TIMEOUT_S = {"hang": 0.5, "slow-body": 0.5}
VENDORS = vendors.names()
CASES = [(v, m, 0) for v in VENDORS for m in FROM_START] + [
    (v, m, HALF_WAY) for v in VENDORS for m in HALF_WAY_MODES
]


def check_rule(run: HostileRun, bound_s: float, exits: frozenset[int], says: str = "") -> None:
    """The rule every hostile run must keep (see the module docstring)."""
    where = f"{run.vendor}/{run.mode}/after={run.after}"
    assert run.code in exits, f"{where}: exit {run.code}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    assert "Traceback" not in run.stdout + run.stderr, f"{where}: traceback\n{run.stderr[-3000:]}"
    assert "ended abnormally" not in run.stderr, f"{where}: {run.stderr[-3000:]}"  # a crashed check session
    assert run.wall_s < bound_s, f"{where}: {run.wall_s:.1f} s, bound {bound_s} s"
    assert run.peak_mb < PEAK_MB, f"{where}: peak {run.peak_mb:.0f} MB"
    summary_path = run.report_dir / "summary.json"
    if run.code == 3:
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("kms-conformance: "), f"{where}: {run.stderr!r}"
        if not summary_path.exists():  # stopped before any check: preflight says why
            assert says in lines[0], f"{where}: {lines[0]!r} does not say {says!r}"
    if run.code == 1 or summary_path.exists():
        for name in ("report.html", "junit.xml", "summary.json"):
            assert (run.report_dir / name).exists(), f"{where}: no {name}"
    in_ledger, cleaned = run.ledger()
    assert run.created <= in_ledger, f"{where}: keys missing from the ledger: {run.created - in_ledger}"
    assert cleaned <= run.deleted, f"{where}: marked cleaned, not deleted: {cleaned - run.deleted}"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        assert set(summary["cleanup"]["cleaned"]) <= run.deleted
        assert set(summary["cleanup"]["left"]) == in_ledger - cleaned, f"{where}: summary and ledger disagree"
        left = summary["cleanup"]["left"]
        if left:
            assert f"{len(left)} left" in run.stdout and "kms-conformance cleanup --ledger" in run.stdout
        if summary.get("stopped"):
            # A stopped run is no verdict on the target: nothing it did not reach may read "passed"
            # or "nothing checked it".
            assert run.code == 3 and summary["verdict"] == "fail", where
            assert not [
                r["id"]
                for r in summary["requirements"]
                if r["status"] == "not_covered" and r["message"] == "no check ran for this requirement"
            ]


@pytest.mark.parametrize(("vendor", "mode", "after"), CASES, ids=[f"{v}-{m}-{a}" for v, m, a in CASES])
def test_hostile_target_run_is_bounded_and_honest(tmp_path, vendor: str, mode: str, after: int) -> None:
    exits, bound, says = EXPECT[mode]
    if mode in IN_A_CHILD:
        run = run_hostile(vendor, mode, after, tmp_path / "report", bound_s=bound + 30)
    else:
        run = run_hostile_in_process(
            vendor, mode, after, tmp_path, bound_s=bound + 30, timeout=TIMEOUT_S.get(mode, 1.0)
        )
    check_rule(run, bound, exits, says)


SIGTERM_BOUND_S = 10.0  # --timeout 1: the request in flight, then cleanup's one try


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("mode", ["hang"])
def test_sigterm_is_answered_while_the_target_misbehaves(tmp_path, vendor: str, mode: str) -> None:
    """SIGTERM in the middle of a hostile phase ends the run promptly, with reports and a ledger."""
    run = run_hostile(vendor, mode, HALF_WAY, tmp_path / "report", bound_s=60, sigterm=True)
    assert run.signalled_s is not None, f"the run ended before the signal: exit {run.code}"
    assert run.signalled_s < SIGTERM_BOUND_S, f"{run.signalled_s:.1f} s from SIGTERM to exit"
    assert run.code == 130 and "Traceback" not in run.stdout + run.stderr, run.stderr[-2000:]
    summary = json.loads((run.report_dir / "summary.json").read_text())
    assert summary["verdict"] == "fail" and summary["stopped"].startswith("interrupted"), summary["stopped"]
    in_ledger, cleaned = run.ledger()
    assert run.created <= in_ledger and cleaned <= run.deleted

"""Hostile targets: wall time, peak memory and exit status of a run against each misbehaviour.

For every vendor and every mode of ``tests/servers/hostile.py`` (from the first request, and
half-way through a run) this runs ``kms-conformance run`` as a child process with the options
the project's tests use (``--timeout 1 --throttle-budget 3 --scope lifecycle --max-examples 1``)
and prints one row per run: vendor, mode, when it starts, exit, wall seconds, peak MB, and
whether the ledger was honest; then, per vendor, how long a run takes to end after SIGTERM in
the middle of a hang and of a dribbling body.  The bounds themselves are asserted in
``tests/test_hostile_targets.py``; this script only prints figures.

    .venv/bin/python benchmarks/hostile.py [--vendors huawei,thales] [--modes hang,huge] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers.hostile import MODES, HostileRun, run_hostile  # noqa: E402

HALF_WAY = 30


def honest(run: HostileRun) -> bool:
    in_ledger, cleaned = run.ledger()
    return run.created <= in_ledger and cleaned <= run.deleted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", default="huawei,thales,yandex")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    print(f"{'vendor':<7} {'mode':<17} {'from':<9} {'exit':>4} {'wall s':>7} {'peak MB':>8}  ledger")
    with tempfile.TemporaryDirectory() as tmp:
        for vendor in args.vendors.split(","):
            for mode in args.modes.split(","):
                starts = [0] if mode in ("plain-web", "refuse-deletion") else [0, HALF_WAY]
                for after in starts:
                    run = run_hostile(
                        vendor, mode, after, Path(tmp) / f"{vendor}-{mode}-{after}", bound_s=300
                    )
                    row = {
                        "vendor": vendor,
                        "mode": mode,
                        "after": after,
                        "exit": run.code,
                        "wall_s": round(run.wall_s, 1),
                        "peak_mb": round(run.peak_mb),
                        "honest": honest(run),
                        "traceback": "Traceback" in run.stdout + run.stderr,
                    }
                    rows.append(row)
                    start = "start" if after == 0 else f"req {after}"
                    print(
                        f"{vendor:<7} {mode:<17} {start:<9} {run.code:>4} {run.wall_s:>7.1f} {run.peak_mb:>8.0f}  "
                        f"{'honest' if row['honest'] else 'DISHONEST'}{'  TRACEBACK' if row['traceback'] else ''}",
                        flush=True,
                    )
        print(f"\n{'vendor':<7} {'mode':<17} SIGTERM half-way -> exit (s)")
        for vendor in args.vendors.split(","):
            for mode in ("hang", "slow-body"):
                run = run_hostile(
                    vendor, mode, HALF_WAY, Path(tmp) / f"term-{vendor}-{mode}", bound_s=120, sigterm=True
                )
                took = f"{run.signalled_s:.1f}" if run.signalled_s is not None else "not signalled"
                print(f"{vendor:<7} {mode:<17} {took} (exit {run.code})", flush=True)
                rows.append(
                    {
                        "vendor": vendor,
                        "mode": mode,
                        "sigterm_to_exit_s": run.signalled_s,
                        "exit": run.code,
                        "wall_s": round(run.wall_s, 1),
                        "peak_mb": round(run.peak_mb),
                    }
                )
    worst = max(rows, key=lambda r: r["wall_s"])
    print(
        f"\n{len(rows)} runs; slowest {worst['vendor']}/{worst['mode']} {worst['wall_s']} s; "
        f"peak {max(r['peak_mb'] for r in rows)} MB; exits {sorted({r['exit'] for r in rows})}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Parity matrix: each bundled mock's documented alternatives recorded, replayed and calibrated.

For every vendor and every single-option alternative of its mock (plus the defaults): record a
run (``run --record``) of a fixed handwritten subset under that option, replay the recording
against the mock with the same option and with the defaults, and calibrate from the defaults.
Prints one row per recording: matched/diverged for each replay, the option set calibration
found, and whether it is the recorded one.  Figures only; nothing is asserted.

    .venv/bin/python benchmarks/parity_matrix.py [--vendors huawei,thales,yandex]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.mocks import mock_definition
from conformance.parity.session import ParityRequest, calibrate, load, run_parity
from conformance.runner import RunRequest, run_vendor

# Handwritten checks that create, change, refuse and read keys: the answers options change.
SUBSET = ("*-STATE-*", "*-AUTH-*", "*-VAL-00*", "*-SHAPE-00*", "*-ASYNC-00*")


def _subset(vendor: str) -> tuple[str, ...]:
    """The SUBSET patterns that name some requirement of ``vendor``'s catalogue."""
    import fnmatch

    from conformance.requirements import load_catalogue

    ids = list(load_catalogue(vendor))
    return tuple(p for p in SUBSET if any(fnmatch.fnmatch(i, p) for i in ids))


def record(vendor: str, options: Mapping[str, str], where: Path) -> Path:
    path = where / f"{vendor}-{len(list(where.iterdir()))}.har"
    request = RunRequest(
        vendor,
        {"requirement": _subset(vendor), "max_examples": 1},
        where / f"run-{path.stem}",
        mock_options=dict(options),
        record=path,
    )
    run_vendor(request, out=io.StringIO(), err=io.StringIO())
    return path


def replay(vendor: str, recording: Path, options: Mapping[str, str], where: Path) -> dict[str, int]:
    out_dir = where / f"parity-{len(list(where.iterdir()))}"
    request = ParityRequest(recording, vendor, {}, (), dict(options), out_dir, calibrate=False)
    run_parity(request, out=io.StringIO())
    import json

    return json.loads((out_dir / "parity.json").read_text(encoding="utf-8"))["totals"]


def rows_for(vendor: str, budget: float) -> list[dict[str, Any]]:
    definition = mock_definition(vendor)
    sets: list[dict[str, str]] = [{}]
    for option in definition.options:
        sets += [{option.name: choice} for choice in option.choices if choice != option.default]
    rows = []
    with tempfile.TemporaryDirectory(prefix="parity-matrix-") as scratch:
        where = Path(scratch)
        for options in sets:
            began = time.monotonic()
            recording = record(vendor, options, where)
            same = replay(vendor, recording, options, where)
            default = replay(vendor, recording, {}, where)
            found = (
                calibrate(load(recording, vendor), vendor, (), {}, budget, first=default["diverged"])
                if default["diverged"]
                else {"best": {}, "diverged": 0, "trials": 0}
            )
            rows.append(
                {
                    "vendor": vendor,
                    "recorded": options,
                    "same": same,
                    "defaults": default,
                    "calibrated": found["best"],
                    "left": found["diverged"],
                    "trials": found["trials"],
                    "seconds": round(time.monotonic() - began, 1),
                }
            )
            print(line(rows[-1]), flush=True)
    return rows


def _pair(totals: Mapping[str, int]) -> str:
    return f"{totals['matched'] + totals['folded']}/{totals['diverged']}"


def _opts(options: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in options.items()) or "(defaults)"


def line(row: Mapping[str, Any]) -> str:
    invisible = row["defaults"]["diverged"] == 0 and row["recorded"]
    recovered = (
        "n/a (the subset does not show it)" if invisible else str(row["calibrated"] == row["recorded"])
    )
    return (
        f"| {row['vendor']} | {_opts(row['recorded'])} | {_pair(row['same'])} | {_pair(row['defaults'])} "
        f"| {_opts(row['calibrated'])} ({row['left']} left, {row['trials']} trials) | {recovered} "
        f"| {row['seconds']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", default="huawei,thales,yandex")
    parser.add_argument("--budget", type=float, default=120.0, help="calibration seconds per recording")
    args = parser.parse_args()
    print(
        "| vendor | recorded with | replay, same options: matched/diverged | replay, defaults: "
        "matched/diverged | calibration from the defaults | recovered | s |"
    )
    print("|---|---|---|---|---|---|---|")
    for vendor in args.vendors.split(","):
        rows_for(vendor.strip(), args.budget)


if __name__ == "__main__":
    main()

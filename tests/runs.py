"""Whole conformance runs inside the test process: fast, and the same code path as the CLI.

``run_mock(vendor, tmp_path, faults=..., options=...)`` starts the bundled mock, runs the suite
against it through ``conformance.runner.run_vendor`` (the function ``kms-conformance run``
calls) and returns the run: exit code, summary.json and the terminal text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import itertools
import random
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.profiles import profile_class
from conformance.runner import RunRequest, run_vendor


@dataclass
class Run:
    code: int
    summary: dict[str, Any]
    output: str  # what the CLI prints on stdout: the requirement table, verdict, cleanup, report path
    report_dir: Path
    errors: str = ""  # what the CLI prints on stderr: the one-line reason of an exit 3 or an abnormal end

    def with_status(self, *statuses: str) -> set[str]:
        return {r["id"] for r in self.summary["requirements"] if r["status"] in statuses}

    @property
    def failed(self) -> set[str]:
        return self.with_status("failed")

    def row(self, requirement: str) -> dict[str, Any]:
        return next(r for r in self.summary["requirements"] if r["id"] == requirement)

    def explain(self) -> str:
        rows = [r for r in self.summary["requirements"] if r["status"] not in ("passed",)]
        return "\n".join(f"{r['id']} {r['status']}: {r['message'][:300]}" for r in rows) or "(all passed)"


_counter = itertools.count()


def run_mock(
    vendor: str,
    tmp_path: Path,
    faults: Sequence[str] = (),
    options: Mapping[str, str] | None = None,
    gate: tuple[str, ...] = ("must",),
    **values: Any,
) -> Run:
    """One run against the bundled mock of ``vendor`` with the given faults and options."""
    return _run(
        vendor,
        tmp_path,
        lambda report_dir: RunRequest(
            vendor, dict(values), report_dir, {}, gate, tuple(faults), dict(options or {})
        ),
    )


def run_target(
    vendor: str, base_url: str, tmp_path: Path, gate: tuple[str, ...] = ("must",), **values: Any
) -> Run:
    """One run against any target URL (a small server built in a test, say)."""
    return _run(
        vendor,
        tmp_path,
        lambda report_dir: RunRequest(vendor, {"base_url": base_url, **values}, report_dir, {}, gate),
    )


def _run(vendor: str, tmp_path: Path, request_for: Callable[[Path], RunRequest]) -> Run:
    """Run ``request_for(report_dir)`` in a fresh report directory and collect what it left."""
    report_dir = tmp_path / f"run{next(_counter)}"
    out, err = io.StringIO(), io.StringIO()
    with quick_polling(vendor):
        result = run_vendor(request_for(report_dir), out=out, err=err)
    sys.stderr.write(err.getvalue())  # still shown with a failing test's captured output
    # What survives a run (modules, parsed specs, caches) is kept out of later collections: each
    # run's own pytest session ends with full collections, slow over a test worker's whole heap.
    gc.collect()
    gc.freeze()
    return Run(result.exit_code, result.summary or {}, out.getvalue(), report_dir, err.getvalue())


# How the in-process runs wait on a target (a profile's ``polling``, where it has one: Yandex
# Operations, a Huawei key read as "to be activated"): at once and without growing pauses, and a
# stuck wait is given up after a second, not ten.  What is checked is the same -- each wait polled
# until done, a stuck one failing its requirement; the real pacing is for real targets (and for
# the CLI runs of the tests).
QUICK_POLLING = {
    "first_delay": 0.001,
    "max_delay": 0.02,
    "deadline_loopback": 1.0,
    "deadline_after_stuck": 0.005,
}


@contextlib.contextmanager
def quick_polling(vendor: str) -> Iterator[None]:
    profile = profile_class(vendor)
    polling = profile.__dict__.get("polling")
    if polling is None:
        yield
        return
    profile.polling = dataclasses.replace(polling, **QUICK_POLLING)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        profile.polling = polling  # type: ignore[attr-defined]


def pairwise(options: Mapping[str, Sequence[str]], tries: int = 300) -> list[dict[str, str]]:
    """A small set of assignments in which every pair of values of two options appears at least once.

    The first row is every option's first value (its default).  Each further row starts from a pair
    not yet covered and picks, option by option, the value that covers the most pairs not yet
    covered.  Of ``tries`` such greedy constructions (the first in declaration order, the others
    with a seeded shuffle of the order and of ties) the shortest is returned: deterministic, so
    every xdist worker collects the same cases.
    """
    names = list(options)
    if len(names) == 1:
        return [{names[0]: v} for v in options[names[0]]]
    every = {
        ((a, va), (b, vb))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        for va in options[a]
        for vb in options[b]
    }
    rng = random.Random(0)
    best: list[dict[str, str]] | None = None
    for attempt in range(max(1, tries)):
        rows = [{name: options[name][0] for name in names}]
        uncovered = every - _pairs(rows[0], names)
        while uncovered:
            todo = sorted(uncovered)
            first = todo[0] if attempt == 0 else rng.choice(todo)
            row = {first[0][0]: first[0][1], first[1][0]: first[1][1]}
            order = [name for name in names if name not in row]
            if attempt:
                rng.shuffle(order)
            for name in order:
                scored = [
                    (_gain(uncovered, row, name, value), rng.random() if attempt else -k, value)
                    for k, value in enumerate(options[name])
                ]
                row[name] = max(scored)[2]
            row = {name: row[name] for name in names}
            uncovered -= _pairs(row, names)
            rows.append(row)
        if best is None or len(rows) < len(best):
            best = rows
    return best or []


def _pairs(row: Mapping[str, str], names: Sequence[str]) -> set[Any]:
    return {((a, row[a]), (b, row[b])) for i, a in enumerate(names) for b in names[i + 1 :]}


def _gain(uncovered: set[Any], row: Mapping[str, str], name: str, value: str) -> int:
    """How many uncovered pairs choosing ``name=value`` in ``row`` would cover."""
    return sum(
        1
        for other, chosen in row.items()
        if ((other, chosen), (name, value)) in uncovered or ((name, value), (other, chosen)) in uncovered
    )

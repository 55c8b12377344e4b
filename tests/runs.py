"""Whole conformance runs inside the test process: fast, and the same code path as the CLI.

``run_mock(vendor, tmp_path, faults=..., options=...)`` starts the bundled mock, runs the suite
against it through ``conformance.runner.run_vendor`` (the function ``kms-conformance run``
calls) and returns the run: exit code, summary.json and the terminal text.
"""

from __future__ import annotations

import io
import itertools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        tmp_path,
        lambda report_dir: RunRequest(vendor, {"base_url": base_url, **values}, report_dir, {}, gate),
    )


def _run(tmp_path: Path, request_for: Callable[[Path], RunRequest]) -> Run:
    """Run ``request_for(report_dir)`` in a fresh report directory and collect what it left."""
    report_dir = tmp_path / f"run{next(_counter)}"
    out, err = io.StringIO(), io.StringIO()
    result = run_vendor(request_for(report_dir), out=out, err=err)
    sys.stderr.write(err.getvalue())  # still shown with a failing test's captured output
    return Run(result.exit_code, result.summary or {}, out.getvalue(), report_dir, err.getvalue())


def pairwise(options: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """A small set of assignments in which every pair of values of two options appears at least once.

    Greedy and deterministic (the first value of each option is its default): each new row picks,
    option by option, the value that covers the most pairs not yet covered.
    """
    names = list(options)
    uncovered = {
        ((a, va), (b, vb))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        for va in options[a]
        for vb in options[b]
    }
    if len(names) == 1:
        return [{names[0]: v} for v in options[names[0]]]
    rows: list[dict[str, str]] = []
    while uncovered:
        first = min(uncovered)
        row = {first[0][0]: first[0][1], first[1][0]: first[1][1]}
        for name in names:
            if name not in row:
                row[name] = max(
                    options[name],
                    key=lambda value, name=name, row=row, todo=uncovered: _gain(todo, row, name, value),
                )
        uncovered -= {((a, row[a]), (b, row[b])) for i, a in enumerate(names) for b in names[i + 1 :]}
        rows.append(row)
    return rows


def _gain(uncovered: set[Any], row: Mapping[str, str], name: str, value: str) -> int:
    """How many uncovered pairs choosing ``name=value`` in ``row`` would cover."""
    return sum(
        1
        for other, chosen in row.items()
        if ((other, chosen), (name, value)) in uncovered or ((name, value), (other, chosen)) in uncovered
    )

"""Outputs written around a run beyond pytest's own (report.html, junit.xml).

* ``write_run_outputs``: per run, next to ``summary.json`` -- ``report.html`` (the compliance
  report; pytest-html's per-check log is ``checks.html``), ``report.sarif`` and
  ``junit-requirements.xml`` (called by the plugin when it writes the summary).
* ``finish_runs``: after every vendor of one ``kms-conformance run`` has finished -- the
  combined report for ``--vendor all`` (the same code as ``report merge``) and
  ``--baseline-update``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from conformance.report.baseline import load_baseline, updated_baseline, write_baseline
from conformance.report.junit import write_requirement_junit
from conformance.report.sarif import write_sarif


def write_run_outputs(summary: Mapping[str, Any], directory: str | Path, html: bool = True) -> None:
    """``html=False`` when the team's own pytest-html page is to be written at ``report.html``."""
    from conformance.report.html import run_page

    directory = Path(directory)
    if html:
        (directory / "report.html").write_text(run_page(summary), encoding="utf-8")
    write_sarif([summary], directory / "report.sarif")
    write_requirement_junit([summary], directory / "junit-requirements.xml")


def _summaries(report_dirs: Sequence[Path]) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for directory in report_dirs:
        path = Path(directory) / "summary.json"
        try:
            found.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError):
            continue  # that vendor never got as far as a summary (target unreachable)
    return found


def finish_runs(
    report_dirs: Sequence[Path],
    *,
    combined_root: Path | None = None,
    baseline: str | None = None,
    update_baseline: bool = False,
    out: TextIO = sys.stdout,
) -> None:
    found = _summaries(report_dirs)
    if combined_root is not None and found:
        from conformance.report.merge import merge_summaries, write_merged

        page = write_merged(merge_summaries(found), combined_root)
        print(f"combined report: {page}", file=out)
    if update_baseline and baseline:
        entries = updated_baseline(load_baseline(baseline, missing_ok=True), [s for _, s in found])
        write_baseline(entries, baseline)
        placeholders = sum(1 for e in entries.values() if e.reason.startswith("TODO"))
        print(
            f"baseline: wrote {len(entries)} entries to {baseline} ({placeholders} need a reason)", file=out
        )

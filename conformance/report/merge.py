"""Several runs (vendors, regions, environments, CI shards) combined into one report.

``kms-conformance report merge DIR_OR_FILE... --output DIR`` and ``run --vendor all`` both use
``merge_summaries`` + ``write_merged``: the output directory gets ``report.html`` (one matrix:
requirements x runs, then every run's own section), ``summary.json`` (schema
``kms-conformance/merged/v1``: the runs' summaries unchanged plus the matrix and totals),
``report.sarif`` and ``junit-requirements.xml``.  Inputs may be run directories (searched
recursively for ``summary.json``), summary files, or earlier merged files (flattened).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.report.summary import SCHEMA
from conformance.verdict import STATUSES

MERGED_SCHEMA = "kms-conformance/merged/v1"
_STATUSES = STATUSES


class MergeError(ValueError):
    pass


def find_summaries(inputs: Iterable[str | Path]) -> list[tuple[Path, dict[str, Any]]]:
    """(path, summary) for every run summary under the inputs, merged files flattened."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(path.rglob("summary.json"))
            if not files:
                raise MergeError(f"no summary.json under {path}")
        elif path.is_file():
            files = [path]
        else:
            raise MergeError(f"{path} does not exist")
        for file in files:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise MergeError(f"cannot read {file}: {exc}") from None
            schema = data.get("schema") if isinstance(data, dict) else None
            if schema == SCHEMA:
                found.append((file, data))
            elif schema == MERGED_SCHEMA:
                if path.is_dir() and file.parent != path:
                    continue  # a merged report inside a tree of runs: its runs are found directly
                found.extend((file, run["summary"]) for run in data.get("runs", []))
            elif path.is_file():
                raise MergeError(f"{file} is not a kms-conformance summary (schema {schema!r})")
    # One run seen twice (a tree that holds both the runs and a merged copy of them) counts once.
    unique: dict[tuple[str, str, str], tuple[Path, dict[str, Any]]] = {}
    for file, summary in found:
        unique.setdefault(
            (summary["vendor"], summary.get("target", ""), summary.get("started_at", "")), (file, summary)
        )
    return list(unique.values())


def _labels(found: Sequence[tuple[Path, Mapping[str, Any]]]) -> list[str]:
    vendors = [s["vendor"] for _, s in found]
    labels = []
    for file, summary in found:
        vendor = summary["vendor"]
        if vendors.count(vendor) == 1:
            labels.append(vendor)
        else:
            labels.append(f"{vendor} ({file.parent.name or file.stem})")
    # Still ambiguous (same directory names): number them.
    for label in set(labels):
        if labels.count(label) > 1:
            n = 0
            for i, existing in enumerate(labels):
                if existing == label:
                    n += 1
                    labels[i] = f"{label} #{n}"
    return labels


def merge_summaries(found: Sequence[tuple[Path, Mapping[str, Any]]]) -> dict[str, Any]:
    if not found:
        raise MergeError("nothing to merge")
    labels = _labels(found)
    runs: list[dict[str, Any]] = [
        {"label": label, "source": str(file), "summary": summary}
        for label, (file, summary) in zip(labels, found, strict=True)
    ]
    matrix: dict[str, dict[str, Any]] = {}
    for run in runs:
        for row in run["summary"]["requirements"]:
            entry = matrix.setdefault(
                row["id"],
                {k: row[k] for k in ("id", "level", "area", "title", "source")} | {"results": {}},
            )
            entry["results"][run["label"]] = row["status"]
    rows = [r for run in runs for r in run["summary"]["requirements"]]
    counts = {s: sum(r["status"] == s for r in rows) for s in _STATUSES}
    return {
        "schema": MERGED_SCHEMA,
        "verdict": "fail" if any(run["summary"]["verdict"] != "pass" for run in runs) else "pass",
        "totals": {
            "runs": len(runs),
            "requirements": len(rows),
            **counts,
            "tests": sum(run["summary"]["totals"].get("tests", 0) for run in runs),
            "requests": sum(run["summary"]["totals"].get("requests", 0) for run in runs),
            "by_level": {
                lv: {s: sum(r["level"] == lv and r["status"] == s for r in rows) for s in _STATUSES}
                for lv in ("must", "should")
            },
            "by_area": {
                a: {s: sum(r["area"] == a and r["status"] == s for r in rows) for s in _STATUSES}
                for a in dict.fromkeys(r["area"] for r in rows)
            },
        },
        "matrix": list(matrix.values()),
        "runs": runs,
    }


def write_merged(merged: Mapping[str, Any], output: str | Path) -> Path:
    """Write report.html, summary.json, report.sarif and junit-requirements.xml; return report.html."""
    from conformance.report.html import combined_page
    from conformance.report.junit import write_requirement_junit
    from conformance.report.sarif import write_sarif

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    summaries = [run["summary"] for run in merged["runs"]]
    write_sarif(summaries, out / "report.sarif")
    write_requirement_junit(summaries, out / "junit-requirements.xml")
    page = out / "report.html"
    page.write_text(combined_page(merged), encoding="utf-8")
    return page

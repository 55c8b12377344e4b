"""parity.json, parity.html and the terminal summary of one replay."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from conformance.parity.replay import Exchange

SCHEMA = "kms-conformance/parity/v1"


def totals(exchanges: Sequence[Exchange]) -> dict[str, int]:
    counts = {"exchanges": len(exchanges), "matched": 0, "diverged": 0, "folded": 0, "skipped": 0}
    for item in exchanges:
        counts[item.outcome] += 1
    return counts


def document(
    exchanges: Sequence[Exchange], meta: Mapping[str, Any], calibration: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        **meta,
        "totals": totals(exchanges),
        "verdict": "match" if not any(e.outcome == "diverged" for e in exchanges) else "diverge",
        "exchanges": [_row(e) for e in exchanges],
        "calibration": calibration,
    }


def _row(item: Exchange) -> dict[str, Any]:
    row = asdict(item)
    row["recorded"] = asdict(item.recorded)
    row["replayed"] = asdict(item.replayed) if item.replayed else None
    for side in ("recorded", "replayed"):
        if row[side]:
            row[side].pop("body", None)
    return row


def write(out_dir: Path, data: Mapping[str, Any]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "parity.json", out_dir / "parity.html"
    json_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    html_path.write_text(page(data), encoding="utf-8")
    return json_path, html_path


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=1, sort_keys=True)
    except ValueError:
        return text


def page(data: Mapping[str, Any]) -> str:
    """A self-contained page: one row per exchange, a side-by-side diff under each divergence."""
    esc = html.escape
    counts = data["totals"]
    rows = []
    for row in data["exchanges"]:
        rec, rep = row["recorded"], row["replayed"]
        line = (
            f"<tr class='{row['outcome']}'><td>{row['sequence']}</td><td>{esc(row['outcome'])}</td>"
            f"<td>{esc(row['method'])} {esc(row['path'])}</td><td>{esc(row['check'])}</td>"
            f"<td>{rec['status']}{' ' + esc(str(rec['code'])) if rec['code'] else ''}</td>"
            f"<td>{(str(rep['status']) + (' ' + esc(str(rep['code'])) if rep['code'] else '')) if rep else '-'}</td>"
            f"<td>{esc(row['note'])}</td></tr>"
        )
        rows.append(line)
        if row["outcome"] == "diverged":
            diffs = "".join(f"<li>{esc(d)}</li>" for d in row["differences"])
            rows.append(
                "<tr class='diff'><td colspan='7'><ul>" + diffs + "</ul><table class='side'><tr>"
                f"<th>recorded</th><th>replayed</th></tr><tr><td><pre>{esc(_pretty(row['recorded_body']))}</pre>"
                f"</td><td><pre>{esc(_pretty(row['replayed_body']))}</pre></td></tr></table></td></tr>"
            )
    calibration = data.get("calibration")
    cal = ""
    if calibration:
        cal = (
            "<h2>Calibration</h2><p>best option set: <code>"
            + esc(" ".join(f"{k}={v}" for k, v in calibration["best"].items()) or "(defaults)")
            + f"</code> -- {calibration['diverged']} divergences remain ({calibration['trials']} trials)</p>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>kms-conformance parity</title><style>"
        "body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px;vertical-align:top}.diverged td{background:#fdd}.matched td{background:#efe}"
        ".side td{width:50%}pre{white-space:pre-wrap;margin:0;font-size:12px}</style></head><body>"
        f"<h1>Parity: {esc(str(data.get('vendor')))} recording against {esc(str(data.get('target')))}</h1>"
        f"<p>recording {esc(str(data.get('recording')))} (run {esc(str(data.get('recorded_run_id')))}, "
        f"spec {esc(str(data.get('spec_version')))}): {counts['matched']} matched, {counts['diverged']} diverged, "
        f"{counts['folded']} folded polls, {counts['skipped']} skipped of {counts['exchanges']} exchanges</p>"
        + cal
        + "<table><tr><th>#</th><th>outcome</th><th>request</th><th>check</th><th>recorded</th>"
        "<th>replayed</th><th>note</th></tr>" + "".join(rows) + "</table></body></html>"
    )


def print_summary(data: Mapping[str, Any], paths: tuple[Path, Path], out: TextIO, limit: int = 20) -> None:
    counts = data["totals"]
    diverged = [row for row in data["exchanges"] if row["outcome"] == "diverged"]
    for row in diverged[:limit]:
        print(f"  #{row['sequence']:<5} {row['method']} {row['path']}  ({row['check']})", file=out)
        for line in row["differences"][:4]:
            print(f"         {line}", file=out)
    if len(diverged) > limit:
        print(f"  ... and {len(diverged) - limit} more (see parity.html)", file=out)
    calibration = data.get("calibration")
    if calibration:
        best = " ".join(f"--mock-option {k}={v}" for k, v in calibration["best"].items()) or "(the defaults)"
        print(
            f"calibration: best option set {best}: {calibration['diverged']} divergences remain "
            f"({calibration['trials']} trials, {calibration['seconds']} s)",
            file=out,
        )
    print(
        f"parity: {'MATCH' if not diverged else 'DIVERGED'} ({data['vendor']} against {data['target']}) -- "
        f"{counts['matched']} matched, {counts['diverged']} diverged, {counts['folded']} folded polls, "
        f"{counts['skipped']} skipped of {counts['exchanges']} exchanges",
        file=out,
    )
    print(f"report: {paths[1]}", file=out)

"""The requirement matrix of the compliance report.

``requirement_matrix(summary)`` is the section inserted at the top of pytest-html's
``report.html`` (through ``pytest_html_results_summary``); ``combined_page(merged)`` is a whole
self-contained page for several runs (``--vendor all``, ``kms-conformance report merge``).
Everything is inline (a small ``<style>``, no scripts, no external resources), so the pages
open offline.  Every requirement row has an anchor (``#<prefix>HW-STATE-004``); failures have a
detail block (``#<prefix>HW-STATE-004-detail``) with expected vs actual, the redacted
request/response and a curl reproduction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from conformance.report.summary import mock_switches
from conformance.verdict import STATUSES

LABELS = {
    "passed": "passed",
    "failed": "failed",
    "blocked": "blocked",
    "allowed": "allowed by baseline",
    "not_covered": "not covered",
}
AREA_NAMES = {
    "auth": "auth",
    "validation": "validation",
    "state": "state machine",
    "envelope": "envelopes",
    "shape": "response shapes",
    "generated": "generated checks",
    "async": "async operations",
    "operation": "async operations",
}

STYLE = """
<style>
.kms-report{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:14px;color:#1f2328;max-width:1400px}
.kms-report h2,.kms-report h3{margin:1em 0 .4em}
.kms-report table{border-collapse:collapse;margin:.4em 0 1em}
.kms-report th,.kms-report td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;text-align:left}
.kms-report th{background:#f6f8fa}
.kms-report caption{text-align:left;font-weight:600;padding:2px 0}
.kms-report td:first-child{white-space:nowrap}
.kms-report td.kms-num{text-align:right;font-variant-numeric:tabular-nums}
.kms-badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;white-space:nowrap}
.kms-badge.kms-passed{background:#1a7f37}.kms-badge.kms-failed{background:#cf222e}
.kms-badge.kms-allowed{background:#9a6700}.kms-badge.kms-not_covered{background:#6e7781}
.kms-badge.kms-blocked{background:#8250df}.kms-report tr.kms-blocked td{background:#fbefff}
.kms-report .kms-basis{color:#57606a;font-size:12px;display:block}
.kms-badge.kms-pass{background:#1a7f37}.kms-badge.kms-fail{background:#cf222e}
.kms-report tr.kms-failed td{background:#ffebe9}.kms-report tr.kms-allowed td{background:#fff8c5}
.kms-report pre{background:#f6f8fa;border:1px solid #d0d7de;padding:6px;white-space:pre-wrap;word-break:break-all;max-height:30em;overflow:auto}
.kms-report pre.kms-curl{background:#0d1117;color:#e6edf3}
.kms-report .kms-why{color:#57606a}
.kms-report .kms-failure{border-left:4px solid #cf222e;padding-left:10px;margin:1em 0}
.kms-report .kms-failure.kms-allowed{border-color:#9a6700}
.kms-report nav a{margin-right:1em}
</style>
"""


def _badge(status: str, text: str | None = None) -> str:
    return f"<span class='kms-badge kms-{escape(status)}'>{escape(text or LABELS.get(status, status))}</span>"


def _count_table(
    title: str, key: str, counts: Mapping[str, Mapping[str, int]], names: Mapping[str, str] | None = None
) -> str:
    head = "".join(f"<th>{escape(LABELS[s])}</th>" for s in STATUSES)
    rows = []
    for name, row in counts.items():
        cells = "".join(
            f"<td class='kms-num kms-count' data-{key}='{escape(name)}' data-status='{s}'>{int(row.get(s, 0))}</td>"
            for s in STATUSES
        )
        total = sum(int(row.get(s, 0)) for s in STATUSES)
        label = (names or {}).get(name, name)
        rows.append(f"<tr><th>{escape(label)}</th>{cells}<td class='kms-num'>{total}</td></tr>")
    return (
        f"<table class='kms-{key}s'><caption>{escape(title)}</caption>"
        f"<tr><th>{escape(key)}</th>{head}<th>total</th></tr>{''.join(rows)}</table>"
    )


def _by_area(summary: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    found = summary["totals"].get("by_area")
    if found:
        return found
    counts: dict[str, dict[str, int]] = {}
    for row in summary["requirements"]:
        area = counts.setdefault(row["area"], dict.fromkeys(STATUSES, 0))
        area[row["status"]] = area.get(row["status"], 0) + 1
    return counts


_EXPECTED = re.compile(r"(?s)^(?P<what>.*?)\bexpected (?P<expected>.+?),? got (?P<actual>.+)$")
_SHOULD = re.compile(
    r"(?s)^(?P<what>.*?)\b(?:should be|must be refused with) (?P<expected>.+?),? (?:is|got) (?P<actual>.+)$"
)


def _split_curl(text: str) -> tuple[str, list[str]]:
    """Text without its ``reproduce:`` lines, and the curl commands those lines held."""
    kept, curls = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("reproduce: "):
            curls.append(stripped.removeprefix("reproduce: "))
        else:
            kept.append(line)
    return "\n".join(kept), curls


def _expectations(message: str) -> str:
    rows = []
    for part in re.split(r" \| |; (?=\S)", message):
        text, _ = _split_curl(part)
        text = text.strip()
        if not text:
            continue
        match = _EXPECTED.match(text) or _SHOULD.match(text)
        if match:
            rows.append(
                f"<tr><td>{escape(match.group('what').strip(' :') or '-')}</td><td>{escape(match.group('expected'))}</td>"
                f"<td>{escape(match.group('actual'))}</td></tr>"
            )
        else:
            rows.append(f"<tr><td colspan='3'>{escape(text)}</td></tr>")
    if not rows:
        return ""
    return (
        "<table class='kms-expect'><tr><th>check</th><th>expected</th><th>actual</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _failure_detail(row: Mapping[str, Any], prefix: str, variables_note: bool = True) -> str:
    anchor = f"{prefix}{row['id']}-detail"
    blocks = [
        f"<div class='kms-failure kms-{escape(row['status'])}' id='{escape(anchor)}'>",
        f"<h3><a href='#{escape(prefix + row['id'])}'>{escape(row['id'])}</a> {_badge(row['status'])} "
        f"<small>{escape(row['level'])} &middot; {escape(AREA_NAMES.get(row['area'], row['area']))}</small></h3>",
        f"<p>{escape(row['title'])} &mdash; <a class='kms-doc' href='{escape(row['source'])}'>documentation</a></p>",
    ]
    if row.get("failed_tests") or row.get("tests"):
        tests = row.get("failed_tests") or row.get("tests") or []
        blocks.append(
            "<p class='kms-why'>failing checks: "
            + ", ".join(f"<code>{escape(t)}</code>" for t in tests)
            + "</p>"
        )
    blocks.append(_expectations(row["message"]))
    curls: list[str] = []
    _, message_curls = _split_curl(row["message"].replace(" | ", "\n"))
    for number, exchange in enumerate(row.get("evidence", []), 1):
        text, found = _split_curl(exchange)
        curls.extend(found)
        blocks.append(
            f"<p><b>request / response {number}</b> (credentials redacted)</p><pre class='kms-exchange'>{escape(text)}</pre>"
        )
    curls.extend(message_curls)
    if curls:
        blocks.append(
            "<p><b>reproduce</b>"
            + (
                " &mdash; credentials are not in the report: <code>export KMS_CONFORMANCE_TOKEN=&lt;your token&gt;</code> first"
                if variables_note and any("${KMS_CONFORMANCE_" in c for c in curls)
                else ""
            )
            + "</p>"
        )
        blocks.extend(f"<pre class='kms-curl'>{escape(c)}</pre>" for c in dict.fromkeys(curls))
    blocks.append("</div>")
    return "".join(blocks)


def requirement_matrix(
    summary: Mapping[str, Any], prefix: str = "", heading: bool = True, style: bool = True
) -> str:
    """The matrix section for one run: verdict, counts by level and area, rows, failure details."""
    totals = summary["totals"]
    verdict = summary["verdict"]
    parts = [STYLE if style else ""]
    if heading:
        parts.append(
            f"<h2 id='{escape(prefix)}kms-verdict'>kms-conformance: {escape(summary['vendor'])} &mdash; "
            f"{_badge(verdict, verdict.upper())}</h2>"
        )
    mock = summary.get("mock")
    if mock:
        switches = mock_switches(mock)
        parts.append(
            f"<p class='kms-mock'>This run checked the <b>bundled {escape(mock['vendor'])} mock</b> at "
            f"<code>{escape(mock['url'])}</code>, not a real endpoint: "
            f"{escape(', '.join(switches)) if switches else 'faithful (no faults, default options)'}.</p>"
        )
    parts.append(
        f"<p>Target <code>{escape(summary['target'])}</code>, started {escape(summary.get('started_at', ''))}, "
        f"{summary.get('duration_s', 0)} s. <span class='kms-totals' data-requirements='{totals['requirements']}' "
        f"data-passed='{totals['passed']}' data-failed='{totals['failed']}' data-allowed='{totals['allowed']}' "
        f"data-not-covered='{totals['not_covered']}' data-blocked='{totals.get('blocked', 0)}'>"
        f"{totals['requirements']} requirements: "
        f"{totals['passed']} passed, {totals['failed']} failed, {totals.get('blocked', 0)} blocked, "
        f"{totals['allowed']} allowed by baseline, "
        f"{totals['not_covered']} not covered</span>; {totals['tests']} checks, {totals['requests']} HTTP requests; "
        f"the gate fails on level(s) {escape(', '.join(summary.get('gate_levels', ['must'])))}.</p>"
    )
    transport = summary.get("transport") or {}
    if transport.get("tls_verify") is False:
        parts.append(
            "<p class='kms-insecure' style='border:2px solid #cf222e;padding:6px;font-weight:bold'>"
            "TLS certificates were NOT verified in this run (--insecure): anyone on the path could have "
            "answered for the target.</p>"
        )
    parts.append(_count_table("by level", "level", totals["by_level"]))
    parts.append(_count_table("by area", "area", _by_area(summary), AREA_NAMES))
    rows = []
    for req in summary["requirements"]:
        status = req["status"]
        anchor = prefix + req["id"]
        if status in ("failed", "allowed"):
            first = req["message"].splitlines()[0] if req["message"] else ""
            detail = f"{escape(first[:300])} <a href='#{escape(anchor)}-detail'>details</a>"
        elif status == "blocked":
            links = ", ".join(
                f"<a href='#{escape(prefix + b)}'>{escape(b)}</a>" for b in req.get("blocked_by", [])
            )
            detail = (
                f"<span class='kms-why'>{'blocked by ' + links + ': ' if links else ''}"
                f"{escape(req['message'][:300])}</span>"
            )
        elif status == "not_covered" or req.get("message"):
            detail = f"<span class='kms-why'>{escape(req['message'])}</span>"
        else:
            detail = ""
        basis = f"<span class='kms-basis'>level: {escape(req['basis'])}</span>" if req.get("basis") else ""
        rows.append(
            f"<tr class='kms-req kms-{escape(status)}' id='{escape(anchor)}' data-id='{escape(req['id'])}' "
            f"data-status='{escape(status)}' data-level='{escape(req['level'])}'>"
            f"<td><a href='#{escape(anchor)}'>{escape(req['id'])}</a></td><td>{escape(req['level'])}</td>"
            f"<td>{escape(AREA_NAMES.get(req['area'], req['area']))}</td><td>{escape(req['title'])}{basis}</td>"
            f"<td><a class='kms-doc' href='{escape(req['source'])}'>doc</a></td>"
            f"<td>{_badge(status)}</td><td>{detail}</td></tr>"
        )
    parts.append(
        "<table class='kms-matrix'><tr><th>requirement</th><th>level</th><th>area</th><th>statement</th>"
        "<th>source</th><th>status</th><th>detail</th></tr>" + "".join(rows) + "</table>"
    )
    failures = [r for r in summary["requirements"] if r["status"] in ("failed", "allowed")]
    if failures:
        parts.append(f"<h3 id='{escape(prefix)}kms-failures'>Failures</h3>")
        parts.extend(_failure_detail(r, prefix) for r in failures)
    return f"<section class='kms-report' id='{escape(prefix)}kms-requirements'>{''.join(parts)}</section>"


def combined_page(merged: Mapping[str, Any]) -> str:
    """A self-contained HTML page for several runs: one matrix across runs, then a section per run."""
    runs: Sequence[Mapping[str, Any]] = merged["runs"]
    labels = [run["label"] for run in runs]
    nav = "".join(
        f"<a href='#{escape(_slug(label))}-kms-requirements'>{escape(label)}</a>" for label in labels
    )
    head = "".join(f"<th>{escape(label)}</th>" for label in labels)
    rows = []
    for row in merged["matrix"]:
        cells = []
        for run in runs:
            status = row["results"].get(run["label"])
            if status is None:
                cells.append("<td class='kms-none'>&ndash;</td>")
            else:
                link = f"#{escape(_slug(run['label']))}-{escape(row['id'])}"
                cells.append(
                    f"<td data-run='{escape(run['label'])}' data-status='{escape(status)}'><a href='{link}'>{_badge(status)}</a></td>"
                )
        rows.append(
            f"<tr class='kms-xreq' data-id='{escape(row['id'])}'><td>{escape(row['id'])}</td><td>{escape(row['level'])}</td>"
            f"<td>{escape(AREA_NAMES.get(row['area'], row['area']))}</td><td>{escape(row['title'])}</td>"
            f"<td><a class='kms-doc' href='{escape(row['source'])}'>doc</a></td>{''.join(cells)}</tr>"
        )
    totals = merged["totals"]
    summary_rows = "".join(
        f"<tr><td><a href='#{escape(_slug(run['label']))}-kms-requirements'>{escape(run['label'])}</a></td>"
        f"<td>{escape(run['summary']['vendor'])}</td><td><code>{escape(run['summary']['target'])}</code></td>"
        f"<td>{_badge(run['summary']['verdict'], run['summary']['verdict'].upper())}</td>"
        + "".join(f"<td class='kms-num'>{run['summary']['totals'].get(s, 0)}</td>" for s in STATUSES)
        + "</tr>"
        for run in runs
    )
    sections = "".join(
        f"<hr><h2 id='{escape(_slug(run['label']))}'>{escape(run['label'])}</h2>"
        + requirement_matrix(run["summary"], prefix=_slug(run["label"]) + "-", heading=False, style=False)
        for run in runs
    )
    body = (
        f"<section class='kms-report' id='kms-combined'><h1>kms-conformance compliance report "
        f"{_badge(merged['verdict'], merged['verdict'].upper())}</h1><nav>{nav}</nav>"
        f"<p class='kms-totals' data-runs='{len(runs)}' data-requirements='{totals['requirements']}' "
        f"data-failed='{totals['failed']}'>{len(runs)} runs, {totals['requirements']} requirement results: "
        f"{totals['passed']} passed, {totals['failed']} failed, {totals.get('blocked', 0)} blocked, "
        f"{totals['allowed']} allowed by baseline, {totals['not_covered']} not covered.</p>"
        "<table class='kms-runs'><tr><th>run</th><th>vendor</th><th>target</th><th>verdict</th>"
        + "".join(f"<th>{escape(LABELS[s])}</th>" for s in STATUSES)
        + f"</tr>{summary_rows}</table>"
        + _count_table("by level (all runs)", "level", totals["by_level"])
        + _count_table("by area (all runs)", "area", totals["by_area"], AREA_NAMES)
        + "<h2>Requirement matrix</h2><table class='kms-matrix kms-combined'><tr><th>requirement</th><th>level</th>"
        f"<th>area</th><th>statement</th><th>source</th>{head}</tr>{''.join(rows)}</table></section>"
        f"<section class='kms-report'>{sections}</section>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>kms-conformance: {escape(merged['verdict'].upper())} ({escape(', '.join(labels))})</title>"
        f"{STYLE}</head><body>{body}</body></html>\n"
    )


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-") or "run"

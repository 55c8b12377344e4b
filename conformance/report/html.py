"""The requirement matrix at the top of report.html (inserted through pytest-html's hook)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "allowed": "#9a6700", "not_covered": "#6e7781"}


def requirement_matrix(summary: Mapping[str, Any]) -> str:
    totals = summary["totals"]
    verdict = summary["verdict"]
    head = (
        f"<h2 id='kms-verdict'>kms-conformance: {escape(summary['vendor'])} &mdash; "
        f"<span style='color:{_COLOURS['passed' if verdict == 'pass' else 'failed']}'>{escape(verdict.upper())}</span></h2>"
        f"<p>Target {escape(summary['target'])}; {totals['requirements']} requirements: "
        f"{totals['passed']} passed, {totals['failed']} failed, {totals['allowed']} allowed by baseline, "
        f"{totals['not_covered']} not covered; {totals['tests']} tests, {totals['requests']} HTTP requests; "
        f"gate on level(s) {escape(', '.join(summary.get('gate_levels', ['must'])))}.</p>"
    )
    by_level = "".join(
        f"<tr><td>{escape(level)}</td>"
        + "".join(f"<td>{counts[s]}</td>" for s in ("passed", "failed", "allowed", "not_covered"))
        + "</tr>"
        for level, counts in totals["by_level"].items()
    )
    level_table = (
        "<table class='kms-levels'><tr><th>level</th><th>passed</th><th>failed</th><th>allowed</th>"
        f"<th>not covered</th></tr>{by_level}</table>"
    )
    rows = []
    for req in summary["requirements"]:
        colour = _COLOURS.get(req["status"], "#000")
        evidence = "".join(f"<pre>{escape(e)}</pre>" for e in req.get("evidence", []))
        detail = escape(req["message"]) + (f"<details><summary>request / response</summary>{evidence}</details>" if evidence else "")
        rows.append(
            f"<tr class='kms-req kms-{escape(req['status'])}' data-id='{escape(req['id'])}'>"
            f"<td><a href='{escape(req['source'])}'>{escape(req['id'])}</a></td><td>{escape(req['level'])}</td>"
            f"<td>{escape(req['area'])}</td><td>{escape(req['title'])}</td>"
            f"<td style='color:{colour};font-weight:bold'>{escape(req['status'])}</td><td>{detail}</td></tr>"
        )
    matrix = (
        "<table class='kms-matrix' style='border-collapse:collapse' border='1' cellpadding='4'>"
        "<tr><th>requirement</th><th>level</th><th>area</th><th>statement</th><th>status</th><th>detail</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return f"<section id='kms-requirements'>{head}{level_table}{matrix}</section>"

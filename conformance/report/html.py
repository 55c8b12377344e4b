"""The compliance report pages.

* ``run_page(summary)``: ``report.html`` of one run -- a whole self-contained page: a header
  with the verdict first (vendor, target or bundled mock with its switches, date, duration,
  gate), the compliance picture (inline SVG), filters, failures first (expected vs actual, the
  redacted exchange, one command that reproduces it), then every requirement.
* ``combined_page(merged)``: several runs (``--vendor all``, ``kms-conformance report merge``):
  the runs side by side, a requirement matrix only where runs share requirement ids (shards of
  one vendor), one row per requirement family shared by several vendors, then each run's section.
* ``requirement_matrix(summary)``: the same run section without the page around it, for a
  team's own pytest-html page in plugin mode (``pytest_html_results_summary``).

Everything is inline (one ``<style>``, one small ``<script>`` for the filters, SVG), so pages
open offline; without scripts every row is simply shown.  Rows have anchors
(``#<prefix>HW-STATE-004``), failures a detail block (``#<prefix>HW-STATE-004-detail``).
Filters keep their state in the address (``report.html#status=failed&level=must``), so a
filtered view can be linked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from conformance.facts import coverage_line
from conformance.report.chart import compliance_chart
from conformance.report.summary import mock_switches, reproduce_command
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
# What a curl line's variable holds, so "export ..." says which credential to put there.
VARIABLE_MEANING = {
    "KMS_CONFORMANCE_TOKEN": "the run's --token",
    "KMS_CONFORMANCE_FORBIDDEN_TOKEN": "the run's --forbidden-token",
    "KMS_CONFORMANCE_EXPIRED_TOKEN": "the run's --expired-token",
}

STYLE = """
<style>
[hidden]{display:none!important}
body{margin:0;background:#fff;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328}
body>h2,body>hr{max-width:1400px;margin-left:auto;margin-right:auto;padding:0 16px}
.kms-report{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:14px;color:#1f2328;max-width:1400px;margin:0 auto;padding:0 16px 24px}
.kms-report h1{font-size:22px;margin:.2em 0}
.kms-report h2,.kms-report h3{margin:1em 0 .4em}
.kms-report table{border-collapse:collapse;margin:.4em 0 1em}
.kms-report th,.kms-report td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;text-align:left}
.kms-report th{background:#f6f8fa}
.kms-report caption{text-align:left;font-weight:600;padding:2px 0}
.kms-report td:first-child{white-space:nowrap}
.kms-report td.kms-num{text-align:right;font-variant-numeric:tabular-nums}
.kms-badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;white-space:nowrap}
.kms-badge.kms-passed,.kms-badge.kms-pass{background:#1a7f37}.kms-badge.kms-failed,.kms-badge.kms-fail{background:#cf222e}
.kms-badge.kms-allowed{background:#9a6700}.kms-badge.kms-not_covered{background:#6e7781}
.kms-badge.kms-blocked{background:#8250df}.kms-report tr.kms-blocked td{background:#fbefff}
.kms-report .kms-basis{color:#57606a;font-size:12px;display:block}
.kms-report tr.kms-failed td{background:#ffebe9}.kms-report tr.kms-allowed td{background:#fff8c5}
.kms-report pre{background:#f6f8fa;border:1px solid #d0d7de;padding:6px;white-space:pre-wrap;word-break:break-all;max-height:30em;overflow:auto}
.kms-report pre.kms-curl,.kms-report pre.kms-rerun{background:#0d1117;color:#e6edf3}
.kms-report .kms-why{color:#57606a}
.kms-report .kms-failure{border-left:4px solid #cf222e;padding-left:10px;margin:1em 0}
.kms-report .kms-failure.kms-allowed{border-color:#9a6700}.kms-report .kms-failure.kms-blocked{border-color:#8250df}
.kms-report nav a{margin-right:1em}
.kms-header{display:flex;gap:20px;align-items:flex-start;border-bottom:1px solid #d0d7de;padding:14px 0 10px}
.kms-verdict{font-size:28px;font-weight:700;color:#fff;padding:10px 22px;border-radius:8px;letter-spacing:.05em}
.kms-verdict.kms-pass{background:#1a7f37}.kms-verdict.kms-fail{background:#cf222e}
.kms-facts{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:.4em 0}
.kms-facts dt{color:#57606a}.kms-facts dd{margin:0}
.kms-stopped,.kms-insecure{border:2px solid #cf222e;padding:6px;font-weight:bold}
.kms-chart text{font:12px system-ui,sans-serif;fill:#1f2328}
.kms-filters{position:sticky;top:0;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:6px 10px;margin:10px 0;z-index:1}
.kms-filters label{margin-right:10px;white-space:nowrap}
.kms-filters .kms-shown{color:#57606a;margin-left:10px}
</style>
"""

# The filters: checkboxes (status) and selects (level, area) hide rows and failure blocks whose
# data-* attributes do not match; the state is mirrored in location.hash so a view can be linked.
SCRIPT = """
<script>
(function () {
  var form = document.getElementById('kms-filters');
  if (!form) { return; }
  function chosen() {
    var statuses = [];
    form.querySelectorAll('input[name=status]').forEach(function (box) {
      if (box.checked) { statuses.push(box.value); }
    });
    return {status: statuses, level: form.elements.level.value, area: form.elements.area.value};
  }
  function apply() {
    var want = chosen(), shown = 0, total = 0;
    document.querySelectorAll('[data-filter]').forEach(function (el) {
      var ok = want.status.indexOf(el.dataset.status) >= 0 &&
        (!want.level || el.dataset.level === want.level) && (!want.area || el.dataset.area === want.area);
      el.hidden = !ok;
      if (el.tagName === 'TR') { total += 1; if (ok) { shown += 1; } }
    });
    document.querySelectorAll('.kms-shown').forEach(function (el) {
      el.textContent = shown + ' of ' + total + ' requirements shown';
    });
    var hash = 'status=' + want.status.join(',') + (want.level ? '&level=' + want.level : '') +
      (want.area ? '&area=' + want.area : '');
    if (history.replaceState) { history.replaceState(null, '', '#' + hash); }
  }
  function load() {
    var text = decodeURIComponent(location.hash.replace(/^#/, ''));
    if (text.indexOf('=') < 0) { return; }
    var values = {};
    text.split('&').forEach(function (pair) {
      var i = pair.indexOf('=');
      if (i > 0) { values[pair.slice(0, i)] = pair.slice(i + 1); }
    });
    if ('status' in values) {
      var wanted = values.status.split(',');
      form.querySelectorAll('input[name=status]').forEach(function (box) {
        box.checked = wanted.indexOf(box.value) >= 0;
      });
    }
    ['level', 'area'].forEach(function (name) {
      if (name in values) { form.elements[name].value = values[name]; }
    });
  }
  form.addEventListener('change', apply);
  load();
  apply();
})();
</script>
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


def vendor_title(vendor: str) -> str:
    """The API's name for a header ("Huawei Cloud KMS"); the vendor key when it is not installed."""
    from conformance import vendors

    try:
        return vendors.get(vendor).title or vendor
    except vendors.UnknownVendor:
        return vendor


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


def _expectations(message: str, statement: str) -> str:
    """Expected vs actual, one row per failure in the message; never an empty cell.

    A message that does not say "expected X, got Y" is the actual outcome; what was expected
    is then the requirement's own statement.
    """
    rows = []
    for part in re.split(r" \| |; (?=\S)", message):
        text, _ = _split_curl(part)
        text = text.strip()
        if not text:
            continue
        match = _EXPECTED.match(text) or _SHOULD.match(text)
        if match:
            what, expected, actual = match.group("what").strip(" :"), match["expected"], match["actual"]
        else:
            what, expected, actual = "", statement, text
        rows.append(
            f"<tr><td>{escape(what or 'check')}</td><td class='kms-expected'>{escape(expected)}</td>"
            f"<td class='kms-actual'>{escape(actual)}</td></tr>"
        )
    if not rows:
        rows.append(
            f"<tr><td>check</td><td class='kms-expected'>{escape(statement)}</td><td class='kms-actual'>"
            "the check did not complete and gave no message (see the per-check log)</td></tr>"
        )
    return (
        "<table class='kms-expect'><tr><th>check</th><th>expected</th><th>actual</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _filter_attrs(row: Mapping[str, Any]) -> str:
    return (
        f"data-filter='1' data-status='{escape(row['status'])}' data-level='{escape(row['level'])}' "
        f"data-area='{escape(row['area'])}'"
    )


def _curl_note(summary: Mapping[str, Any], curls: Sequence[str]) -> str:
    mock = summary.get("mock")
    if mock:
        return (
            " &mdash; the exchange as this run sent it, to a mock that stopped with the run (its port "
            "and key ids are gone): use the command above to reproduce from scratch"
        )
    used = [v for v in VARIABLE_MEANING if any("${" + v + "}" in c for c in curls)]
    if not used:
        return ""
    exports = "; ".join(f"<code>export {v}=&lt;{escape(VARIABLE_MEANING[v])}&gt;</code>" for v in used)
    return f" &mdash; credentials are not in the report; first {exports}"


def _failure_detail(summary: Mapping[str, Any], row: Mapping[str, Any], prefix: str) -> str:
    anchor = f"{prefix}{row['id']}-detail"
    blocks = [
        f"<div class='kms-failure kms-{escape(row['status'])}' id='{escape(anchor)}' {_filter_attrs(row)}>",
        f"<h3><a href='#{escape(prefix + row['id'])}'>{escape(row['id'])}</a> {_badge(row['status'])} "
        f"<small>{escape(row['level'])} &middot; {escape(AREA_NAMES.get(row['area'], row['area']))}</small></h3>",
        f"<p>{escape(row['title'])} &mdash; <a class='kms-doc' href='{escape(row['source'])}'>documentation</a></p>",
    ]
    tests = row.get("failed_tests") or row.get("tests") or []
    if tests:
        blocks.append(
            "<p class='kms-why'>failing checks: "
            + ", ".join(f"<code>{escape(t)}</code>" for t in tests)
            + "</p>"
        )
    if row["status"] == "blocked":
        links = ", ".join(
            f"<a href='#{escape(prefix + b)}'>{escape(b)}</a>" for b in row.get("blocked_by", [])
        )
        blocks.append(f"<p class='kms-why'>{'blocked by ' + links + ': ' if links else ''}</p>")
    blocks.append(_expectations(row["message"], row["title"]))
    rerun = row.get("reproduce") or reproduce_command(summary, row["id"])
    blocks.append(
        "<p><b>reproduce from scratch</b>"
        + (" (starts the bundled mock with the same switches)" if summary.get("mock") else "")
        + f"</p><pre class='kms-rerun'>{escape(rerun)}</pre>"
    )
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
        blocks.append(f"<p><b>re-send the request</b>{_curl_note(summary, curls)}</p>")
        blocks.extend(f"<pre class='kms-curl'>{escape(c)}</pre>" for c in dict.fromkeys(curls))
    blocks.append("</div>")
    return "".join(blocks)


def _target_words(summary: Mapping[str, Any]) -> str:
    mock = summary.get("mock")
    if mock:
        switches = mock_switches(mock)
        return (
            f"<b>bundled {escape(mock['vendor'])} mock</b> (not a real endpoint): "
            f"{escape(', '.join(switches)) if switches else 'faithful (no faults, default options)'}"
        )
    return f"<code>{escape(summary['target'])}</code>"


def _header(summary: Mapping[str, Any], prefix: str, checks_page: str | None) -> str:
    """Verdict first, then what was checked, where, when and against which gate."""
    totals = summary["totals"]
    verdict = summary["verdict"]
    transport = summary.get("transport") or {}
    facts = [
        ("vendor", escape(vendor_title(summary["vendor"]))),
        ("target", _target_words(summary)),
        ("date", escape(summary.get("started_at", "")) or "&ndash;"),
        ("duration", f"{summary.get('duration_s', 0)} s"),
        ("gate", "fails on " + escape(" and ".join(summary.get("gate_levels", ["must"]))) + " requirements"),
        (
            "scope",
            escape(str(transport.get("scope", "full")))
            + (" (read-only)" if transport.get("read_only") else ""),
        ),
        (
            "results",
            f"<span class='kms-totals' data-requirements='{totals['requirements']}' "
            f"data-passed='{totals['passed']}' data-failed='{totals['failed']}' data-allowed='{totals['allowed']}' "
            f"data-not-covered='{totals['not_covered']}' data-blocked='{totals.get('blocked', 0)}'>"
            f"{totals['requirements']} requirements: {totals['passed']} passed, {totals['failed']} failed, "
            f"{totals.get('blocked', 0)} blocked, {totals['allowed']} allowed by baseline, "
            f"{totals['not_covered']} not covered</span>; {totals['tests']} checks, "
            f"{totals['requests']} HTTP requests",
        ),
    ]
    coverage = summary.get("coverage")
    if coverage and "error" not in coverage:
        facts.append(("coverage", escape(coverage_line(coverage))))
    cleanup = summary.get("cleanup") or {}
    if cleanup.get("cleaned") or cleanup.get("left"):
        left = len(cleanup.get("left", []))
        facts.append(
            (
                "cleanup",
                f"{len(cleanup.get('cleaned', []))} scratch keys scheduled for deletion"
                + (f", <b>{left} left</b> (see ledger.jsonl)" if left else ""),
            )
        )
    if checks_page:
        facts.append(
            (
                "files",
                f"<a href='{escape(checks_page)}'>per-check log</a> &middot; <a href='summary.json'>summary.json</a>"
                " &middot; <a href='junit-requirements.xml'>JUnit</a> &middot; <a href='report.sarif'>SARIF</a>",
            )
        )
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    parts = [
        f"<header class='kms-header'><div class='kms-verdict kms-{escape(verdict)}' id='{escape(prefix)}kms-verdict' "
        f"data-verdict='{escape(verdict)}'>{escape(verdict.upper())}</div>"
        f"<div><h1>{escape(vendor_title(summary['vendor']))} &mdash; conformance report</h1>"
        f"<dl class='kms-facts'>{rows}</dl></div></header>"
    ]
    if summary.get("stopped"):
        parts.append(
            f"<p class='kms-stopped'>The run stopped before it finished: {escape(summary['stopped'])}. "
            "Checks it never reached are blocked; this is not a verdict on the target.</p>"
        )
    if transport.get("tls_verify") is False:
        parts.append(
            "<p class='kms-insecure'>TLS certificates were NOT verified in this run (--insecure): anyone "
            "on the path could have answered for the target.</p>"
        )
    return "".join(parts)


def _chart(summary: Mapping[str, Any], caption: str) -> str:
    totals = summary["totals"]
    groups = [(f"level:{lv}", f"{lv}", c) for lv, c in totals["by_level"].items()]
    groups += [(f"area:{a}", AREA_NAMES.get(a, a), c) for a, c in _by_area(summary).items()]
    return f"<figure class='kms-picture'>{compliance_chart(groups, caption)}</figure>"


def _filters(rows: Sequence[Mapping[str, Any]]) -> str:
    present = {r["status"] for r in rows}
    boxes = "".join(
        f"<label><input type='checkbox' name='status' value='{s}' checked> {escape(LABELS[s])} "
        f"({sum(r['status'] == s for r in rows)})</label>"
        for s in STATUSES
        if s in present
    )
    levels = "".join(
        f"<option value='{escape(lv)}'>{escape(lv)}</option>"
        for lv in dict.fromkeys(r["level"] for r in rows)
    )
    areas = "".join(
        f"<option value='{escape(a)}'>{escape(AREA_NAMES.get(a, a))}</option>"
        for a in dict.fromkeys(r["area"] for r in rows)
    )
    return (
        "<form class='kms-filters' id='kms-filters' onsubmit='return false'><b>show</b> "
        f"{boxes}<label>level <select name='level'><option value=''>any</option>{levels}</select></label>"
        f"<label>area <select name='area'><option value=''>any</option>{areas}</select></label>"
        "<span class='kms-shown'></span></form>"
    )


def _matrix(summary: Mapping[str, Any], prefix: str) -> str:
    rows = []
    for req in summary["requirements"]:
        status = req["status"]
        anchor = prefix + req["id"]
        if status in ("failed", "allowed", "blocked"):
            first = req["message"].splitlines()[0] if req["message"] else ""
            detail = f"{escape(first[:300])} <a href='#{escape(anchor)}-detail'>details</a>"
        elif req.get("message"):
            detail = f"<span class='kms-why'>{escape(req['message'])}</span>"
        else:
            detail = ""
        basis = f"<span class='kms-basis'>level: {escape(req['basis'])}</span>" if req.get("basis") else ""
        rows.append(
            f"<tr class='kms-req kms-{escape(status)}' id='{escape(anchor)}' data-id='{escape(req['id'])}' "
            f"{_filter_attrs(req)}>"
            f"<td><a href='#{escape(anchor)}'>{escape(req['id'])}</a></td><td>{escape(req['level'])}</td>"
            f"<td>{escape(AREA_NAMES.get(req['area'], req['area']))}</td><td>{escape(req['title'])}{basis}</td>"
            f"<td><a class='kms-doc' href='{escape(req['source'])}'>doc</a></td>"
            f"<td>{_badge(status)}</td><td>{detail}</td></tr>"
        )
    return (
        f"<h2 id='{escape(prefix)}kms-all'>Every requirement</h2>"
        "<table class='kms-matrix'><tr><th>requirement</th><th>level</th><th>area</th><th>statement</th>"
        "<th>source</th><th>status</th><th>detail</th></tr>" + "".join(rows) + "</table>"
    )


_FAILURE_ORDER = {"failed": 0, "blocked": 1, "allowed": 2}
_LEVEL_ORDER = {"must": 0, "should": 1}


def _failures(summary: Mapping[str, Any], prefix: str) -> str:
    """Failed, then blocked, then baseline-allowed; ``must`` before ``should`` within each."""
    rows = sorted(
        (r for r in summary["requirements"] if r["status"] in _FAILURE_ORDER),
        key=lambda r: (_FAILURE_ORDER[r["status"]], _LEVEL_ORDER.get(r["level"], 9)),
    )
    if not rows:
        return f"<h2 id='{escape(prefix)}kms-failures'>Failures</h2><p class='kms-none'>None: every requirement that ran passed.</p>"
    counts = ", ".join(
        f"{sum(r['status'] == s for r in rows)} {LABELS[s]}"
        for s in _FAILURE_ORDER
        if any(r["status"] == s for r in rows)
    )
    return f"<h2 id='{escape(prefix)}kms-failures'>Failures ({counts})</h2>" + "".join(
        _failure_detail(summary, r, prefix) for r in rows
    )


def run_section(
    summary: Mapping[str, Any], prefix: str = "", checks_page: str | None = None, filters: bool = True
) -> str:
    """One run: header, picture, filters, failures, every requirement (no page around it)."""
    parts = [
        _header(summary, prefix, checks_page),
        _chart(summary, f"{summary['vendor']} requirements by level and area"),
        _filters(summary["requirements"]) if filters else "",
        _failures(summary, prefix),
        _matrix(summary, prefix),
        "<details><summary>counts as tables</summary>",
        _count_table("by level", "level", summary["totals"]["by_level"]),
        _count_table("by area", "area", _by_area(summary), AREA_NAMES),
        "</details>",
    ]
    return f"<section class='kms-report' id='{escape(prefix)}kms-requirements'>{''.join(parts)}</section>"


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title>{STYLE}</head><body>{body}{SCRIPT}</body></html>\n"
    )


def run_page(summary: Mapping[str, Any], checks_page: str | None = "checks.html") -> str:
    """``report.html`` of one run: a whole self-contained page."""
    where = "bundled mock" if summary.get("mock") else summary["target"]
    return _page(
        f"{summary['verdict'].upper()} · {vendor_title(summary['vendor'])} · {where} · kms-conformance",
        run_section(summary, checks_page=checks_page),
    )


def requirement_matrix(summary: Mapping[str, Any], prefix: str = "") -> str:
    """The run section for a pytest-html page of the team's own (plugin mode), with its style."""
    return STYLE + run_section(summary, prefix, filters=False)


def _family(requirement_id: str) -> str:
    """``HW-STATE-003`` -> ``STATE``: the part of an id vendors share."""
    parts = requirement_id.split("-")
    return parts[1] if len(parts) >= 3 else requirement_id


def _family_table(runs: Sequence[Mapping[str, Any]]) -> str:
    """Per requirement family present in several vendors: each run's passed / total in it."""
    vendors_of: dict[str, set[str]] = {}
    for run in runs:
        for row in run["summary"]["requirements"]:
            vendors_of.setdefault(_family(row["id"]), set()).add(run["summary"]["vendor"])
    shared = [f for f, v in vendors_of.items() if len(v) > 1]
    if not shared:
        return ""
    head = "".join(f"<th>{escape(run['label'])}</th>" for run in runs)
    rows = []
    for family in shared:
        cells = []
        for run in runs:
            mine = [r for r in run["summary"]["requirements"] if _family(r["id"]) == family]
            if not mine:
                cells.append("<td class='kms-none'>&ndash;</td>")
                continue
            counts = {s: sum(r["status"] == s for r in mine) for s in STATUSES}
            worst = next((s for s in ("failed", "blocked", "allowed") if counts[s]), "passed")
            text = f"{counts['passed']}/{len(mine)} passed" + "".join(
                f", {counts[s]} {LABELS[s]}"
                for s in ("failed", "blocked", "allowed", "not_covered")
                if counts[s]
            )
            cells.append(
                f"<td class='kms-family-cell' data-run='{escape(run['label'])}' data-family='{escape(family)}' "
                f"data-status='{worst}'>{_badge(worst, text)}</td>"
            )
        rows.append(
            f"<tr class='kms-family' data-family='{escape(family)}'><th>{escape(family)}</th>{''.join(cells)}</tr>"
        )
    return (
        "<h2>Requirement families shared by several vendors</h2>"
        "<p class='kms-why'>Requirement ids differ per vendor (HW-, TH-, YC-); their families (the part after the "
        "prefix) compare like with like.</p>"
        f"<table class='kms-families'><tr><th>family</th>{head}</tr>{''.join(rows)}</table>"
    )


def _shared_matrix(merged: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> str:
    """Requirements x runs, only for requirement ids at least two runs have (shards of one vendor)."""
    labels = [run["label"] for run in runs]
    shared = [row for row in merged["matrix"] if len(row["results"]) > 1]
    if not shared:
        return ""
    columns = [lb for lb in labels if any(lb in row["results"] for row in shared)]
    head = "".join(f"<th>{escape(label)}</th>" for label in columns)
    rows = []
    for row in shared:
        cells = []
        for label in columns:
            status = row["results"].get(label)
            if status is None:
                cells.append("<td class='kms-none'>&ndash;</td>")
            else:
                link = f"#{escape(_slug(label))}-{escape(row['id'])}"
                cells.append(
                    f"<td data-run='{escape(label)}' data-status='{escape(status)}'><a href='{link}'>{_badge(status)}</a></td>"
                )
        rows.append(
            f"<tr class='kms-xreq' data-id='{escape(row['id'])}'><td>{escape(row['id'])}</td><td>{escape(row['level'])}</td>"
            f"<td>{escape(AREA_NAMES.get(row['area'], row['area']))}</td><td>{escape(row['title'])}</td>"
            f"<td><a class='kms-doc' href='{escape(row['source'])}'>doc</a></td>{''.join(cells)}</tr>"
        )
    return (
        "<h2>Requirement matrix (runs of the same vendor)</h2><table class='kms-matrix kms-combined'><tr><th>requirement</th>"
        f"<th>level</th><th>area</th><th>statement</th><th>source</th>{head}</tr>{''.join(rows)}</table>"
    )


def combined_page(merged: Mapping[str, Any]) -> str:
    """A self-contained page for several runs: verdict, runs, shared views, then each run's section."""
    runs: Sequence[Mapping[str, Any]] = merged["runs"]
    labels = [run["label"] for run in runs]
    totals = merged["totals"]
    nav = "".join(
        f"<a href='#{escape(_slug(label))}-kms-requirements'>{escape(label)}</a>" for label in labels
    )
    summary_rows = "".join(
        f"<tr class='kms-run' data-run='{escape(run['label'])}' data-verdict='{escape(run['summary']['verdict'])}'>"
        f"<td><a href='#{escape(_slug(run['label']))}-kms-requirements'>{escape(run['label'])}</a></td>"
        f"<td>{escape(vendor_title(run['summary']['vendor']))}</td><td>{_target_words(run['summary'])}</td>"
        f"<td>{_badge(run['summary']['verdict'], run['summary']['verdict'].upper())}</td>"
        + "".join(f"<td class='kms-num'>{run['summary']['totals'].get(s, 0)}</td>" for s in STATUSES)
        + "</tr>"
        for run in runs
    )
    groups = [
        (f"run:{run['label']}", run["label"], {s: run["summary"]["totals"].get(s, 0) for s in STATUSES})
        for run in runs
    ]
    all_rows = [r for run in runs for r in run["summary"]["requirements"]]
    sections = "".join(
        f"<hr><h2 id='{escape(_slug(run['label']))}'>{escape(run['label'])}</h2>"
        + run_section(run["summary"], prefix=_slug(run["label"]) + "-", filters=False)
        for run in runs
    )
    verdict = merged["verdict"]
    body = (
        f"<section class='kms-report' id='kms-combined'><header class='kms-header'>"
        f"<div class='kms-verdict kms-{escape(verdict)}' id='kms-verdict' data-verdict='{escape(verdict)}'>"
        f"{escape(verdict.upper())}</div><div><h1>kms-conformance &mdash; {len(runs)} runs</h1>"
        f"<p class='kms-totals' data-runs='{len(runs)}' data-requirements='{totals['requirements']}' "
        f"data-failed='{totals['failed']}'>{totals['requirements']} requirement results: "
        f"{totals['passed']} passed, {totals['failed']} failed, {totals.get('blocked', 0)} blocked, "
        f"{totals['allowed']} allowed by baseline, {totals['not_covered']} not covered.</p><nav>{nav}</nav></div></header>"
        f"<figure class='kms-picture'>{compliance_chart(groups, 'requirements by run')}</figure>"
        "<table class='kms-runs'><tr><th>run</th><th>vendor</th><th>target</th><th>verdict</th>"
        + "".join(f"<th>{escape(LABELS[s])}</th>" for s in STATUSES)
        + f"</tr>{summary_rows}</table>"
        + _family_table(runs)
        + _shared_matrix(merged, runs)
        + _filters(all_rows)
        + f"</section>{sections}"
    )
    return _page(f"{verdict.upper()} · kms-conformance · {', '.join(labels)}", body)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-") or "run"

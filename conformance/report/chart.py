"""The compliance picture of a report: one stacked bar per level and per area, as inline SVG.

Inline SVG because the page must open offline and stay one file: no chart library, no script,
no font.  Each segment is a ``<rect>`` with ``data-group``/``data-status``/``data-count`` (what
the project's tests read back from the rendered page) and a ``<title>`` (the browser's tooltip).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from conformance.verdict import STATUSES

COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "blocked": "#8250df",
    "allowed": "#bf8700",
    "not_covered": "#8c959f",
}
_LABEL_W, _BAR_W, _COUNT_W, _ROW_H, _BAR_H = 150, 460, 170, 24, 16


def _row(y: int, label: str, counts: Mapping[str, int], group: str) -> str:
    total = sum(int(counts.get(s, 0)) for s in STATUSES)
    parts = [
        f"<text x='0' y='{y + 13}' class='kms-chart-label'>{escape(label)}</text>",
        f"<rect x='{_LABEL_W}' y='{y}' width='{_BAR_W}' height='{_BAR_H}' fill='#f6f8fa' stroke='#d0d7de'/>",
    ]
    x = float(_LABEL_W)
    for status in STATUSES:
        n = int(counts.get(status, 0))
        if not n:
            continue
        width = _BAR_W * n / total
        parts.append(
            f"<rect class='kms-seg' data-group='{escape(group)}' data-status='{status}' data-count='{n}' "
            f"x='{x:.1f}' y='{y}' width='{width:.1f}' height='{_BAR_H}' fill='{COLOURS[status]}'>"
            f"<title>{escape(label)}: {n} {status.replace('_', ' ')}</title></rect>"
        )
        x += width
    passed = int(counts.get("passed", 0))
    parts.append(
        f"<text x='{_LABEL_W + _BAR_W + 8}' y='{y + 13}' class='kms-chart-count'>"
        f"{passed}/{total} passed</text>"
    )
    return "".join(parts)


def compliance_chart(groups: Sequence[tuple[str, str, Mapping[str, int]]], caption: str) -> str:
    """An SVG with one bar per ``(group key, label, counts by status)``; empty groups are skipped."""
    rows = [(key, label, counts) for key, label, counts in groups if sum(counts.values())]
    height = _ROW_H * len(rows) + 28
    width = _LABEL_W + _BAR_W + _COUNT_W
    body = "".join(_row(i * _ROW_H, label, counts, key) for i, (key, label, counts) in enumerate(rows))
    legend_y = _ROW_H * len(rows) + 14
    legend = []
    x = _LABEL_W
    for status in STATUSES:
        legend.append(
            f"<rect x='{x}' y='{legend_y - 9}' width='10' height='10' fill='{COLOURS[status]}'/>"
            f"<text x='{x + 14}' y='{legend_y}' class='kms-chart-legend'>{status.replace('_', ' ')}</text>"
        )
        x += 92
    return (
        f"<svg class='kms-chart' xmlns='http://www.w3.org/2000/svg' role='img' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' aria-label='{escape(caption)}'>"
        f"<title>{escape(caption)}</title>{body}{''.join(legend)}</svg>"
    )

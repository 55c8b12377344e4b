"""The compliance report of a failing run, read like a page: static HTML, headless Chromium,
SARIF 2.1.0 (validated against the official schema, vendored in tests/data) and the JUnit files."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from browser import above_the_fold, open_report
from conftest import CliResult, run_cli

from conformance.report.html import combined_page, requirement_matrix
from conformance.specs import spec_path

DATA = Path(__file__).parent / "data"
FAULT, REQUIREMENT = "cancel-to-enabled", "HW-STATE-004"


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> CliResult:
    report_dir = tmp_path_factory.mktemp("failing") / "run"
    result = run_cli(
        "run",
        "--vendor",
        "huawei",
        "--mock-fault",
        FAULT,
        "--scope",
        "lifecycle",  # the report of every requirement, some of them not covered (outside the scope)
        "--max-examples",
        "2",
        "--progress",
        "lines",
        report_dir=report_dir,
    )
    assert result.code == 1, result.stdout[-2000:] + result.stderr[-2000:]
    return result


class _Rows(HTMLParser):
    """Collects elements with a class or data-* attributes from a (dumped) DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, str]] = []
        self.text: dict[int, str] = {}
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, **{k: v or "" for k, v in attrs}})
        self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            index = self._open.pop()
            if self.elements[index]["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            index = self._open[-1]
            self.text[index] = self.text.get(index, "") + data

    def with_class(self, name: str) -> list[tuple[dict[str, str], str]]:
        return [
            (e, self.text.get(i, ""))
            for i, e in enumerate(self.elements)
            if name in e.get("class", "").split()
        ]


def _parse(html: str) -> _Rows:
    rows = _Rows()
    rows.feed(html)
    return rows


def _check_counts(dom: str, summary: dict[str, Any]) -> None:
    rows = _parse(dom)
    requirement_rows = [e for e, _ in rows.with_class("kms-req") if e["tag"] == "tr"]
    assert len(requirement_rows) == summary["totals"]["requirements"]
    assert {e["data-id"]: e["data-status"] for e in requirement_rows} == {
        r["id"]: r["status"] for r in summary["requirements"]
    }
    totals = next(e for e, _ in rows.with_class("kms-totals"))
    for key in ("passed", "failed", "allowed"):
        assert int(totals[f"data-{key}"]) == summary["totals"][key]
    counts = rows.with_class("kms-count")
    by_level = {(e["data-level"], e["data-status"]): int(text) for e, text in counts if "data-level" in e}
    by_area = {(e["data-area"], e["data-status"]): int(text) for e, text in counts if "data-area" in e}
    assert by_level == {(lv, s): n for lv, c in summary["totals"]["by_level"].items() for s, n in c.items()}
    assert by_area == {(a, s): n for a, c in summary["totals"]["by_area"].items() for s, n in c.items()}


# -- static HTML -----------------------------------------------------------------------------------


def test_failed_requirement_shows_doc_link_exchange_and_curl(failing_run: CliResult) -> None:
    html = (failing_run.report_dir / "report.html").read_text()
    row = next(r for r in failing_run.summary["requirements"] if r["id"] == REQUIREMENT)
    assert row["status"] == "failed"
    section = html[html.index(f"id='{REQUIREMENT}-detail'") :]
    section = section[: section.index("</div>")]
    assert row["source"] in section  # the doc link
    assert "&gt; POST http://127.0.0.1:" in section and "cancel-key-deletion" in section  # the request
    assert "&lt; 200" in section  # the response
    assert "expected" in section and "actual" in section
    curl = re.search(r"<pre class='kms-curl'>([^<]*cancel-key-deletion[^<]*)</pre>", section)
    assert curl and "${KMS_CONFORMANCE_TOKEN}" in curl.group(1)
    _check_counts(html, failing_run.summary)


def test_no_credential_in_any_output(failing_run: CliResult) -> None:
    from conformance.mocks import mock_definition

    definition = mock_definition("huawei")
    secrets = [
        v for k, v in definition.credentials(definition.config([FAULT])).items() if k in ("token", "sk")
    ]
    assert secrets
    for path in failing_run.report_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not any(s in text for s in secrets), f"credential in {path.name}"


def test_report_is_self_contained(failing_run: CliResult) -> None:
    html = (failing_run.report_dir / "report.html").read_text()
    assert not re.search(r"<(script|img|iframe)[^>]+src=['\"]?(https?:)?//", html, re.I)
    assert not re.search(r"<link[^>]+href=['\"]?(https?:)?//", html, re.I)
    assert "@import" not in html


def test_not_covered_shows_its_reason() -> None:
    summary = {
        "vendor": "huawei",
        "target": "http://t",
        "verdict": "pass",
        "started_at": "",
        "duration_s": 1,
        "totals": {
            "requirements": 1,
            "passed": 0,
            "failed": 0,
            "allowed": 0,
            "not_covered": 1,
            "tests": 1,
            "requests": 0,
            "by_level": {"must": {"passed": 0, "failed": 0, "allowed": 0, "not_covered": 1}},
        },
        "requirements": [
            {
                "id": "HW-AUTH-004",
                "level": "must",
                "area": "auth",
                "title": "403 <check>",
                "source": "https://doc.example/x",
                "status": "not_covered",
                "tests": ["t"],
                "message": "no --forbidden-token given",
                "evidence": [],
            }
        ],
    }
    html = requirement_matrix(summary)
    assert "no --forbidden-token given" in html and "403 &lt;check&gt;" in html
    assert "data-area='auth' data-status='not_covered'>1<" in html


# -- headless Chromium ---------------------------------------------------------------------------


def _visible_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "tr.kms-req", "rows => rows.filter(r => !r.hidden && r.offsetParent !== null).map(r => r.dataset.id)"
    )


def test_failing_report_in_chromium(failing_run: CliResult, browser: Any, tmp_path: Path) -> None:
    """The verdict first, the picture drawn, failures before the table, filters that hide."""
    summary = failing_run.summary
    statuses = {r["id"]: r for r in summary["requirements"]}
    with open_report(browser, failing_run.report_dir / "report.html") as page:
        assert above_the_fold(page, "#kms-verdict") and page.inner_text("#kms-verdict") == "FAIL"
        header = page.inner_text("header.kms-header")
        assert "Huawei Cloud KMS" in header and f"fault {FAULT}" in header and "bundled huawei mock" in header
        assert "fails on must requirements" in header and summary["started_at"] in header
        assert above_the_fold(page, "svg.kms-chart")
        segments = page.eval_on_selector_all(
            "svg.kms-chart rect.kms-seg",
            "els => els.map(e => [e.dataset.group, e.dataset.status, +e.dataset.count, e.getBBox().width])",
        )
        drawn = {(g, s): n for g, s, n, width in segments if width > 0}
        by_level = summary["totals"]["by_level"]
        assert drawn == {
            **{(f"level:{lv}", s): n for lv, c in by_level.items() for s, n in c.items() if n},
            **{
                (f"area:{a}", s): n
                for a, c in summary["totals"]["by_area"].items()
                for s, n in c.items()
                if n
            },
        }
        failure = page.locator(f"#{REQUIREMENT}-detail")
        assert failure.bounding_box()["y"] < page.locator("table.kms-matrix").bounding_box()["y"]
        cells = failure.locator("table.kms-expect td").all_inner_texts()
        assert cells and all(text.strip() for text in cells)  # expected vs actual, never an empty cell
        assert (
            page.locator(f"#{REQUIREMENT}-detail pre.kms-rerun").inner_text()
            == statuses[REQUIREMENT]["reproduce"]
        )
        assert set(_visible_ids(page)) == set(statuses)
        page.uncheck("input[name=status][value=passed]")
        visible = _visible_ids(page)
        assert visible and all(statuses[i]["status"] != "passed" for i in visible)
        assert REQUIREMENT in visible
        assert f"{len(visible)} of {len(statuses)} requirements shown" in page.inner_text(".kms-shown")
        page.select_option("select[name=level]", "should")
        assert REQUIREMENT not in _visible_ids(page) and failure.is_hidden()
        assert "level=should" in page.url  # the filtered view can be linked
        page.screenshot(path=str(tmp_path / "failing.png"), full_page=True)
        assert page.problems == []
    with open_report(browser, failing_run.report_dir / "report.html", "status=failed") as page:
        assert _visible_ids(page) == [i for i, r in statuses.items() if r["status"] == "failed"]
        assert page.problems == []


def test_passing_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "--vendor",
        "yandex",
        "--scope",
        "lifecycle",
        "--max-examples",
        "1",
        "--progress",
        "off",
        report_dir=tmp_path / "run",
    )
    assert result.code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open_report(browser, result.report_dir / "report.html") as page:
        assert above_the_fold(page, "#kms-verdict") and page.inner_text("#kms-verdict") == "PASS"
        assert "faithful (no faults, default options)" in page.inner_text("header.kms-header")
        assert "None: every requirement that ran passed." in page.inner_text("#kms-failures + p")
        assert page.locator("svg.kms-chart rect.kms-seg[data-status=failed]").count() == 0
        assert page.locator("a[href='checks.html']").count() == 1
        page.screenshot(path=str(tmp_path / "passing.png"), full_page=True)
        assert page.problems == []
    # pytest-html's per-check log is beside it, and its own script renders it.
    with open_report(browser, result.report_dir / "checks.html") as page:
        assert page.locator("tbody.results-table-row").count() == result.summary["totals"]["tests"]
        assert page.locator("a[href='report.html']").count() >= 1


def test_combined_page_renders_in_chromium(failing_run: CliResult, browser: Any, tmp_path: Path) -> None:
    """Two shards of one vendor: their requirement ids are comparable, so one matrix shows both."""
    from conformance.report.merge import find_summaries, merge_summaries

    shard = tmp_path / "second" / "summary.json"
    shard.parent.mkdir()
    shard.write_text(json.dumps({**failing_run.summary, "started_at": "2026-01-01T00:00:00Z"}))
    merged = merge_summaries(find_summaries([failing_run.report_dir, shard]))
    page_file = tmp_path / "combined.html"
    page_file.write_text(combined_page(merged))
    with open_report(browser, page_file) as page:
        assert above_the_fold(page, "#kms-verdict") and page.inner_text("#kms-verdict") == "FAIL"
        matrix = page.eval_on_selector_all("tr.kms-xreq", "rows => rows.map(r => r.dataset.id)")
        assert matrix == [r["id"] for r in failing_run.summary["requirements"]]
        assert page.locator("svg.kms-chart").count() == 3  # the runs, then each run's own
        assert page.locator("table.kms-families").count() == 0  # one vendor: no cross-vendor view
        page.uncheck("input[name=status][value=passed]")
        assert all(
            s != "passed"
            for s in page.eval_on_selector_all(
                "tr.kms-req", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.status)"
            )
        )
        page.screenshot(path=str(tmp_path / "combined.png"), full_page=True)
        assert page.problems == []


# -- machine outputs -------------------------------------------------------------------------------


def _operation_line(spec: Path, path_suffix: str, method: str) -> int:
    lines = spec.read_text().splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("  /") and line.rstrip().endswith(path_suffix + ":")
    )
    return next(i for i in range(start + 1, len(lines)) if lines[i].strip() == f"{method}:") + 1


def test_sarif_validates_and_points_at_the_operation(failing_run: CliResult) -> None:
    log = json.loads((failing_run.report_dir / "report.sarif").read_text())
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    failed = {r["id"] for r in failing_run.summary["requirements"] if r["status"] == "failed"}
    assert {r["ruleId"] for r in run["results"]} == failed
    result = next(r for r in run["results"] if r["ruleId"] == REQUIREMENT)
    assert result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "specs/huawei.yaml"
    assert location["region"]["startLine"] == _operation_line(
        spec_path("huawei.yaml"), "/cancel-key-deletion", "post"
    )
    rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == REQUIREMENT and rule["helpUri"].startswith("https://")


def test_junit_names_requirements_and_levels(failing_run: CliResult) -> None:
    tree = ET.parse(failing_run.report_dir / "junit.xml")
    props = {(p.get("name"), p.get("value")) for p in tree.iter("property")}
    assert (f"requirement.{REQUIREMENT}", "must") in props
    per_requirement = ET.parse(failing_run.report_dir / "junit-requirements.xml")
    cases = {c.get("name").split()[0]: c for c in per_requirement.iter("testcase")}
    assert len(cases) == failing_run.summary["totals"]["requirements"]
    case = cases[REQUIREMENT]
    assert case.get("classname") == "kms-conformance.huawei.must.state"
    assert case.find("failure") is not None and "reproduce: curl" in case.find("failure").text
    assert (
        sum(c.find("failure") is not None for c in cases.values()) == failing_run.summary["totals"]["failed"]
    )


def test_progress_lines_when_not_a_tty(failing_run: CliResult) -> None:
    lines = [line for line in failing_run.stderr.splitlines() if line.startswith("[huawei]")]
    assert lines[0] == "[huawei] collecting"
    assert any(line.startswith("[huawei] checks:") for line in lines)
    assert (
        f"[huawei] FAILED test_transition[{REQUIREMENT}:cancel_deletion@pending-deletion->disabled]" in lines
    )
    assert any(line.startswith("[huawei] checks done:") for line in lines)
    assert "\r" not in failing_run.stderr and "\x1b[" not in failing_run.stderr

"""Many targets: ``run --vendor all`` writes one combined report; ``report merge`` combines runs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from browser import above_the_fold, open_report
from conftest import CliResult, run_cli

from conformance import vendors
from conformance.report.merge import MERGED_SCHEMA, MergeError, find_summaries, merge_summaries
from conformance.requirements import load_catalogue

VENDORS = vendors.names()
FAST = ("--scope", "lifecycle", "--max-examples", "2", "--progress", "off")


@pytest.fixture(scope="module")
def all_run(tmp_path_factory: pytest.TempPathFactory) -> CliResult:
    root = tmp_path_factory.mktemp("all") / "reports"
    result = run_cli("run", "--vendor", "all", *FAST, report_dir=root)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return result


def test_vendor_all_writes_one_combined_report(all_run: CliResult) -> None:
    root = all_run.report_dir
    assert f"combined report: {root / 'report.html'}" in all_run.stdout
    merged = json.loads((root / "summary.json").read_text())
    assert merged["schema"] == MERGED_SCHEMA and merged["verdict"] == "pass"
    assert [run["label"] for run in merged["runs"]] == list(VENDORS)
    expected = sum(len(load_catalogue(v)) for v in VENDORS)
    assert len(merged["matrix"]) == expected == merged["totals"]["requirements"]
    html = (root / "report.html").read_text()
    for vendor in VENDORS:
        assert f"id='{vendor}-kms-requirements'" in html
    # Ids differ per vendor: no requirements x runs matrix of empty cells, one section per vendor,
    # and one row per requirement family that several vendors have.
    assert "<tr class='kms-xreq'" not in html
    families = {v: {r.split("-")[1] for r in load_catalogue(v)} for v in VENDORS}
    shared = {f for f in set().union(*families.values()) if sum(f in fams for fams in families.values()) > 1}
    assert shared and set(re.findall(r"<tr class='kms-family' data-family='([^']+)'", html)) == shared


def test_vendor_all_page_in_chromium(all_run: CliResult, browser: Any) -> None:
    merged = json.loads((all_run.report_dir / "summary.json").read_text())
    with open_report(browser, all_run.report_dir / "report.html") as page:
        assert above_the_fold(page, "#kms-verdict") and page.inner_text("#kms-verdict") == "PASS"
        runs = page.eval_on_selector_all(
            "tr.kms-run", "rows => rows.map(r => [r.dataset.run, r.dataset.verdict])"
        )
        assert runs == [[v, "pass"] for v in VENDORS]
        drawn = page.eval_on_selector_all(
            "svg.kms-chart:first-of-type rect.kms-seg",
            "els => els.filter(e => e.getBBox().width > 0).map(e => [e.dataset.group, e.dataset.status, +e.dataset.count])",
        )
        for run in merged["runs"]:
            for status, count in run["summary"]["totals"].items():
                if status in ("passed", "not_covered") and count:
                    assert [f"run:{run['label']}", status, count] in drawn
        assert page.locator("table.kms-families").is_visible()
        total = page.locator("tr.kms-req").count()
        assert total == merged["totals"]["requirements"]
        page.select_option("select[name=area]", "auth")
        shown = page.eval_on_selector_all(
            "tr.kms-req", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.area)"
        )
        assert shown and set(shown) == {"auth"} and len(shown) < total
        assert page.problems == []


def test_report_merge_of_three_vendor_runs(all_run: CliResult, tmp_path: Path) -> None:
    out = tmp_path / "merged"
    dirs = [str(all_run.report_dir / v) for v in VENDORS]
    result = run_cli("report", "merge", *dirs, "--output", str(out))
    assert result.code == 0, result.stdout + result.stderr
    assert "verdict: PASS (3 runs)" in result.stdout
    merged = json.loads((out / "summary.json").read_text())
    combined = json.loads((all_run.report_dir / "summary.json").read_text())
    assert merged["matrix"] == combined["matrix"]
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    sarif = json.loads((out / "report.sarif").read_text())
    jsonschema.Draft7Validator(schema).validate(sarif)
    assert [r["tool"]["driver"]["rules"][0]["id"].split("-")[0] for r in sarif["runs"]] == ["HW", "TH", "YC"]
    assert (out / "junit-requirements.xml").exists()


def test_merge_of_shards_of_one_vendor_labels_each_run(all_run: CliResult, tmp_path: Path) -> None:
    """CI-matrix shards of one vendor (regions, environments): one column each."""
    shards = []
    for name in ("eu-west", "eu-north", "staging"):
        shard = tmp_path / name
        shard.mkdir()
        summary = json.loads((all_run.report_dir / "huawei" / "summary.json").read_text())
        summary["target"] = f"https://kms.{name}.example"
        if name == "staging":
            summary["verdict"] = "fail"
            summary["requirements"][0]["status"] = "failed"
        (shard / "summary.json").write_text(json.dumps(summary))
        shards.append(shard)
    merged = merge_summaries(find_summaries(shards))
    labels = [run["label"] for run in merged["runs"]]
    assert labels == ["huawei (eu-west)", "huawei (eu-north)", "huawei (staging)"]
    assert merged["verdict"] == "fail"
    first = merged["matrix"][0]
    assert first["results"] == {
        "huawei (eu-west)": "passed",
        "huawei (eu-north)": "passed",
        "huawei (staging)": "failed",
    }
    result = run_cli("report", "merge", *map(str, shards), "--output", str(tmp_path / "out"))
    assert result.code == 1 and "verdict: FAIL (3 runs)" in result.stdout
    # Shards of one vendor share their ids: here the matrix is the comparison.
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<tr class='kms-xreq'") == len(merged["matrix"])
    assert "kms-families" not in html


def test_merged_summary_can_be_merged_again(all_run: CliResult, tmp_path: Path) -> None:
    again = merge_summaries(find_summaries([all_run.report_dir / "summary.json"]))
    assert [run["label"] for run in again["runs"]] == list(VENDORS)
    # A tree holding the runs and their combined copy counts each run once.
    assert len(find_summaries([all_run.report_dir])) == 3


def test_merge_rejects_what_is_not_a_summary(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text("{}")
    with pytest.raises(MergeError):
        find_summaries([bogus])
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("report", "merge", str(empty), "--output", str(tmp_path / "o"))
    assert result.code == 2 and "no summary.json" in result.stderr
    shutil.rmtree(empty)

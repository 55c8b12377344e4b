"""JUnit XML for CI test views.

Two files per run:

* ``junit.xml`` (pytest's own): one ``<testcase>`` per check (a state-table row, a probe, a
  generated operation).  Each carries a ``requirement.<ID>`` property per requirement it proves,
  valued with the requirement's level (``<property name="requirement.HW-STATE-004" value="must"/>``).
* ``junit-requirements.xml`` (written here from summary.json): one ``<testcase>`` per
  *requirement* -- ``classname`` ``kms-conformance.<vendor>.<level>.<area>``, ``name`` ``<ID>
  <statement>`` -- failed with the message and redacted evidence, ``skipped`` when not covered
  (with the reason), passed otherwise (a baseline allowance is noted in ``system-out`` and as a
  property).  CI test views (GitLab's test report, GitHub JUnit report actions, Jenkins) list
  test cases, not properties, so this is the file to hand them to see requirement verdicts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from conformance.requirements import load_catalogue


@cache
def _levels(vendor: str) -> dict[str, str]:
    try:
        return {r.id: r.level for r in load_catalogue(vendor).values()}
    except ValueError:
        return {}


def requirement_properties(vendor: str, requirement_ids: Iterable[str]) -> list[tuple[str, str]]:
    """``(requirement.<ID>, <level>)`` junit properties for the requirements a check proves."""
    levels = _levels(vendor)
    return [(f"requirement.{req}", levels.get(req, "unknown")) for req in requirement_ids]


def requirement_junit(summaries: Iterable[Mapping[str, Any]]) -> ET.ElementTree:
    suites = ET.Element("testsuites", name="kms-conformance requirements")
    for summary in summaries:
        rows = summary["requirements"]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"kms-conformance.{summary['vendor']}",
            tests=str(len(rows)),
            failures=str(sum(r["status"] == "failed" for r in rows)),
            errors=str(sum(r["status"] == "blocked" for r in rows)),
            skipped=str(sum(r["status"] == "not_covered" for r in rows)),
            time=str(summary.get("duration_s", 0)),
            timestamp=str(summary.get("started_at", "")),
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("target", summary.get("target", "")),
            ("verdict", summary.get("verdict", "")),
            ("gate_levels", " ".join(summary.get("gate_levels", ["must"]))),
        ):
            ET.SubElement(props, "property", name=name, value=str(value))
        for row in rows:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"kms-conformance.{summary['vendor']}.{row['level']}.{row['area']}",
                name=f"{row['id']} {row['title']}",
                time="0",
            )
            cprops = ET.SubElement(case, "properties")
            for name, value in (
                ("requirement", row["id"]),
                ("level", row["level"]),
                ("area", row["area"]),
                ("source", row["source"]),
                ("status", row["status"]),
                ("basis", row.get("basis", "")),
                ("blocked_by", " ".join(row.get("blocked_by", []))),
            ):
                if not value:
                    continue
                ET.SubElement(cprops, "property", name=name, value=str(value))
            if row["status"] == "failed":
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=row["message"].splitlines()[0][:500] if row["message"] else "failed",
                    type=f"{row['level']}-requirement",
                )
                failure.text = "\n\n".join([row["message"], *row.get("evidence", [])])
            elif row["status"] == "blocked":
                # A check for it did not complete: a JUnit error, not a pass and not a skip.
                blockers = ", ".join(row.get("blocked_by", []))
                error = ET.SubElement(
                    case,
                    "error",
                    message=(f"blocked by {blockers}: " if blockers else "blocked: ")
                    + (row["message"].splitlines()[0][:400] if row["message"] else ""),
                    type="blocked",
                )
                error.text = row["message"]
            elif row["status"] == "not_covered":
                ET.SubElement(case, "skipped", message=f"not covered: {row['message']}"[:500])
            elif row["status"] == "allowed":
                out = ET.SubElement(case, "system-out")
                out.text = row["message"]
            if row.get("tests"):
                found = case.find("system-out")
                out = found if found is not None else ET.SubElement(case, "system-out")
                out.text = (out.text + "\n" if out.text else "") + "checks: " + ", ".join(row["tests"])
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_requirement_junit(summaries: Iterable[Mapping[str, Any]], path: str | Path) -> None:
    requirement_junit(summaries).write(path, encoding="utf-8", xml_declaration=True)

"""``report.sarif``: SARIF 2.1.0 so failed requirements show up in code-scanning UIs.

One *rule* per catalogue requirement (id, statement, doc link as ``helpUri``, level and area as
properties; ``must`` -> ``error``, ``should`` -> ``warning``).  One *result* per failed or
baseline-allowed requirement (allowed ones carry an ``external`` suppression with the baseline
reason, so code scanning shows them as dismissed).  Each result is located at the operation in
the vendor's spec that the failing checks exercised -- the spec this installation loads
(``conformance.specs.spec_path``): ``specs/<vendor>.yaml`` relative to the ``SPECROOT`` base,
which ``run.originalUriBaseIds`` defines as the absolute ``file:`` URI of the directory holding
the spec folder (a checkout's root; in an installed wheel, where the folder is ``_specs``, the
package directory and the URI ``_specs/<vendor>.yaml``):

* ``test_generated[POST /v1.0/{project_id}/kms/create-key]`` names the operation directly;
* ``test_transition[...]`` / ``test_probe[...]`` are looked up in the profile's tables, and the
  row's spec operationId gives the method and path;
* anything else falls back to the top of the spec's ``paths:``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"
SPEC_BASE = "SPECROOT"  # the uriBaseId of every location: the directory holding the spec folder
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
_TEST_ID = re.compile(r"^(?P<func>[\w]+)\[(?P<param>.*)\]$")


@cache
def _spec_index(spec: Path) -> tuple[dict[tuple[str, str], int], int, dict[str, tuple[str, str]]]:
    """(METHOD, path template) -> 1-based line of the operation; the line of ``paths:``; and
    operationId -> (METHOD, path template)."""
    try:
        root = yaml.compose(spec.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}, 1, {}
    found: dict[tuple[str, str], int] = {}
    by_id: dict[str, tuple[str, str]] = {}
    paths_line = 1
    if not isinstance(root, yaml.MappingNode):
        return found, paths_line, by_id
    for key, value in root.value:
        if key.value != "paths" or not isinstance(value, yaml.MappingNode):
            continue
        paths_line = key.start_mark.line + 1
        for path_key, item in value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            for method_key, operation in item.value:
                if str(method_key.value).lower() not in _METHODS:
                    continue
                where = (str(method_key.value).upper(), str(path_key.value))
                found[where] = method_key.start_mark.line + 1
                if isinstance(operation, yaml.MappingNode):
                    for field_key, field_value in operation.value:
                        if field_key.value == "operationId" and isinstance(field_value, yaml.ScalarNode):
                            by_id[str(field_value.value)] = where
    return found, paths_line, by_id


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+?" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def _match(spec: Path, method: str, path: str) -> int | None:
    index = _spec_index(spec)[0]
    if (method, path) in index:
        return index[(method, path)]
    best: tuple[int, int] | None = None
    for (m, template), line in index.items():
        if m == method and _template_regex(template).search(path):
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            if best is None or literal > best[0]:
                best = (literal, line)
    return best[1] if best else None


@cache
def _row_operations(vendor: str) -> dict[str, str]:
    """Parametrized row id (``HW-STATE-004:cancel_deletion@...``) -> the spec operationId the row sends."""
    try:
        from conformance.profiles import profile_class

        profile = profile_class(vendor)
    except Exception:  # noqa: BLE001
        return {}
    rows = {t.id: t.operation for t in profile.transitions}
    rows.update({p.id: p.operation for p in profile.probes})
    return {row: profile.operation_ids.get(call, call) for row, call in rows.items()}


def spec_for(vendor: str) -> Path:
    """The vendor's spec as registered; a name under ``specs/`` for an unknown vendor."""
    from conformance import vendors

    try:
        return vendors.get(vendor).spec
    except vendors.UnknownVendor:
        return Path("specs") / f"{vendor}.yaml"


def spec_artifact(vendor: str) -> tuple[str, dict[str, Any]]:
    """The vendor spec's artifact URI (relative to ``SPEC_BASE``) and the base's definition for
    ``run.originalUriBaseIds``: the absolute ``file:`` URI of the directory holding the spec folder
    (``specs/`` in a checkout, ``_specs/`` in an installed wheel).  A spec this installation does
    not have (a plug-in vendor's summary merged elsewhere) gets the URI without a base URI."""
    spec = spec_for(vendor)
    base: dict[str, Any] = {
        "description": {"text": "the directory holding the spec folder this run loaded the vendor spec from"}
    }
    if not spec.is_file():
        return f"specs/{spec.name}", base
    spec = spec.resolve()
    root = spec.parent.parent
    uri = root.as_uri()
    return spec.relative_to(root).as_posix(), {"uri": uri if uri.endswith("/") else uri + "/", **base}


def check_location(vendor: str, test: str) -> tuple[str, int] | None:
    """(``METHOD path``, spec line) of the operation a check exercised, if known."""
    spec = spec_for(vendor)
    match = _TEST_ID.match(test.split("::")[-1])
    if not match:
        return None
    param = match.group("param")
    if match.group("func") == "test_generated":
        method, _, path = param.partition(" ")
        line = _match(spec, method.upper(), path)
        return (param, line) if line else None
    operation_id = _row_operations(vendor).get(param)
    index, _, by_id = _spec_index(spec)
    where = by_id.get(operation_id or "")
    if where is None:
        return None
    return f"{where[0]} {where[1]}", index[where]


def _result(
    summary: Mapping[str, Any], row: Mapping[str, Any], rule_index: int, spec_uri: str
) -> dict[str, Any]:
    vendor = summary["vendor"]
    tests = row.get("failed_tests") or row.get("tests") or []
    locations: list[dict[str, Any]] = []
    seen: set[int] = set()
    for test in tests:
        found = check_location(vendor, test)
        if found is None or found[1] in seen:
            continue
        seen.add(found[1])
        locations.append(_location(spec_uri, found[1], f"{found[0]} ({test})"))
    if not locations:
        locations.append(_location(spec_uri, _spec_index(spec_for(vendor))[1], "the vendor spec"))
    message = row["message"] or row["title"]
    if row["status"] == "blocked":
        blockers = ", ".join(row.get("blocked_by", []))
        message = f"blocked{' by ' + blockers if blockers else ''}: not checked. {message}"
    result: dict[str, Any] = {
        "ruleId": row["id"],
        "ruleIndex": rule_index,
        "level": "error" if row["level"] == "must" else "warning",
        "message": {"text": f"{row['id']} ({row['level']}): {row['title']}\n{message}"[:4000]},
        "locations": locations[:10],
        "partialFingerprints": {"kmsRequirement/v1": f"{vendor}:{row['id']}"},
        "properties": {
            "vendor": vendor,
            "target": summary.get("target", ""),
            "status": row["status"],
            "tests": list(tests),
            **({"blockedBy": row["blocked_by"]} if row.get("blocked_by") else {}),
        },
    }
    if row["status"] == "allowed":
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": row["message"][:1000]}
        ]
    return result


def _location(uri: str, line: int, text: str) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": uri, "uriBaseId": SPEC_BASE},
            "region": {"startLine": line},
        },
        "message": {"text": text},
    }


def sarif_log(summaries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    runs = []
    for summary in summaries:
        vendor = summary["vendor"]
        spec_uri, spec_base = spec_artifact(vendor)
        rows = summary["requirements"]
        rules = [
            {
                "id": row["id"],
                "name": re.sub(r"[^A-Za-z0-9]", "", row["id"].title()),
                "shortDescription": {"text": row["title"]},
                "fullDescription": {"text": f"{row['title']} ({row['level']}, {row['area']})"},
                "helpUri": row["source"],
                "help": {"text": f"Documented at {row['source']}"},
                "defaultConfiguration": {"level": "error" if row["level"] == "must" else "warning"},
                "properties": {
                    "level": row["level"],
                    "area": row["area"],
                    "tags": [vendor, row["level"], row["area"]],
                },
            }
            for row in rows
        ]
        results = [
            _result(summary, row, index, spec_uri)
            for index, row in enumerate(rows)
            if row["status"] in ("failed", "blocked", "allowed")
        ]
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": "kms-conformance",
                        "version": _version(),
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"kms-conformance/{vendor}/{summary.get('started_at', '')}"},
                "originalUriBaseIds": {SPEC_BASE: spec_base},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "properties": {
                            "verdict": summary.get("verdict"),
                            "target": summary.get("target", ""),
                        },
                    }
                ],
                "results": results,
            }
        )
    return {"$schema": SCHEMA_URI, "version": VERSION, "runs": runs}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("kms-conformance")
    except Exception:  # noqa: BLE001
        return "0"


def write_sarif(summaries: Iterable[Mapping[str, Any]], path: str | Path) -> None:
    Path(path).write_text(json.dumps(sarif_log(summaries), indent=2) + "\n", encoding="utf-8")

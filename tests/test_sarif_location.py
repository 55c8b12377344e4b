"""report.sarif locations resolve, through their uriBaseId, to the spec the run loaded.

``artifactLocation.uri`` is relative; ``run.originalUriBaseIds[uriBaseId].uri`` is the absolute
``file:`` URI of the directory holding the spec folder, so a SARIF viewer finds the operation in
a checkout (``specs/``) and in an installed wheel (``conformance/_specs/``) alike.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import jsonschema
import pytest

from conformance.report import sarif
from conformance.specs import spec_path

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
GENERATED = "test_generated[POST /v1.0/{project_id}/kms/cancel-key-deletion]"


def _summary() -> dict[str, Any]:
    row = {
        "id": "HW-STATE-004",
        "level": "must",
        "area": "state",
        "title": "Cancelling a deletion leaves the key disabled",
        "source": "https://support.huaweicloud.com/api-dew/CancelKeyDeletion.html",
        "status": "failed",
        "message": "the key came back enabled",
        "tests": [GENERATED],
        "failed_tests": [GENERATED],
    }
    return {"vendor": "huawei", "target": "bundled mock", "verdict": "fail", "requirements": [row]}


def _resolved(log: dict[str, Any]) -> tuple[Path, int]:
    """The file and line of the first result's first location, resolved as a SARIF viewer does."""
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(log)
    run = log["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]
    artifact = location["artifactLocation"]
    assert not urlparse(artifact["uri"]).scheme, artifact  # relative, to its base
    base = run["originalUriBaseIds"][artifact["uriBaseId"]]["uri"]
    assert base.startswith("file:///") and base.endswith("/"), base  # absolute, a directory
    return Path(url2pathname(urlparse(urljoin(base, artifact["uri"])).path)), location["region"]["startLine"]


def _operation_at(spec: Path, line: int) -> tuple[str, str]:
    """(path key, method key) of the operation whose method key is at 1-based ``line``."""
    lines = spec.read_text(encoding="utf-8").splitlines()
    method = lines[line - 1].strip().rstrip(":")
    path = next(text for text in reversed(lines[: line - 1]) if text.startswith("  /"))
    return path.strip().rstrip(":"), method


def test_location_resolves_to_the_loaded_spec_at_the_operation() -> None:
    log = sarif.sarif_log([_summary()])
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "specs/huawei.yaml"  # in this checkout: the repository-relative path
    spec, line = _resolved(log)
    assert spec.is_file() and spec.resolve() == spec_path("huawei.yaml").resolve()
    assert _operation_at(spec, line) == ("/v1.0/{project_id}/kms/cancel-key-deletion", "post")


def test_location_resolves_in_an_installed_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel carries the specs as conformance/_specs/ (no checkout around it)."""
    installed = tmp_path / "site-packages" / "conformance" / "_specs" / "huawei.yaml"
    installed.parent.mkdir(parents=True)
    shutil.copy(spec_path("huawei.yaml"), installed)
    monkeypatch.setattr(sarif, "spec_for", lambda vendor: installed)
    spec, line = _resolved(sarif.sarif_log([_summary()]))
    assert spec == installed.resolve()
    assert _operation_at(spec, line) == ("/v1.0/{project_id}/kms/cancel-key-deletion", "post")


def test_a_spec_this_installation_lacks_gets_no_base_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    """A merged summary of a vendor not installed here: no file URI that would point nowhere."""
    monkeypatch.setattr(sarif, "spec_for", lambda vendor: Path("specs") / "elsewhere.yaml")
    log = sarif.sarif_log([_summary()])
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(log)
    run = log["runs"][0]
    artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "specs/elsewhere.yaml", "uriBaseId": sarif.SPEC_BASE}
    assert "uri" not in run["originalUriBaseIds"][sarif.SPEC_BASE]

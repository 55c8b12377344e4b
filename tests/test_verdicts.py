"""Verdicts you can trust: one test per class of wrong verdict the suite used to give.

Each test puts one server behaviour in front of a faithful bundled mock (``tests/wrappers.py``) or
changes one input, and asserts exactly which requirements the verdict blames.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conformance.fuzz import generated_requirements
from conformance.mocks import available
from conformance.profiles import profile_class
from conformance.report.summary import build_summary
from conformance.requirements import load_catalogue
from conformance.runner import RunRequest, UsageProblem, run_vendor
from conformance.verdict import FAILED, PASSED, RequirementRecord
from tests import wrappers
from tests.runs import run_mock, run_target

HUAWEI_NO_API = b'{"error_code": "APIGW.0101", "error_msg": "The API does not exist", "request_id": "r1"}'


# -- 1. --scope filters every layer; an unserved operation is one finding -----------------------


def test_lifecycle_scope_never_calls_an_operation_outside_it(tmp_path) -> None:
    """A Huawei-compatible server without encrypt-data passes a lifecycle run."""
    wrap = lambda app: wrappers.not_served(app, r"/kms/encrypt-data$", 404, HUAWEI_NO_API)  # noqa: E731
    with wrappers.serve("huawei", wrap) as (url, creds):
        run = run_target("huawei", url, tmp_path, scope="lifecycle", max_examples=1, **creds)
    assert run.code == 0, run.explain()
    assert run.row("HW-STATE-012")["status"] == "not_covered"
    assert "outside --scope lifecycle" in run.row("HW-STATE-012")["message"]


def test_unserved_operation_is_one_finding_that_blocks_its_checks(tmp_path) -> None:
    wrap = lambda app: wrappers.not_served(app, r"/kms/encrypt-data$", 404, HUAWEI_NO_API)  # noqa: E731
    with wrappers.serve("huawei", wrap) as (url, creds):
        run = run_target("huawei", url, tmp_path, scope="full", max_examples=1, **creds)
    assert run.failed == {"HW-API-001"}, run.explain()
    assert "encryptData" in run.row("HW-API-001")["message"]
    assert run.row("HW-STATE-012")["status"] == "blocked"
    assert run.row("HW-STATE-012")["blocked_by"] == ["HW-API-001"]


def test_thales_refresh_not_served(tmp_path) -> None:
    """A Thales server without POST .../refresh: lifecycle passes; full blames TH-API-001 only."""
    body = b'{"code": 16, "codeDesc": "NCERRResourceNotFound", "message": "no such API"}'
    wrap = lambda app: wrappers.not_served(app, r"/refresh$", 404, body)  # noqa: E731
    with wrappers.serve("thales", wrap) as (url, creds):
        lifecycle = run_target("thales", url, tmp_path, scope="lifecycle", max_examples=1, **creds)
        full = run_target("thales", url, tmp_path, scope="full", max_examples=1, **creds)
    assert lifecycle.code == 0, lifecycle.explain()
    assert full.failed == {"TH-API-001"}, full.explain()
    assert full.row("TH-SHAPE-004")["blocked_by"] == ["TH-API-001"]


# -- 2. unauthenticated operations are exempt from the auth probe, and the report says so --------


def test_login_endpoint_is_exempt_from_the_credentials_probe(tmp_path) -> None:
    run = run_mock("thales", tmp_path, requirement=("TH-GEN-005",))  # the generated checks
    row = run.row("TH-GEN-005")
    assert row["status"] == "passed"
    assert "exempt: POST /api/v1/auth/tokens" in row["message"] and "security is empty" in row["message"]


# -- 3. generated heuristics are evidence, not law ----------------------------------------------


@pytest.mark.parametrize("vendor", available())
def test_generated_checks_have_levels_a_doc_justifies(vendor: str) -> None:
    catalogue = load_catalogue(vendor)
    mapping = generated_requirements(profile_class(vendor))
    for check in ("negative_data_rejection", "positive_data_acceptance"):
        if check in mapping:
            assert catalogue[mapping[check]].level == "should", (check, mapping[check])
    for check in (
        "not_a_server_error",
        "response_schema_conformance",
        "ignored_auth",
        "content_type_conformance",
    ):
        assert catalogue[mapping[check]].level == "must", (check, mapping[check])


# -- 7. transport checks for every vendor, from one place ---------------------------------------


@pytest.mark.parametrize("vendor", available())
def test_text_plain_answers_fail_the_transport_requirement(tmp_path, vendor: str) -> None:
    prefix = {"huawei": "HW", "thales": "TH", "yandex": "YC"}[vendor]
    with wrappers.serve(vendor, lambda app: wrappers.content_type(app, b"text/plain")) as (url, creds):
        # Every answer is mislabelled: two generated cases per operation show it to every check.
        run = run_target(vendor, url, tmp_path, max_examples=2, **creds)
    assert f"{prefix}-TRANSPORT-001" in run.failed, run.explain()
    assert run.failed <= {f"{prefix}-TRANSPORT-001", f"{prefix}-GEN-003", f"{prefix}-ENV-001"}, run.explain()
    assert run.code == 1


# -- 8. a check that did not complete is never "passed" ------------------------------------------


def test_generated_checks_that_error_are_not_passed(tmp_path) -> None:
    """Every generated request ends in a redirect loop (scenario checks are served normally)."""
    wrap = lambda app: wrappers.redirect_loop(app, r"/kms/list-keys$")  # noqa: E731
    with wrappers.serve("huawei", wrap) as (url, creds):
        run = run_target("huawei", url, tmp_path, requirement=("HW-GEN-*",), **creds)
    generated = {r["id"]: r["status"] for r in run.summary["requirements"] if r["area"] == "generated"}
    assert "passed" not in {generated[r] for r in ("HW-GEN-001", "HW-GEN-002", "HW-GEN-003")}, generated
    assert run.summary["verdict"] == "fail" and run.code == 1
    blocked = run.row("HW-GEN-001")
    assert blocked["status"] == "blocked" and "did not complete" in blocked["message"], blocked


# -- 9. set-up failures blame the step's requirement; the rest is blocked -------------------------


def test_blocked_is_reported_everywhere(tmp_path) -> None:
    run = run_mock("yandex", tmp_path, faults=["operation_never_done"], max_examples=2)
    assert run.failed == {"YC-ASYNC-001"}, run.explain()
    auth = run.row("YC-AUTH-001")
    assert auth["status"] == "blocked" and auth["blocked_by"] == ["YC-ASYNC-001"], auth
    assert run.summary["totals"]["blocked"] >= 10 and run.summary["verdict"] == "fail"
    junit = (run.report_dir / "junit-requirements.xml").read_text()
    assert 'type="blocked"' in junit and "blocked by YC-ASYNC-001" in junit
    sarif = json.loads((run.report_dir / "report.sarif").read_text())
    statuses = {r["properties"]["status"] for r in sarif["runs"][0]["results"]}
    assert "blocked" in statuses
    assert "kms-blocked" in (run.report_dir / "report.html").read_text()
    assert "blocked" in run.output


# -- 10. unknown requirement ids ------------------------------------------------------------------


def test_tables_naming_unknown_ids_stop_the_run(tmp_path, monkeypatch) -> None:
    profile = profile_class("huawei")
    monkeypatch.setattr(profile, "envelope_requirement", "HW-NOPE-001")
    with pytest.raises(UsageProblem, match="HW-NOPE-001"):
        run_vendor(RunRequest("huawei", {}, tmp_path / "r"))


def test_outcomes_under_unlisted_ids_are_kept_and_fail_the_gate() -> None:
    record = RequirementRecord()
    record.add("test_x", FAILED, "broken")
    ok = RequirementRecord()
    ok.add("test_y", PASSED)
    summary = build_summary(
        vendor="huawei",
        target="t",
        started_at=dt.datetime.now(dt.UTC),
        duration_s=1,
        catalogue=load_catalogue("huawei"),
        records={"HW-NOPE-001": record, "HW-AUTH-001": ok},
    )
    row = next(r for r in summary["requirements"] if r["id"] == "HW-NOPE-001")
    assert row["status"] == "failed" and row["area"] == "uncatalogued"
    assert summary["verdict"] == "fail"


# -- 11. configuration typos and mock runs --------------------------------------------------------


def test_config_typo_is_a_usage_error(cli, tmp_path) -> None:
    config = tmp_path / "kms.toml"
    config.write_text('base-urll = "https://kms.example"\n')
    result = cli("run", "--vendor", "huawei", "--config", str(config))
    assert result.code == 2
    assert "base-urll" in result.stderr and str(config) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_config_typo_under_tool_table_is_a_usage_error(cli, tmp_path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[project]\nname = "x"\n[tool.kms-conformance]\nmax-exampels = 3\n')
    result = cli("run", "--vendor", "huawei", "--config", str(config))
    assert result.code == 2 and "max-exampels" in result.stderr and "[tool.kms-conformance]" in result.stderr


def test_unknown_environment_variable_is_a_usage_error(cli) -> None:
    result = cli("run", "--vendor", "huawei", env={"KMS_CONFORMANCE_BASE_URLL": "https://kms.example"})
    assert result.code == 2 and "KMS_CONFORMANCE_BASE_URLL" in result.stderr


def test_a_mock_run_says_it_is_one(tmp_path) -> None:
    run = run_mock(
        "huawei",
        tmp_path,
        faults=["cancel-to-enabled"],
        options={"create-state": "1"},
        requirement=("HW-STATE-004",),  # what is said of the mock does not depend on the checks
    )
    assert run.summary["target"] == "bundled mock"
    assert run.summary["mock"]["faults"] == ["cancel-to-enabled"]
    assert run.summary["mock"]["changed_options"] == {"create-state": "1"}
    assert "bundled mock with fault cancel-to-enabled, create-state=1" in run.output
    html = (run.report_dir / "report.html").read_text()
    assert "bundled huawei mock" in html and "cancel-to-enabled" in html


# -- the catalogue: every level has its reason ----------------------------------------------------


@pytest.mark.parametrize("vendor", available())
def test_every_requirement_says_why_it_has_its_level(vendor: str) -> None:
    for req in load_catalogue(vendor).values():
        assert req.basis.strip(), req.id
        assert req.source.startswith("https://"), req.id
        assert "shared/" not in req.note + req.basis, req.id

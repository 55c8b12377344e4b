"""Hostile answers: cleanup tells the truth, and unparseable bodies are findings, not crashes.

Cleanup tells the truth: a key counts as cleaned only on the vendor's documented success.

The target refuses every deletion during the run (503): no key may be marked cleaned, the
summary lists them under ``cleanup.left``, the terminal says how many and how to finish, and
``kms-conformance cleanup --ledger`` finishes the job once the target accepts deletions again.
"""

from __future__ import annotations

import io
import json

import pytest

from conformance.cleanup import cleanup_ledger
from conformance.ledger import Ledger
from conformance.profiles import profile_class
from conformance.settings import Settings
from tests import wrappers
from tests.runs import run_target

# What cleanup leaves a scratch key as, per vendor (its shortest documented deletion path).
CLEANED = {"huawei": "pending-deletion", "thales": "pending-deletion", "yandex": "deleted"}
DELETION = {
    "huawei": (r"/kms/schedule-key-deletion$", None),
    "thales": (r"/schedule-deletion$", None),
    "yandex": (r"^/kms/v1/keys/[^/:]+$", "DELETE"),
}


@pytest.mark.parametrize("vendor", sorted(DELETION))
def test_refused_deletions_are_left_and_finished_later(tmp_path, vendor: str) -> None:
    pattern, method = DELETION[vendor]
    switch = {"on": False}
    with wrappers.serve(vendor, lambda app: wrappers.refuse_while(app, pattern, switch, method)) as (
        url,
        creds,
    ):
        switch["on"] = True
        run = run_target(vendor, url, tmp_path, scope="lifecycle", max_examples=1, **creds)
        ledger_path = run.report_dir / "ledger.jsonl"
        created = {
            json.loads(line)["key_id"]
            for line in ledger_path.read_text().splitlines()
            if json.loads(line).get("event") in (None, "created")
        }
        left = set(run.summary["cleanup"]["left"])
        assert run.summary["cleanup"]["cleaned"] == [], run.summary["cleanup"]
        assert left and left == {e.key_id for e in Ledger(ledger_path).pending()}
        assert left <= created or created == set()
        assert f"{len(left)} left" in run.output and "kms-conformance cleanup --ledger" in run.output

        switch["on"] = False
        out = io.StringIO()
        credentials = {k: v for k, v in creds.items() if k in ("token", "username", "password", "ak", "sk")}
        code = cleanup_ledger(ledger_path, credentials, out=out)
        assert code == 0, out.getvalue()
        assert Ledger(ledger_path).pending() == []
        # ... and the target agrees: every key the ledger held is on its way out.
        observer = profile_class(vendor)(Settings(vendor=vendor, base_url=url, **creds))
        states = {observer.key_state(key_id) for key_id in left}
        observer.close()
        assert states == {CLEANED[vendor]}, states


NESTED = b"[" * 100_000 + b"]" * 100_000  # deep enough to exhaust a recursive JSON parser
LIST = {
    "huawei": (r"/kms/list-keys$", None),
    "thales": (r"^/api/v1/cckm/aws/keys$", "GET"),
    "yandex": (r"^/kms/v1/keys$", "GET"),
    "huawei-preflight": (r"/kms/describe-key$", None),
}


@pytest.mark.parametrize("case", sorted(LIST))
def test_deeply_nested_answers_are_findings_not_crashes(tmp_path, case: str) -> None:
    pattern, method = LIST[case]
    vendor = case.split("-")[0]
    with wrappers.serve(vendor, lambda app: wrappers.answer_with(app, pattern, NESTED, method=method)) as (
        url,
        creds,
    ):
        run = run_target(vendor, url, tmp_path, scope="lifecycle", max_examples=1, **creds)
    assert run.code == 1, run.explain()
    assert run.summary["verdict"] == "fail" and (run.report_dir / "report.html").exists()
    ledger = run.report_dir / "ledger.jsonl"
    pending = {e.key_id for e in Ledger(ledger).pending()} if ledger.exists() else set()
    assert pending == set(run.summary["cleanup"]["left"])  # the ledger and the summary agree

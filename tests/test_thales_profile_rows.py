"""The Thales profile's rows for the operations beyond the life cycle, against the bundled mock:
the scratch-key kinds ``key_in`` knows (multi-Region, auto-rotation, rotated material), the run's
own synchronization jobs (and the guard that refuses anyone else's), and the replica region."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from conformance.profiles.base import NotCovered, OwnershipError
from conformance.vendors.thales.mock import models
from conformance.vendors.thales.profile import KINDS, SYNC_JOB_KINDS, ThalesProfile
from tests.runs import run_mock


@pytest.fixture
def profile(thales_mock) -> ThalesProfile:
    return ThalesProfile(thales_mock.settings)


def test_every_kind_makes_a_key_of_that_kind(profile: ThalesProfile) -> None:
    for kind in KINDS:
        key_id = profile.key_in(kind)
        assert key_id in profile.created, kind
        aws = profile.call("get", key_id).body["aws_param"]
        if kind.startswith("mrk"):
            expected = "REPLICA" if kind == "mrk-replica" else "PRIMARY"
            assert aws["MultiRegionConfiguration"]["MultiRegionKeyType"] == expected, kind
        if kind.endswith("pending-deletion"):
            assert aws["KeyState"] == "PendingDeletion", kind
        if kind.startswith("auto-rotation"):
            assert aws["KeyRotationEnabled"] is True, kind
    rotated = profile.key_in("material-rotated")
    assert profile.call("rotations", rotated).body["total"] == 2


def test_sync_jobs_are_the_runs_own(profile: ThalesProfile, thales_mock) -> None:
    running = profile.key_in("sync-job-in-progress")
    done = profile.key_in("sync-job-completed")
    first = profile.key_in("sync-job-among-two")
    assert {running, done, first} <= profile.jobs and len(profile.jobs) == 4
    assert profile.call("sync_get", done).body["overall_status"] == "completed"
    assert profile.call("sync_cancel", running).body["abort"] is True
    listed = profile.call("sync_list_by_id", first).body["resources"]
    assert [job["id"] for job in listed] == [first]
    other = ThalesProfile(thales_mock.settings)  # another run: its jobs are not ours
    foreign = other.key_in("sync-job-in-progress")
    with pytest.raises(OwnershipError):
        profile.call("sync_cancel", foreign)
    assert set(SYNC_JOB_KINDS) == {
        "sync-job-in-progress",
        "sync-job-completed",
        "sync-job-among-two",
        "sync-job-started",
    }


def test_a_job_finished_when_started_is_not_covered(kms_mock) -> None:
    mock = kms_mock("thales", options={"sync-job-reads": "0"})
    with pytest.raises(NotCovered):
        ThalesProfile(mock.settings).key_in("sync-job-in-progress")


def _cancel_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cancel: Any, reads: str = "1"
) -> dict[str, Any]:
    """TH-SHAPE-005's row (cancel a job in progress) against a mock whose cancel is ``cancel``
    and whose jobs complete after ``reads`` reads by id (option sync-job-reads)."""
    monkeypatch.setattr(models.CckmBackend, "cancel_sync_job", cancel)
    run = run_mock(
        "thales", tmp_path, options={"sync-job-reads": reads}, requirement=("TH-SHAPE-005",), max_examples=1
    )
    return run.row("TH-SHAPE-005")


def test_a_job_that_ends_before_its_cancel_lands_leaves_the_row_not_covered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job completes on the target's clock: when it did so between its start and the cancel,
    the documented refusal of a finished job says nothing about cancelling one in progress."""
    cancel = models.CckmBackend.cancel_sync_job

    def finishes_first(self: models.CckmBackend, job_id: str) -> dict[str, Any]:
        with self.lock:
            self._finish(self._job(job_id))
        return cancel(self, job_id)

    row = _cancel_row(tmp_path, monkeypatch, finishes_first)
    assert row["status"] == "not_covered", row
    assert "the synchronization job was completed by then" in row["message"], row["message"]


def test_a_cancel_refused_while_the_job_runs_fails_the_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuses(self: models.CckmBackend, job_id: str) -> dict[str, Any]:
        raise models.BadRequest(f"synchronization job {job_id} is not in progress")

    row = _cancel_row(tmp_path, monkeypatch, refuses, reads="3")  # a read after it: still in progress
    assert row["status"] == "failed", row


def test_the_replica_region_is_never_the_runs_region(thales_mock) -> None:
    for region, expected in (
        ("us-east-1", "eu-west-1"),
        ("eu-west-1", "us-east-1"),
        ("ap-south-1", "eu-west-1"),
    ):
        settings = dataclasses.replace(thales_mock.settings, region=region)
        assert ThalesProfile(settings).replica_region() == expected


def test_generated_sync_jobs_never_reach_beyond_the_run(profile: ThalesProfile) -> None:
    """A generated start of a synchronization job would refresh every key of its scope
    (``synchronize_all``: every connection): the guard points it at the unknown connection, so the
    mock answers 404 and no key the run did not create is touched."""
    from conformance.fuzz import _schema

    operation = next(
        result.ok()
        for result in _schema(profile.spec_path()).get_all_operations()
        if result.ok().definition.raw.get("operationId") == "startAwsSyncJob"
    )
    for body in ({"synchronize_all": True}, {"kms": ["aws-conformance"], "regions": ["us-east-1"]}, {}):
        case = operation.Case(body=dict(body), media_type="application/json")
        profile.guard_case(case)
        assert case.body["kms"] == [profile.unknown_key_id()] and "synchronize_all" not in case.body, body
        assert profile.call("sync_start", None, case.body).status == 404
    junk = operation.Case(body={"synchronize_all": "yes"}, media_type="application/json")
    profile.guard_case(junk)
    assert junk.body == {"synchronize_all": "yes"}  # malformed: refused before any job starts

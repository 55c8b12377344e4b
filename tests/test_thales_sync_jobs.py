"""Thales mock: AWS key synchronization jobs (``/api/v1/cckm/aws/synchronization-jobs``): start,
list with filters and paging, get one, cancel.  A job starts in_progress, completes after the
number of status reads option sync-job-reads names (default 1), and then has synced every key of
its connections and regions; only an in-progress job can be cancelled.  In-process, through
Starlette's TestClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cckm import KEYS, Cckm, refusal, start

JOBS = "/api/v1/cckm/aws/synchronization-jobs"
CONNECTION_ID = "0b90f8de-8617-498d-ad63-ca18eb717ae7"


class Client(Cckm):
    def start_raw(self, body: Any) -> httpx.Response:
        return self.http.post(JOBS, json=body, headers=self.headers)

    def start(self, body: Any) -> dict[str, Any]:
        response = self.start_raw(body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def job(self, job_id: str) -> httpx.Response:
        return self.http.get(f"{JOBS}/{job_id}", headers=self.headers)

    def cancel(self, job_id: str) -> httpx.Response:
        return self.http.post(f"{JOBS}/{job_id}/cancel", headers=self.headers)

    def jobs(self, **params: Any) -> httpx.Response:
        return self.http.get(JOBS, params=params, headers=self.headers)

    def key(self, region: str) -> dict[str, Any]:
        body = {"kms": self.creds["kms"], "region": region, "aws_param": {}}
        response = self.http.post(KEYS, json=body, headers=self.headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def synced_at(self, key_id: str) -> str:
        return str(self.get(key_id).json()["synced_at"])


@pytest.fixture
def cckm() -> Iterator[Client]:
    yield from start(Client)


@pytest.fixture
def mock_with(request: pytest.FixtureRequest) -> Iterator[Client]:
    yield from start(Client, options=request.param)


def _refusal(response: httpx.Response, status: int, code: int) -> str:
    return refusal(response, status, code, request_id=True)


def test_a_job_runs_then_syncs_the_keys_of_its_scope(cckm: Client) -> None:
    inside, outside = cckm.key("ap-south-1"), cckm.key("eu-west-1")
    job = cckm.start({"kms": [cckm.creds["kms"]], "synchronize_all": False, "regions": ["ap-south-1"]})
    assert job["uri"] == f"kylo:kylo:cckm:synchronize:{job['id']}" and job["cloud"] == "aws"
    assert job["overall_status"] == "in_progress" and job["abort"] is False
    assert job["kms"] == [cckm.creds["kms"]] and job["regions"] == ["ap-south-1"]
    assert job["detailed_status"] == {f"{cckm.creds['kms']}/ap-south-1": "in_progress"}
    assert "completed_at" not in job
    done = cckm.job(job["id"]).json()
    assert done["overall_status"] == "completed" and done["completed_at"]
    assert done["detailed_status"] == {f"{cckm.creds['kms']}/ap-south-1": "completed"}
    assert cckm.synced_at(inside["id"]) == done["completed_at"]
    assert cckm.synced_at(outside["id"]) == outside["synced_at"]


def test_synchronize_all_and_connection_ids(cckm: Client) -> None:
    everything = cckm.start({"synchronize_all": True})
    assert everything["synchronize_all"] is True and len(everything["detailed_status"]) == 3
    by_id = cckm.start({"kms": [CONNECTION_ID]})  # every region of the connection
    assert by_id["kms"] == [cckm.creds["kms"]] and len(by_id["detailed_status"]) == 3


def test_cancel_only_while_in_progress(cckm: Client) -> None:
    key = cckm.key("us-east-1")
    job_id = cckm.start({"kms": [cckm.creds["kms"]]})["id"]
    cancelled = cckm.cancel(job_id)
    assert cancelled.status_code == 200
    assert cancelled.json()["abort"] is True and cancelled.json()["overall_status"] == "in_progress"
    after = cckm.job(job_id).json()
    assert after["overall_status"] == "completed" and after["abort"] is True
    assert set(after["detailed_status"].values()) == {"aborted"}
    assert cckm.synced_at(key["id"]) == key["synced_at"]  # an aborted job syncs nothing
    assert "not in progress" in _refusal(cckm.cancel(job_id), 400, 15)


def test_list_filters_and_paging(cckm: Client) -> None:
    first = cckm.start({"kms": [cckm.creds["kms"]]})["id"]
    second = cckm.start({"synchronize_all": True})["id"]
    page = cckm.jobs(skip=0, limit=1).json()
    assert page["skip"] == 0 and page["limit"] == 1 and page["total"] == 2
    assert [j["id"] for j in page["resources"]] == [second]  # newest first
    assert [j["id"] for j in cckm.jobs(id=first).json()["resources"]] == [first]
    assert cckm.jobs(kms=cckm.creds["kms"]).json()["total"] == 2
    assert cckm.jobs(kms=CONNECTION_ID).json()["total"] == 2
    assert cckm.jobs(kms="other").json()["total"] == 0
    # listings show jobs as they are; a read by id moves each on (sync-job-reads 1)
    assert cckm.jobs(overall_status="in_progress").json()["total"] == 2
    for job_id in (first, second):
        assert cckm.job(job_id).status_code == 200
    assert cckm.jobs(overall_status="completed").json()["total"] == 2
    assert cckm.jobs(overall_status="in_progress").json()["total"] == 0
    assert len(cckm.jobs(limit=-1).json()["resources"]) == 2
    _refusal(cckm.jobs(overall_status="done"), 400, 9)
    _refusal(cckm.jobs(limit="x"), 400, 9)
    _refusal(cckm.jobs(skip=-1), 400, 9)
    _refusal(cckm.jobs(colour="red"), 400, 9)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"synchronize_all": False},
        {"synchronize_all": True, "kms": ["aws-conformance"]},
        {"synchronize_all": True, "regions": ["us-east-1"]},
        {"kms": "aws-conformance"},
        {"kms": ["aws-conformance"], "regions": ["mars-1"]},
        {"kms": [5]},
        {"synchronize_all": "yes"},
        [1],
    ],
)
def test_start_refusals_are_code_9(cckm: Client, body: Any) -> None:
    _refusal(cckm.start_raw(body), 400, 9)


def test_unknown_connection_job_and_auth(cckm: Client) -> None:
    _refusal(cckm.start_raw({"kms": ["nope"]}), 404, 16)
    _refusal(cckm.job("00000000-0000-4000-8000-000000000000"), 404, 16)
    _refusal(cckm.cancel("00000000-0000-4000-8000-000000000000"), 404, 16)
    raw = cckm.http.post(JOBS, content=b"{", headers={**cckm.headers, "Content-Type": "application/json"})
    _refusal(raw, 400, 15)
    assert cckm.http.get(JOBS).status_code == 401
    assert cckm.http.post(f"{JOBS}/x/cancel").status_code == 401


@pytest.mark.parametrize("mock_with", [{"sync-job-reads": "0"}], indirect=True)
def test_option_sync_job_reads_0_completes_at_once(mock_with: Client) -> None:
    job = mock_with.start({"synchronize_all": True})
    assert job["overall_status"] == "completed"
    assert "not in progress" in _refusal(mock_with.cancel(job["id"]), 400, 15)


@pytest.mark.parametrize(
    "mock_with", [{"sync-job-reads": "3", "create-status": "201", "validation-status": "422"}], indirect=True
)
def test_option_sync_job_reads_3_and_statuses(mock_with: Client) -> None:
    started = mock_with.start_raw({"synchronize_all": True})
    assert started.status_code == 201
    job_id = started.json()["id"]
    states = [mock_with.job(job_id).json()["overall_status"] for _ in range(3)]
    assert states == ["in_progress", "in_progress", "completed"]
    _refusal(mock_with.cancel(job_id), 400, 15)  # a state refusal, not a validation one
    _refusal(mock_with.start_raw({}), 422, 9)

"""Thales mock: scheduled CCKM rotation jobs on a key (``enable-rotation-job`` with a scheduler
``job_config_id``, ``disable-rotation-job``).  The settings become the key's labels, which the
list filters ``job_config_id`` and ``rotation_job_enabled`` read; a key pending deletion is
refused.  In-process, through Starlette's TestClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cckm import KEYS, Cckm, refusal, start


class Client(Cckm):
    def ids(self, **params: Any) -> list[str]:
        return [k["id"] for k in self.list(**params).json()["resources"]]


@pytest.fixture
def cckm() -> Iterator[Client]:
    yield from start(Client)


def _refusal(response: httpx.Response, status: int, code: int) -> str:
    return refusal(response, status, code)


JOB = {"job_config_id": "job-1", "auto_rotate_disable_encrypt": True, "auto_rotate_key_source": "dsm"}


@pytest.mark.parametrize("state", ["Enabled", "Disabled", "PendingImport"])
def test_enable_then_disable_rotation_job(cckm: Client, state: str) -> None:
    key = cckm.create(Origin="EXTERNAL") if state == "PendingImport" else cckm.create()
    if state == "Disabled":
        cckm.act(key["id"], "disable")
    other = cckm.create()
    enabled = cckm.act(key["id"], "enable-rotation-job", JOB)
    assert enabled.status_code == 200, enabled.text
    body = enabled.json()
    assert body["labels"] == {
        "job_config_id": "job-1",
        "auto_rotate_disable_encrypt": "true",
        "auto_rotate_key_source": "dsm",
    }
    assert body["aws_param"]["KeyState"] == state
    assert cckm.ids(rotation_job_enabled="true") == [key["id"]]
    assert cckm.ids(job_config_id="job-1") == [key["id"]]
    assert cckm.ids(rotation_job_enabled="false") == [other["id"]]
    moved = cckm.act(key["id"], "enable-rotation-job", {"job_config_id": "job-2"}).json()
    assert moved["labels"] == {"job_config_id": "job-2"}  # a new job replaces the old settings
    disabled = cckm.act(key["id"], "disable-rotation-job")
    assert disabled.status_code == 200 and disabled.json()["labels"] == {}
    assert cckm.ids(rotation_job_enabled="true") == []
    assert cckm.act(key["id"], "disable-rotation-job").json()["labels"] == {}  # none left: unchanged


def test_rotation_job_refusals(cckm: Client) -> None:
    key = cckm.create()
    for body in ({}, {"job_config_id": ""}, {"job_config_id": "j", "auto_rotate_key_source": "vault"}):
        _refusal(cckm.act(key["id"], "enable-rotation-job", body), 400, 9)
    _refusal(cckm.act("00000000-0000-4000-8000-000000000000", "enable-rotation-job", JOB), 404, 16)
    _refusal(cckm.act("00000000-0000-4000-8000-000000000000", "disable-rotation-job"), 404, 16)
    cckm.act(key["id"], "enable-rotation-job", JOB)
    cckm.act(key["id"], "schedule-deletion", {"days": 7})
    assert "is pending deletion" in _refusal(cckm.act(key["id"], "enable-rotation-job", JOB), 400, 15)
    assert "is pending deletion" in _refusal(cckm.act(key["id"], "disable-rotation-job"), 400, 15)


@pytest.mark.parametrize("state", ["Enabled", "Disabled", "PendingDeletion", "PendingImport"])
def test_key_rotation_status_in_every_state(cckm: Client, state: str) -> None:
    """get-key-rotation-status answers AWS's GetKeyRotationStatus fields in every state; keys AWS does
    not rotate (EXTERNAL, asymmetric) always say false."""
    key = cckm.create(Origin="EXTERNAL") if state == "PendingImport" else cckm.create()
    if state != "PendingImport":
        on = cckm.act(key["id"], "enable-auto-rotation", {"rotation_period_in_days": 90})
        assert on.status_code == 200, on.text
    if state == "Disabled":
        cckm.act(key["id"], "disable")
    if state == "PendingDeletion":
        cckm.act(key["id"], "schedule-deletion", {"days": 7})
    status = cckm.act(key["id"], "get-key-rotation-status")
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["KeyId"] == key["aws_param"]["Arn"]
    if state in ("PendingImport", "PendingDeletion"):  # AWS: false while pending deletion
        assert body == {"KeyId": key["aws_param"]["Arn"], "KeyRotationEnabled": False}
    else:
        assert body["KeyRotationEnabled"] is True and body["RotationPeriodInDays"] == 90
        assert body["NextRotationDate"]


def test_key_rotation_status_is_false_while_pending_deletion_and_returns_on_cancel(cckm: Client) -> None:
    """AWS GetKeyRotationStatus: a key pending deletion has rotation status false; cancelling the
    deletion restores the setting (the mock answered true before)."""
    key = cckm.create()
    cckm.act(key["id"], "enable-auto-rotation", {"rotation_period_in_days": 180})
    cckm.act(key["id"], "schedule-deletion", {"days": 7})
    assert cckm.act(key["id"], "get-key-rotation-status").json()["KeyRotationEnabled"] is False
    assert cckm.act(key["id"], "cancel-deletion").status_code == 200
    status = cckm.act(key["id"], "get-key-rotation-status").json()
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180


def test_key_rotation_status_after_disable_and_for_asymmetric_keys(cckm: Client) -> None:
    key = cckm.create()
    cckm.act(key["id"], "enable-auto-rotation", {})
    cckm.act(key["id"], "disable-auto-rotation")
    assert cckm.act(key["id"], "get-key-rotation-status").json()["KeyRotationEnabled"] is False
    rsa = cckm.create(CustomerMasterKeySpec="RSA_2048")
    assert cckm.act(rsa["id"], "get-key-rotation-status").json()["KeyRotationEnabled"] is False
    _refusal(cckm.act("00000000-0000-4000-8000-000000000000", "get-key-rotation-status"), 404, 16)
    assert cckm.http.post(f"{KEYS}/{key['id']}/get-key-rotation-status").status_code == 401

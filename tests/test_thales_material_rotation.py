"""Thales mock: on-demand rotation of a key's material (``rotate-material``) and the rotations list
(``GET /keys/{id}/rotations``).  Every key state, the key kinds AWS does not rotate on demand, the
10-rotation limit, the list's paging, filters and sort, and the refusals' codes.  In-process,
through Starlette's TestClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cckm import KEYS, Cckm, refusal, start

UNKNOWN = "00000000-0000-4000-8000-000000000000"


class Client(Cckm):
    def rotations(self, key_id: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{KEYS}/{key_id}/rotations", params=params, headers=self.headers)


@pytest.fixture
def cckm() -> Iterator[Client]:
    yield from start(Client)


def _current(cckm: Client, key_id: str) -> list[dict[str, Any]]:
    body = cckm.rotations(key_id, limit=-1).json()
    return [r["aws_param"] for r in body["resources"] if r["aws_param"]["KeyMaterialState"] == "CURRENT"]


def test_a_new_native_key_lists_its_first_material(cckm: Client) -> None:
    key = cckm.create()
    answer = cckm.rotations(key["id"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["skip"], body["limit"], body["total"]) == (0, 10, 1)
    (record,) = body["resources"]
    assert record["uri"] == f"kylo:kylo:cckm:aws-key-rotation:{record['id']}"
    assert record["local_key_id"] == key["id"] and record["kms_id"] == key["kms_id"]
    assert record["key_material_origin"] == "native"
    aws = record["aws_param"]
    assert aws["KeyId"] == key["aws_param"]["Arn"] and aws["KeyMaterialState"] == "CURRENT"
    assert "RotationType" not in aws  # the material the key was made with is no rotation
    assert aws["KeyMaterialId"] == key["aws_param"]["CurrentKeyMaterialId"]


def test_rotate_material_makes_a_new_current_material(cckm: Client) -> None:
    key = cckm.create()
    first = key["aws_param"]["CurrentKeyMaterialId"]
    answer = cckm.act(key["id"], "rotate-material")
    assert answer.status_code == 200, answer.text
    rotated = answer.json()
    assert rotated["id"] == key["id"] and rotated["aws_param"]["KeyState"] == "Enabled"
    assert rotated["aws_param"]["CurrentKeyMaterialId"] != first
    body = cckm.rotations(key["id"]).json()
    assert body["total"] == 2
    newest, oldest = body["resources"]  # newest first
    assert newest["aws_param"]["RotationType"] == "ON_DEMAND"
    assert newest["aws_param"]["KeyMaterialId"] == rotated["aws_param"]["CurrentKeyMaterialId"]
    assert [newest["aws_param"]["KeyMaterialState"], oldest["aws_param"]["KeyMaterialState"]] == [
        "CURRENT",
        "NON_CURRENT",
    ]
    assert len(_current(cckm, key["id"])) == 1
    assert cckm.state(key["id"]) == "Enabled"


def test_rotations_list_filters_sort_and_pages(cckm: Client) -> None:
    key = cckm.create()
    for _ in range(3):
        cckm.act(key["id"], "rotate-material")
    assert cckm.rotations(key["id"], RotationType="ON_DEMAND").json()["total"] == 3
    assert cckm.rotations(key["id"], KeyMaterialState="NON_CURRENT").json()["total"] == 3
    current = cckm.rotations(key["id"], KeyMaterialState="CURRENT").json()["resources"]
    material = current[0]["aws_param"]["KeyMaterialId"]
    assert cckm.rotations(key["id"], KeyMaterialId=material).json()["total"] == 1
    assert cckm.rotations(key["id"], key_material_origin="cckm").json()["total"] == 0
    page = cckm.rotations(key["id"], skip=1, limit=2).json()
    assert (page["skip"], page["limit"], page["total"], len(page["resources"])) == (1, 2, 4, 2)
    oldest_first = cckm.rotations(key["id"], sort="createdAt", limit=-1).json()["resources"]
    assert "RotationType" not in oldest_first[0]["aws_param"]
    refusal(cckm.rotations(key["id"], key_material_origin="somewhere"), 400, 9)
    refusal(cckm.rotations(key["id"], limit=-2), 400, 9)
    refusal(cckm.rotations(key["id"], no_such_filter="x"), 400, 9)


@pytest.mark.parametrize(
    ("state", "exception"),
    [
        ("Disabled", "DisabledException"),
        ("PendingDeletion", "KMSInvalidStateException"),
    ],
)
def test_rotate_material_is_refused_unless_enabled(cckm: Client, state: str, exception: str) -> None:
    key = cckm.create()
    if state == "Disabled":
        cckm.act(key["id"], "disable")
    else:
        cckm.act(key["id"], "schedule-deletion", {"days": 7})
    message = refusal(cckm.act(key["id"], "rotate-material"), 400, 15)
    assert message.startswith(exception), message
    assert cckm.state(key["id"]) == state
    assert cckm.rotations(key["id"]).json()["total"] == 1  # listed in every state, nothing added


@pytest.mark.parametrize(
    "aws_param",
    [{"Origin": "EXTERNAL"}, {"CustomerMasterKeySpec": "RSA_2048"}, {"CustomerMasterKeySpec": "HMAC_256"}],
)
def test_rotate_material_only_for_native_symmetric_keys(cckm: Client, aws_param: dict[str, str]) -> None:
    key = cckm.create(**aws_param)
    message = refusal(cckm.act(key["id"], "rotate-material"), 400, 15)
    assert message.startswith("UnsupportedOperationException"), message
    assert cckm.rotations(key["id"]).json() == {"skip": 0, "limit": 10, "total": 0, "resources": []}


def test_rotate_material_of_a_replica_is_refused_and_replicas_share_the_material(cckm: Client) -> None:
    primary = cckm.create(MultiRegion=True)
    replica = cckm.act(primary["id"], "replicate-key", {"replica_region": "eu-west-1"}).json()
    material = primary["aws_param"]["CurrentKeyMaterialId"]
    assert replica["aws_param"]["CurrentKeyMaterialId"] == material
    (record,) = cckm.rotations(replica["id"]).json()["resources"]
    assert record["aws_param"]["KeyId"] == replica["aws_param"]["Arn"]
    message = refusal(cckm.act(replica["id"], "rotate-material"), 400, 15)
    assert message.startswith("UnsupportedOperationException"), message
    assert cckm.act(primary["id"], "rotate-material").status_code == 200


def test_at_most_ten_on_demand_rotations(cckm: Client) -> None:
    key = cckm.create()
    for _ in range(10):
        assert cckm.act(key["id"], "rotate-material").status_code == 200
    message = refusal(cckm.act(key["id"], "rotate-material"), 400, 15)
    assert message.startswith("LimitExceededException"), message
    assert cckm.rotations(key["id"]).json()["total"] == 11


def test_unknown_key_and_no_token(cckm: Client) -> None:
    refusal(cckm.act(UNKNOWN, "rotate-material"), 404, 16)
    refusal(cckm.rotations(UNKNOWN), 404, 16)
    key = cckm.create()
    assert cckm.http.get(f"{KEYS}/{key['id']}/rotations").status_code == 401
    assert cckm.http.post(f"{KEYS}/{key['id']}/rotate-material").status_code == 401


def test_deleted_key_takes_its_rotations_along(cckm: Client) -> None:
    key = cckm.create()
    assert cckm.http.delete(f"{KEYS}/{key['id']}", headers=cckm.headers).status_code == 204
    refusal(cckm.rotations(key["id"]), 404, 16)

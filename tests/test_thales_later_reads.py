"""Thales: what later reads show after a change (TH-PERSIST-001..011) and the rotation status after
the calls that should or should not change it (TH-STATE-023..027).

Each scenario runs against the bundled mock in-process twice: as documented, the later read shows
the change; with the fault that owns the requirement, it does not.  Then the profile's own rows
(their scratch-key kinds, ``CHANGED_KINDS``, and checks) pass against the documented mock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cckm import KEYS, Cckm, start

from conformance.vendors.thales.profile import CHANGED_KINDS, PROBES, ThalesProfile


def _id(cckm: Cckm, **aws_param: Any) -> str:
    return str(cckm.create(**aws_param)["id"])


def _aws(cckm: Cckm, key_id: str) -> dict[str, Any]:
    response = cckm.get(key_id)
    assert response.status_code == 200, response.text
    return dict(response.json()["aws_param"])


def _ok(cckm: Cckm, key_id: str, action: str, body: Any = None) -> None:
    response = cckm.act(key_id, action, body)
    assert response.status_code == 200, response.text


def _created(cckm: Cckm) -> bool:
    key = _id(cckm, Alias="first", Description="made here", Tags=[{"TagKey": "a", "TagValue": "1"}])
    aws = _aws(cckm, key)
    return (
        aws["Description"] == "made here"
        and aws["Alias"] == ["alias/first"]
        and aws["Tags"][0]["TagKey"] == "a"
    )


def _description(cckm: Cckm) -> bool:
    key = _id(cckm, Description="old")
    _ok(cckm, key, "update-description", {"description": "new"})
    return _aws(cckm, key)["Description"] == "new"


def _alias_added(cckm: Cckm) -> bool:
    key = _id(cckm, Alias="one")
    _ok(cckm, key, "add-alias", {"alias": "two"})
    return _aws(cckm, key)["Alias"] == ["alias/one", "alias/two"]


def _alias_deleted(cckm: Cckm) -> bool:
    key = _id(cckm, Alias="one")
    _ok(cckm, key, "add-alias", {"alias": "two"})
    _ok(cckm, key, "delete-alias", {"alias": "alias/two"})
    return _aws(cckm, key)["Alias"] == ["alias/one"]


def _tags_added(cckm: Cckm) -> bool:
    key = _id(cckm, Tags=[{"TagKey": "kept", "TagValue": "1"}])
    _ok(cckm, key, "add-tags", {"tags": [{"tag_key": "new", "tag_value": "2"}]})
    return _aws(cckm, key)["Tags"] == [
        {"TagKey": "kept", "TagValue": "1"},
        {"TagKey": "new", "TagValue": "2"},
    ]


def _tag_replaced(cckm: Cckm) -> bool:
    key = _id(cckm, Tags=[{"TagKey": "t", "TagValue": "old"}])
    _ok(cckm, key, "add-tags", {"tags": [{"tag_key": "t", "tag_value": "new"}]})
    return _aws(cckm, key)["Tags"] == [{"TagKey": "t", "TagValue": "new"}]


def _tags_removed(cckm: Cckm) -> bool:
    key = _id(cckm, Tags=[{"TagKey": "kept", "TagValue": "1"}, {"TagKey": "gone", "TagValue": "2"}])
    _ok(cckm, key, "remove-tags", {"tags": ["gone"]})
    return _aws(cckm, key)["Tags"] == [{"TagKey": "kept", "TagValue": "1"}]


def _policy(cckm: Cckm) -> bool:
    key = _id(cckm)
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "mine", "Effect": "Allow", "Action": "kms:*"}]}
    _ok(cckm, key, "policy", {"policy": document})
    policy = _aws(cckm, key)["Policy"]
    return "mine" in (policy if isinstance(policy, str) else str(policy))


def _deletion_date(cckm: Cckm) -> bool:
    key = _id(cckm)
    _ok(cckm, key, "schedule-deletion", {"days": 10})
    date = _aws(cckm, key)["DeletionDate"]
    left = dt.datetime.fromisoformat(date.replace("Z", "+00:00")) - dt.datetime.now(dt.UTC)
    return dt.timedelta(days=9) < left <= dt.timedelta(days=10)


def _no_date_after_cancel(cckm: Cckm) -> bool:
    key = _id(cckm)
    _ok(cckm, key, "schedule-deletion", {"days": 7})
    _ok(cckm, key, "cancel-deletion")
    return "DeletionDate" not in _aws(cckm, key)


def _deleted(cckm: Cckm) -> bool:
    key = _id(cckm)
    assert cckm.http.delete(f"{KEYS}/{key}", headers=cckm.headers).status_code == 204
    return cckm.get(key).status_code == 404


def _status(cckm: Cckm, key: str) -> bool:
    response = cckm.act(key, "get-key-rotation-status")
    assert response.status_code == 200, response.text
    return bool(response.json()["KeyRotationEnabled"])


def _rotation_off_after_disable(cckm: Cckm) -> bool:
    key = _id(cckm)
    _ok(cckm, key, "enable-auto-rotation", {})
    _ok(cckm, key, "disable-auto-rotation")
    return _status(cckm, key) is False


def _rotation_off_when_new(cckm: Cckm) -> bool:
    return _status(cckm, _id(cckm)) is False


def _rotation_off_for_external(cckm: Cckm) -> bool:
    return _status(cckm, _id(cckm, Origin="EXTERNAL")) is False


def _rotation_back_after_cancel(cckm: Cckm) -> bool:
    key = _id(cckm)
    _ok(cckm, key, "enable-auto-rotation", {})
    _ok(cckm, key, "schedule-deletion", {"days": 7})
    assert _status(cckm, key) is False  # pending deletion: false (TH-STATE-020)
    _ok(cckm, key, "cancel-deletion")
    return _status(cckm, key) is True


def _rotation_kept_when_disabled(cckm: Cckm) -> bool:
    key = _id(cckm)
    _ok(cckm, key, "enable-auto-rotation", {})
    _ok(cckm, key, "disable")
    return _status(cckm, key) is True


SCENARIOS: dict[str, tuple[str, Callable[[Cckm], bool]]] = {
    "TH-PERSIST-001": ("create-drops-description", _created),
    "TH-PERSIST-002": ("description-not-stored", _description),
    "TH-PERSIST-003": ("alias-not-stored", _alias_added),
    "TH-PERSIST-004": ("delete-alias-noop", _alias_deleted),
    "TH-PERSIST-005": ("tags-not-stored", _tags_added),
    "TH-PERSIST-006": ("tag-key-duplicated", _tag_replaced),
    "TH-PERSIST-007": ("remove-tags-noop", _tags_removed),
    "TH-PERSIST-008": ("policy-not-stored", _policy),
    "TH-PERSIST-009": ("deletion-date-ignores-days", _deletion_date),
    "TH-PERSIST-010": ("cancel-keeps-deletion-date", _no_date_after_cancel),
    "TH-PERSIST-011": ("delete-keeps-key", _deleted),
    "TH-STATE-023": ("disable-auto-rotation-noop", _rotation_off_after_disable),
    "TH-STATE-024": ("rotation-on-by-default", _rotation_off_when_new),
    "TH-STATE-025": ("rotation-status-on-for-external", _rotation_off_for_external),
    "TH-STATE-026": ("cancel-clears-rotation", _rotation_back_after_cancel),
    "TH-STATE-027": ("disable-clears-rotation", _rotation_kept_when_disabled),
}


@pytest.mark.parametrize("requirement", sorted(SCENARIOS))
def test_documented_mock_shows_it_and_the_fault_does_not(requirement: str) -> None:
    fault, scenario = SCENARIOS[requirement]
    for cckm in start():
        assert scenario(cckm), f"{requirement}: the documented mock should show it"
    for cckm in start(faults=(fault,)):
        assert not scenario(cckm), f"{requirement}: fault {fault} should break it"


def test_the_profile_rows_pass_against_the_documented_mock(thales_mock) -> None:
    profile = ThalesProfile(thales_mock.settings)
    rows = [p for p in PROBES if p.requirement in SCENARIOS]
    assert {p.requirement for p in rows} == set(SCENARIOS)
    used = {p.key for p in PROBES} & set(CHANGED_KINDS)
    assert used == set(CHANGED_KINDS), "every changed kind is some row's key"
    for probe in rows:
        key_id = profile.key_in(probe.key)
        assert key_id in profile.created, probe.name
        outcome = profile.call(probe.operation, key_id, dict(probe.body))
        assert outcome.status in probe.status, (probe.name, outcome.describe())
        assert probe.check is None or probe.check(outcome) is None, (probe.name, probe.check(outcome))


def test_the_policy_row_keeps_the_callers_rights(thales_mock) -> None:
    """The policy the row sends is AWS's default for the key's account (the root may do everything)."""
    profile = ThalesProfile(thales_mock.settings)
    key_id = profile.key_in("policy-updated")
    policy = profile.call("get", key_id).body["aws_param"]["Policy"]
    text = policy if isinstance(policy, str) else str(policy)
    assert "arn:aws:iam::123456789012:root" in text and "kms:*" in text

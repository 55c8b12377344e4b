"""Where a run's requests go, and the requests it no longer sends for the same evidence.

- summary.json breaks ``totals.requests`` down per layer, per check and per requirement, and the
  parts add up to the whole, sequential or concurrent;
- cleanup sends nothing for a key whose last exchange was a read showing it already scheduled
  for deletion -- and still sends the deletion once anything named the key after that read;
  every key the report calls cleaned is, on the target, scheduled for deletion or gone;
- a generated check does not send the same request twice (ids the ownership guard replaced made
  the cases alike): the answer would be the one already judged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.fuzz import GeneratedRun
from conformance.mocks import RunningMock, mock_definition
from conformance.profiles import profile_class
from conformance.settings import Settings
from tests.runs import run_mock, run_target

LAYERS = {"generated", "stateful", "transitions", "probes", "cleanup"}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_the_request_breakdown_adds_up(tmp_path: Path, concurrency: int) -> None:
    run = run_mock("thales", tmp_path, scope="lifecycle", max_examples=2, concurrency=concurrency)
    assert run.code == 0, run.explain()
    totals = run.summary["totals"]
    by_layer, by_test = totals["requests_by_layer"], run.summary["requests_by_test"]
    assert sum(by_layer.values()) == totals["requests"] == sum(by_test.values()) > 0
    assert set(by_layer) <= LAYERS | {"run", "other"} and LAYERS - {"stateful"} <= set(by_layer)
    for row in run.summary["requirements"]:
        assert row["requests"] == sum(by_test.get(test, 0) for test in row["tests"])
    transition = next(t for t in by_test if t.startswith("test_transition["))
    assert by_test[transition] >= 2  # at least the call and the read of the state after it


class Recorder:
    """ASGI wrapper: every request's method, path and body, in order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        self.seen.append((scope["method"], scope["path"], body))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def naming(self, key_id: str) -> list[tuple[str, str]]:
        return [(m, p) for m, p, b in self.seen if key_id in p or key_id.encode() in b]


def test_a_key_read_pending_deletion_needs_no_cleanup_request(tmp_path: Path) -> None:
    definition = mock_definition("huawei")
    config = definition.config([], {})
    recorder = Recorder(definition.create_app(config))
    with RunningMock(recorder) as server:  # type: ignore[arg-type]
        settings = Settings(
            vendor="huawei",
            base_url=server.url,
            ledger=str(tmp_path / "ledger.jsonl"),
            **definition.credentials(config),
        )
        profile = profile_class("huawei")(settings)
        quiet = profile.key_in("pending-deletion")  # drive_to reads it: nothing after that read
        profile.settled(quiet, profile.key_state(quiet))
        touched = profile.key_in("pending-deletion")
        profile.settled(touched, profile.key_state(touched))
        profile.call("cancel_deletion", touched)  # named after the read: cleanup must act
        enabled = profile.key_in("enabled")
        profile.settled(enabled, profile.key_state(enabled))  # not a settled state
        before = {key: len(recorder.naming(key)) for key in (quiet, touched, enabled)}
        cleaned, left = profile.cleanup()
        after = {key: len(recorder.naming(key)) for key in (quiet, touched, enabled)}
        states = {key: profile.key_state(key) for key in (quiet, touched, enabled)}
        profile.close()
    assert left == [] and cleaned == [quiet, touched, enabled]
    assert after[quiet] == before[quiet]  # no request
    assert after[touched] == before[touched] + 1 and after[enabled] == before[enabled] + 1
    assert set(states.values()) == {"pending-deletion"}  # cleaned means scheduled, for each
    records = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    quiet_end = next(r for r in records if r["key_id"] == quiet and r["event"] == "cleaned")
    assert "already pending-deletion when last read" in quiet_end["detail"]


@pytest.mark.parametrize("vendor", ["huawei", "thales", "yandex"])
def test_every_key_called_cleaned_is_scheduled_or_gone_on_the_target(
    tmp_path: Path, kms_mock, vendor: str
) -> None:
    mock = kms_mock(vendor)
    credentials = {k: v for k, v in mock.credentials.items() if k != "expired_token"}
    run = run_target(vendor, mock.url, tmp_path, scope="lifecycle", max_examples=1, **credentials)
    assert run.code == 0, run.explain()
    cleaned = run.summary["cleanup"]["cleaned"]
    assert cleaned and run.summary["cleanup"]["left"] == []
    observer = profile_class(vendor)(mock.settings)

    def state(key: str) -> str:
        if vendor == "thales" and observer.call("get", key).status == 404:
            return "gone"  # deleted from CCKM after its AWS deletion was scheduled (TH-PERSIST-011)
        return observer.key_state(key)

    try:
        states = {key: state(key) for key in cleaned if vendor != "yandex" or key not in observer.pairs}
    finally:
        observer.close()
    done = {"huawei": {"pending-deletion"}, "thales": {"pending-deletion", "gone"}, "yandex": {"deleted"}}[
        vendor
    ]
    assert {k: s for k, s in states.items() if s not in done} == {}


class _Case:
    """The parts of a Schemathesis case ``GeneratedRun.first_time`` reads."""

    def __init__(self, path: str, body: Any = None, positive: bool = True) -> None:
        self.method, self.formatted_path, self.query, self.body = "POST", path, None, body
        self.headers, self.media_type = {}, "application/json"
        self.meta = (
            None if positive else type("M", (), {"generation": type("G", (), {"mode": "negative"})()})()
        )


def test_a_generated_check_sends_each_request_once() -> None:
    run = GeneratedRun.__new__(GeneratedRun)
    run.sent = set()
    assert run.first_time(_Case("/keys/u/enable"))
    assert not run.first_time(_Case("/keys/u/enable"))  # the same request, again: not sent
    assert run.first_time(_Case("/keys/u/enable", {"a": 1}))  # another body
    assert run.first_time(_Case("/keys/u/disable"))  # another path
    assert run.first_time(_Case("/keys/u/enable", positive=False))  # judged by other checks
    assert (
        run.first_time(_Case("/keys/u/enable", b"\xff"))
        and run.first_time(_Case("/keys/u/enable", b"\xff")) is False
    )

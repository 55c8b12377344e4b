"""Replaying a recording against a target, exchange by exchange, in recorded order.

Requests go through the target profile's clients (its ``GuardedTransport``: the deadlines,
size cap, 429 handling and dead-target stop of ``run``) and carry the replay target's own
credentials in the recorded credential mode (``_auth``).  Ids: whenever a recorded answer and its
replayed answer hold an id field (``ParityRules.id_fields``) with different values, the recorded
value is mapped to the replayed one, and every later request has its path and body rewritten with
the map -- so a recorded create is replayed as a create and every later use of its key names the
replay's key.  The recorded project/folder/connection settings map to the target's the same way.

Asynchronous operations (``ParityRules.poll_path``): consecutive recorded polls of one operation
are one group; the replay polls until the operation is done (or as often as the recording did,
at least, within a bounded wait) and compares the group's last recorded answer with its last
replayed one.  The other polls of the group are ``folded`` (a different poll count is no
divergence).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.parity.compare import Answer, differences
from conformance.parity.rules import ParityRules
from conformance.transport import TargetUnusable, describe_failure, is_loopback

POLL_WAIT_S = 15.0  # the longest a replay waits for one asynchronous operation
_DROPPED_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "cookie"}
)


@dataclass
class Exchange:
    """One recorded exchange and what its replay made of it."""

    sequence: int
    check: str
    requirement: str | None
    method: str
    path: str
    outcome: str  # matched, diverged, skipped, folded
    recorded: Answer
    replayed: Answer | None = None
    differences: list[str] = field(default_factory=list)
    note: str = ""
    replayed_body: str = ""
    recorded_body: str = ""


class Replayer:
    """Replays one recording's entries through ``client_for(mode)`` clients of one target."""

    def __init__(
        self,
        rules: ParityRules,
        client_for: Callable[[str], httpx.Client],
        outcome_of: Callable[[httpx.Response], Any],
        bases: Mapping[str, str],
        mapped: Mapping[str, str],
        redact: Callable[[str], str],
    ) -> None:
        self.rules = rules
        self.client_for = client_for
        self.outcome_of = outcome_of
        self.bases = {k: v.rstrip("/") for k, v in bases.items() if v}  # recorded base -> target base
        self.ids: dict[str, str] = {k: v for k, v in mapped.items() if k and v and k != v}
        self.redact = redact
        self._skip = [re.compile(p) for p in rules.skip_paths]
        self._poll = re.compile(rules.poll_path) if rules.poll_path else None
        self.recorded_ids: set[str] = set()

    # -- rewriting ------------------------------------------------------------------------------

    def rewrite(self, text: str) -> str:
        for old in sorted(self.ids, key=len, reverse=True):
            text = text.replace(old, self.ids[old])
        return text

    def target_url(self, recorded_url: str) -> str:
        for old, new in sorted(self.bases.items(), key=lambda kv: len(kv[0]), reverse=True):
            if recorded_url.startswith(old):
                return new + self.rewrite(recorded_url[len(old) :])
        parts = httpx.URL(recorded_url)
        first = next(iter(self.bases.values()), "")
        origin = httpx.URL(first)
        return str(origin.copy_with(raw_path=self.rewrite(parts.raw_path.decode("ascii")).encode("ascii")))

    def learn(self, recorded: Any, replayed: Any) -> None:
        """Map every id the recorded answer holds to the id at the same place in the replayed one."""
        if isinstance(recorded, dict) and isinstance(replayed, dict):
            for key, value in recorded.items():
                other = replayed.get(key)
                if key in self.rules.id_fields and isinstance(value, str) and isinstance(other, str):
                    if len(value) >= 4 and value != other and value not in self.ids:
                        self.ids[value] = other
                else:
                    self.learn(value, other)
        elif isinstance(recorded, list) and isinstance(replayed, list):
            for left, right in zip(recorded, replayed, strict=False):
                self.learn(left, right)

    def collect_ids(self, body: Any) -> None:
        if isinstance(body, dict):
            for key, value in body.items():
                if key in self.rules.id_fields and isinstance(value, str) and len(value) >= 4:
                    self.recorded_ids.add(value)
                else:
                    self.collect_ids(value)
        elif isinstance(body, list):
            for value in body:
                self.collect_ids(value)

    # -- sending --------------------------------------------------------------------------------

    def send(self, entry: Mapping[str, Any]) -> tuple[httpx.Response | None, str]:
        request = entry["request"]
        url = self.target_url(request["url"])
        text = (request.get("postData") or {}).get("text") or ""
        body = self.rewrite(text)
        if not is_loopback(url) and request["method"] not in ("GET", "HEAD"):
            # Against a real target, a changing request must not name a key the replay did not make.
            stray = [i for i in self.recorded_ids if i not in self.ids and (i in url or i in body)]
            if stray:
                return None, "not replayed: it names a key this replay did not create"
        headers = {
            h["name"]: h["value"]
            for h in request.get("headers", [])
            if h["name"].lower() not in _DROPPED_HEADERS
            and h.get("value") != "[redacted]"
            and h["name"].lower() not in ("authorization", "x-auth-token", "x-sdk-date")
        }
        client = self.client_for(str(entry.get("_auth") or "valid"))
        outgoing = client.build_request(request["method"], url, content=body.encode(), headers=headers)
        try:
            return client.send(outgoing), ""
        except TargetUnusable:
            raise
        except httpx.HTTPError as exc:
            return None, describe_failure(exc)

    def answer(self, response: httpx.Response | None) -> Answer:
        if response is None:
            return Answer(0, None, None)
        outcome = self.outcome_of(response)
        return Answer(outcome.status, outcome.code, outcome.body)

    def recorded_answer(self, entry: Mapping[str, Any]) -> Answer:
        response = entry["response"]
        content = ((response.get("content") or {}).get("text") or "").encode()
        headers = [
            (h["name"], h["value"])
            for h in response.get("headers", [])
            if h["name"].lower() != "content-encoding"
        ]
        if response["status"] == 0:
            return Answer(0, None, None)
        built = httpx.Response(response["status"], headers=headers, content=content)
        return self.answer(built)

    def run(self, entries: list[Mapping[str, Any]], deadline: float) -> list[Exchange]:
        done: list[Exchange] = []
        index = 0
        while index < len(entries):
            entry = entries[index]
            request = entry["request"]
            path = httpx.URL(request["url"]).path
            recorded = self.recorded_answer(entry)
            self.collect_ids(recorded.body)
            item = Exchange(
                int(entry.get("_sequence") or index + 1),
                str(entry.get("_check") or ""),
                entry.get("_requirement"),
                request["method"],
                path,
                "matched",
                recorded,
                recorded_body=((entry["response"].get("content") or {}).get("text") or "")[:20_000],
            )
            if any(p.search(path) for p in self._skip):
                item.outcome, item.note = "skipped", "a credential fetch: the replay authenticates itself"
                done.append(item)
                index += 1
                continue
            if time.monotonic() > deadline:
                item.outcome, item.note = "skipped", "not replayed: the replay's time bound ran out"
                done.append(item)
                index += 1
                continue
            group = self._poll_group(entries, index)
            response, failure = self.send(entry)
            if group > 1 or self._is_poll(entry):
                response = self._poll_until_done(entry, response, group)
            if group > 1:
                # The group's earlier polls: the last one answers for them all.
                for earlier in entries[index : index + group - 1]:
                    done.append(
                        Exchange(
                            int(earlier.get("_sequence") or 0),
                            str(earlier.get("_check") or ""),
                            earlier.get("_requirement"),
                            earlier["request"]["method"],
                            httpx.URL(earlier["request"]["url"]).path,
                            "folded",
                            self.recorded_answer(earlier),
                            note="an earlier poll of an operation; compared on the final poll",
                        )
                    )
                entry = entries[index + group - 1]
                recorded = self.recorded_answer(entry)
                item.sequence = int(entry.get("_sequence") or 0)
                item.recorded = recorded
            if response is None and failure.startswith("not replayed"):
                item.outcome, item.note = "skipped", failure
                done.append(item)
                index += group
                continue
            replayed = self.answer(response)
            item.replayed = replayed
            item.replayed_body = self.redact(response.text[:20_000]) if response is not None else failure
            self.learn(recorded.body, replayed.body)
            item.differences = differences(recorded, replayed, self.rules)
            if failure:
                item.differences.insert(0, f"replay failed: {failure}")
            item.outcome = "diverged" if item.differences else "matched"
            done.append(item)
            index += group
        return done

    def _is_poll(self, entry: Mapping[str, Any]) -> bool:
        return bool(
            self._poll
            and entry["request"]["method"] == "GET"
            and self._poll.search(httpx.URL(entry["request"]["url"]).path)
        )

    def _poll_group(self, entries: list[Mapping[str, Any]], index: int) -> int:
        if not self._is_poll(entries[index]):
            return 1
        url = entries[index]["request"]["url"]
        end = index + 1
        auth = entries[index].get("_auth")
        while (
            end < len(entries)
            and self._is_poll(entries[end])
            and entries[end]["request"]["url"] == url
            and entries[end].get("_auth") == auth
        ):
            end += 1
        return end - index

    def _poll_until_done(
        self, entry: Mapping[str, Any], response: httpx.Response | None, group: int
    ) -> httpx.Response | None:
        until = time.monotonic() + POLL_WAIT_S
        polls = 1
        while response is not None and response.status_code == 200 and time.monotonic() < until:
            body = _json(response)
            if not isinstance(body, dict) or body.get(self.rules.done_field) is True:
                break
            if polls >= group and body.get(self.rules.done_field) is not False:
                break
            time.sleep(min(0.2, 0.02 * polls))
            response, _failure = self.send(entry)
            polls += 1
        return response


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None

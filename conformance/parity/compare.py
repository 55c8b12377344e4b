"""Holding a replayed answer to the recorded one: structure, not values.

Compared: the status code, the vendor's error code (the profile's own ``error_code``), the body's
key set and JSON types, recursively, and the values of the vendor's state fields
(``ParityRules.state_fields``).  Not compared: every other value -- ids, dates, request ids,
ciphertexts, signatures, tokens differ between any two targets by design.  A list's elements are
merged into one shape (two answers listing a different number of keys have the same shape); an
empty list matches any list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.parity.rules import ParityRules


@dataclass(frozen=True)
class Answer:
    """What one side of an exchange answered, normalised."""

    status: int  # 0: no answer (a transport failure)
    code: str | None
    body: Any  # parsed JSON, or None

    def line(self) -> str:
        return f"HTTP {self.status}" + (f" {self.code}" if self.code else "")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def differences(recorded: Answer, replayed: Answer, rules: ParityRules) -> list[str]:
    """Every structural difference between the two answers, one line each (empty: they match)."""
    found: list[str] = []
    if recorded.status != replayed.status:
        found.append(f"status: recorded {recorded.status}, replayed {replayed.status}")
    if (recorded.code or None) != (replayed.code or None):
        found.append(f"error code: recorded {recorded.code!r}, replayed {replayed.code!r}")
    _walk(recorded.body, replayed.body, "$", rules, found)
    return found


def _merged(items: list[Any]) -> Any:
    """One value standing for every element of a list: objects merged key by key."""
    objects = [i for i in items if isinstance(i, dict)]
    if objects and len(objects) == len(items):
        merged: dict[str, Any] = {}
        for item in objects:
            for key, value in item.items():
                merged.setdefault(key, value)
        return merged
    return items[0]


def _walk(recorded: Any, replayed: Any, where: str, rules: ParityRules, found: list[str]) -> None:
    left, right = type_name(recorded), type_name(replayed)
    if left != right:
        found.append(f"{where}: recorded {left}, replayed {right}")
        return
    if isinstance(recorded, dict):
        keys_left = {k for k in recorded if k not in rules.ignore_fields}
        keys_right = {k for k in replayed if k not in rules.ignore_fields}
        for key in sorted(keys_left - keys_right):
            found.append(f"{where}.{key}: only in the recording")
        for key in sorted(keys_right - keys_left):
            found.append(f"{where}.{key}: only in the replay")
        for key in sorted(keys_left & keys_right):
            if key in rules.state_fields and not isinstance(recorded[key], (dict, list)):
                if recorded[key] != replayed[key]:
                    found.append(f"{where}.{key}: recorded {recorded[key]!r}, replayed {replayed[key]!r}")
                continue
            _walk(recorded[key], replayed[key], f"{where}.{key}", rules, found)
    elif isinstance(recorded, list) and recorded and replayed:
        _walk(_merged(recorded), _merged(replayed), f"{where}[]", rules, found)

"""Known deviations that do not fail the gate until they expire.

File format (JSON)::

    {"entries": [
      {"id": "HW-AUTH-001", "reason": "gateway answers 401 without envelope", "expires": "2027-01-31"},
      {"id": "HW-GEN-002", "reason": "list-keys answers an undocumented 405", "expires": "2027-01-31",
       "signatures": ["POST /v1.0/{project_id}/kms/list-keys: * Undocumented HTTP status code"]}
    ]}

``signatures`` (optional, meant for the generated checks): the entry allows a failure only when
*every* failure of the requirement matches one of the patterns (``fnmatch`` globs over the first
line of a failure message, ``<operation label>: <check> <title>``).  A new, different
Schemathesis failure of the same requirement therefore fails the gate again.  Without
signatures an entry allows any failure of its requirement.  Expired entries fail again.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What ``--baseline-update`` writes for a deviation nobody has explained yet.
REASON_PLACEHOLDER = "TODO: explain why this deviation is accepted"
UPDATE_EXPIRY_DAYS = 90


class BaselineError(ValueError):
    pass


@dataclass(frozen=True)
class BaselineEntry:
    id: str
    reason: str
    expires: dt.date | None = None
    signatures: tuple[str, ...] = ()

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today <= self.expires

    def covers(self, failures: Iterable[str]) -> bool:
        """Whether this entry allows failures with these signatures (any, without signatures)."""
        if not self.signatures:
            return True
        found = list(failures)
        return bool(found) and all(any(fnmatch.fnmatchcase(f, p) for p in self.signatures) for f in found)

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "reason": self.reason}
        if self.expires is not None:
            row["expires"] = self.expires.isoformat()
        if self.signatures:
            row["signatures"] = list(self.signatures)
        return row


def load_baseline(path: str | Path, missing_ok: bool = False) -> dict[str, BaselineEntry]:
    if missing_ok and not Path(path).exists():
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    entries: dict[str, BaselineEntry] = {}
    rows = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise BaselineError(f"baseline {path} must be an object with an 'entries' list")
    for row in rows:
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("id"), str)
            or not isinstance(row.get("reason"), str)
        ):
            raise BaselineError(f"baseline {path}: every entry needs string 'id' and 'reason'")
        expires = None
        if row.get("expires"):
            try:
                expires = dt.date.fromisoformat(str(row["expires"]))
            except ValueError:
                raise BaselineError(f"baseline {path}: {row['id']}: expires must be YYYY-MM-DD") from None
        signatures = row.get("signatures", [])
        if not isinstance(signatures, list) or not all(isinstance(s, str) for s in signatures):
            raise BaselineError(f"baseline {path}: {row['id']}: signatures must be a list of strings")
        entries[row["id"]] = BaselineEntry(row["id"], row["reason"], expires, tuple(signatures))
    return entries


def failure_signatures(messages: Iterable[str]) -> list[str]:
    """The signature of each failure in requirement messages: the first line of every part.

    The generated layer writes ``<operation label>: <check> <title>\\n  reproduce: curl ...``;
    one test's failures are joined with `` | ``.
    """
    found: list[str] = []
    for message in messages:
        for part in message.split(" | "):
            line = part.strip().splitlines()[0].strip() if part.strip() else ""
            if line and not line.startswith("reproduce:"):
                found.append(line)
    return list(dict.fromkeys(found))


def updated_baseline(
    existing: Mapping[str, BaselineEntry],
    summaries: Iterable[Mapping[str, Any]],
    today: dt.date | None = None,
) -> dict[str, BaselineEntry]:
    """The baseline after ``--baseline-update``: exactly the current failures of the vendors run.

    Entries of requirements that still fail keep their reason and expiry (an expired entry is not
    renewed silently: edit its date by hand); new failures get a placeholder reason and an
    expiry ``UPDATE_EXPIRY_DAYS`` out, with failure signatures for the generated checks; entries
    of requirements that now pass are dropped; entries for requirements not in these runs stay.
    """
    today = today or dt.date.today()
    result = dict(existing)
    for summary in summaries:
        for row in summary["requirements"]:
            entry = existing.get(row["id"])
            if row["status"] not in ("failed", "allowed"):
                if row["status"] == "passed":
                    result.pop(row["id"], None)
                continue
            signatures = tuple(row.get("signatures", ())) if row.get("area") == "generated" else ()
            if entry is not None:
                merged = tuple(dict.fromkeys([*entry.signatures, *signatures])) if entry.signatures else ()
                result[row["id"]] = BaselineEntry(entry.id, entry.reason, entry.expires, merged)
            else:
                result[row["id"]] = BaselineEntry(
                    row["id"], REASON_PLACEHOLDER, today + dt.timedelta(days=UPDATE_EXPIRY_DAYS), signatures
                )
    return result


def write_baseline(entries: Mapping[str, BaselineEntry], path: str | Path) -> None:
    rows = [entries[k].as_json() for k in sorted(entries)]
    Path(path).write_text(json.dumps({"entries": rows}, indent=2) + "\n", encoding="utf-8")

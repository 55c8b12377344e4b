"""Known deviations that do not fail the gate until they expire.

File format (JSON)::

    {"entries": [{"id": "HW-AUTH-001", "reason": "gateway answers 401 without envelope", "expires": "2027-01-31"}]}
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path


class BaselineError(ValueError):
    pass


@dataclass(frozen=True)
class BaselineEntry:
    id: str
    reason: str
    expires: dt.date | None = None

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today <= self.expires


def load_baseline(path: str | Path) -> dict[str, BaselineEntry]:
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
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not isinstance(row.get("reason"), str):
            raise BaselineError(f"baseline {path}: every entry needs string 'id' and 'reason'")
        expires = None
        if row.get("expires"):
            try:
                expires = dt.date.fromisoformat(str(row["expires"]))
            except ValueError:
                raise BaselineError(f"baseline {path}: {row['id']}: expires must be YYYY-MM-DD") from None
        entries[row["id"]] = BaselineEntry(row["id"], row["reason"], expires)
    return entries

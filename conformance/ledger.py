"""The key ledger: every scratch key, recorded the moment it exists.

One JSON object per line, flushed and fsynced per write, so a crash or a SIGKILL still
leaves a ledger from which ``kms-conformance cleanup --ledger FILE`` finishes the job.
Events: ``created`` (vendor, key id, target) and ``cleaned`` / ``left`` (with the reason).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LedgerEntry:
    vendor: str
    key_id: str
    target: str
    scope: dict[str, str]  # what else locates the key (project_id, folder_id, kms, region)


class Ledger:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _write(self, record: dict[str, Any]) -> None:
        record = {"at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **record}
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def created(self, entry: LedgerEntry) -> None:
        self._write(
            {
                "event": "created",
                "vendor": entry.vendor,
                "key_id": entry.key_id,
                "target": entry.target,
                "scope": entry.scope,
            }
        )

    def finished(self, key_id: str, cleaned: bool, detail: str = "") -> None:
        self._write({"event": "cleaned" if cleaned else "left", "key_id": key_id, "detail": detail})

    def pending(self) -> list[LedgerEntry]:
        """Keys created and not (yet) cleaned, in creation order."""
        created: dict[str, LedgerEntry] = {}
        for record in read_records(self.path):
            if record.get("event") == "created":
                created[record["key_id"]] = LedgerEntry(
                    record["vendor"], record["key_id"], record["target"], dict(record.get("scope") or {})
                )
            elif record.get("event") == "cleaned":
                created.pop(str(record.get("key_id")), None)
        return list(created.values())


class LedgerError(ValueError):
    pass


def read_records(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LedgerError(f"cannot read ledger {path}: {exc.strerror}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # a write cut short by a crash
                continue
            raise LedgerError(f"ledger {path}: line {number} is not JSON") from None
        if isinstance(record, dict):
            records.append(record)
    return records

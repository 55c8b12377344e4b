"""``kms-conformance cleanup --ledger FILE``: finish a crashed run's cleanup.

The ledger names each scratch key's vendor, target and scope; credentials come from the
options (or environment / config), never from the ledger.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.ledger import Ledger, LedgerError
from conformance.profiles import profile_class
from conformance.profiles.base import TargetError
from conformance.redaction import Redactor
from conformance.settings import Settings

EXIT_DONE, EXIT_LEFT, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3


def cleanup_ledger(path: Path, credentials: Mapping[str, Any], out: Any = sys.stdout) -> int:
    ledger = Ledger(path)
    try:
        pending = ledger.pending()
    except LedgerError as exc:
        print(f"kms-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not pending:
        print(f"cleanup: nothing left to clean in {path}", file=out)
        return EXIT_DONE
    left = 0
    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = {}
    for entry in pending:
        groups.setdefault((entry.vendor, entry.target, tuple(sorted(entry.scope.items()))), []).append(
            entry.key_id
        )
    for (vendor, target, scope), key_ids in groups.items():
        values: dict[str, Any] = {**dict(scope), **credentials}
        settings = Settings(vendor=vendor, base_url=target, ledger=str(path), **values)
        profile = profile_class(vendor)(settings)
        profile.ledger = ledger
        try:
            profile.preflight()
        except TargetError as exc:
            print(f"kms-conformance: {Redactor(settings.secrets()).text(str(exc))}", file=sys.stderr)
            return EXIT_TARGET
        profile.created = list(key_ids)
        cleaned, not_cleaned = profile.cleanup()
        profile.close()
        left += len(not_cleaned)
        print(
            f"cleanup: {vendor} at {target}: {len(cleaned)} scheduled for deletion, {len(not_cleaned)} left",
            file=out,
        )
    return EXIT_LEFT if left else EXIT_DONE

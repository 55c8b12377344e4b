"""Which answer fields a parity comparison ignores, maps or holds by value: one vendor's data.

Each vendor package may hold a ``parity`` module with a ``PARITY`` table (``ParityRules``); one
shared mechanism reads it.  A vendor without one gets the defaults.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParityRules:
    # Fields whose values are ids a target assigns: recorded values are mapped to the replay
    # target's (so later requests name the replay's keys); compared by type only.
    id_fields: frozenset[str] = frozenset({"id", "key_id", "keyId"})
    # Fields compared by value (key and operation states); every other field by JSON type only.
    state_fields: frozenset[str] = frozenset({"status", "state"})
    # Fields left out of the comparison altogether (present on some answers only: request ids).
    ignore_fields: frozenset[str] = frozenset()
    # Fields whose string values a recording never keeps (key material, plaintext, tokens).
    secret_fields: frozenset[str] = frozenset()
    # Request paths (regular expressions) not replayed: credential fetches (the replay target
    # authenticates with its own credentials).
    skip_paths: tuple[str, ...] = ()
    # Asynchronous operation polls (a path regular expression) and the field that says "done":
    # consecutive polls of one operation are compared once, on their final answer.
    poll_path: str = ""
    done_field: str = "done"
    # Settings whose recorded values are rewritten to the replay target's (project, folder, ...).
    mapped_settings: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


def rules_for(vendor: str) -> ParityRules:
    try:
        module = importlib.import_module(f"conformance.vendors.{vendor}.parity")
    except ImportError:
        return ParityRules()
    found = getattr(module, "PARITY", None)
    return found if isinstance(found, ParityRules) else ParityRules()

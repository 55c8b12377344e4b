"""The fact map: every behaviour a vendor's docs state, and which requirement checks it.

A catalogue says what the suite checks; the fact map says what the vendor's docs promise, one
row per behaviour a server can get right or wrong, and decides each row: the requirement ids that
check it, or "not checked" with the reason.  It lives next to the catalogue,
``conformance/vendors/<name>/facts.toml``, so a gap between "documented" and "checked" is a
row anyone can read, not a silence.  ``tests/test_fact_maps.py`` holds map, catalogue and spec to
each other; the report prints the coverage it gives.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# What a fact is about.
KINDS = (
    "state",  # a precondition or effect of an operation on a key's state, or what it must not change
    "persistence",  # what later reads show after a call: fields set, cleared, kept
    "validation",  # accepted ranges and formats, and the code for what is outside them
    "shape",  # response fields and their presence per state
    "listing",  # filters, defaults, paging, what is and is not listed
    "idempotency",  # repeating a call
    "async",  # operations and jobs that complete later
    "auth",  # credentials: missing, malformed, expired
    "permission",  # a valid credential without the right
    "isolation",  # one tenant scope cannot see or touch another's keys
    "crypto",  # round trips: encrypt/decrypt, sign/verify, wrap/unwrap
    "envelope",  # the error body's shape
)

# Why a documented fact is not checked.  "gap" is honest work not yet done.
REASONS = (
    "real-time",  # needs wall time a run does not have (a 7-day deletion window elapsing)
    "capability",  # needs something the suite cannot get (a real HSM, a second account, billing)
    "unobservable",  # no call shows whether the server got it right
    "scope",  # outside every --scope the suite runs (an operation the spec does not describe)
    "gap",  # checkable, no requirement yet
)


class FactMapError(ValueError):
    pass


@dataclass(frozen=True)
class Fact:
    id: str
    operation: str  # a spec operationId, or "*" for a rule of every operation
    kind: str
    statement: str  # the behaviour, in the project's own words
    source: str  # the doc URL it comes from
    documented: bool  # False: inferred (from a client library, an example, another vendor's doc)
    requirements: tuple[str, ...] = ()  # the requirement ids that check it
    reason: str = ""  # "<REASON>: detail" when no requirement checks it

    @property
    def checked(self) -> bool:
        return bool(self.requirements)

    @property
    def reason_kind(self) -> str:
        return self.reason.split(":", 1)[0].strip()


def path_for(vendor: str) -> Path:
    from conformance import vendors

    return vendors.get(vendor).folder / "facts.toml"


@cache
def load_facts(vendor: str) -> tuple[Fact, ...]:
    """The vendor's fact map in file order; () when the vendor has none."""
    path = path_for(vendor)
    if not path.exists():
        return ()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FactMapError(f"{path.name}: {exc}") from None
    facts: list[Fact] = []
    seen: set[str] = set()
    for row in data.get("fact", []):
        try:
            fact = Fact(**{**row, "requirements": tuple(row.get("requirements", ()))})
        except TypeError as exc:
            raise FactMapError(f"{path.name}: {row.get('id', '?')}: {exc}") from None
        problem = _problem(fact)
        if problem:
            raise FactMapError(f"{path.name}: {fact.id}: {problem}")
        if fact.id in seen:
            raise FactMapError(f"{path.name}: duplicate fact id {fact.id}")
        seen.add(fact.id)
        facts.append(fact)
    return tuple(facts)


def _problem(fact: Fact) -> str:
    if fact.kind not in KINDS:
        return f"kind {fact.kind!r} is not one of {KINDS}"
    if not fact.statement.strip() or not fact.source.startswith("http"):
        return "a fact needs a statement and a source URL"
    if fact.requirements and fact.reason:
        return "a checked fact has no reason"
    if not fact.requirements and fact.reason_kind not in REASONS:
        return f"an unchecked fact needs a reason starting with one of {REASONS}"
    return ""


@dataclass(frozen=True)
class Coverage:
    """Counts of one vendor's map: documented rows checked, and why the rest are not."""

    documented: int
    inferred: int
    checked: int  # documented rows with a requirement
    inferred_checked: int
    not_checked: dict[str, int]  # documented rows by reason

    @property
    def share(self) -> float:
        return self.checked / self.documented if self.documented else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "documented": self.documented,
            "inferred": self.inferred,
            "checked": self.checked,
            "inferred_checked": self.inferred_checked,
            "not_checked": dict(self.not_checked),
            "checked_share": round(self.share, 3),
        }


def coverage(vendor: str) -> Coverage | None:
    facts = load_facts(vendor)
    if not facts:
        return None
    documented = [f for f in facts if f.documented]
    inferred = [f for f in facts if not f.documented]
    return Coverage(
        documented=len(documented),
        inferred=len(inferred),
        checked=sum(f.checked for f in documented),
        inferred_checked=sum(f.checked for f in inferred),
        not_checked=dict(sorted(Counter(f.reason_kind for f in documented if not f.checked).items())),
    )


# Which run statuses count as what for a checked fact: the worst status of its requirements.
_RUN_ORDER = ("failed", "blocked", "not_covered", "allowed", "passed")


def run_coverage(vendor: str, statuses: dict[str, str]) -> dict[str, object] | None:
    """The map's coverage for summary.json: the counts of ``coverage`` and, for the documented
    facts the map checks, what this run made of them (``statuses``: requirement id -> status).

    A fact is as good as the worst of its requirements: "failed" when one failed or was blocked,
    "not_covered" when one was not covered here (outside --scope, no --forbidden-token), else
    "passed" (passed or allowed by the baseline).
    """
    counts = coverage(vendor)
    if counts is None:
        return None
    run = {"passed": 0, "failed": 0, "not_covered": 0}
    for fact in load_facts(vendor):
        if not (fact.documented and fact.checked):
            continue
        worst = min((statuses.get(r, "not_covered") for r in fact.requirements), key=_rank)
        run[
            "failed"
            if worst in ("failed", "blocked")
            else "not_covered"
            if worst == "not_covered"
            else "passed"
        ] += 1
    return {**counts.as_dict(), "this_run": run}


def _rank(status: str) -> int:
    return _RUN_ORDER.index(status) if status in _RUN_ORDER else 0


def coverage_line(data: dict[str, object]) -> str:
    """One line for the terminal and the report: checked of documented, and why not the rest."""
    reasons = data.get("not_checked") or {}
    assert isinstance(reasons, dict)
    why = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
    run = data.get("this_run") or {}
    assert isinstance(run, dict)
    share = float(data["checked_share"]) * 100  # type: ignore[arg-type]
    line = (
        f"{data['checked']} of {data['documented']} documented behaviours have a requirement ({share:.0f}%)"
        + (f"; not checked: {why}" if why else "")
    )
    if run:
        line += (
            f"; this run: {run.get('passed', 0)} held, {run.get('failed', 0)} broken, "
            f"{run.get('not_covered', 0)} not covered here"
        )
    return line

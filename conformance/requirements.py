"""The requirement catalogue: one TOML table per vendor, ``conformance/vendors/<name>/catalogue.toml``.

A requirement is the unit of a verdict.  Tests name the requirements they prove with
``@pytest.mark.requirement("HW-STATE-003")`` (or a ``requirement`` field in a data table),
and the report is organised by requirement, not by test.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

LEVELS = ("must", "should")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str  # "must": the docs say so; "should": consistent behaviour the docs imply
    area: str  # auth, validation, state, envelope, shape, generated, ...
    title: str
    source: str  # the doc URL the statement is transcribed from
    note: str = ""  # documented alternatives, conflicts between sources
    # The gist of the doc sentence that justifies the level, in the project's own words
    # ("the DeleteKey page gives 7-1096 days and KMS.1401 outside it").  Printed in the report.
    basis: str = ""
    # The rows of the vendor's profile tables that check it: state-table rows as
    # ``operation@state->result`` and probes by name (``tests/test_traceability.py`` holds the
    # list and the tables to each other, so no row is added or dropped unseen).
    checks: tuple[str, ...] = ()


class CatalogueError(ValueError):
    pass


@cache
def load_catalogue(vendor: str) -> dict[str, Requirement]:
    """Return the requirements of ``vendor`` keyed by id, in catalogue order."""
    from conformance import vendors

    try:
        path = vendors.get(vendor).catalogue
    except vendors.UnknownVendor as exc:
        raise CatalogueError(str(exc)) from None
    if not path.exists():
        raise CatalogueError(f"no requirement catalogue for vendor {vendor!r}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    catalogue: dict[str, Requirement] = {}
    for row in data.get("requirement", []):
        req = Requirement(**{**row, "checks": tuple(row.get("checks", ()))})
        if req.level not in LEVELS:
            raise CatalogueError(f"{path.name}: {req.id}: level must be one of {LEVELS}")
        if req.id in catalogue:
            raise CatalogueError(f"{path.name}: duplicate requirement id {req.id}")
        catalogue[req.id] = req
    return catalogue

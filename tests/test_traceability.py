"""Every row of a vendor's profile tables is written down in its catalogue, and nothing else is.

A requirement's ``checks`` in ``catalogue.toml`` list the state-table rows and probes that check it
(Kubernetes conformance keeps such a list beside its tests for the same reason).  A row deleted
from a table, or added to one, without the catalogue saying so fails here: the published list of
what the suite checks and the tables that check it cannot drift apart unseen.
"""

from __future__ import annotations

import pytest

from conformance import vendors
from conformance.profiles import profile_class
from conformance.requirements import load_catalogue


def _table_rows(vendor: str) -> set[str]:
    profile = profile_class(vendor)
    return {row.id for row in profile.transitions} | {probe.id for probe in profile.probes}


def _catalogued_rows(vendor: str) -> set[str]:
    return {f"{req.id}:{check}" for req in load_catalogue(vendor).values() for check in req.checks}


@pytest.mark.parametrize("vendor", vendors.names())
def test_catalogue_lists_every_table_row(vendor: str) -> None:
    missing = sorted(_catalogued_rows(vendor) - _table_rows(vendor))
    assert not missing, f"catalogued, but no {vendor} table row checks it any more: {missing}"


@pytest.mark.parametrize("vendor", vendors.names())
def test_every_table_row_is_catalogued(vendor: str) -> None:
    unlisted = sorted(_table_rows(vendor) - _catalogued_rows(vendor))
    assert not unlisted, f"add these to the requirements' checks in {vendor}/catalogue.toml: {unlisted}"


@pytest.mark.parametrize("vendor", vendors.names())
def test_rows_are_listed_once(vendor: str) -> None:
    listed = [f"{req.id}:{c}" for req in load_catalogue(vendor).values() for c in req.checks]
    assert len(listed) == len(set(listed)), sorted({r for r in listed if listed.count(r) > 1})

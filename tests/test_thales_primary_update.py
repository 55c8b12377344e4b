"""A multi-Region primary that moves asynchronously: the rows judge the change once it is done.

AWS runs UpdatePrimaryRegion asynchronously and shows both keys ``Updating`` meanwhile, for a time
the docs do not give.  So TH-STATE-017 (the replica became the primary) and TH-STATE-034 (the
former primary became a replica) read the keys again until neither reads ``Updating``
(``ThalesProfile.settle``).  Both directions: a server that takes its time passes, one whose change
is wrong behind the ``Updating`` fails, and a key still ``Updating`` when the wait ends leaves the
rows blocked -- never passed, as they were when an ``Updating`` answer was taken for a pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.vendors.thales import profile as thales_profile
from tests.runs import run_mock

ROWS = ("TH-STATE-017", "TH-STATE-034")


def _rows(tmp_path: Path, reads: str, faults: tuple[str, ...] = ()) -> dict[str, str]:
    run = run_mock(
        "thales",
        tmp_path,
        faults=faults,
        options={"primary-update-reads": reads},
        requirement=ROWS,
        max_examples=1,
    )
    return {req: run.row(req)["status"] for req in ROWS} | {"message": run.explain()}


@pytest.mark.parametrize("reads", ["1", "3"])
def test_a_change_that_takes_its_time_passes(tmp_path: Path, reads: str) -> None:
    rows = _rows(tmp_path, reads)
    assert (rows["TH-STATE-017"], rows["TH-STATE-034"]) == ("passed", "passed"), rows["message"]


@pytest.mark.parametrize(
    ("fault", "broken"),
    [
        # The primary stays where it was: the replica is no primary, the former one no replica.
        ("update-primary-region-noop", {"TH-STATE-017", "TH-STATE-034"}),
        ("former-primary-stays-primary", {"TH-STATE-034"}),
    ],
)
def test_a_wrong_change_behind_updating_fails(tmp_path: Path, fault: str, broken: set[str]) -> None:
    rows = _rows(tmp_path, "3", (fault,))
    assert {req for req in ROWS if rows[req] == "failed"} == broken, rows["message"]
    assert {req for req in ROWS if rows[req] == "passed"} == set(ROWS) - broken, rows["message"]


def test_a_key_still_updating_when_the_wait_ends_blocks_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(thales_profile, "SETTLE_S", 0.2)  # the mock needs 3 reads, 1.75 s apart in all
    run = run_mock(
        "thales", tmp_path, options={"primary-update-reads": "3"}, requirement=ROWS, max_examples=1
    )
    for req in ROWS:
        row = run.row(req)
        assert row["status"] == "blocked", run.explain()
        assert "still reads Updating" in row["message"], row["message"]
    assert run.code == 1 and run.summary["verdict"] == "fail"

"""The repository stands on its own: a user's clone has nothing beside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# A path out of the clone into the development workspace (spelt in parts so this file is no hit).
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|\b" + "shared" + r"/(DESIGN|vendor-docs|notes)")


def _tracked() -> list[Path]:
    try:
        names = subprocess.run(
            ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    return [REPO / name for name in names]


def test_no_tracked_file_points_outside_the_repository() -> None:
    hits = []
    for path in _tracked():
        if not path.is_file() or path.suffix in (".png", ".gz"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [
            f"{path.relative_to(REPO)}:{n}"
            for n, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert hits == []


def test_every_vendor_package_has_its_pieces() -> None:
    from conformance import vendors

    for name in vendors.names():
        vendor = vendors.get(name)
        folder = vendor.folder
        assert (folder / "catalogue.toml").is_file(), name
        assert (folder / "profile.py").is_file(), name
        assert (folder / "NOTES.md").is_file(), name
        assert vendor.mock() is not None and vendor.spec.is_file(), name
        assert vendor.profile_class().vendor == name

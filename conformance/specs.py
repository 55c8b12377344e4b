"""Where the bundled OpenAPI documents live, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent
_CANDIDATES = (_HERE.parent / "specs", _HERE / "_specs")


def spec_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the bundled specs/ directory is missing from this installation")


def spec_path(name: str) -> Path:
    return spec_dir() / name


def bundled_specs() -> list[Path]:
    return sorted(spec_dir().glob("*.yaml"))

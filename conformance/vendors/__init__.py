"""The vendor registry: each vendor is one package, listed in the ``kms_conformance.vendors`` entry points.

A vendor package holds everything vendor-specific except its OpenAPI document: ``profile.py``
(how the checks drive the API), ``catalogue.toml`` (the requirements), ``mock/`` (the bundled
reference mock) and ``NOTES.md`` (the facts, with sources).  Its ``__init__`` exposes one
``VENDOR = Vendor(...)`` row, and one entry-point line registers it::

    [project.entry-points."kms_conformance.vendors"]
    huawei = "conformance.vendors.huawei:VENDOR"

The CLI, the pytest plugin, the runner and the project's tests take the vendor list from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.mocks.base import MockDefinition
    from conformance.profiles.base import Profile

ENTRY_POINT_GROUP = "kms_conformance.vendors"


class UnknownVendor(ValueError):
    """A vendor name no entry point registers, or whose entry point does not load."""


@dataclass(frozen=True)
class Vendor:
    """One registered vendor: where its pieces are and what a real target needs."""

    name: str  # the --vendor value
    package: str  # dotted name of the vendor package (profile.py, mock/, catalogue.toml inside)
    spec: Path  # the vendor's OpenAPI document
    # What a real target needs beyond --base-url (Settings field names).
    required: tuple[str, ...] = ()
    # Credential alternatives: one group of fields must all be given.
    credentials: tuple[tuple[str, ...], ...] = (("token",),)
    # Needed to create scratch keys (not with --read-only).
    for_writes: tuple[str, ...] = ()
    # The API's name as people say it, for report headers ("Huawei Cloud KMS").
    title: str = ""

    @property
    def folder(self) -> Path:
        module = import_module(self.package)
        return Path(str(module.__file__)).parent

    @property
    def catalogue(self) -> Path:
        return self.folder / "catalogue.toml"

    def profile_class(self) -> type[Profile]:
        return import_module(f"{self.package}.profile").PROFILE

    def mock(self) -> MockDefinition | None:
        """The bundled mock, or None when this installation has none for the vendor."""
        try:
            module: Any = import_module(f"{self.package}.mock")
        except ModuleNotFoundError as exc:
            if exc.name != f"{self.package}.mock":
                raise
            return None
        return module.MOCK


@cache
def _entry_points() -> dict[str, Any]:
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return dict(sorted(found.items()))


def names() -> tuple[str, ...]:
    """Every registered vendor name, sorted."""
    return tuple(_entry_points())


@cache
def get(name: str) -> Vendor:
    """The registered vendor ``name``; UnknownVendor when there is none or it does not load."""
    entry = _entry_points().get(name)
    if entry is None:
        known = ", ".join(names()) or "none (is kms-conformance installed?)"
        raise UnknownVendor(f"unknown vendor {name!r} (registered: {known})")
    try:
        vendor = entry.load()
    except Exception as exc:  # noqa: BLE001 - a broken plug-in must not be a traceback
        raise UnknownVendor(f"vendor {name!r} ({entry.value}) does not load: {exc}") from None
    if not isinstance(vendor, Vendor) or vendor.name != name:
        raise UnknownVendor(f"vendor entry point {name!r} ({entry.value}) is not a Vendor named {name!r}")
    return vendor


def with_mock() -> tuple[str, ...]:
    """Registered vendors whose bundled mock is present in this installation."""
    return tuple(n for n in names() if get(n).mock() is not None)

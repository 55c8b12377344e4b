"""The bundled reference mocks, one module per vendor, each exposing ``MOCK``."""

from __future__ import annotations

from importlib import import_module

from conformance.mocks.base import Fault, MockConfig, MockDefinition, Option, RunningMock

__all__ = ["Fault", "MockConfig", "MockDefinition", "Option", "RunningMock", "mock_definition", "available"]

_MODULES = {
    "huawei": "conformance.mocks.huawei",
    "thales": "conformance.mocks.thales",
    "yandex": "conformance.mocks.yandex",
}


def available() -> list[str]:
    """Vendors whose mock module is present in this installation."""
    found = []
    for vendor, module in _MODULES.items():
        try:
            import_module(module)
        except ModuleNotFoundError:
            continue
        found.append(vendor)
    return found


def mock_definition(vendor: str) -> MockDefinition:
    try:
        module = import_module(_MODULES[vendor])
    except (KeyError, ModuleNotFoundError):
        raise ValueError(f"no bundled mock for vendor {vendor!r}") from None
    return module.MOCK

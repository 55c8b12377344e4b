"""The shared mock machinery; each vendor's mock lives in its package (``conformance/vendors/<name>/mock.py``)."""

from __future__ import annotations

from conformance.mocks.base import Fault, MockConfig, MockDefinition, Option, RunningMock

__all__ = ["Fault", "MockConfig", "MockDefinition", "Option", "RunningMock", "mock_definition", "available"]


def available() -> list[str]:
    """Registered vendors whose bundled mock is present in this installation."""
    from conformance import vendors

    return list(vendors.with_mock())


def mock_definition(vendor: str) -> MockDefinition:
    from conformance import vendors

    definition = vendors.get(vendor).mock()
    if definition is None:
        raise ValueError(f"no bundled mock for vendor {vendor!r}")
    return definition

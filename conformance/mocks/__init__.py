"""The shared mock machinery; each vendor's mock lives in its package (``conformance/vendors/<name>/mock/``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.mocks.base import Fault, MockConfig, MockDefinition, Option, RunningMock

__all__ = [
    "BundledMock",
    "Fault",
    "MockConfig",
    "MockDefinition",
    "Option",
    "RunningMock",
    "available",
    "mock_definition",
    "start_mock",
]


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


@dataclass
class BundledMock:
    """A started bundled mock: where it listens, what a client needs, what the reports say of it."""

    vendor: str
    definition: MockDefinition
    config: MockConfig
    server: RunningMock

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def credentials(self) -> dict[str, str]:
        """The Settings fields (token, project_id, ...) a client of this mock needs."""
        return self.definition.credentials(self.config)

    @property
    def info(self) -> dict[str, Any]:
        """The mock's url, faults and options, for the reports."""
        return self.definition.describe(self.config, self.url)

    def stop(self) -> None:
        self.server.stop()


def start_mock(
    vendor: str, faults: Sequence[str] = (), options: Mapping[str, str] | None = None, **server: Any
) -> BundledMock:
    """The one place a bundled mock is started (runner, plugin, fixtures, ``kms-conformance mock``).

    ``server`` goes to ``RunningMock`` (host, port, log_level, certfile, keyfile).  ValueError for
    an unknown vendor, fault or option; OSError when the address cannot be bound.
    """
    definition = mock_definition(vendor)
    config = definition.config(list(faults), options)
    return BundledMock(
        vendor, definition, config, RunningMock(definition.create_app(config), **server).start()
    )

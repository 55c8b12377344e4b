"""What every reference mock shares: fault switches, options, and a loopback server.

A mock is a Starlette app built from a ``MockConfig``.  Ambiguous vendor behaviours are
*options* (each documented alternative selectable); *faults* turn one documented behaviour
off at a time so the project's own tests can prove the suite notices (mutation testing).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette


def canonical(name: str) -> str:
    """One spelling for switch names: kebab-case (``cancel_to_enabled`` is an alias of ``cancel-to-enabled``)."""
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True)
class Fault:
    """A named way to break one documented behaviour.

    A run against the mock with this fault must fail ``fails`` -- ``requirement`` and the ``also``
    ones the same broken behaviour owns -- and nothing beyond ``may_fail`` (other requirements may
    only be blocked by these).  The project's tests hold every fault to that.
    """

    name: str
    requirement: str
    description: str
    also: tuple[str, ...] = ()
    # Generated-check requirements the fault may also fail: whether Schemathesis samples an input
    # that shows it depends on the drawn cases, so the tests accept them but do not demand them.
    may_also: tuple[str, ...] = ()

    @property
    def fails(self) -> frozenset[str]:
        return frozenset({self.requirement, *self.also})

    @property
    def may_fail(self) -> frozenset[str]:
        return self.fails | set(self.may_also)


@dataclass(frozen=True)
class Option:
    """A behaviour the vendor docs leave open; every choice is a documented alternative."""

    name: str
    choices: tuple[str, ...]
    default: str
    description: str
    # choice -> ``should`` requirements that choice may fail: where the docs are silent the suite
    # observes and reports (at most should), and the mock makes the undocumented choice selectable.
    may_fail: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class MockConfig:
    faults: frozenset[str] = frozenset()
    options: Mapping[str, str] = field(default_factory=dict)
    # The option names the mock declares (set by ``MockDefinition.config``): reading any other is
    # a mistake -- a declaration deleted while the code still reads it -- and fails at once.
    declared: frozenset[str] | None = None

    def has(self, fault: str) -> bool:
        return canonical(fault) in {canonical(f) for f in self.faults}

    def option(self, name: str, default: str) -> str:
        if self.declared is not None and canonical(name) not in self.declared:
            raise LookupError(f"the mock reads option {name!r}, which it does not declare")
        for key, value in self.options.items():
            if canonical(key) == canonical(name):
                return value
        return default


@dataclass(frozen=True)
class MockDefinition:
    """One vendor's mock: its switches and how to build it."""

    vendor: str
    faults: tuple[Fault, ...]
    options: tuple[Option, ...]
    create_app: Callable[[MockConfig], Starlette]
    # The settings (token, project_id, ...) a client needs to use a mock built from a config.
    credentials: Callable[[MockConfig], dict[str, str]]

    def config(
        self, faults: list[str] | tuple[str, ...] = (), options: Mapping[str, str] | None = None
    ) -> MockConfig:
        """A config from switch names; ``snake_case`` spellings are accepted for the kebab-case names."""
        known = {canonical(f.name): f.name for f in self.faults}
        unknown = [f for f in faults if canonical(f) not in known]
        if unknown:
            raise ValueError(
                f"unknown {self.vendor} mock fault(s): {', '.join(unknown)}; known: {', '.join(sorted(known.values()))}"
            )
        chosen = {o.name: o.default for o in self.options}
        for name, value in (options or {}).items():
            option = next((o for o in self.options if canonical(o.name) == canonical(name)), None)
            if option is None:
                raise ValueError(
                    f"unknown {self.vendor} mock option {name!r}; known: {', '.join(o.name for o in self.options)}"
                )
            if value not in option.choices:
                raise ValueError(
                    f"{self.vendor} mock option {option.name} must be one of {', '.join(option.choices)}"
                )
            chosen[option.name] = value
        declared = frozenset(canonical(o.name) for o in self.options)
        return MockConfig(frozenset(known[canonical(f)] for f in faults), chosen, declared)

    def fault(self, name: str) -> Fault:
        return next(f for f in self.faults if canonical(f.name) == canonical(name))

    def describe(self, config: MockConfig, url: str) -> dict[str, Any]:
        """What a report says about a run against this mock, so nobody takes it for a real target."""
        defaults = {o.name: o.default for o in self.options}
        return {
            "vendor": self.vendor,
            "url": url,
            "faults": sorted(config.faults),
            "options": dict(config.options),
            "changed_options": {k: v for k, v in config.options.items() if defaults.get(k) != v},
        }


class _Server(uvicorn.Server):
    """uvicorn's server, stopped at once by ``stop()``: woken instead of at its next 0.1 s tick,
    and shut down without uvicorn's fixed 0.1 s pause.

    A test session starts and stops a few hundred mocks; each stop otherwise took 0.1-0.2 s.
    The ticks themselves (the Date header, once a second) are uvicorn's own.
    """

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown (stop accepting, close connections, let answers finish), polled
        every 5 ms instead of after a fixed 0.1 s pause; what is still running after 5 s is
        cancelled.  The mocks run without lifespan events."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 5.0
        while (self.server_state.connections or self.server_state.tasks) and loop.time() < give_up:
            await asyncio.sleep(0.005)
        for task in list(self.server_state.tasks):
            task.cancel()

    def wake(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._wake.set)


class RunningMock:
    """A uvicorn server for an app on a loopback port, in a daemon thread.

    Use as a context manager; ``url`` is ready when ``__enter__`` returns.
    """

    def __init__(
        self,
        app: Starlette,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.scheme = "https" if certfile else "http"
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it small responses wait ~40 ms for
        # delayed ACKs (uvicorn given a pre-bound socket does not set it).
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> RunningMock:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"mock server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.wake()
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> RunningMock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""What every reference mock shares: fault switches, options, and a loopback server.

A mock is a Starlette app built from a ``MockConfig``.  Ambiguous vendor behaviours are
*options* (each documented alternative selectable); *faults* turn one documented behaviour
off at a time so the project's own tests can prove the suite notices (mutation testing).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


# -- 405 answers carry Allow (RFC 9110 section 15.5.6) ------------------------------------------

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _template(path: str) -> re.Pattern[str]:
    """An OpenAPI path template as a regex: each ``{name}`` is one non-empty segment part."""
    parts = re.split(r"\{[^/{}]+\}", path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + r"\Z")


@functools.cache
def spec_operations(vendor: str) -> tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...]:
    """(template, its regex, its methods) for each path of ``vendor``'s registered spec; () when
    the vendor or its spec is not registered (a plug-in or test mock)."""
    from conformance import vendors
    from conformance.specs import load_spec

    try:
        spec = load_spec(vendors.get(vendor).spec)
    except (LookupError, ValueError, OSError):
        return ()
    paths = spec.get("paths") or {}
    return tuple(
        (path, _template(path), tuple(m.upper() for m in item if m in _HTTP_METHODS))
        for path, item in paths.items()
        if isinstance(item, dict)
    )


def spec_methods(
    operations: Iterable[tuple[str, re.Pattern[str], tuple[str, ...]]], path: str
) -> list[str] | None:
    """The methods the spec defines on ``path``: those of the matching template with the most
    literal text (``/keys/{id}:rotate`` before ``/keys/{id}``); None when no template matches."""
    best: tuple[int, tuple[str, ...]] | None = None
    for template, pattern, methods in operations:
        if pattern.match(path):
            literal = len(re.sub(r"\{[^/{}]+\}", "", template))
            if best is None or literal > best[0]:
                best = (literal, methods)
    return None if best is None else list(best[1])


def route_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods of every route whose path matches the request's (Starlette adds HEAD to GET)."""
    found: set[str] = set()
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            found |= set(getattr(route, "methods", None) or ())
    return sorted(found)


class AllowOn405:
    """ASGI middleware: a 405 answer gets an ``Allow`` header naming the methods the path supports.

    The methods come from the vendor's spec (the path's operations) where a spec path matches,
    else from the app's routes; an ``Allow`` the app set itself is replaced, since a Starlette
    route knows only its own methods, not those of other routes on the same path.
    """

    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]], vendor: str) -> None:
        self.app = app
        self.routes = routes
        self.vendor = vendor

    def allowed(self, scope: Scope) -> list[str]:
        methods = spec_methods(spec_operations(self.vendor), scope.get("path", ""))
        if methods is None:
            methods = route_methods(self.routes(), {**scope, "method": "GET"})
        return methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", ", ".join(self.allowed(scope)).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)


def with_allow_on_405(app: Starlette, vendor: str) -> Starlette:
    """``app`` with ``AllowOn405`` in front of it (before the app has started)."""
    app.add_middleware(AllowOn405, routes=lambda: app.routes, vendor=vendor)
    return app


@dataclass(frozen=True)
class MockDefinition:
    """One vendor's mock: its switches and how to build it.

    ``create_app`` as given is wrapped: every app it builds answers 405 with ``Allow``.
    """

    vendor: str
    faults: tuple[Fault, ...]
    options: tuple[Option, ...]
    create_app: Callable[[MockConfig], Starlette]
    # The settings (token, project_id, ...) a client needs to use a mock built from a config.
    credentials: Callable[[MockConfig], dict[str, str]]

    def __post_init__(self) -> None:
        build = self.create_app

        def create_app(config: MockConfig) -> Starlette:
            return with_allow_on_405(build(config), self.vendor)

        object.__setattr__(self, "create_app", create_app)

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
            # uvicorn's "auto" takes httptools and uvloop when they happen to be installed: a
            # different HTTP parser answers malformed requests differently.  The mocks answer the
            # same everywhere.
            http="h11",
            loop="asyncio",
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

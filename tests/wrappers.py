"""ASGI wrappers that put one server behaviour in front of a bundled mock, for verdict tests.

Each wrapper changes one thing a real deployment might do (an operation not routed, a proxy that
labels everything text/plain, a redirect loop) while the mock behind it stays faithful, so a test
can say exactly which requirements that one thing must fail -- and which it must not touch.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from conformance.mocks import RunningMock, mock_definition

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _answer(send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def intercept(
    app: App,
    pattern: str,
    status: int,
    body: bytes,
    headers: Sequence[tuple[bytes, bytes]] = ((b"content-type", b"application/json"),),
    method: str | None = None,
    when: Callable[[], bool] = lambda: True,
) -> App:
    """Requests whose path matches ``pattern`` (and ``method``, while ``when()``) get this answer
    instead of the app's: the one mechanism every answering wrapper below uses."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and re.search(pattern, scope["path"])
            and (method is None or scope["method"] == method)
            and when()
        ):
            await _answer(send, status, body, headers)
            return
        await app(scope, receive, send)

    return wrapped


def not_served(
    app: App, pattern: str, status: int, body: bytes, content_type: bytes = b"application/json"
) -> App:
    """Requests whose path matches ``pattern`` get the server's "no such API" answer."""
    return intercept(app, pattern, status, body, [(b"content-type", content_type)])


def redirect_loop(app: App, pattern: str = r".") -> App:
    """Requests whose path matches ``pattern`` are redirected to themselves, forever."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and re.search(pattern, scope["path"]):
            await _answer(send, 302, b"", [(b"location", scope["path"].encode())])
            return
        await app(scope, receive, send)

    return wrapped


def refuse_while(app: App, pattern: str, switch: dict[str, bool], method: str | None = None) -> App:
    """While ``switch["on"]``, requests matching ``pattern`` (and ``method``) get a 503 HTML page."""
    return intercept(
        app,
        pattern,
        503,
        b"<html>Service Unavailable</html>",
        [(b"content-type", b"text/html")],
        method,
        when=lambda: bool(switch.get("on")),
    )


def answer_with(app: App, pattern: str, body: bytes, status: int = 200, method: str | None = None) -> App:
    """Requests matching ``pattern`` (and ``method``) get ``body`` as application/json."""
    return intercept(app, pattern, status, body, method=method)


def content_type(app: App, value: bytes) -> App:
    """Every answer says ``Content-Type: value`` (a proxy that relabels bodies)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def relabel(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-type"]
                message = {**message, "headers": [*headers, (b"content-type", value)]}
            await send(message)

        await app(scope, receive, relabel)

    return wrapped


@contextlib.contextmanager
def serve(
    vendor: str,
    wrap: Callable[[App], App],
    faults: Sequence[str] = (),
    options: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, dict[str, str]]]:
    """The bundled mock of ``vendor`` behind ``wrap`` on a loopback port: (url, credentials)."""
    definition = mock_definition(vendor)
    config = definition.config(list(faults), options)
    server = RunningMock(wrap(definition.create_app(config))).start()  # type: ignore[arg-type]
    try:
        yield server.url, definition.credentials(config)
    finally:
        server.stop()

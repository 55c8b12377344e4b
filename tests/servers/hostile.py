"""A deliberately broken server in front of a bundled mock: one misbehaviour per mode.

``HostileServer(vendor, upstream_url, mode, after=N)`` answers the first ``N`` requests faithfully
(it forwards them to the mock, so scratch keys really exist) and then misbehaves the way real
staging services, proxies and throttling clouds do: HTML error pages, garbage, hangs, resets,
bodies that dribble in or never end, 429 storms, redirect loops.  It works at the socket level,
which an ASGI wrapper cannot (a reset, a body one byte at a time).

It also watches what really happened on the target, so a test can hold the run's ledger to it:
``created`` (key ids the target created) and ``deleted`` (key ids whose deletion it confirmed).

Every loop is bounded in count and time, and ``stop()`` ends every hang at once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

MODES = (
    "html-502",  # a gateway's HTML error page
    "garbage",  # bytes that are no JSON, labelled JSON
    "empty",  # 200 with an empty body
    "hang",  # reads the request, never answers
    "reset",  # resets the connection instead of answering
    "slow-body",  # headers at once, then one byte every half second
    "throttle",  # 429 with Retry-After: 1, forever
    "throttle-forever",  # 429 with Retry-After: 100000
    "huge",  # a 200 MB JSON answer
    "nested",  # JSON nested 100 000 levels deep
    "redirect-loop",  # 302 to the same path, forever
    "plain-web",  # a plain web server: 404 HTML for everything
    "refuse-deletion",  # everything works except scheduling a key's deletion (503)
)

HANG_LIMIT_S = 60.0  # the longest any hostile answer keeps a connection (stop() ends it sooner)
HUGE_BYTES = 200 * 1024 * 1024
NESTED = b"[" * 100_000 + b"]" * 100_000


def _json_path(*names: str) -> Callable[[Any], str | None]:
    def get(body: Any) -> str | None:
        for name in names:
            if not isinstance(body, dict):
                return None
            body = body.get(name)
        return body if isinstance(body, str) else None

    return get


CREATES: dict[str, tuple[str, str, Callable[[Any], str | None]]] = {
    "huawei": ("POST", r"/kms/create-key$", _json_path("key_info", "key_id")),
    "thales": ("POST", r"^/api/v1/cckm/aws/keys(/[^/]+/rotate)?$", _json_path("id")),
    "yandex": ("POST", r"^/kms/v1/keys$", _json_path("metadata", "keyId")),
}
DELETES: dict[str, tuple[str, str]] = {  # method, path pattern (group 1: the key id, or from the body)
    "huawei": ("POST", r"/kms/schedule-key-deletion$"),
    "thales": ("POST", r"^/api/v1/cckm/aws/keys/([^/]+)/schedule-deletion$"),
    "yandex": ("DELETE", r"^/kms/v1/keys/([^/:]+)$"),
}


class _QuietServer(ThreadingHTTPServer):
    """A client that gives up on a hostile answer (timeout, reset, a body it will not read) breaks
    the connection under the handler: expected here, so no traceback on the test process's stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class HostileServer:
    def __init__(self, vendor: str, upstream: str, mode: str, after: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.vendor, self.upstream, self.mode, self.after = vendor, upstream.rstrip("/"), mode, after
        self.created: set[str] = set()
        self.deleted: set[str] = set()
        self.requests = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30.0)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour ---------------------------------------------------------------------------------

    def hostile_now(self, method: str, path: str) -> bool:
        with self._lock:
            self.requests += 1
            count = self.requests
        if self.mode == "refuse-deletion":
            want, pattern = DELETES[self.vendor]
            return method == want and re.search(pattern, path) is not None
        return self.mode == "plain-web" or count > self.after

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        headers = {
            k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")
        }
        response = self._client.request(method, self.upstream + path, headers=headers, content=body)
        self._observe(method, path.split("?")[0], body, response)
        return response

    def _observe(self, method: str, path: str, sent: bytes, response: httpx.Response) -> None:
        if response.status_code >= 300:
            return
        want, pattern, extract = CREATES[self.vendor]
        if method == want and re.search(pattern, path):
            try:
                key_id = extract(response.json())
            except ValueError:
                key_id = None
            if key_id:
                self.created.add(key_id)
        want, pattern = DELETES[self.vendor]
        match = re.search(pattern, path) if method == want else None
        if match:
            key_id = match.group(1) if match.groups() else _json_path("key_id")(_loads(sent))
            if key_id:
                self.deleted.add(key_id)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK (Nagle), tens of milliseconds per answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 10 * 1024 * 1024)) if length else b""
                if server.hostile_now(self.command, self.path):
                    getattr(self, "mode_" + server.mode.replace("-", "_"))()
                    return
                answer = server.forward(self.command, self.path, dict(self.headers), body)
                self.send(
                    answer.status_code,
                    answer.content,
                    [
                        (k, v)
                        for k, v in answer.headers.multi_items()
                        if k.lower()
                        not in (
                            "content-length",
                            "transfer-encoding",
                            "connection",
                            "date",
                            "server",
                            "content-encoding",
                        )
                    ],
                )

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = handle_one

            def send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def send_json(self, status: int, body: bytes, *extra: tuple[str, str]) -> None:
                self.send(status, body, [("Content-Type", "application/json"), *extra])

            # one method per mode
            def mode_html_502(self) -> None:
                self.send(
                    502,
                    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                    [("Content-Type", "text/html")],
                )

            def mode_garbage(self) -> None:
                self.send_json(200, b"\x00\xffnot json{{{" * 10)

            def mode_empty(self) -> None:
                self.send_json(200, b"")

            def mode_hang(self) -> None:
                server.stopping.wait(HANG_LIMIT_S)
                self.close_connection = True

            def mode_reset(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            def mode_slow_body(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "120")
                self.end_headers()
                for _ in range(120):  # at most 60 s
                    if server.stopping.wait(0.5):
                        break
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:
                        break
                self.close_connection = True

            def mode_throttle(self) -> None:
                self.send_json(429, b'{"message": "slow down"}', ("Retry-After", "1"))

            def mode_throttle_forever(self) -> None:
                self.send_json(429, b'{"message": "slow down"}', ("Retry-After", "100000"))

            def mode_huge(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")  # no length: the body ends when the connection does
                self.end_headers()
                chunk = b"[" + b"1," * 32_767 + b"1]"
                sent = 0
                try:
                    self.wfile.write(b'{"keys": [')
                    while sent < HUGE_BYTES and not server.stopping.is_set():
                        self.wfile.write(chunk + b",")
                        sent += len(chunk) + 1
                    self.wfile.write(b"[]]}")
                except OSError:
                    pass
                self.close_connection = True

            def mode_nested(self) -> None:
                self.send_json(200, NESTED)

            def mode_redirect_loop(self) -> None:
                self.send(302, b"", [("Location", self.path)])

            def mode_plain_web(self) -> None:
                self.send(404, b"<html><body>Not Found</body></html>", [("Content-Type", "text/html")])

            def mode_refuse_deletion(self) -> None:
                self.send_json(503, b'{"message": "service unavailable"}')

        return Handler


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


# -- one run of the CLI against a hostile server --------------------------------------------------


@dataclass
class HostileRun:
    vendor: str
    mode: str
    after: int
    code: int
    wall_s: float
    peak_mb: float
    stdout: str
    stderr: str
    report_dir: Path
    created: set[str]  # key ids the target created
    deleted: set[str]  # key ids whose deletion the target confirmed
    signalled_s: float | None = None  # seconds from SIGTERM to the child's exit, when one was sent

    def ledger(self) -> tuple[set[str], set[str]]:
        """(keys the ledger records as created, keys it records as cleaned)."""
        created: set[str] = set()
        cleaned: set[str] = set()
        path = self.report_dir / "ledger.jsonl"
        for line in path.read_text().splitlines() if path.exists() else []:
            record = json.loads(line)
            if record.get("event") == "created":
                created.add(record["key_id"])
            elif record.get("event") == "cleaned":
                cleaned.add(record["key_id"])
        return created, cleaned


THROTTLE_BUDGET_S = 3.0
RUN_OPTIONS = (
    "--scope",
    "lifecycle",
    "--max-examples",
    "1",
    "--timeout",
    "1",
    "--throttle-budget",
    str(THROTTLE_BUDGET_S),
    "--progress",
    "off",
)


def run_hostile(
    vendor: str, mode: str, after: int, report_dir: Path, bound_s: float = 120.0, sigterm: bool = False
) -> HostileRun:
    """``kms-conformance run`` in a child process against a hostile server in front of a faithful mock.

    The child's peak memory is its sampled ``VmHWM``; the run is killed at ``bound_s`` (and
    then reported with exit code -9, which no test accepts).  With ``sigterm`` the child gets
    SIGTERM once the server has started misbehaving (half a second into it).
    """
    from conformance.mocks import RunningMock, mock_definition

    definition = mock_definition(vendor)
    config = definition.config([])
    credentials = definition.credentials(config)
    with (
        RunningMock(definition.create_app(config)) as mock,
        HostileServer(vendor, mock.url, mode, after) as hostile,
    ):
        argv = [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--vendor",
            vendor,
            "--base-url",
            hostile.url,
            "--report-dir",
            str(report_dir),
            *RUN_OPTIONS,
        ]
        for name, value in credentials.items():
            argv += [f"--{name.replace('_', '-')}", value]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_CONFORMANCE_")}
        started = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            child = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
            code, peak_kb, signalled = _wait(child, bound_s, hostile if sigterm else None)
            wall = time.monotonic() - started
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        return HostileRun(
            vendor,
            mode,
            after,
            code,
            wall,
            peak_kb / 1024,
            stdout,
            stderr,
            report_dir,
            set(hostile.created),
            set(hostile.deleted),
            signalled,
        )


def run_hostile_in_process(
    vendor: str, mode: str, after: int, tmp_path: Path, bound_s: float = 120.0, timeout: float = 1.0
) -> HostileRun:
    """The same run as ``run_hostile`` through ``conformance.runner.run_vendor`` in this process.

    ``stdout``/``stderr`` are what the CLI would print there (the runner's table; the one-line
    reason of an exit 3).  ``peak_mb`` is how far this process's peak resident memory rose during
    the run (``VmHWM`` reset through ``/proc/self/clear_refs``, else sampled ``VmRSS``) -- the mock
    and the hostile server, in this process too, included.  At ``bound_s`` the hostile server is
    stopped (which ends every hang) and the run reported with exit code -9, which no test accepts.
    """
    from conformance.mocks import RunningMock, mock_definition
    from tests.runs import run_target

    definition = mock_definition(vendor)
    config = definition.config([])
    credentials = definition.credentials(config)
    # A shorter throttling budget than the CLI runs' (the same rule ends the run, sooner).
    values = dict(scope="lifecycle", max_examples=1, timeout=timeout, throttle_budget=THROTTLE_BUDGET_S / 3)
    with (
        RunningMock(definition.create_app(config)) as mock,
        HostileServer(vendor, mock.url, mode, after) as hostile,
    ):
        watchdog = threading.Timer(bound_s, hostile.stop)
        watchdog.daemon = True
        with _PeakMemory() as memory:
            started = time.monotonic()
            watchdog.start()
            try:
                run = run_target(vendor, hostile.url, tmp_path, **values, **credentials)
            finally:
                watchdog.cancel()
            wall = time.monotonic() - started
        killed = hostile.stopping.is_set()  # only the watchdog stops the server before the end
        return HostileRun(
            vendor,
            mode,
            after,
            -9 if killed else run.code,
            wall,
            memory.peak_mb,
            run.output,
            run.errors,
            run.report_dir,
            set(hostile.created),
            set(hostile.deleted),
        )


class _PeakMemory:
    """How far this process's peak resident memory rises inside the ``with`` block, in MB."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._start_kb = 0
        self._sampled_kb = 0
        self._reset = False
        self._done = threading.Event()
        self._sampler: threading.Thread | None = None

    def __enter__(self) -> _PeakMemory:
        self._start_kb = _status_kb("self", "VmRSS:")
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")  # VmHWM := VmRSS (Linux >= 4.0)
            self._reset = True
        except OSError:
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self._sampled_kb = max(self._sampled_kb, _status_kb("self", "VmRSS:"))

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._sampler is not None:
            self._sampler.join()
        peak = (
            _status_kb("self", "VmHWM:")
            if self._reset
            else max(self._sampled_kb, _status_kb("self", "VmRSS:"))
        )
        self.peak_mb = max(0, peak - self._start_kb) / 1024


def _wait(
    child: subprocess.Popen[bytes], bound_s: float, signal_when_hostile: HostileServer | None = None
) -> tuple[int, int, float | None]:
    deadline = time.monotonic() + bound_s
    hostile_since: float | None = None
    signalled_at: float | None = None
    peak_kb = 0
    while time.monotonic() < deadline:
        peak_kb = max(peak_kb, _high_water_kb(child.pid))
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            took = time.monotonic() - signalled_at if signalled_at is not None else None
            return child.returncode, peak_kb or usage.ru_maxrss, took
        server = signal_when_hostile
        if server is not None and signalled_at is None and server.requests > server.after:
            hostile_since = hostile_since or time.monotonic()
            if time.monotonic() - hostile_since > 0.5:
                child.send_signal(signal.SIGTERM)
                signalled_at = time.monotonic()
        time.sleep(0.05)
    child.kill()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = -9
    return -9, peak_kb or usage.ru_maxrss, None


def _high_water_kb(pid: int) -> int:
    """The child's peak resident memory so far (``VmHWM``), sampled while it runs.

    Not ``ru_maxrss`` from ``wait4``: Linux carries the parent's high-water mark across the
    fork and exec, so a child of a large test worker would report the worker's size.
    """
    return _status_kb(str(pid), "VmHWM:")


def _status_kb(pid: str, field: str) -> int:
    """One ``kB`` field of ``/proc/<pid>/status`` (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0

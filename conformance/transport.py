"""Every request the suite sends goes through one guarded transport.

A target under test may be slow, dead, throttling, huge or hostile; none of that may hang the
run, eat the machine's memory, or turn into a verdict about something else. One
``GuardedTransport`` per run enforces, for the profiles' httpx clients and (through
``HttpxAdapter``) for Schemathesis' requests session alike:

* a deadline for the **whole exchange** (connect, send, headers and full body): ``--timeout``;
  a server dribbling one byte a second cannot keep a request open past it;
* a cap on the response size read (``--max-response-mb``): a larger answer is
  ``ResponseTooLarge``, never decoded;
* the request-rate cap (``--max-rps``);
* HTTP 429 honoured: wait ``Retry-After`` (capped) and send again, so throttling is never a
  failure -- within a throttling budget for the whole run (``--throttle-budget``); when the
  budget is spent the run stops (``TargetThrottled``);
* a dead target ends the run: after ``MAX_CONSECUTIVE_FAILURES`` transport failures in a row
  (timeouts, refused or reset connections) every further request fails at once with
  ``TargetStopped``, instead of each waiting its full timeout.

``TargetHealth`` holds the run-wide state (failure streak, time spent throttled, why it stopped).
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
import requests
from requests.adapters import BaseAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from conformance.interrupts import INTERRUPTS
from conformance.parity import har

MAX_WAIT_429 = 30.0  # the longest single Retry-After wait honoured
MAX_CONSECUTIVE_FAILURES = 3
MEBIBYTE = 1024 * 1024
sleep = INTERRUPTS.sleep  # the 429 waits (a test replaces it): ended early by Ctrl-C
clock = time.monotonic  # the 429 pauses' clock (a test replacing ``sleep`` replaces it too)


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (generated writes and mock-only hooks are allowed there)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Limits:
    """The bounds of one run's traffic (from ``Settings``)."""

    timeout: float = 10.0  # seconds for one whole exchange
    max_response_bytes: int = 4 * MEBIBYTE
    throttle_budget: float = 120.0  # seconds the run may spend waiting on 429 answers, in total
    max_rps: float = 0.0  # 0: no rate cap


class TargetUnusable(Exception):
    """The run cannot go on against this target (exit status 3); the message is one line."""


class TargetStopped(TargetUnusable):
    """The target stopped answering: several exchanges in a row failed at the transport level."""


class TargetThrottled(TargetUnusable):
    """The target throttles beyond the run's throttling budget."""


class ResponseTooLarge(httpx.TransportError):
    """An answer larger than the response-size cap; it was not read past the cap."""


class Throttle:
    """The ``--max-rps`` cap: requests leave no closer together than ``1 / max_rps`` seconds."""

    def __init__(self, max_rps: float = 0.0) -> None:
        self.interval = 1.0 / max_rps if max_rps > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


def retry_after(value: str | None) -> float | None:
    """Seconds the target asks us to wait before resending (``Retry-After``), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, parsed.timestamp() - time.time()) if parsed is not None else None


def backoff(attempt: int) -> float:
    """The least wait before resend number ``attempt + 1``: repeated 429s wait longer and longer
    (even with ``Retry-After: 0``), so the throttling budget always ends a storm."""
    return min(MAX_WAIT_429, 0.25 * 2**attempt) if attempt else 0.0


class TargetHealth:
    """Run-wide state of the target: failure streak, throttling spent, and why it stopped."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.throttle = Throttle(limits.max_rps)
        self.exchanges = 0  # answered exchanges
        self.streak = 0  # transport failures in a row
        self.stopped: str | None = None  # why the run cannot go on, once it cannot
        self._lock = threading.Lock()
        # [paused_until, throttled_s]: the monotonic time before which no request leaves (a 429's
        # wait) and the wall time the run has been paused so far.  A plain list, or an array shared
        # with a process of the same run (``share_pacing``) so a 429 pauses that process too.
        self._pacing: Any = [0.0, 0.0]
        self._pacing_lock: Any = self._lock
        # The run's in-flight slots (``--concurrency``): a semaphore every exchange takes one of,
        # shared with the run's other processes; None: no bound beyond the callers' own.
        self.slots: Any = None

    def share_slots(self, slots: Any) -> None:
        """Bound the exchanges in flight by ``slots`` (a threading or multiprocessing semaphore)."""
        self.slots = slots

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One exchange in flight (waiting, in short slices, for a free slot when all are taken)."""
        if self.slots is None:
            yield
            return
        while not self.slots.acquire(timeout=0.1):
            INTERRUPTS.checkpoint()
        try:
            yield
        finally:
            self.slots.release()

    def share_pacing(self, shared: Any) -> None:
        """Keep the 429 pause and budget in ``shared`` (a ``multiprocessing`` array of two doubles,
        with ``get_lock()``), which another process of the run uses too: one pause for both."""
        with shared.get_lock():
            shared[0] = max(shared[0], self._pacing[0])
            shared[1] = max(shared[1], self._pacing[1])
        self._pacing, self._pacing_lock = shared, shared.get_lock()

    @property
    def paused_until(self) -> float:
        return float(self._pacing[0])

    @property
    def throttled_s(self) -> float:
        return float(self._pacing[1])

    def check(self) -> None:
        if self.stopped:
            raise (TargetThrottled if "throttles" in self.stopped else TargetStopped)(self.stopped)

    def answered(self) -> None:
        with self._lock:
            self.exchanges += 1
            self.streak = 0

    def failed(self, exc: Exception) -> None:
        """Count a transport failure; the last one allowed raises ``TargetStopped``."""
        with self._lock:
            self.streak += 1
            if self.streak < MAX_CONSECUTIVE_FAILURES or self.stopped:
                return
            what = describe_failure(exc)
            self.stopped = (
                f"the target stopped answering after {self.exchanges} requests "
                f"({self.streak} in a row failed; the last: {what})"
            )
        raise TargetStopped(self.stopped) from exc

    def wait_throttled(self, asked: float | None, attempt: int) -> None:
        """Sleep before resending a 429'd request, or stop the run when that cannot help.

        ``asked`` is the target's ``Retry-After`` (None without one).  A wait longer than
        ``MAX_WAIT_429``, or beyond what is left of the throttling budget, stops the run.

        The wait is the whole run's, not this exchange's: until it is over no thread sends
        (``hold``), so a target throttling one check slows every check running beside it.  The
        budget counts the wall time the run is paused -- several 429s answered at once extend
        one pause, they do not each spend the budget.
        """
        budget = self.limits.throttle_budget
        seconds = max(0.5 if asked is None else asked, backoff(attempt))
        with self._pacing_lock:
            now = clock()  # (CLOCK_MONOTONIC: the same clock in every process)
            until = now + min(seconds, MAX_WAIT_429)
            added = max(0.0, until - max(self.paused_until, now))
            if asked is not None and asked > MAX_WAIT_429:
                self.stopped = (
                    f"the target throttles every request: it asked to wait {asked:g} s (Retry-After), "
                    f"more than the longest wait honoured ({MAX_WAIT_429:g} s)"
                )
            elif self.throttled_s + added > budget:
                self.stopped = (
                    f"the target throttles every request: HTTP 429 answers used up the throttling "
                    f"budget of {budget:g} s; raise --throttle-budget or lower --max-rps"
                )
            else:
                self._pacing[1] = self.throttled_s + added
                self._pacing[0] = max(self.paused_until, until)
        if self.stopped:
            raise TargetThrottled(self.stopped)
        self.hold()

    def hold(self) -> None:
        """Wait until no 429 pause is in force (``wait_throttled``); at once when none is."""
        left = self.paused_until - clock()
        if left > 0:
            sleep(left)

    def resume(self) -> None:
        """Let cleanup try once more after a stop (it gives up on the first transport failure)."""
        with self._lock:
            self.stopped = None
            self.streak = MAX_CONSECUTIVE_FAILURES - 1


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")[:200]


# -- the whole-exchange deadline ------------------------------------------------------------------

_deadline = threading.local()


def _remaining(timeout: float | None, phase: str) -> float | None:
    """The socket timeout left for one read/write/connect: never past the exchange's deadline."""
    deadline = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise (httpcore.ConnectTimeout if phase == "connect" else httpcore.ReadTimeout)(
            "the exchange took longer than --timeout"
        )
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _remaining(timeout, "read"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _remaining(timeout, "write"))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self.inner.start_tls(ssl_context, server_hostname, _remaining(timeout, "connect"))
        )

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every socket operation bounded by the exchange deadline."""

    def __init__(self) -> None:
        self.inner = httpcore.SyncBackend()

    def connect_tcp(  # type: ignore[override]  # socket_options and the like pass through **kwargs
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        **kwargs: Any,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self.inner.connect_tcp(host, port, _remaining(timeout, "connect"), local_address, **kwargs)
        )

    def connect_unix_socket(  # type: ignore[override]
        self, path: str, timeout: float | None = None, **kwargs: Any
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self.inner.connect_unix_socket(path, _remaining(timeout, "connect"), **kwargs))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


# -- the transport ----------------------------------------------------------------------------------


class GuardedTransport(httpx.BaseTransport):
    """httpx transport with the run's bounds (see the module docstring) around a normal one."""

    def __init__(
        self,
        health: TargetHealth,
        verify: Any = True,
        on_request: Callable[[httpx.Request], None] | None = None,
    ) -> None:
        self.health = health
        self.limits = health.limits
        self.on_request = on_request  # told of every request before it leaves (once, not per retry)
        self.inner = httpx.HTTPTransport(verify=verify)
        # The same pool httpx builds, on a socket backend that enforces the exchange deadline.
        ssl_context = self.inner._pool._ssl_context
        self.inner._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=_DeadlineBackend()
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.on_request is not None:
            self.on_request(request)
        attempt = 0
        while True:
            INTERRUPTS.checkpoint()  # a Ctrl-C noted since the last exchange ends the run here
            self.health.check()
            self.health.hold()  # a 429 answered to any thread pauses them all
            self.health.throttle.wait()
            with self.health.slot():
                response = self._exchange(request)
            if response.status_code != 429:
                return response
            self.health.wait_throttled(retry_after(response.headers.get("Retry-After")), attempt)
            attempt += 1

    def _exchange(self, request: httpx.Request) -> httpx.Response:
        """One exchange within the deadline; the body is read here (at most the size cap)."""
        recorder = har.active()  # ``--record``: every exchange of the run, in start order
        started = recorder.begin() if recorder is not None else None
        _deadline.at = time.monotonic() + self.limits.timeout
        try:
            try:
                response = self.inner.handle_request(request)
                content = self._read_capped(response)
            except ResponseTooLarge as exc:
                self.health.answered()
                if recorder is not None and started is not None:
                    recorder.add(started, request, 0, [], b"", str(exc))
                raise
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if recorder is not None and started is not None:
                    recorder.add(started, request, 0, [], b"", describe_failure(exc))
                self.health.failed(exc)
                raise
        finally:
            _deadline.at = None
        self.health.answered()
        if recorder is not None and started is not None:
            recorder.add(started, request, response.status_code, response.headers.multi_items(), content)
        # ``stream=``: the client decodes (Content-Encoding) as it would have from the socket.
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(content),
            extensions=response.extensions,
            request=request,
        )

    def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self.limits.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise ResponseTooLarge(_too_large(cap, int(declared)))
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.stream:  # type: ignore[union-attr]
                size += len(chunk)
                if size > cap:
                    # Freed now: the exception's traceback keeps this frame (and so the list) alive
                    # for as long as a report holds the exception -- up to the cap per answer.
                    chunks.clear()
                    raise ResponseTooLarge(_too_large(cap))
                chunks.append(chunk)
        finally:
            response.close()
        return b"".join(chunks)

    def close(self) -> None:
        self.inner.close()


def _too_large(cap: int, declared: int | None = None) -> str:
    size = f"{declared / MEBIBYTE:.1f} MiB" if declared else f"more than {cap / MEBIBYTE:g} MiB"
    return (
        f"response too large: the answer is {size}; only {cap / MEBIBYTE:g} MiB are read (--max-response-mb)"
    )


class HttpxAdapter(BaseAdapter):
    """A ``requests`` adapter that sends through a ``GuardedTransport``.

    Schemathesis speaks ``requests``; routing it through the same transport gives generated
    cases exactly the bounds, throttling and failure counting of the handwritten checks.
    """

    def __init__(self, transport: GuardedTransport) -> None:
        super().__init__()
        self.transport = transport

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body
        content = body.encode() if isinstance(body, str) else (body or b"")
        outgoing = httpx.Request(
            str(request.method),
            str(request.url),
            headers=dict(request.headers),
            content=content if isinstance(content, bytes) else b"".join(content),
        )
        try:
            answer = self.transport.handle_request(outgoing)
        except ResponseTooLarge:
            raise
        except httpx.TimeoutException as exc:
            raise requests.exceptions.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except httpx.TransportError as exc:
            raise requests.exceptions.ConnectionError(
                str(exc) or type(exc).__name__, request=request
            ) from exc
        headers = HTTPHeaderDict(
            [(k, v) for k, v in answer.headers.multi_items() if k.lower() != "transfer-encoding"]
        )
        raw = HTTPResponse(
            body=io.BytesIO(b"".join(answer.stream)),  # type: ignore[arg-type]
            headers=headers,
            status=answer.status_code,
            reason=answer.reason_phrase,
            version=11,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)

    def build_response(self, request: requests.PreparedRequest, raw: HTTPResponse) -> requests.Response:
        response = requests.Response()
        response.status_code = raw.status
        response.headers = requests.structures.CaseInsensitiveDict(raw.headers)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = raw.reason or ""
        response.url = str(request.url or "")
        response.request = request
        response.connection = self  # type: ignore[assignment]
        requests.cookies.extract_cookies_to_jar(response.cookies, request, raw)
        return response

    def close(self) -> None:
        self.transport.close()


def guarded_session(transport: GuardedTransport) -> requests.Session:
    """A requests session (for Schemathesis) sending through ``transport``."""
    session = requests.Session()
    # Not from the environment: proxies (the transport ignores them, like the profiles' httpx
    # clients), CA bundles (each request passes ``verify``) and netrc credentials.  Reading them
    # also iterates ``os.environ`` on every request, which raises when another thread changes it
    # meanwhile -- pytest sets PYTEST_CURRENT_TEST for each check while generated ones run ahead.
    session.trust_env = False
    adapter = HttpxAdapter(transport)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

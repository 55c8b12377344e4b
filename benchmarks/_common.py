"""Shared helpers of the benchmark scripts: mocks on loopback, child-process measurement, output.

Nothing here asserts on time: the scripts print figures and write them to
``reports/benchmarks/<name>.json`` and ``.md``.  Every load loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import vendors

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "reports" / "benchmarks"
HOOKS = Path(__file__).resolve().parent / "hooks"  # sitecustomize that counts generated cases in children
VENDORS = vendors.names()
PYTHON = sys.executable
CLI = str(Path(sys.executable).with_name("kms-conformance"))


# -- mocks ------------------------------------------------------------------------------------------


class CountingApp:
    """ASGI wrapper counting the HTTP requests a mock answers (both tools are counted the same way)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1  # one event loop thread: no lock needed
        await self.app(scope, receive, send)


@contextlib.contextmanager
def thread_mock(vendor: str) -> Iterator[tuple[str, dict[str, str], CountingApp]]:
    """The bundled mock in a thread of this process (as ``kms-conformance run`` runs it)."""
    from conformance.mocks import RunningMock, mock_definition

    definition = mock_definition(vendor)
    config = definition.config()
    app = CountingApp(definition.create_app(config))
    server = RunningMock(app).start()  # type: ignore[arg-type]
    try:
        yield server.url, definition.credentials(config), app
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def process_mock(
    vendor: str, timeout: float = 60.0
) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    """``kms-conformance mock`` in its own process on a free loopback port (its own core and GIL).

    The credentials are the ones the mock printed: some are minted with a secret of the mock's own
    process (the Thales JWTs), so this process could not make them.
    """
    import tempfile

    from conformance.mocks import mock_definition
    from conformance.options import flag_for

    definition = mock_definition(vendor)
    names = list(definition.credentials(definition.config()))
    port = free_port()
    printed = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [CLI, "mock", "--vendor", vendor, "--host", "127.0.0.1", "--port", str(port)],
        stdout=printed,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            printed.seek(0)
            lines = printed.read().decode("utf-8", "replace").splitlines()
            given = dict(
                line.strip().split(" ", 1)
                for line in lines
                if line.startswith("  --") and " " in line.strip()
            )
            credentials = {name: given[flag_for(name)] for name in names if flag_for(name) in given}
            if len(credentials) == len(names):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{vendor} mock did not start on port {port} within {timeout:g} s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", credentials, proc
    finally:
        printed.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def profile_for(vendor: str, base_url: str, credentials: dict[str, str]) -> Any:
    from conformance.profiles import profile_class
    from conformance.settings import Settings

    return profile_class(vendor)(Settings(vendor=vendor, base_url=base_url, run_id="kmsbench", **credentials))


@dataclass(frozen=True)
class Template:
    """A request captured from a profile, replayed by plain httpx clients."""

    name: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes

    def send(self, client: Any) -> Any:
        return client.request(self.method, self.url, headers=self.headers, content=self.content)


def template(
    profile: Any, name: str, operation: str, key_id: str | None, body: dict[str, Any] | None = None
) -> Template:
    """The request ``profile.call(operation, key_id, body)`` would send, headers included."""
    client = profile.client
    request = profile.build_request(client, operation, key_id, body or {})
    headers = tuple((k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length"))
    # Thales: the bearer comes from an auth flow, not a static header.
    if not any(k.lower() == "authorization" for k, _ in headers):
        extra = profile.headers_for("valid")
        headers += tuple((k, v) for k, v in extra.items() if k.lower() not in {h.lower() for h, _ in headers})
    return Template(name, request.method, str(request.url), headers, request.content)


def cheap_request(profile: Any) -> Template:
    """A cheap documented request: read an unknown (well-formed) key id -> 404."""
    op = "describe" if profile.vendor == "huawei" else "get"
    return template(profile, f"{op} unknown id", op, profile.unknown_key_id())


def realistic_mix(profile: Any) -> list[Template]:
    """get, list, disable, enable on one scratch key (the key ends enabled after each cycle)."""
    key_id = profile.key_in("enabled")
    get = "describe" if profile.vendor == "huawei" else "get"
    list_body = {"limit": "10"} if profile.vendor == "huawei" else {}
    return [
        template(profile, get, get, key_id),
        template(profile, "list", "list", None, list_body),
        template(profile, "disable", "disable", key_id),
        template(profile, "enable", "enable", key_id),
    ]


def raw_loop(templates: Sequence[Template], count: int, time_limit: float) -> dict[str, Any]:
    """A plain httpx loop: ``count`` requests cycling through ``templates`` (stops at ``time_limit`` s)."""
    import httpx

    statuses: dict[int, int] = {}
    sent = 0
    with httpx.Client(timeout=10.0) as client:
        cpu0, t0 = time.process_time(), time.perf_counter()
        deadline = t0 + time_limit
        while sent < count and time.perf_counter() < deadline:
            response = templates[sent % len(templates)].send(client)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            sent += 1
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    return {
        "requests": sent,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "requests_per_s": round(sent / wall, 1) if wall else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "stopped_by_time": sent < count,
    }


# -- child processes --------------------------------------------------------------------------------


@dataclass
class ChildRun:
    argv: list[str]
    exit_code: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # user + sys of the child and every descendant it waited for
    maxrss_mb: float = 0.0  # largest single process in the tree (kernel's ru_maxrss)
    tree_rss_peak_mb: float = 0.0  # sampled sum of RSS over the live process tree
    # The same for PSS: a page shared by n processes counts 1/n in each -- forked children share
    # their parent's modules, which a sum of RSS counts once per child.
    tree_pss_peak_mb: float = 0.0
    stdout: str = ""
    cases: int | None = None  # generated cases, counted by benchmarks/hooks/sitecustomize.py
    loop_s: float | None = None  # wall time of pytest's test loop(s), from benchmarks/hooks/kmsbench_timer.py
    loop_cpu_s: float | None = None  # CPU time of the test loop(s) (the pytest process only)
    extra: dict[str, Any] = field(default_factory=dict)


def _tree_memory(root: int, *, pss: bool = True) -> tuple[int, int]:
    """Sums of RSS and of PSS (bytes) over ``root`` and its live descendants, from /proc.

    PSS (``smaps_rollup``) makes the kernel walk every page of every process: ``pss=False``
    leaves it out (0), for the samples that would otherwise compete with the run for its cores."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(stat[1]), []).append(pid)  # field 4: ppid
        rss[pid] = int(stat[21]) * page  # field 24: rss in pages
    total, proportional, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        proportional += _pss(pid) if pss else 0
        stack.extend(children.get(pid, []))
    return total, proportional


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_child(
    argv: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    count_cases: bool = False,
    hypothesis_dir: Path | None = None,
) -> ChildRun:
    """Run ``argv``, measuring wall, CPU and memory of its whole process tree; kill it after ``timeout`` s.

    ``count_cases``: load ``benchmarks/hooks`` in the child (and its Python children) to count
    generated cases and time pytest's test loop.  ``hypothesis_dir``: Hypothesis' storage
    directory for the child (``HYPOTHESIS_STORAGE_DIRECTORY``; see ``hypothesis_storage``).
    """
    import tempfile

    result = ChildRun(argv)
    environment = dict(os.environ if env is None else env)
    if hypothesis_dir is not None:
        environment["HYPOTHESIS_STORAGE_DIRECTORY"] = str(hypothesis_dir)
    cases_file = None
    if count_cases:
        fd, cases_file = tempfile.mkstemp(prefix="kmsbench-cases-")
        os.close(fd)
        environment["KMS_BENCH_CASES_FILE"] = cases_file
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HOOKS), environment.get("PYTHONPATH")]))
        environment["PYTEST_PLUGINS"] = ",".join(
            filter(None, ["kmsbench_timer", environment.get("PYTEST_PLUGINS")])
        )
    out_fd, out_path = tempfile.mkstemp(prefix="kmsbench-out-")
    peak = peak_pss = 0
    stop = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=environment, stdout=out_fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    os.close(out_fd)

    def sample() -> None:
        nonlocal peak, peak_pss
        samples = 0
        while not stop.wait(0.1):
            samples += 1
            rss, pss = _tree_memory(proc.pid, pss=samples % 5 == 0)  # PSS twice a second
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
        stop.set()
        sampler.join()
    result.wall_s = round(time.perf_counter() - t0, 3)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result.exit_code = proc.returncode
    result.cpu_s = round(usage.ru_utime + usage.ru_stime, 3)
    result.maxrss_mb = round(usage.ru_maxrss / 1024, 1)
    result.tree_rss_peak_mb = round(peak / 2**20, 1)
    result.tree_pss_peak_mb = round(peak_pss / 2**20, 1)
    result.stdout = Path(out_path).read_text(encoding="utf-8", errors="replace")
    os.unlink(out_path)
    if cases_file is not None:
        found: dict[str, float] = {}
        for line in Path(cases_file).read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition(" ")
            found[name] = found.get(name, 0.0) + float(value)  # children of --vendor all add up
        result.cases = int(found.get("cases", 0))
        result.loop_s = round(found["loop"], 3) if "loop" in found else None
        result.loop_cpu_s = round(found["loopcpu"], 3) if "loopcpu" in found else None
        os.unlink(cases_file)
    return result


def hypothesis_storage(path: Path, warm: bool) -> Path:
    """A Hypothesis storage directory, empty (cold) or with the Unicode tables already built (warm).

    Cold is what a clean checkout sees (``.hypothesis/`` is git-ignored): the first process that
    generates strings builds the utf-8 codec table by encoding every code point (about 1.5 s of
    CPU and some 150 MB of RSS) and caches it under ``unicode_data/``.  Warm is every later run.
    """
    path.mkdir(parents=True, exist_ok=True)
    if warm:
        code = (
            "from hypothesis.internal.charmap import charmap, intervals_from_codec; "
            "charmap(); intervals_from_codec('utf-8')"
        )
        env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(path)}
        subprocess.run([PYTHON, "-c", code], env=env, check=True, timeout=120)
    return path


# -- output -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine() -> dict[str, Any]:
    import platform

    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, data: dict[str, Any], markdown: str) -> None:
    """Write ``reports/benchmarks/<name>.json`` and ``.md`` and print the markdown."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (OUT / f"{name}.md").write_text(markdown + "\n", encoding="utf-8")
    print(markdown)
    print(f"\nwritten: {OUT / (name + '.json')} and .md")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0, time.process_time() - cpu0

"""A full run over a slow network: each vendor at ``--scope full`` behind a latency-adding proxy.

For every round-trip time (default 0, 20 and 100 ms) and vendor this starts the vendor's bundled
mock in its own process, puts a TCP proxy on loopback in front of it that holds every chunk for
half the RTT in each direction (``LatencyProxy``: bounded connections, stops by itself after
``--proxy-lifetime`` seconds), runs ``kms-conformance run --base-url <proxy>`` with the mock's
credentials (from ``KMS_CONFORMANCE_*`` variables, never on the command line) and prints:

* wall time, CPU time of the run's process (user + system: a run cannot be faster than its own
  computation, which one interpreter does on one core), requests (``summary.json``), the floor ``requests x RTT / concurrency`` (what
  the requests cost at that RTT if nothing else took time), wall/floor; and, per vendor, where the
  requests went (summary.json's per-layer breakdown and the requirements whose checks sent most);
* peak memory of the run's process tree (the mock and proxy are not counted): the sum of RSS, and
  of PSS, which counts a page the run's processes share once (their real footprint);
* the verdict, which must not change with the RTT.

    .venv/bin/python benchmarks/network.py [--rtt 0,20,100] [--vendors huawei,yandex] [--concurrency N]

``--concurrency N`` (default 8, the run's own default for a remote target) is passed to the run
and used for the floor; ``--concurrency 1`` measures a sequential run.  (The proxy listens on
loopback, where the run's automatic choice would be the loopback one, so it is always passed.)
Figures only; nothing asserts on time.  Results: reports/benchmarks/network.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CLI, VENDORS, log, machine, markdown_table, process_mock, run_child, write_results  # noqa: E402

CHILD_TIMEOUT = 1800.0  # one vendor's run is killed after this many seconds
CHUNK = 65536


class LatencyProxy:
    """TCP proxy on 127.0.0.1 that delays every chunk by ``delay`` seconds in each direction.

    Order is kept per direction: each chunk is written at (time it was read + delay).  At most
    ``max_connections`` are open at once (more wait in the listen backlog); after ``lifetime``
    seconds the proxy closes everything and stops, so a benchmark that hangs cannot leave it.
    """

    def __init__(self, upstream: tuple[str, int], delay: float, lifetime: float, max_connections: int = 256):
        self.upstream = upstream
        self.delay = delay
        self.lifetime = lifetime
        self.slots = max_connections
        self.port = 0
        self.connections = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("latency proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.write_eof()

        sender = asyncio.create_task(send())
        try:
            while True:
                data = await reader.read(CHUNK)
                await queue.put((loop.time() + self.delay, data))
                if not data:
                    break
            await sender
        except (OSError, asyncio.CancelledError):
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._open.add(task)
            task.add_done_callback(self._open.discard)
        async with self._semaphore:
            self.connections += 1
            try:
                up_r, up_w = await asyncio.open_connection(*self.upstream)
            except OSError:
                client_w.close()
                return
            try:
                await asyncio.gather(self._pump(client_r, up_w), self._pump(up_r, client_w))
            finally:
                for w in (client_w, up_w):
                    with contextlib.suppress(OSError):
                        w.close()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._semaphore = asyncio.Semaphore(self.slots)
        self._open: set[asyncio.Task[None]] = set()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.lifetime)
        server.close()
        # Connections still open are ended here, and awaited: a task the loop drops unfinished
        # makes asyncio print "Task was destroyed but it is pending!" over the benchmark's output.
        for task in list(self._open):
            task.cancel()
        if self._open:
            await asyncio.wait(list(self._open), timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


@contextlib.contextmanager
def behind_proxy(vendor: str, rtt_ms: float, lifetime: float) -> Iterator[tuple[str, dict[str, str]]]:
    with process_mock(vendor) as (url, credentials, _proc):
        host, port = url.removeprefix("http://").split(":")
        with LatencyProxy((host, int(port)), rtt_ms / 2000.0, lifetime) as proxy:
            yield proxy.url, credentials


SHARED_AREAS = frozenset({"generated", "envelope", "api", "transport"})


def run_once(vendor: str, rtt_ms: float, args: argparse.Namespace) -> dict[str, Any]:
    with behind_proxy(vendor, rtt_ms, args.proxy_lifetime) as (url, credentials):
        report = Path(tempfile.mkdtemp(prefix=f"kmsbench-net-{vendor}-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_CONFORMANCE_")}
        env.update({f"KMS_CONFORMANCE_{k.upper()}": v for k, v in credentials.items()})
        env["KMS_CONFORMANCE_CASE_CACHE"] = args.case_cache
        argv = [CLI, "run", "--vendor", vendor, "--base-url", url, "--scope", "full", "--progress", "off"]
        argv += ["--report-dir", str(report), "--max-examples", str(args.max_examples)]
        argv += ["--concurrency", str(args.concurrency)]
        argv += args.extra
        child = run_child(argv, timeout=CHILD_TIMEOUT, env=env)
    try:
        summary = json.loads((report / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        summary = {"verdict": f"no summary (exit {child.exit_code})", "totals": {"requests": 0}}
    requests = summary["totals"]["requests"]
    floor = requests * rtt_ms / 1000.0 / args.concurrency
    return {
        "vendor": vendor,
        "rtt_ms": rtt_ms,
        "exit_code": child.exit_code,
        "verdict": summary["verdict"],
        "wall_s": round(child.wall_s, 2),
        "cpu_s": round(child.cpu_s, 2),
        "requests": requests,
        "floor_s": round(floor, 2),
        "wall_over_floor": round(child.wall_s / floor, 2) if floor else None,
        "peak_tree_rss_mb": round(child.tree_rss_peak_mb, 1),
        "peak_tree_pss_mb": round(child.tree_pss_peak_mb, 1),
        "maxrss_mb": round(child.maxrss_mb, 1),
        "requests_by_layer": summary["totals"].get("requests_by_layer", {}),
        # Requirements every check (or every generated case) answers for are left out: their count
        # is the layer's.
        "busiest_requirements": sorted(
            (
                (row.get("requests", 0), row["id"])
                for row in summary.get("requirements", [])
                if row.get("area") not in SHARED_AREAS
            ),
            reverse=True,
        )[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rtt", default="0,20,100", help="round-trip times in ms, comma-separated")
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument(
        "--concurrency", type=int, default=8, help="the run's --concurrency (and the floor's divisor)"
    )
    parser.add_argument("--proxy-lifetime", type=float, default=CHILD_TIMEOUT + 60)
    parser.add_argument(
        "--case-cache",
        default="",
        help="the runs' --case-cache (default: a fresh folder, so the first RTT's runs draw their "
        "cases and later ones send them from it; 'off': every run draws)",
    )
    parser.add_argument("extra", nargs="*", help="more options for kms-conformance run (after --)")
    args = parser.parse_args()
    args.case_cache = args.case_cache or tempfile.mkdtemp(prefix="kmsbench-net-cases-")
    rows = []
    for rtt in [float(x) for x in args.rtt.split(",")]:
        for vendor in args.vendors.split(","):
            log(f"{vendor} at {rtt:g} ms RTT ...")
            row = run_once(vendor, rtt, args)
            log(f"  {row['wall_s']} s, {row['requests']} requests, verdict {row['verdict']}")
            rows.append(row)
    table = markdown_table(
        [
            "vendor",
            "RTT ms",
            "wall s",
            "CPU s",
            "requests",
            "floor s",
            "wall/floor",
            "peak RSS MB",
            "peak PSS MB",
            "verdict",
        ],
        [
            [
                r["vendor"],
                r["rtt_ms"],
                r["wall_s"],
                r["cpu_s"],
                r["requests"],
                r["floor_s"],
                r["wall_over_floor"],
                r["peak_tree_rss_mb"],
                r["peak_tree_pss_mb"],
                r["verdict"],
            ]
            for r in rows
        ],
    )
    note = (
        f"--concurrency {args.concurrency} (also the floor's divisor); --max-examples {args.max_examples}; "
        "case cache: "
        + (
            "off"
            if args.case_cache == "off"
            else "the first RTT's runs draw the cases, later runs send them again"
        )
    )
    # Where the requests went (summary.json's breakdown), once per vendor: the same at every RTT.
    layers = sorted({layer for r in rows for layer in r["requests_by_layer"]})
    first = {r["vendor"]: r for r in reversed(rows)}
    where = markdown_table(
        ["vendor", *layers, "busiest requirements (requests)"],
        [
            [
                vendor,
                *(r["requests_by_layer"].get(layer, 0) for layer in layers),
                ", ".join(f"{rid} {n}" for n, rid in r["busiest_requirements"]),
            ]
            for vendor, r in first.items()
        ],
    )
    text = f"{table}\n\n{note}\n\nRequests by layer:\n\n{where}"
    write_results("network", {"machine": machine(), "rows": rows, "note": note}, text)


if __name__ == "__main__":
    main()

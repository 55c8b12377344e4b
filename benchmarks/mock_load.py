"""The bundled mocks under load: requests/second, latency percentiles, and state consistency.

Each vendor's mock runs as ``kms-conformance mock`` in its own process on a free loopback
port.  Client threads (each with its own ``httpx.Client``) in this process drive it:

* throughput: for each concurrency level, a bounded number of requests (``--requests``) or a
  bounded time (``--seconds``), whichever comes first, cycling a cheap read of an unknown id
  (404) and a read of an existing key (200); reports req/s and p50/p99/max latency;
* consistency: ``--threads`` threads race schedule/cancel on one key (Huawei
  schedule-key-deletion / cancel-key-deletion; Thales schedule-deletion / cancel-deletion;
  Yandex scheduleVersionDestruction / cancelVersionDestruction on a non-primary version),
  ``--iterations`` each, bounded in time too.  With transitions applied atomically, successful
  schedules and cancels alternate, so ``schedules - cancels`` is 0 or 1 and says whether the
  key ends pending; anything else is a lost or duplicated transition (a duplicated schedule
  followed by a duplicated cancel would cancel out: the counts cannot see that).

    .venv/bin/python benchmarks/mock_load.py [--vendors yandex] [--concurrency 1,4,16]

Loopback only.  Figures only, except the consistency verdict, which is printed (not asserted).
Results: reports/benchmarks/mock_load.json and .md.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    VENDORS,
    Template,
    cheap_request,
    log,
    machine,
    markdown_table,
    percentile,
    process_mock,
    profile_for,
    template,
    write_results,
)

# (key state to create, schedule operation, cancel operation, states meaning "pending")
RACE = {
    "huawei": ("enabled", "schedule_deletion", "cancel_deletion", {"pending-deletion"}),
    "thales": ("enabled", "schedule_deletion", "cancel_deletion", {"pending-deletion"}),
    "yandex": (
        "rotated",
        "schedule_version_destruction",
        "cancel_version_destruction",
        {"version-scheduled"},
    ),
}


def load(templates: list[Template], threads: int, count: int, seconds: float) -> dict[str, Any]:
    """``threads`` clients send up to ``count`` requests in total, for at most ``seconds``."""
    import httpx

    tickets = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    statuses: list[dict[int, int]] = [{} for _ in range(threads)]
    errors = [0] * threads
    start = threading.Barrier(threads + 1, timeout=30)
    deadline = [0.0]

    def worker(index: int) -> None:
        with httpx.Client(timeout=10.0) as client:
            try:
                templates[0].send(client)  # connect before the clock starts
            finally:
                start.wait()
            while time.perf_counter() < deadline[0]:
                n = next(tickets)
                if n >= count:
                    return
                t0 = time.perf_counter()
                try:
                    response = templates[n % len(templates)].send(client)
                except Exception:  # noqa: BLE001 - counted, the loop goes on
                    errors[index] += 1
                    continue
                latencies[index].append(time.perf_counter() - t0)
                statuses[index][response.status_code] = statuses[index].get(response.status_code, 0) + 1

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for thread in pool:
        thread.join(seconds + 15)
    wall = time.perf_counter() - t0
    flat = [x for part in latencies for x in part]
    merged: dict[int, int] = {}
    for part in statuses:
        for code, n in part.items():
            merged[code] = merged.get(code, 0) + n
    ms = [x * 1000 for x in flat]
    return {
        "threads": threads,
        "requests": len(flat),
        "errors": sum(errors),
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(flat) / wall, 1) if wall else None,
        "p50_ms": round(percentile(ms, 50) or 0, 2),
        "p99_ms": round(percentile(ms, 99) or 0, 2),
        "max_ms": round(max(ms), 2) if ms else None,
        "statuses": {str(k): v for k, v in sorted(merged.items())},
        "stopped_by_time": len(flat) < count,
    }


def succeeded(vendor: str, response: Any) -> bool:
    if response.status_code != 200:
        return False
    if vendor != "yandex":
        return True
    try:
        body = response.json()  # an Operation: success is done without error
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("done")) and "error" not in body


def race(vendor: str, profile: Any, threads: int, iterations: int, seconds: float) -> dict[str, Any]:
    import httpx

    state, schedule_op, cancel_op, pending = RACE[vendor]
    key_id = profile.key_in(state)
    initial = profile.key_state(key_id)
    templates = {
        "schedule": template(profile, "schedule", schedule_op, key_id),
        "cancel": template(profile, "cancel", cancel_op, key_id),
    }
    ok = {"schedule": [0] * threads, "cancel": [0] * threads}
    refused = {"schedule": [0] * threads, "cancel": [0] * threads}
    other: list[str] = []
    errors = [0] * threads
    start = threading.Barrier(threads, timeout=30)
    deadline = time.perf_counter() + seconds + 5

    def worker(index: int) -> None:
        rng = random.Random(index)
        with httpx.Client(timeout=10.0) as client:
            start.wait()
            for _ in range(iterations):
                if time.perf_counter() > deadline:
                    return
                name = rng.choice(("schedule", "cancel"))
                try:
                    response = templates[name].send(client)
                except Exception:  # noqa: BLE001
                    errors[index] += 1
                    continue
                if succeeded(vendor, response):
                    ok[name][index] += 1
                elif response.status_code in (200, 400, 409):
                    refused[name][index] += 1
                else:
                    other.append(f"{name}: HTTP {response.status_code} {response.text[:120]}")

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    t0 = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(seconds + 15)
    wall = time.perf_counter() - t0
    final = profile.key_state(key_id)
    schedules, cancels = sum(ok["schedule"]), sum(ok["cancel"])
    difference = schedules - cancels
    consistent = difference in (0, 1) and (difference == 1) == (final in pending) and not other
    return {
        "key_state_before": initial,
        "key_state_after": final,
        "threads": threads,
        "iterations": iterations,
        "wall_s": round(wall, 3),
        "schedules_ok": schedules,
        "cancels_ok": cancels,
        "schedules_refused": sum(refused["schedule"]),
        "cancels_refused": sum(refused["cancel"]),
        "transport_errors": sum(errors),
        "unexpected": other[:10],
        "consistent": consistent,
    }


def vendor_run(vendor: str, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"vendor": vendor}
    with process_mock(vendor) as (url, credentials, _proc):
        profile = profile_for(vendor, url, credentials)
        try:
            key_id = profile.key_in("enabled")
            read = "describe" if vendor == "huawei" else "get"
            templates = [cheap_request(profile), template(profile, f"{read} existing key", read, key_id)]
            result["requests"] = [t.name for t in templates]
            result["load"] = []
            for threads in args.concurrency:
                log(f"{vendor}: {threads} client thread(s)")
                result["load"].append(load(templates, threads, args.requests, args.seconds))
            log(f"{vendor}: schedule/cancel race, {args.threads} threads x {args.iterations}")
            result["race"] = race(vendor, profile, args.threads, args.iterations, args.seconds)
        finally:
            profile.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--concurrency", default="1,4,16", help="client thread counts (comma-separated)")
    parser.add_argument("--requests", type=int, default=2000, help="request bound per load level")
    parser.add_argument("--seconds", type=float, default=10.0, help="time bound per load level and per race")
    parser.add_argument("--threads", type=int, default=8, help="threads in the schedule/cancel race")
    parser.add_argument(
        "--iterations", type=int, default=100, help="schedule-or-cancel calls per race thread"
    )
    args = parser.parse_args()
    args.concurrency = [max(1, min(64, int(x))) for x in args.concurrency.split(",") if x]
    args.requests = max(1, min(args.requests, 100_000))
    args.seconds = max(0.5, min(args.seconds, 120.0))
    args.threads = max(2, min(args.threads, 64))
    args.iterations = max(1, min(args.iterations, 10_000))
    data: dict[str, Any] = {
        "benchmark": "mock_load",
        "machine": machine(),
        "bounds": {
            "requests": args.requests,
            "seconds": args.seconds,
            "race_threads": args.threads,
            "race_iterations": args.iterations,
        },
    }
    data["vendors"] = [vendor_run(v, args) for v in args.vendors.split(",") if v]
    load_rows = [
        [
            r["vendor"],
            lv["threads"],
            lv["requests"],
            lv["errors"],
            lv["wall_s"],
            lv["requests_per_s"],
            lv["p50_ms"],
            lv["p99_ms"],
            lv["max_ms"],
        ]
        for r in data["vendors"]
        for lv in r["load"]
    ]
    race_rows = [
        [
            r["vendor"],
            r["race"]["threads"],
            r["race"]["schedules_ok"],
            r["race"]["cancels_ok"],
            r["race"]["schedules_refused"] + r["race"]["cancels_refused"],
            r["race"]["transport_errors"],
            r["race"]["key_state_after"],
            "yes" if r["race"]["consistent"] else "**NO**",
        ]
        for r in data["vendors"]
    ]
    md = [
        f"# Mocks under load ({time.strftime('%Y-%m-%d %H:%M:%S')}, load at start "
        f"{data['machine']['loadavg_at_start']})",
        "",
        "Mock in its own process; clients are threads of one process, half unknown-id reads (404), "
        "half reads of an existing key (200).",
        "",
        markdown_table(
            ["vendor", "threads", "requests", "errors", "wall s", "req/s", "p50 ms", "p99 ms", "max ms"],
            load_rows,
        ),
        "",
        "## schedule/cancel race on one key",
        "",
        markdown_table(
            [
                "vendor",
                "threads",
                "schedules ok",
                "cancels ok",
                "refused",
                "transport errors",
                "final state",
                "consistent",
            ],
            race_rows,
        ),
    ]
    write_results("mock_load", data, "\n".join(md))


if __name__ == "__main__":
    main()

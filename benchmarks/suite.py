"""The whole suite against the bundled mocks: wall, CPU, requests, cases, requirements, memory.

For each vendor and for ``--vendor all`` (the default ``--workers 0``: side by side; and with
``--workers 2`` and ``--workers 1``), each with cold and warm caches, this runs
``kms-conformance run`` as a child process and measures its whole process tree (wall time,
user+sys CPU, largest RSS and sampled RSS sum), reading tests/requests/requirements from
``summary.json`` and counting generated cases with ``benchmarks/hooks/sitecustomize.py``.

Then, per vendor, the two layers alone (pytest with ``--pyargs``: scenario = state machine +
probes; generated = Schemathesis cases), and a raw baseline in this process: a plain httpx loop
sending as many requests as the scenario layer did against the same vendor's bundled mock
(also in a thread of this process, as the suite runs it), once with a cheap documented request
(read an unknown id -> 404) and once with a get/list/disable/enable mix (median of 3 rounds each).  The suite's overhead
is the ratio of the two throughputs, measured in one run.

    .venv/bin/python benchmarks/suite.py [--vendors huawei,thales] [--skip-all] [--max-examples N]

Figures only; nothing asserts on time.  Results: reports/benchmarks/suite.json and suite.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    CLI,
    PYTHON,
    VENDORS,
    ChildRun,
    cheap_request,
    hypothesis_storage,
    log,
    machine,
    markdown_table,
    profile_for,
    ratio,
    raw_loop,
    realistic_mix,
    run_child,
    thread_mock,
    write_results,
)

CHILD_TIMEOUT = 600.0  # a child run is killed after this many seconds
RAW_TIME_LIMIT = 60.0  # a raw loop stops after this many seconds even if its count is not reached
RAW_ROUNDS = 3  # raw loops are short: the median of this many rounds is reported

LAYERS = {
    "scenario": ["conformance.checks.test_state_machine", "conformance.checks.test_probes"],
    "generated": ["conformance.checks.test_generated"],
}


def summaries(report_dir: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(report_dir.rglob("summary.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("vendor") in VENDORS:
            found.append(data)
    return found


def figures(label: str, child: ChildRun, found: list[dict[str, Any]]) -> dict[str, Any]:
    tests = sum(s["totals"]["tests"] for s in found)
    requests = sum(s["totals"]["requests"] for s in found)
    requirements = sum(s["totals"]["requirements"] for s in found)
    in_session = sum(s.get("duration_s") or 0 for s in found)
    return {
        "run": label,
        "exit_code": child.exit_code,
        "verdicts": {s["vendor"]: s["verdict"] for s in found},
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "session_s": round(in_session, 2),  # summary.json duration_s (sum over vendors)
        "loop_s": child.loop_s,  # pytest test loop(s) only (sum over vendors)
        "loop_cpu_s": child.loop_cpu_s,
        "requests": requests,
        "tests": tests,
        "generated_cases": child.cases,
        "requirements": requirements,
        "requests_per_s": round(requests / child.wall_s, 1) if child.wall_s else None,
        "cpu_ms_per_request": round(1000 * child.cpu_s / requests, 2) if requests else None,
        "maxrss_mb": child.maxrss_mb,
        "tree_rss_peak_mb": child.tree_rss_peak_mb,
        "tree_pss_peak_mb": child.tree_pss_peak_mb,
    }


def suite_run(
    label: str, args: list[str], root: Path, cache: str, warm_dir: Path, warm_cases: Path
) -> dict[str, Any]:
    """One measured run: ``cold`` starts with an empty Hypothesis storage and an empty case cache
    (a fresh machine), ``warm`` with both filled by earlier runs (every later run on it)."""
    report_dir = root / f"{label}-{cache}".replace(" ", "_")
    storage = (
        warm_dir
        if cache == "warm"
        else hypothesis_storage(report_dir.with_name(report_dir.name + "-hyp"), False)
    )
    cases = warm_cases if cache == "warm" else report_dir.with_name(report_dir.name + "-cases")
    log(f"suite ({cache} caches): kms-conformance run {' '.join(args)}")
    child = run_child(
        [CLI, "run", *args, "--report-dir", str(report_dir)],
        timeout=CHILD_TIMEOUT,
        env={**os.environ, "KMS_CONFORMANCE_CASE_CACHE": str(cases)},
        count_cases=True,
        hypothesis_dir=storage,
    )
    result = figures(label, child, summaries(report_dir))
    result["hypothesis_cache"] = cache
    result["command"] = f"kms-conformance run {' '.join(args)}"
    if child.exit_code not in (0, 1):
        result["output_tail"] = child.stdout[-2000:]
    log(
        f"  -> {result['wall_s']} s wall, {result['cpu_s']} s CPU, {result['requests']} requests, exit {child.exit_code}"
    )
    return result


def layer_run(vendor: str, layer: str, max_examples: int, root: Path, warm_dir: Path) -> dict[str, Any]:
    summary = root / f"layer-{vendor}-{layer}.json"
    argv = [
        PYTHON,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=line",
        "-W",
        "ignore::DeprecationWarning",
        "--rootdir",
        str(root),
        "-c",
        str(root / "pytest.ini"),
        "--pyargs",
        *LAYERS[layer],
        "--kms-vendor",
        vendor,
        "--kms-summary",
        str(summary),
        "--kms-max-examples",
        str(max_examples),
    ]
    log(f"layer: {vendor} {layer}")
    child = run_child(
        argv,
        timeout=CHILD_TIMEOUT,
        cwd=root,
        env={**os.environ, "KMS_CONFORMANCE_CASE_CACHE": "off"},  # the generated layer draws its cases
        count_cases=True,
        hypothesis_dir=warm_dir,
    )
    found = [json.loads(summary.read_text(encoding="utf-8"))] if summary.exists() else []
    result = figures(f"{vendor} {layer}", child, found)
    loop, loop_cpu = result["loop_s"], result["loop_cpu_s"]
    result["requests_per_loop_s"] = round(result["requests"] / loop, 1) if loop else None
    result["loop_cpu_ms_per_request"] = (
        round(1000 * loop_cpu / result["requests"], 2) if loop_cpu and result["requests"] else None
    )
    if not found:
        result["output_tail"] = child.stdout[-2000:]
    return result


def raw_baseline(vendor: str, count: int) -> dict[str, Any]:
    """Plain httpx loops of ``count`` requests against the vendor's bundled mock (thread in this process)."""
    with thread_mock(vendor) as (url, credentials, _app):
        profile = profile_for(vendor, url, credentials)
        try:
            cheap = [cheap_request(profile)]
            mix = realistic_mix(profile)
        finally:
            profile.close()
        raw_loop(cheap, min(count, 50), RAW_TIME_LIMIT)  # warm up: connection, first-request paths

        def median(templates: list[Any]) -> dict[str, Any]:
            rounds = sorted(
                (raw_loop(templates, count, RAW_TIME_LIMIT) for _ in range(RAW_ROUNDS)),
                key=lambda r: r["requests_per_s"] or 0,
            )
            return {
                **rounds[len(rounds) // 2],
                "rounds_requests_per_s": [r["requests_per_s"] for r in rounds],
            }

        return {
            "cheap": {"request": cheap[0].name, **median(cheap)},
            "mix": {"request": ", ".join(t.name for t in mix), **median(mix)},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--vendors", default=",".join(VENDORS), help="comma-separated vendors (default: all three)"
    )
    parser.add_argument("--skip-all", action="store_true", help="skip the --vendor all runs")
    parser.add_argument(
        "--skip-layers", action="store_true", help="skip the per-layer runs and raw baselines"
    )
    parser.add_argument(
        "--max-examples", type=int, default=10, help="generated cases per operation (suite default 10)"
    )
    parser.add_argument(
        "--cache",
        choices=("cold", "warm", "both"),
        default="both",
        help="Hypothesis storage for the suite runs: empty (a clean checkout), pre-built, or each",
    )
    args = parser.parse_args()
    vendors = [v for v in args.vendors.split(",") if v]
    started = time.time()
    data: dict[str, Any] = {"benchmark": "suite", "machine": machine(), "max_examples": args.max_examples}
    common = ["--max-examples", str(args.max_examples)]
    with tempfile.TemporaryDirectory(prefix="kmsbench-suite-") as tmp:
        root = Path(tmp)
        (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        warm_dir = hypothesis_storage(root / "hypothesis-warm", True)
        warm_cases = root / "cases-warm"
        targets = [(v, ["--vendor", v, *common]) for v in vendors]
        if not args.skip_all:
            targets.append(("all", ["--vendor", "all", *common]))  # --workers 0: side by side
            targets.append(("all workers=2", ["--vendor", "all", "--workers", "2", *common]))
            targets.append(("all workers=1", ["--vendor", "all", "--workers", "1", *common]))
        caches = ("cold", "warm") if args.cache == "both" else (args.cache,)
        if "warm" in caches:
            log("filling the warm case cache (one unmeasured run per vendor)")
            for vendor in vendors:
                run_child(
                    [
                        CLI,
                        "run",
                        "--vendor",
                        vendor,
                        *common,
                        "--progress",
                        "off",
                        "--report-dir",
                        str(root / f"prime-{vendor}"),
                    ],
                    timeout=CHILD_TIMEOUT,
                    env={**os.environ, "KMS_CONFORMANCE_CASE_CACHE": str(warm_cases)},
                    hypothesis_dir=warm_dir,
                )
        runs = [
            suite_run(label, argv, root, cache, warm_dir, warm_cases)
            for cache in caches
            for label, argv in targets
        ]
        data["runs"] = runs
        layers: list[dict[str, Any]] = []
        baselines: dict[str, Any] = {}
        if not args.skip_layers:
            for vendor in vendors:
                scenario = layer_run(vendor, "scenario", args.max_examples, root, warm_dir)
                generated = layer_run(vendor, "generated", args.max_examples, root, warm_dir)
                log(f"raw httpx loop: {vendor}, {scenario['requests']} requests")
                raw = raw_baseline(vendor, max(scenario["requests"], 100))
                baselines[vendor] = raw
                scenario["raw_cheap_requests_per_s"] = raw["cheap"]["requests_per_s"]
                scenario["raw_mix_requests_per_s"] = raw["mix"]["requests_per_s"]
                scenario["throughput_vs_raw_mix"] = ratio(
                    scenario["requests_per_loop_s"], raw["mix"]["requests_per_s"]
                )
                scenario["throughput_vs_raw_cheap"] = ratio(
                    scenario["requests_per_loop_s"], raw["cheap"]["requests_per_s"]
                )
                raw_cpu_ms = (
                    1000 * raw["mix"]["cpu_s"] / raw["mix"]["requests"] if raw["mix"]["requests"] else None
                )
                scenario["raw_mix_cpu_ms_per_request"] = round(raw_cpu_ms, 2) if raw_cpu_ms else None
                if generated["generated_cases"] and generated["loop_s"]:
                    generated["cases_per_loop_s"] = round(
                        generated["generated_cases"] / generated["loop_s"], 1
                    )
                    generated["loop_cpu_ms_per_case"] = round(
                        1000 * generated["loop_cpu_s"] / generated["generated_cases"], 1
                    )
                layers += [scenario, generated]
        data["layers"] = layers
        data["raw_baselines"] = baselines
    data["benchmark_wall_s"] = round(time.time() - started, 1)

    md = [
        f"# Suite benchmark ({time.strftime('%Y-%m-%d %H:%M:%S')}, {data['machine']['cpus']} CPUs, "
        f"load at start {data['machine']['loadavg_at_start']})",
        "",
        "## `kms-conformance run` against the bundled mocks",
        "",
    ]
    md.append(
        markdown_table(
            [
                "run",
                "caches",
                "exit",
                "wall s",
                "CPU s",
                "test loop s",
                "requests",
                "tests",
                "gen. cases",
                "requirements",
                "req/s",
                "CPU ms/req",
                "max RSS MB",
                "tree RSS MB",
                "tree PSS MB",
            ],
            [
                [
                    r["run"],
                    r["hypothesis_cache"],
                    r["exit_code"],
                    r["wall_s"],
                    r["cpu_s"],
                    r["loop_s"],
                    r["requests"],
                    r["tests"],
                    r["generated_cases"],
                    r["requirements"],
                    r["requests_per_s"],
                    r["cpu_ms_per_request"],
                    r["maxrss_mb"],
                    r["tree_rss_peak_mb"],
                    r["tree_pss_peak_mb"],
                ]
                for r in runs
            ],
        )
    )
    md += [
        "",
        "wall/CPU: the whole process tree of the run; test loop: pytest's run loop only (summed over "
        "vendors); max RSS: the largest process; tree RSS: sampled sum over the live process tree "
        "(a page a forked child shares with its parent counts in both); tree PSS: the same with each shared "
        "page divided among its sharers, the tree's real footprint. "
        "caches cold: an empty Hypothesis storage directory and an empty case cache, as on a fresh machine "
        "(the utf-8 codec table is built once per process, every generated case is drawn); warm: both filled "
        "by earlier runs (generated cases sent from the case cache, `--case-cache`). all: `--workers 0` "
        "(vendors side by side, the default). Layers below: Hypothesis storage warm, case cache off (drawn).",
    ]
    if layers:
        md += [
            "",
            "## Layers alone (pytest --pyargs) and the raw httpx loop in the same run",
            "",
            "req/s (loop) = requests / pytest's test-loop time, i.e. without interpreter start-up, imports, "
            "collection and mock start; CPU ms/req (loop) = the test loop's CPU (mock thread included) per "
            "request; the raw loop's CPU ms/req is measured the same way.",
            "",
        ]
        md.append(
            markdown_table(
                [
                    "layer",
                    "wall s",
                    "loop s",
                    "requests",
                    "gen. cases",
                    "req/s (loop)",
                    "CPU ms/req (loop)",
                    "raw req/s mix",
                    "raw CPU ms/req",
                    "ratio vs raw mix",
                    "ratio vs raw cheap",
                    "cases/s (loop)",
                    "CPU ms/case (loop)",
                ],
                [
                    [
                        r["run"],
                        r["wall_s"],
                        r["loop_s"],
                        r["requests"],
                        r["generated_cases"],
                        r.get("requests_per_loop_s"),
                        r.get("loop_cpu_ms_per_request"),
                        r.get("raw_mix_requests_per_s"),
                        r.get("raw_mix_cpu_ms_per_request"),
                        r.get("throughput_vs_raw_mix"),
                        r.get("throughput_vs_raw_cheap"),
                        r.get("cases_per_loop_s"),
                        r.get("loop_cpu_ms_per_case"),
                    ]
                    for r in layers
                ],
            )
        )
        md += [
            "",
            "Raw loops (plain httpx.Client, one connection, mock in a thread of the same process; "
            f"median of {RAW_ROUNDS} rounds):",
            "",
        ]
        md.append(
            markdown_table(
                ["vendor", "loop", "requests", "wall s", "CPU s", "req/s", "statuses"],
                [
                    [
                        v,
                        kind,
                        b[kind]["requests"],
                        b[kind]["wall_s"],
                        b[kind]["cpu_s"],
                        b[kind]["requests_per_s"],
                        json.dumps(b[kind]["statuses"]),
                    ]
                    for v, b in baselines.items()
                    for kind in ("cheap", "mix")
                ],
            )
        )
    write_results("suite", data, "\n".join(md))


if __name__ == "__main__":
    main()

"""The generated layer vs ``schemathesis run`` on the same spec and the same mock, side by side.

Per vendor, one bundled mock runs in a thread of this process (it counts the requests it
answers).  Against it, one after the other, each in its own child process (so both pay
interpreter start-up and schema loading):

* ours: ``GeneratedRun(profile, operation, verdict).run()`` for every operation
  ``selected_operations`` picks (what ``test_generated`` does, without pytest around it);
* theirs: ``schemathesis run specs/<vendor>.yaml --url <mock> --phases fuzzing --max-examples N``
  with the same credentials (``X-Auth-Token`` and a fixed ``project_id`` path parameter for
  Huawei, a bearer for the others), the same checks and the same accepted statuses for
  ``positive_data_acceptance``, a fixed seed and no example database.

Reported: cases, HTTP requests (counted by the mock), wall and CPU of each child, cases/s and
CPU ms/case; ours also reports its in-loop time (without start-up).  Each tool runs ``--repeat``
times in alternating order and the median round (by wall time) is reported.  By default both use
a Hypothesis storage directory whose Unicode tables are already built (``--cold``: an empty one,
as on a clean checkout, where each process first spends ~1.5 s of CPU building them).

    .venv/bin/python benchmarks/generated_vs_schemathesis.py [--vendors huawei] [--max-examples 10]

Figures only.  Results: reports/benchmarks/generated_vs_schemathesis.json and .md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    PYTHON,
    REPO,
    VENDORS,
    hypothesis_storage,
    log,
    machine,
    markdown_table,
    profile_for,
    ratio,
    run_child,
    thread_mock,
    write_results,
)

CHILD_TIMEOUT = 600.0
# The checks our generated layer runs (conformance.fuzz POSITIVE_CHECKS | NEGATIVE_CHECKS).
CHECKS = (
    "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,"
    "positive_data_acceptance,negative_data_rejection"
)


def ours_child(vendor: str, base_url: str, credentials_file: str, max_examples: int) -> None:
    """Child mode: run the generated layer for every selected operation; print one JSON line."""
    from conformance.fuzz import GeneratedRun, selected_operations
    from conformance.profiles import profile_class
    from conformance.verdict import Verdict

    credentials = json.loads(Path(credentials_file).read_text(encoding="utf-8"))
    profile = profile_for(vendor, base_url, credentials)
    profile.settings = profile.settings.replace(max_examples=max_examples)
    cases = 0
    original = GeneratedRun.one

    def one(self: GeneratedRun, case: Any) -> None:
        nonlocal cases
        cases += 1
        original(self, case)

    GeneratedRun.one = one  # type: ignore[method-assign]
    cpu0, t0 = time.process_time(), time.perf_counter()
    operations = selected_operations(profile_class(vendor), profile.settings)
    failures: dict[str, int] = {}
    for operation in operations:
        verdict = Verdict()
        GeneratedRun(profile, operation, verdict).run()
        for requirement, messages in verdict.results.items():
            if messages:
                failures[requirement] = failures.get(requirement, 0) + len(messages)
    in_loop, in_loop_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    profile.close()
    print(
        json.dumps(
            {
                "cases": cases,
                "operations": len(operations),
                "in_loop_s": round(in_loop, 3),
                "in_loop_cpu_s": round(in_loop_cpu, 3),
                "failed_requirements": failures,
            }
        )
    )


def schemathesis_config(vendor: str, credentials: dict[str, str], path: Path) -> None:
    lines = [
        "[checks.positive_data_acceptance]",
        'expected-statuses = ["2xx", "400", "401", "403", "404", "409"]',
    ]
    if vendor == "huawei":
        lines += ["", "[parameters]", f'"path.project_id" = "{credentials["project_id"]}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ours(
    vendor: str, url: str, creds_file: Path, max_examples: int, work: Path, storage: Path, app: Any
) -> dict[str, Any]:
    before = app.requests
    child = run_child(
        [
            PYTHON,
            str(Path(__file__).resolve()),
            "--child-ours",
            vendor,
            url,
            str(creds_file),
            str(max_examples),
        ],
        timeout=CHILD_TIMEOUT,
        cwd=work,
        hypothesis_dir=storage,
    )
    try:
        inner = json.loads(child.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        inner = {"cases": None, "error": child.stdout[-2000:]}
    return {
        "exit_code": child.exit_code,
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "maxrss_mb": child.maxrss_mb,
        "sampled_rss_peak_mb": child.tree_rss_peak_mb,
        "requests": app.requests - before,
        **inner,
    }


def _theirs(argv: list[str], work: Path, storage: Path, app: Any) -> dict[str, Any]:
    before = app.requests
    child = run_child(argv, timeout=CHILD_TIMEOUT, cwd=work, hypothesis_dir=storage)
    generated = re.search(r"(\d+) generated", child.stdout)
    return {
        "exit_code": child.exit_code,
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "maxrss_mb": child.maxrss_mb,
        "sampled_rss_peak_mb": child.tree_rss_peak_mb,
        "requests": app.requests - before,
        "cases": int(generated.group(1)) if generated else None,
        "summary": "\n".join(line for line in child.stdout.splitlines()[-12:] if line.strip()),
    }


def _median_run(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median wall time, plus every round's wall and CPU."""
    ordered = sorted(rounds, key=lambda r: r["wall_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rounds_wall_s"] = [r["wall_s"] for r in rounds]
    chosen["rounds_cpu_s"] = [r["cpu_s"] for r in rounds]
    return chosen


def compare(vendor: str, max_examples: int, work: Path, cold: bool, repeat: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "vendor": vendor,
        "max_examples": max_examples,
        "hypothesis_cache": "cold" if cold else "warm",
        "rounds": repeat,
    }
    warm_dir = None if cold else hypothesis_storage(work / "hypothesis-warm", True)
    ours_rounds: list[dict[str, Any]] = []
    their_rounds: list[dict[str, Any]] = []
    with thread_mock(vendor) as (url, credentials, app):
        creds_file = work / f"{vendor}-credentials.json"
        creds_file.write_text(json.dumps(credentials), encoding="utf-8")
        profile = profile_for(vendor, url, credentials)
        headers = profile.headers_for("valid")  # Thales: logs in to the mock and returns the bearer
        profile.close()
        config = work / f"{vendor}-schemathesis.toml"
        schemathesis_config(vendor, credentials, config)
        argv = [
            str(Path(PYTHON).with_name("schemathesis")),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            str(REPO / "specs" / f"{vendor}.yaml"),
            "--url",
            url,
            "--phases",
            "fuzzing",
            "--max-examples",
            str(max_examples),
            "--checks",
            CHECKS,
            "--seed",
            "1",
            "--generation-database",
            "none",
            "--workers",
            "1",
        ]
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        for n in range(repeat):

            def storage(tool: str, n: int = n) -> Path:
                return warm_dir or hypothesis_storage(work / f"{vendor}-{tool}-cold-{n}", False)

            order = (
                ("ours", "theirs") if n % 2 == 0 else ("theirs", "ours")
            )  # alternate: drift hits both alike
            for tool in order:
                log(
                    f"{vendor}: round {n + 1}/{repeat}: {'GeneratedRun' if tool == 'ours' else 'schemathesis run'}"
                )
                if tool == "ours":
                    ours_rounds.append(
                        _ours(vendor, url, creds_file, max_examples, work, storage("ours"), app)
                    )
                else:
                    their_rounds.append(_theirs(argv, work, storage("st"), app))
    secret_free = [
        a if not a.startswith(tuple(f"{n}:" for n in headers)) else a.split(":")[0] + ": ***" for a in argv
    ]
    result["ours"] = {
        "command": f"python benchmarks/generated_vs_schemathesis.py --child-ours {vendor} <mock> "
        f"<credentials> {max_examples}",
        **_median_run(ours_rounds),
    }
    result["schemathesis"] = {
        "command": " ".join(secret_free).replace(url, "<mock>"),
        **_median_run(their_rounds),
    }
    for side in ("ours", "schemathesis"):
        s = result[side]
        s["cases_per_s"] = round(s["cases"] / s["wall_s"], 1) if s.get("cases") and s["wall_s"] else None
        s["cpu_ms_per_case"] = round(1000 * s["cpu_s"] / s["cases"], 2) if s.get("cases") else None
    ours = result["ours"]
    if ours.get("cases") and ours.get("in_loop_s"):
        ours["in_loop_cases_per_s"] = round(ours["cases"] / ours["in_loop_s"], 1)
        ours["in_loop_cpu_ms_per_case"] = round(1000 * ours["in_loop_cpu_s"] / ours["cases"], 2)
    result["ours_vs_schemathesis_cases_per_s"] = ratio(
        ours["cases_per_s"], result["schemathesis"]["cases_per_s"]
    )
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-ours":
        ours_child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--max-examples", type=int, default=10, help="cases per operation for both tools")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds per tool (alternating order); medians reported"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty Hypothesis storage for both (a clean checkout); default: pre-built Unicode tables",
    )
    args = parser.parse_args()
    data: dict[str, Any] = {"benchmark": "generated_vs_schemathesis", "machine": machine(), "checks": CHECKS}
    with tempfile.TemporaryDirectory(prefix="kmsbench-gen-") as tmp:
        data["vendors"] = [
            compare(v, args.max_examples, Path(tmp), args.cold, max(1, min(args.repeat, 10)))
            for v in args.vendors.split(",")
            if v
        ]
    rows = []
    for r in data["vendors"]:
        for side in ("ours", "schemathesis"):
            s = r[side]
            rows.append(
                [
                    r["vendor"],
                    side,
                    s["exit_code"],
                    s.get("cases"),
                    s["requests"],
                    s["wall_s"],
                    s["cpu_s"],
                    s["cases_per_s"],
                    s["cpu_ms_per_case"],
                    s.get("in_loop_cases_per_s"),
                    s.get("in_loop_cpu_ms_per_case"),
                    s["maxrss_mb"],
                    s["sampled_rss_peak_mb"],
                ]
            )
    md = [
        f"# Generated layer vs schemathesis run ({time.strftime('%Y-%m-%d %H:%M:%S')}, "
        f"max-examples {args.max_examples}, {'cold' if args.cold else 'warm'} .hypothesis, load at start {data['machine']['loadavg_at_start']})",
        "",
        markdown_table(
            [
                "vendor",
                "tool",
                "exit",
                "cases",
                "requests",
                "wall s",
                "CPU s",
                "cases/s",
                "CPU ms/case",
                "cases/s in loop",
                "CPU ms/case in loop",
                "max RSS MB",
                "sampled RSS MB",
            ],
            rows,
        ),
        "",
        f"Median of {data['vendors'][0]['rounds'] if data['vendors'] else 0} rounds per tool (by wall time). "
        "Whole process: wall/CPU of the child from start to exit (interpreter start-up and schema loading "
        "included for both). In loop: ours without start-up (Schemathesis' CLI gives no such figure). "
        "max RSS: the kernel's ru_maxrss; sampled RSS: /proc every 0.1 s.",
        "",
        "Ratio ours/schemathesis (cases per wall second, whole process): "
        + ", ".join(f"{r['vendor']} {r['ours_vs_schemathesis_cases_per_s']}" for r in data["vendors"]),
    ]
    write_results("generated_vs_schemathesis", data, "\n".join(md))


if __name__ == "__main__":
    main()

"""``--vendor all`` runs the vendors side by side (``conformance.side_by_side``).

Each vendor's run is a child process: forked from a parent that has imported everything, or a
fresh interpreter where forking is not safe.  Both kinds must behave alike: each child's output
printed whole and in vendor order, exit statuses in vendor order, secrets in the child's
environment and never on its command line, at most ``workers`` children at once, a crashed child
reported as one, and Ctrl-C starting no further child while the running ones end on their own.

The children here run a stand-in for the CLI (``fake_run``) that follows a plan -- how long each
vendor takes and how it ends -- and notes when it started and ended.  The real runs are covered by
``tests/test_cli.py::test_vendor_all_ends_with_an_overall_verdict``.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from conformance import cli, side_by_side
from conformance.side_by_side import run_side_by_side

VENDORS = ["huawei", "thales", "yandex"]
SECRET = "s3cr3t-token-value"


def fake_run(argv: list[str]) -> int:
    """The CLI's stand-in in a child: follows ``FAKE_PLAN`` and notes its life in ``FAKE_NOTES``."""
    import json
    import os
    import sys
    import time

    vendor = argv[argv.index("--vendor") + 1]
    seconds, code = json.loads(os.environ["FAKE_PLAN"])[vendor]
    notes = os.path.join(os.environ["FAKE_NOTES"], vendor)
    with open(notes + ".start", "w") as f:
        f.write(str(time.monotonic()))
    print(f"[{vendor}] first line")
    print(f"[{vendor}] to stderr", file=sys.stderr)
    token = os.environ.get("KMS_CONFORMANCE_TOKEN", "")
    print(f"[{vendor}] token in environment: {token == 's3cr3t-token-value'}")
    print(f"[{vendor}] token on command line: {any('s3cr3t' in a for a in argv)}")
    if code == "crash":
        raise RuntimeError(f"{vendor} crashed")
    time.sleep(seconds)
    print(f"[{vendor}] last line")
    with open(notes + ".end", "w") as f:
        f.write(str(time.monotonic()))
    return int(code)


@pytest.fixture(params=["fork", "spawn"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The children forked (the parent's ``conformance.cli.main`` replaced) or spawned (a script)."""
    monkeypatch.setattr(side_by_side, "can_fork", lambda: request.param == "fork")
    monkeypatch.setattr(side_by_side, "preload", lambda vendors: None)
    monkeypatch.setattr(side_by_side, "warm_hypothesis_once", lambda fork: None)
    if request.param == "fork":
        monkeypatch.setattr(cli, "main", lambda: sys.exit(fake_run(sys.argv[1:])))
    else:
        script = tmp_path / "fake_cli.py"
        script.write_text(
            inspect.getsource(fake_run) + "\nimport sys\nsys.exit(fake_run(sys.argv[1:]))\n", encoding="utf-8"
        )
        monkeypatch.setattr(side_by_side, "CHILD_COMMAND", (sys.executable, str(script)))
    return str(request.param)


def plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, steps: dict[str, tuple[float, object]]) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    monkeypatch.setenv("FAKE_PLAN", json.dumps(steps))
    monkeypatch.setenv("FAKE_NOTES", str(notes))
    return notes


def lived(notes: Path, vendor: str) -> tuple[float, float]:
    return float((notes / f"{vendor}.start").read_text()), float((notes / f"{vendor}.end").read_text())


def test_outputs_are_whole_and_in_vendor_order_whichever_child_ends_first(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plan(monkeypatch, tmp_path, {"huawei": (0.6, 0), "thales": (0.0, 1), "yandex": (0.2, 3)})
    out = io.StringIO()
    codes = run_side_by_side(VENDORS, tmp_path / "r", ["--level", "must"], 3, out, secrets={})
    assert codes == [0, 1, 3]
    lines = out.getvalue().splitlines()
    assert [line.split("]")[0][1:] for line in lines] == [v for v in VENDORS for _ in range(4)]
    assert [line for line in lines if "last line" in line] == [f"[{v}] last line" for v in VENDORS]
    errors = capfd.readouterr().err
    assert [line for line in errors.splitlines() if "to stderr" in line] == [
        f"[{v}] to stderr" for v in VENDORS
    ]


def test_secrets_reach_the_children_by_their_environment_only(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan(monkeypatch, tmp_path, {v: (0.0, 0) for v in VENDORS})
    monkeypatch.delenv("KMS_CONFORMANCE_TOKEN", raising=False)
    out = io.StringIO()
    run_side_by_side(VENDORS, tmp_path / "r", [], 2, out, secrets={"KMS_CONFORMANCE_TOKEN": SECRET})
    text = out.getvalue()
    assert text.count("token in environment: True") == 3, text
    assert text.count("token on command line: False") == 3, text
    assert "KMS_CONFORMANCE_TOKEN" not in os.environ  # the parent's own environment is left as it was


def test_at_most_workers_children_run_at_once_and_a_freed_slot_is_used_at_once(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # thales ends first: yandex takes its slot while huawei is still running.
    notes = plan(monkeypatch, tmp_path, {"huawei": (1.5, 0), "thales": (0.2, 0), "yandex": (0.2, 0)})
    codes = run_side_by_side(VENDORS, tmp_path / "r", [], 2, io.StringIO(), secrets={})
    assert codes == [0, 0, 0]
    spans = {v: lived(notes, v) for v in VENDORS}
    assert spans["yandex"][0] >= spans["thales"][1]  # never three at once
    assert spans["yandex"][1] <= spans["huawei"][1]  # nor waiting for huawei, the first vendor


def test_a_crashed_child_is_a_failed_vendor_and_the_others_still_run(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plan(monkeypatch, tmp_path, {"huawei": (0.0, "crash"), "thales": (0.0, 0), "yandex": (0.0, 0)})
    out = io.StringIO()
    codes = run_side_by_side(VENDORS, tmp_path / "r", [], 1, out, secrets={})
    assert codes[0] not in (0, 2, 3, 130) and codes[1:] == [0, 0]
    assert "RuntimeError: huawei crashed" in capfd.readouterr().err
    assert "[yandex] last line" in out.getvalue()


def test_ctrl_c_starts_no_further_child_and_waits_for_the_running_one(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    notes = plan(monkeypatch, tmp_path, {v: (1.0, 130) for v in VENDORS})
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(0.4, lambda: signal.pthread_kill(main, signal.SIGINT))
    out = io.StringIO()
    timer.start()
    try:
        started = time.monotonic()
        codes = run_side_by_side(VENDORS, tmp_path / "r", [], 1, out, secrets={})
    finally:
        timer.cancel()
    assert codes == [130]  # the vendors not started are not run (the verdict says so)
    assert lived(notes, "huawei")[1] >= started  # the running child ended on its own
    assert "[huawei] last line" in out.getvalue()  # and its output is printed
    assert sorted(p.name for p in notes.iterdir()) == ["huawei.end", "huawei.start"]


def test_a_warm_up_that_hangs_costs_only_its_own_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its deadline the warm-up is given up, and the run goes on: each process then builds
    the tables it lacks, as it would have without one."""
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))
    monkeypatch.setattr(side_by_side, "WARM_TIMEOUT_S", 0.01)
    side_by_side.warm_hypothesis_once(fork=False)  # the spawned warm-up cannot start in 10 ms
    assert not list((tmp_path / "hypothesis").glob("kms-conformance-warm-*"))

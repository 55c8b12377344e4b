"""Helpers for the project's own tests: run the real CLI in a subprocess and read its outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "summary.json").read_text())

    def status(self, requirement: str) -> str:
        return next(r["status"] for r in self.summary["requirements"] if r["id"] == requirement)


def run_cli(
    *args: str,
    report_dir: Path | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> CliResult:
    """``python -m conformance *args`` with this environment, minus any ``KMS_CONFORMANCE_*``
    setting, plus ``env``; from ``cwd`` (default: this one)."""
    argv = [sys.executable, "-m", "conformance", *args]
    if report_dir is not None:
        argv += ["--report-dir", str(report_dir)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_CONFORMANCE_")}
    full_env.update(env or {})
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=full_env, stdin=subprocess.DEVNULL, cwd=cwd
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr, report_dir or Path("."))


@pytest.fixture
def cli(tmp_path: Path):
    """``cli("run", "--vendor", "huawei")`` -> CliResult, reports in a fresh temporary directory."""
    counter = iter(range(1000))

    def invoke(*args: str, **kwargs: Any) -> CliResult:
        report_dir = tmp_path / f"run{next(counter)}" if args and args[0] == "run" else None
        return run_cli(*args, report_dir=report_dir, **kwargs)

    return invoke


_OWN_CACHE = "KMSCONF_TESTS_CACHE_HOME"  # set once, by the process that made it


def pytest_configure(config: pytest.Config) -> None:
    """The tests keep Hypothesis' tables and the generated-case cache in a folder of this test
    session (shared by its xdist workers, which inherit the environment): never the user's
    ``~/.cache``, and every session starts as cold as a fresh machine."""
    if os.environ.get(_OWN_CACHE) or hasattr(config, "workerinput"):
        return
    home = tempfile.mkdtemp(prefix="kms-conformance-tests-")
    os.environ[_OWN_CACHE] = home
    os.environ["XDG_CACHE_HOME"] = home
    config.stash[_cache_key] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_cache_key, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


_cache_key = pytest.StashKey[str]()


# Files of quick unit tests (no conformance run, no child process): they go last, so the two
# xdist workers finish on a tail of short tests instead of one waiting on the other's long run.
QUICK_FILES = frozenset(
    {
        "test_huawei_sdk.py",
        "test_options.py",
        "test_report_progress.py",
        "test_repository.py",
        "test_traceability.py",
        "test_interrupts.py",
        "test_spec_huawei.py",
        "test_thales_mock.py",
        "test_thales_sdk.py",
        "test_tokens.py",
        "test_transport.py",
        "test_yandex_descriptors.py",
        "test_yandex_mock.py",
        "test_yandex_protobuf.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The same order on every worker (a stable sort): runs first, quick unit tests last."""
    items.sort(key=lambda item: item.path.name in QUICK_FILES)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (tests/browser.py); the test is skipped where chromium is not installed."""
    from browser import launched

    with launched() as found:
        yield found

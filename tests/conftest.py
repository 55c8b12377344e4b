"""Helpers for the project's own tests: run the real CLI in a subprocess and read its outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    *args: str, report_dir: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
) -> CliResult:
    argv = [sys.executable, "-m", "conformance", *args]
    if report_dir is not None:
        argv += ["--report-dir", str(report_dir)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_CONFORMANCE_")}
    full_env.update(env or {})
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=full_env, stdin=subprocess.DEVNULL
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

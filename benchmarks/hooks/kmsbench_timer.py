"""pytest plugin for benchmark children (``PYTEST_PLUGINS=kmsbench_timer``): times the test loop.

Appends ``loop <seconds>`` (wall) and ``loopcpu <seconds>`` (this process's CPU) for the run
loop -- every test and fixture teardown, without start-up, imports, collection or report
writing -- to ``$KMS_BENCH_CASES_FILE``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: Any) -> Iterator[None]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    yield
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    path = os.environ.get("KMS_BENCH_CASES_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"loop {wall:.4f}\nloopcpu {cpu:.4f}\n")

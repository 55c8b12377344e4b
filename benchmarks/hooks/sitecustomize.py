"""Loaded by benchmark children only (PYTHONPATH=benchmarks/hooks): counts generated cases.

When ``conformance.fuzz`` is imported, ``GeneratedRun.one`` is wrapped to count the cases it
sends; at exit ``cases <n>`` is appended to ``$KMS_BENCH_CASES_FILE`` (one line per process, so
the children of ``--vendor all`` add up).  Forked children (``conformance.side_by_side``) end with
``os._exit``, which runs no exit handler: they start from zero and write their line as they end.
Nothing else changes; the import itself stays lazy.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.util
import os
import sys

_TARGET = "conformance.fuzz"
_count = 0


def _patch(module: object) -> None:
    cls = module.GeneratedRun  # type: ignore[attr-defined]
    original = cls.one

    def one(self: object, case: object) -> None:
        global _count
        _count += 1
        original(self, case)

    cls.one = one


class _Finder(importlib.abc.MetaPathFinder):
    busy = False

    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name != _TARGET or self.busy:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: object) -> None:
            original(module)  # type: ignore[arg-type]
            _patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _write() -> None:
    if _count:
        with open(os.environ["KMS_BENCH_CASES_FILE"], "a", encoding="utf-8") as fh:
            fh.write(f"cases {_count}\n")


def _reset() -> None:
    global _count
    _count = 0


def _exit(code: int) -> None:
    _write()
    _os_exit(code)


_os_exit = os._exit

if os.environ.get("KMS_BENCH_CASES_FILE"):
    sys.meta_path.insert(0, _Finder())
    atexit.register(_write)
    os.register_at_fork(after_in_child=_reset)
    os._exit = _exit

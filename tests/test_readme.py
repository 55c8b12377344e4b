"""The README's two set-up commands stay true: the main job needs only the package, and the test
command is what ``.ci/run`` runs."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    section = README[README.index("## Quick start") : README.index("## Point it at your endpoint")]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_quick_start_has_the_main_job_then_the_tests() -> None:
    main_job, tests = _quick_start_commands()
    assert "pip install -e . " in main_job and "[test]" not in main_job  # the package alone
    assert main_job.endswith("kms-conformance run --vendor all")
    assert "pip install -e '.[test]'" in tests and tests.endswith("python -m pytest -n 2")
    assert re.search(
        r"about 1.5 minutes to install, 20 s of checks and 4\s+to\s+14\s+minutes of tests", README
    )


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = _quick_start_commands()
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    steps = [step.strip() for step in tests.split("&&")][1:]  # after creating the venv
    lines = [line.strip().replace(" --quiet", "") for line in script.splitlines()]
    positions = []
    for step in steps:
        found = [i for i, line in enumerate(lines) if line == step]
        assert found, f".ci/run lacks the README step {step!r}"
        positions.append(found[0])
    assert positions == sorted(positions), "the README steps run in another order in .ci/run"


def _closure(distribution: str) -> set[str]:
    """The distribution and everything it needs, without optional extras."""
    seen: set[str] = set()
    todo = [distribution]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for text in requires(name) or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return seen


def test_the_package_imports_only_what_the_main_job_installs() -> None:
    """Nothing under conformance/ imports a test extra (the quick start does not install them)."""
    installed = _closure("kms-conformance")
    owners = packages_distributions()
    outside = set()
    for path in (ROOT / "conformance").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "conformance":
                    continue
                dists = {d.lower().replace("_", "-") for d in owners.get(top, [top])}
                if not dists & installed:
                    outside.add(f"{path.relative_to(ROOT)}: {name}")
    assert not outside, sorted(outside)

"""Strength check: delete ONE row of a vendor table, run the tests that should notice, repeat.

Rows are sampled from every kind of vendor table -- the profile's ``transitions`` and ``probes``,
the requirement catalogue (``catalogue.toml``), the mock's fault and option declarations.  For each
sampled row the script copies the committed tree (``git archive HEAD``, or ``--worktree``) to a
temporary directory, deletes that one row from the source (the element of the literal tuple, the
``[[requirement]]`` block), checks the row is really gone, and runs the relevant part of the
project's tests there (``PYTHONPATH`` points at the copy, so CLI child processes see the deletion
too).  A row whose deletion no test notices is a finding: a behaviour nothing would miss.

Which tests are relevant to a row:

* a transition or probe row of requirement R: the faithful whole run of the vendor through the CLI
  (every requirement must pass), the fault tests of the faults that break R, the fault-coverage test;
* a catalogue row R: the same, plus the catalogue tests of ``tests/test_verdicts.py``;
* a fault or option declaration: the fault (or option) declaration tests of the vendor, and every
  test file that names the switch.

    .venv/bin/python benchmarks/strength.py [--per-vendor 4] [--seed 1] [--vendors huawei,thales]
        [--kinds transition,probe,catalogue,fault,option] [--workers 2] [--worktree] [--keep]

One line per sampled row: vendor, kind, row, tests run, whether a test failed, seconds.  Nothing
here asserts; the exit status is 1 when some sampled row survived.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KINDS = ("transition", "probe", "catalogue", "fault", "option")
CHILD_TIMEOUT = 1800.0

# Run inside the copy: every row of every table, with where it is written down.
DISCOVER = r"""
import json, sys, importlib, pkgutil
from pathlib import Path
from conformance import vendors
from conformance.mocks import available, mock_definition
from conformance.profiles import profile_class

root = Path(sys.argv[1]).resolve()

def modules_of(package):
    pkg = importlib.import_module(package)
    yield pkg
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), package + "."):
        try:
            yield importlib.import_module(info.name)
        except Exception:
            pass

def assigns(path, name):
    import ast
    for node in ast.parse(Path(path).read_bytes()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False

def where(package, value):  # the module that writes the table down, not one that imports it
    for module in modules_of(package):
        for name, held in vars(module).items():
            path = getattr(module, "__file__", None)
            if held is value and name.isupper() and path and assigns(path, name):
                return str(Path(path).resolve().relative_to(root)), name
    return None, None

out = []
for vendor in vendors.names():
    entry = vendors.get(vendor)
    profile = profile_class(vendor)
    faults = mock_definition(vendor).faults if vendor in available() else ()
    by_requirement = {}
    for fault in faults:
        for req in fault.fails:
            by_requirement.setdefault(req, []).append(fault.name)
    for kind, table in (("transition", profile.transitions), ("probe", profile.probes)):
        path, name = where(entry.package, table)
        for index, row in enumerate(table):
            out.append(dict(vendor=vendor, kind=kind, label=row.id, path=path, name=name, index=index,
                            size=len(table), requirement=row.requirement,
                            faults=by_requirement.get(row.requirement, [])))
    if vendor in available():
        definition = mock_definition(vendor)
        for kind, table in (("fault", definition.faults), ("option", definition.options)):
            path, name = where(entry.package, table)
            for index, row in enumerate(table):
                out.append(dict(vendor=vendor, kind=kind, label=row.name, path=path, name=name, index=index,
                                size=len(table), requirement=getattr(row, "requirement", ""), faults=[]))
    catalogue = str(entry.catalogue.resolve().relative_to(root))
    from conformance.requirements import load_catalogue
    ids = list(load_catalogue(vendor))
    for index, rid in enumerate(ids):
        out.append(dict(vendor=vendor, kind="catalogue", label=rid, path=catalogue, name="", index=index,
                        size=len(ids), requirement=rid, faults=by_requirement.get(rid, [])))
print(json.dumps(out))
"""

# Run inside the copy after the deletion: how long the table is now (or the catalogue's ids).
MEASURE = r"""
import json, sys
from conformance.mocks import mock_definition
from conformance.profiles import profile_class
from conformance.requirements import load_catalogue
vendor, kind = sys.argv[1], sys.argv[2]
if kind == "catalogue":
    print(json.dumps(list(load_catalogue(vendor))))
elif kind in ("transition", "probe"):
    print(json.dumps([r.id for r in getattr(profile_class(vendor), kind + "s")]))
else:
    print(json.dumps([r.name for r in getattr(mock_definition(vendor), kind + "s")]))
"""


@dataclass
class Row:
    vendor: str
    kind: str
    label: str
    path: str | None
    name: str | None
    index: int
    size: int
    requirement: str
    faults: list[str]


@dataclass
class Outcome:
    row: Row
    tests: int
    failed: bool
    seconds: float
    note: str = ""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def copy_tree(into: Path, worktree: bool) -> None:
    """The project's files (no .git, no virtualenv, no reports) in ``into``."""
    if worktree:
        ignore = shutil.ignore_patterns(
            ".git", ".venv", "reports", "__pycache__", ".mypy_cache", ".ruff_cache", ".hypothesis"
        )
        shutil.copytree(REPO, into, ignore=ignore, dirs_exist_ok=True)
        return
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def child_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_CONFORMANCE_")}
    env["PYTHONPATH"] = str(tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def python(tree: Path, code: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=tree,
        env=child_env(tree),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return proc.stdout


# -- deleting one row --------------------------------------------------------------------------


def delete_tuple_element(source: bytes, name: str, index: int, size: int) -> bytes:
    """``source`` without element ``index`` of the module-level literal tuple assigned to ``name``."""
    tree = ast.parse(source)
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        value = node.value
        if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != size:
            raise ValueError(f"{name} is not a literal table of {size} rows")
        element = value.elts[index]
        lines = source.splitlines(keepends=True)
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line))
        start = offsets[element.lineno - 1] + element.col_offset
        end = offsets[element.end_lineno - 1] + element.end_col_offset  # type: ignore[operator]
        match = re.compile(rb"\s*,").match(source, end)
        if match:
            end = match.end()
        return source[:start] + source[end:]
    raise ValueError(f"no module-level assignment to {name}")


def delete_element_naming(source: bytes, label: str, size: int) -> bytes:
    """``source`` without the one element, spelling ``"label"``, of a module-level literal of ``size``."""
    spelled = f'"{label}"'.encode()
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    for node in ast.parse(source).body:
        value = getattr(node, "value", None)
        if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != size:
            continue
        spans = [
            (offsets[e.lineno - 1] + e.col_offset, offsets[e.end_lineno - 1] + e.end_col_offset)  # type: ignore[operator]
            for e in value.elts
        ]
        naming = [(start, end) for start, end in spans if spelled in source[start:end]]
        if len(naming) == 1:
            start, end = naming[0]
            match = re.compile(rb"\s*,").match(source, end)
            return source[:start] + source[match.end() if match else end :]
    raise ValueError(f"no literal table of {size} rows with one element naming {label!r}")


def delete_catalogue_row(text: str, requirement: str) -> str:
    """The catalogue without the ``[[requirement]]`` block whose id is ``requirement``."""
    blocks = re.split(r"(?m)^(?=\[\[requirement\]\])", text)
    kept = [b for b in blocks if not re.search(rf'(?m)^id\s*=\s*"{re.escape(requirement)}"', b)]
    if len(kept) != len(blocks) - 1:
        raise ValueError(f"{requirement}: not exactly one catalogue block")
    return "".join(kept)


def delete_row(tree: Path, row: Row) -> None:
    if row.path is None or (row.kind != "catalogue" and not row.name):
        raise ValueError("the table is not a module-level constant")
    path = tree / row.path
    if row.kind == "catalogue":
        path.write_text(delete_catalogue_row(path.read_text(encoding="utf-8"), row.label), encoding="utf-8")
    else:
        source = path.read_bytes()
        try:
            path.write_bytes(delete_tuple_element(source, str(row.name), row.index, row.size))
        except ValueError:
            # A table built from another literal (``FAULTS`` from ``_FAULTS``' (fault, effect)
            # pairs, or from Yandex's ``SWITCHES``): the row is the element of the module-level
            # literal of the same size that spells the row's name.
            path.write_bytes(delete_element_naming(source, row.label, row.size))


# -- which tests ---------------------------------------------------------------------------------


def naming(tree: Path, literal: str) -> list[str]:
    """Test files that spell ``literal`` (a fault or option name, in either spelling)."""
    spellings = {literal, literal.replace("_", "-"), literal.replace("-", "_")}
    found = []
    for path in sorted((tree / "tests").glob("test_*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(f'"{s}' in text or f"'{s}" in text for s in spellings):
            found.append(str(path.relative_to(tree)))
    return found


def tests_for(tree: Path, row: Row) -> list[str]:
    v = row.vendor
    faithful = f"tests/test_conformance_runs.py::test_faithful_mock_passes[{v}-default]"
    coverage = f"tests/test_faults.py::test_every_faulted_requirement_keeps_a_fault[{v}]"
    declared = f"tests/test_faults.py::test_fault_declarations_name_catalogue_requirements[{v}]"
    fault_runs = [
        f"tests/test_faults.py::test_fault_fails_exactly_its_requirements[{v}-{f}]" for f in row.faults
    ]
    # The behavioural tests come first; the traceability tests (catalogue ``checks`` against the
    # tables) last, so the "caught by" column says whether a behavioural test noticed.
    traced = [
        f"tests/test_traceability.py::test_catalogue_lists_every_table_row[{v}]",
        f"tests/test_traceability.py::test_every_table_row_is_catalogued[{v}]",
    ]
    if row.kind in ("transition", "probe"):
        return [faithful, coverage, *fault_runs, *traced]
    if row.kind == "catalogue":
        return [
            faithful,
            *traced,
            declared,
            f"tests/test_verdicts.py::test_every_requirement_says_why_it_has_its_level[{v}]",
            f"tests/test_verdicts.py::test_generated_checks_have_levels_a_doc_justifies[{v}]",
            *fault_runs,
        ]
    builds = f"tests/test_tolerance.py::test_every_switch_builds_a_mock[{v}]"
    if row.kind == "fault":
        return [declared, coverage, builds, *naming(tree, row.label)]
    return [
        builds,
        f"tests/test_tolerance.py::test_pairwise_covers_every_pair[{v}]",
        f"tests/test_tolerance.py::test_observed_choices_are_should_requirements[{v}]",
        *naming(tree, row.label),
    ]


def run_tests(tree: Path, tests: list[str], workers: int) -> tuple[int, bool, str]:
    """(tests run, whether one failed, pytest's last line) -- stopping at the first failure."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-rfE",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        *dict.fromkeys(tests),
    ]
    if workers > 1:
        argv += ["-n", str(workers)]
    proc = subprocess.run(
        argv,
        cwd=tree,
        env=child_env(tree),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error|errors)", last)}
    ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    caught = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.M)
    return ran, proc.returncode != 0, f"caught by {caught[0]}" if caught else last


# -- sampling and the run --------------------------------------------------------------------------


def sample(rows: list[Row], vendors: list[str], kinds: list[str], per_vendor: int, seed: int) -> list[Row]:
    """``per_vendor`` rows of each vendor, taking the kinds in turn (a random row of each)."""
    rng = random.Random(seed)
    chosen = []
    for vendor in vendors:
        pools = {k: [r for r in rows if r.vendor == vendor and r.kind == k] for k in kinds}
        for pool in pools.values():
            rng.shuffle(pool)
        turn = [k for k in kinds if pools[k]]
        picked = 0
        while picked < per_vendor and any(pools[k] for k in turn):
            for kind in turn:
                if picked < per_vendor and pools[kind]:
                    chosen.append(pools[kind].pop())
                    picked += 1
    return chosen


def check_row(row: Row, workers: int, worktree: bool, keep: bool) -> Outcome:
    started = time.monotonic()
    tree = Path(tempfile.mkdtemp(prefix=f"strength-{row.vendor}-{row.kind}-"))
    try:
        copy_tree(tree, worktree)
        before = json.loads(python(tree, MEASURE, row.vendor, row.kind))
        try:
            delete_row(tree, row)
        except ValueError as exc:
            return Outcome(row, 0, False, time.monotonic() - started, f"not deleted: {exc}")
        note = ""
        try:
            after = json.loads(python(tree, MEASURE, row.vendor, row.kind))
        except RuntimeError as exc:
            if "SyntaxError" in str(exc):  # this script's deletion is to blame, not the project
                return Outcome(row, 0, False, time.monotonic() - started, f"deletion broke the syntax: {exc}")
            # The vendor's own consistency checks refuse to load (e.g. a fault effect without its
            # declaration): the tests below fail on it -- noticed.
            note = "the package no longer imports: " + str(exc).strip().splitlines()[-1]
        else:
            if len(after) != len(before) - 1 or row.label in after:
                return Outcome(row, 0, False, time.monotonic() - started, "the row did not go")
        tests = tests_for(tree, row)
        ran, failed, last = run_tests(tree, tests, workers)
        return Outcome(row, ran, failed, time.monotonic() - started, note or last)
    finally:
        if keep:
            log(f"kept {tree}")
        else:
            shutil.rmtree(tree, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-vendor", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vendors", default="")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per row (1: none)")
    parser.add_argument("--worktree", action="store_true", help="copy the working tree, not HEAD")
    parser.add_argument("--keep", action="store_true", help="keep each temporary copy")
    parser.add_argument("--row", action="append", default=[], help="VENDOR:KIND:LABEL instead of a sample")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="strength-discover-") as scratch:
        tree = Path(scratch)
        copy_tree(tree, args.worktree)
        rows = [Row(**r) for r in json.loads(python(tree, DISCOVER, str(tree)))]
    vendors = [v for v in args.vendors.split(",") if v] or sorted({r.vendor for r in rows})
    kinds = [k for k in args.kinds.split(",") if k]
    if args.row:
        wanted = {tuple(spec.split(":", 2)) for spec in args.row}
        chosen = [r for r in rows if (r.vendor, r.kind, r.label) in wanted]
    else:
        chosen = sample(rows, vendors, kinds, args.per_vendor, args.seed)
    log(f"{len(rows)} rows in the tables; checking {len(chosen)}")
    outcomes: list[Outcome] = []
    for row in chosen:
        outcome = check_row(row, args.workers, args.worktree, args.keep)
        outcomes.append(outcome)
        verdict = "yes" if outcome.failed else "NO -- survived"
        print(
            f"{row.vendor:<7} {row.kind:<10} {row.label:<58} tests {outcome.tests:>3}  failed {verdict:<14} "
            f"{outcome.seconds:6.1f} s  {outcome.note[:90]}",
            flush=True,
        )
    survived = [o for o in outcomes if not o.failed]
    print(f"\n{len(outcomes) - len(survived)} of {len(outcomes)} deletions were noticed", flush=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())

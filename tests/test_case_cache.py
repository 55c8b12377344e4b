"""The generated-case cache: cases drawn once are sent again as they were, and the verdict is the same.

Both directions: a faithful mock passes from kept cases, a fault the generated layer owns fails
the same requirements from kept cases as from drawn ones; a garbled or hostile cache file is a
miss (drawn again), never code that runs; ``--case-cache off`` draws every time.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from conftest import run_cli
from hypothesis import HealthCheck, Phase

from conformance import case_cache
from conformance.fuzz import _schema
from conformance.profiles import profile_class
from conformance.vendors import names

# Only the generated checks (and the three requirements every check shares): fast, and all of them.
GENERATED = ("--scope", "lifecycle", "--max-examples", "3", "--progress", "off")


def _drawn(vendor: str, per_operation: int = 2) -> list[tuple[Any, Any]]:
    """(operation, case) pairs drawn as the generated layer draws them."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    found = []

    def draw_for(operation: Any) -> None:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @hypothesis.settings(
            max_examples=per_operation,
            database=None,
            derandomize=True,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def draw(case: Any) -> None:
            found.append((operation, case))

        draw()

    for result in _schema(profile_class(vendor).spec_path()).get_all_operations():
        draw_for(result.ok())
    return found


def _request(case: Any) -> tuple[Any, ...]:
    return (
        case.method,
        case.formatted_path,
        json.dumps(case.query, sort_keys=True, default=repr),
        json.dumps(dict(case.headers or {}), sort_keys=True, default=repr),
        json.dumps(case.body, sort_keys=True, default=repr),
        case.media_type,
        case.meta.generation.mode,
        {location: info.mode for location, info in case.meta.components.items()},
    )


@pytest.mark.parametrize("vendor", names())
def test_a_kept_case_is_rebuilt_as_the_same_request_in_the_same_mode(vendor: str) -> None:
    pairs = _drawn(vendor)
    assert pairs
    for operation, case in pairs:
        kept = json.loads(json.dumps(case_cache.snapshot(case)))  # through the file format
        again = case_cache.rebuild(operation, kept)
        assert _request(again) == _request(case), operation.label
        assert again.as_curl_command() == case.as_curl_command()


def test_the_cases_drawn_do_not_depend_on_the_modules_loaded(tmp_path: Path, monkeypatch: Any) -> None:
    """Hypothesis draws literals it finds in loaded modules outside site-packages; the suite's
    cases must not change when such a module is loaded (``fuzz._draw_from_the_spec_alone``)."""
    before = [_request(case) for _, case in _drawn("huawei", 10)]
    literals = "\n".join(f"NAME_{i} = 'kmsconf-literal-{i}'\nNUMBER_{i} = {1000 + i}" for i in range(50))
    (tmp_path / "kmsconf_literals.py").write_text(literals + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("kmsconf_literals")
    try:
        after = [_request(case) for _, case in _drawn("huawei", 10)]
    finally:
        sys.modules.pop("kmsconf_literals", None)
    assert after == before


def test_a_file_naming_anything_but_schemathesis_types_is_a_miss(tmp_path: Path) -> None:
    operation, case = _drawn("huawei", 1)[0]
    cache = case_cache.CaseCache(tmp_path)
    assert cache.store("k", operation.label, [case_cache.snapshot(case)])
    assert cache.load("k", operation) is not None
    marker = tmp_path / "ran"
    hostile = {"$dataclass": "os:system", "fields": {"command": f"touch {marker}"}}
    for payload in (
        {"format": case_cache.FORMAT, "key": "k", "cases": [hostile]},
        {"format": case_cache.FORMAT, "key": "k", "cases": [{"$enum": "builtins:eval", "value": "1"}]},
        {"format": case_cache.FORMAT, "key": "other", "cases": []},  # another key's file
        {"format": case_cache.FORMAT + 1, "key": "k", "cases": []},  # another format
    ):
        (tmp_path / "k.json").write_text(json.dumps(payload))
        assert cache.load("k", operation) is None
    (tmp_path / "k.json").write_bytes(b"\x00garbage{")
    assert cache.load("k", operation) is None
    assert not marker.exists()


def _generated_requirements(result: Any) -> dict[str, str]:
    return {r["id"]: r["status"] for r in result.summary["requirements"] if r["status"] != "not_covered"}


def test_kept_cases_give_the_same_verdicts_as_drawn_ones(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    cache = ("--case-cache", str(folder))
    fault = ("--mock-fault", "crash-on-wrong-type")
    drawn = run_cli("run", "--vendor", "huawei", *GENERATED, *cache, *fault, report_dir=tmp_path / "drawn")
    assert drawn.code == 1, drawn.stdout[-2000:]
    assert drawn.summary["generated_cases"]["checks_from_cache"] == 0
    assert drawn.summary["generated_cases"]["checks_drawn"] > 0
    assert list(folder.glob("*.json")), "the drawn cases were not kept"
    assert drawn.status("HW-GEN-001") == "failed"

    kept = run_cli("run", "--vendor", "huawei", *GENERATED, *cache, *fault, report_dir=tmp_path / "kept")
    assert kept.code == 1, kept.stdout[-2000:]
    cases = kept.summary["generated_cases"]
    assert cases == {
        "cache": "on",
        "checks_drawn": 0,
        "checks_from_cache": drawn.summary["generated_cases"]["checks_drawn"],
    }
    assert "generated cases: " in kept.stdout
    assert _generated_requirements(kept) == _generated_requirements(drawn)
    assert kept.summary["totals"]["requests"] == drawn.summary["totals"]["requests"]

    faithful = run_cli("run", "--vendor", "huawei", *GENERATED, *cache, report_dir=tmp_path / "faithful")
    assert faithful.code == 0, faithful.stdout[-2000:]
    assert faithful.summary["generated_cases"]["checks_drawn"] == 0

    off = run_cli(
        "run", "--vendor", "huawei", *GENERATED, "--case-cache", "off", *fault, report_dir=tmp_path / "off"
    )
    assert off.summary["generated_cases"] == {
        "cache": "off",
        "checks_drawn": cases["checks_from_cache"],
        "checks_from_cache": 0,
    }
    assert off.status("HW-GEN-001") == "failed"
    # Keeping cases changes nothing about which are drawn (derandomized seeds come from the
    # drawing function's source): a run without the cache sends the very same requests.
    assert off.summary["requests_by_test"] == drawn.summary["requests_by_test"]


def test_a_garbled_cache_is_drawn_again_and_rewritten(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    args = ("run", "--vendor", "thales", *GENERATED, "--case-cache", str(folder), "--requirement", "TH-GEN-*")
    first = run_cli(*args, report_dir=tmp_path / "first")
    assert first.code == 0, first.stdout[-2000:]
    files = sorted(folder.glob("*.json"))
    assert files
    for path in files:
        path.write_text("{not json")
    second = run_cli(*args, report_dir=tmp_path / "second")
    assert second.code == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert second.summary["generated_cases"]["checks_from_cache"] == 0
    assert all(json.loads(path.read_text())["format"] == case_cache.FORMAT for path in files)


def test_no_credential_is_kept_with_the_cases(tmp_path: Path) -> None:
    """The run's credentials (here the bundled mock's) travel in the send's headers, never in a case."""
    from conformance.vendors.yandex.mock import responses

    folder = tmp_path / "cases"
    result = run_cli(
        "run", "--vendor", "yandex", *GENERATED, "--case-cache", str(folder), report_dir=tmp_path / "run"
    )
    assert result.code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    files = list(folder.glob("*.json"))
    assert files
    secrets = [responses.TOKEN, responses.FORBIDDEN_TOKEN, responses.EXPIRED_TOKEN, responses.OTHER_TOKEN]
    for path in files:
        text = path.read_text()
        assert not [secret for secret in secrets if secret in text], path.name


def test_a_value_the_file_cannot_hold_is_refused_not_written_as_something_else(tmp_path: Path) -> None:
    operation, case = _drawn("huawei", 1)[0]
    case.query = {"odd": object()}  # no tag for it: encode refuses
    with pytest.raises(TypeError):
        case_cache.snapshot(case)

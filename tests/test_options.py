"""The one option table: click, the plugin, the environment, config keys and the README agree with it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from conformance.cli import cli, known_environment
from conformance.options import RunOptions, markdown_table, plugin_values, rows_for, table
from conformance.settings import SECRET_FIELDS, Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_option_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- options:begin[^\n]*\n(.*?)<!-- options:end -->", text, re.S)
    assert block, "README lost its options:begin/options:end markers"
    assert block.group(1).strip() == markdown_table(), (
        "README option table is stale: paste conformance.options.markdown_table() between the markers"
    )


def test_every_setting_is_an_option_except_the_run_id() -> None:
    rows = {row.name for row in table()}
    assert {f.name for f in dataclasses.fields(Settings)} - rows == {"run_id"}
    assert {f.name for f in dataclasses.fields(RunOptions)} <= rows


def test_click_options_are_the_table_rows() -> None:
    for command, extra in (("run", {"--config", "--help"}), ("cleanup", {"--ledger", "--help"})):
        params = cli.commands[command].params
        flags = {opt for p in params for opt in p.opts if opt.startswith("--")} | {"--help"}
        assert flags == {row.flag for row in rows_for(command)} | extra, command
    assert "-v" in {opt for p in cli.commands["run"].params for opt in p.opts}


def test_environment_names_come_from_the_table() -> None:
    expected = {row.env for row in table() if row.opt.env and row.opt.commands - {"plugin"}}
    assert expected <= known_environment()


def test_plugin_offers_every_plugin_row(pytester_options: set[str]) -> None:
    assert pytester_options == {row.plugin_flag for row in rows_for("plugin")}
    # The plugin gets what the CLI gets for a run, except what only a terminal or folder layout needs.
    cli_only = {row.name for row in rows_for("run")} - {row.name for row in rows_for("plugin")}
    assert cli_only == {"report_dir", "workers", "baseline_update", "progress", "verbose", "record"}


@pytest.fixture
def pytester_options() -> set[str]:
    import argparse

    from conformance.options import add_plugin_options

    parser = argparse.ArgumentParser()

    class Group:
        def addoption(self, *names: str, **kwargs: object) -> None:
            parser.add_argument(*names, **kwargs)  # type: ignore[arg-type]

    add_plugin_options(Group())
    return {a.option_strings[0] for a in parser._actions if a.option_strings and a.option_strings[0] != "-h"}


def test_plugin_values_check_like_the_cli() -> None:
    given = {"kms_timeout": "2.5", "kms_insecure": True}
    values = plugin_values(
        given.get, {"KMS_CONFORMANCE_MAX_EXAMPLES": "3", "KMS_CONFORMANCE_SCOPE": "lifecycle"}
    )
    assert (values["timeout"], values["insecure"], values["max_examples"], values["scope"]) == (
        2.5,
        True,
        3,
        "lifecycle",
    )
    assert values["throttle_budget"] == 120.0 and values["level"] == "must"
    with pytest.raises(ValueError, match=r"--timeout must be between 0.1 and 600, got '0'"):
        plugin_values({"kms_timeout": "0"}.get, {})
    with pytest.raises(ValueError, match=r"--scope must be one of lifecycle, full"):
        plugin_values({}.get, {"KMS_CONFORMANCE_SCOPE": "everything"})


def test_secret_fields_are_the_secret_rows() -> None:
    assert set(SECRET_FIELDS) == {row.name for row in table() if row.secret}
    assert {"token", "sk", "password", "forbidden_token", "expired_token", "other_token"} == set(
        SECRET_FIELDS
    )


def _run_help() -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_run_help_names_every_output_file_the_readme_lists() -> None:
    text = README.read_text(encoding="utf-8")
    listed = re.findall(r"^\* `([\w.-]+\.(?:html|json|xml|sarif|jsonl))`", text, re.M)
    assert {"report.html", "checks.html", "summary.json", "report.sarif", "ledger.jsonl"} <= set(listed)
    help_text = _run_help()
    assert [name for name in listed if name not in help_text] == []


def test_run_help_states_every_default_the_readme_table_states() -> None:
    help_text = _run_help()
    for row in rows_for("run"):
        if row.default in (None, False, (), dataclasses.MISSING) or row.opt.kind == "flag":
            continue
        assert f"default: {row.default}" in help_text, row.flag
        assert row.flag in help_text

"""The one table of options.

Every option a run takes is one row: a field of ``Settings`` (what the checks need to know about
the target) or of ``RunOptions`` (how the run is gated and reported), declared with ``option()``.
From these rows come the ``kms-conformance`` click options, the pytest plugin's ``--kms-*``
options, the ``KMS_CONFORMANCE_*`` environment names, the config-file keys and the README's
option table (``markdown_table()``; ``tests/test_options.py`` holds the README to it).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "KMS_CONFORMANCE_"

# Where a row is offered: ``run`` (kms-conformance run), ``cleanup`` (kms-conformance cleanup),
# ``plugin`` (pytest --kms-* options).
EVERYWHERE = frozenset({"run", "cleanup", "plugin"})
RUN_AND_PLUGIN = frozenset({"run", "plugin"})
RUN_ONLY = frozenset({"run"})
PLUGIN_ONLY = frozenset({"plugin"})

KINDS = ("vendor", "text", "secret", "file", "dir", "flag", "int", "float", "choice", "multi", "pairs")


@dataclass(frozen=True)
class Opt:
    """How one row looks on the command line and in the plugin."""

    help: str
    kind: str = "text"
    bounds: tuple[float, float] | None = None  # inclusive range for int/float
    choices: tuple[str, ...] = ()
    commands: frozenset[str] = RUN_AND_PLUGIN
    metavar: str = ""  # the value's name in the README table (e.g. URL, FILE)
    short: str = ""  # a one-letter CLI alias (-v)
    env: bool = True  # read from KMS_CONFORMANCE_<NAME> and the config file
    readme: str = ""  # a longer README text, when the --help line is too short for it


REQUIRED: Any = dataclasses.MISSING  # a row whose dataclass field has no default


def flag_for(name: str, prefix: str = "--") -> str:
    """The command-line spelling of a Settings/RunOptions field: ``token_command`` -> ``--token-command``."""
    return prefix + name.replace("_", "-")


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field that is also a row of the option table."""
    metadata = {"option": Opt(help=help, **kwargs)}
    if default is REQUIRED:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Row:
    name: str  # the dataclass field (snake_case)
    default: Any
    opt: Opt

    @property
    def flag(self) -> str:
        return flag_for(self.name)

    @property
    def plugin_flag(self) -> str:
        return flag_for(self.name, "--kms-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def secret(self) -> bool:
        return self.opt.kind == "secret"

    def convert(self, raw: Any) -> Any:
        """A value from the plugin, the environment or a config file, checked like click checks it."""
        kind, name = self.opt.kind, self.flag
        if kind == "flag":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"{name} is a flag: give 1/true or 0/false, got {raw!r}")
        if kind in ("int", "float"):
            try:
                number: float = int(raw) if kind == "int" else float(raw)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name} must be {'an integer' if kind == 'int' else 'a number'}, got {raw!r}"
                ) from None
            low, high = self.opt.bounds or (float("-inf"), float("inf"))
            if not low <= number <= high:
                raise ValueError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
            return number
        if kind == "choice" and str(raw) not in self.opt.choices:
            raise ValueError(f"{name} must be one of {', '.join(self.opt.choices)}, got {raw!r}")
        return raw


def rows_of(cls: type) -> list[Row]:
    return [
        Row(f.name, f.default if f.default is not dataclasses.MISSING else None, f.metadata["option"])
        for f in dataclasses.fields(cls)
        if "option" in f.metadata
    ]


@dataclass(frozen=True)
class RunOptions:
    """What a run is asked to do beyond reaching the target: reports, gate, bundled-mock switches."""

    report_dir: str | None = option(
        None,
        "Where to write reports (default reports/<vendor>-<UTC>).",
        kind="dir",
        commands=RUN_ONLY,
        metavar="DIR",
        readme="where reports go (default `reports/<vendor>-<UTC timestamp>/`)",
    )
    summary: str | None = option(
        None,
        "Write summary.json here (its folder also holds the ledger unless --kms-ledger).",
        commands=PLUGIN_ONLY,
        metavar="FILE",
    )
    workers: int = option(
        0,
        "Vendors run side by side with --vendor all (0: automatic -- all at once on 2 or more cores).",
        kind="int",
        bounds=(0, 64),
        commands=RUN_ONLY,
        metavar="N",
        readme="vendors run side by side with `--vendor all`, each in a process of its own (0: automatic -- "
        "all at once on a machine with 2 cores or more, else one after another; 1: one after another in "
        "this process)",
    )
    baseline: str | None = option(
        None,
        "Known deviations (JSON) that do not fail the gate.",
        kind="file",
        metavar="FILE",
        readme='known deviations `{"entries": [{"id", "reason", "expires", "signatures"?}]}` that do not '
        "fail the gate until they expire (`signatures`: globs over generated-check failures, see `docs/ci.md`)",
    )
    level: str = option(
        "must",
        "Lowest requirement level that fails the gate.",
        kind="choice",
        choices=("must", "should"),
    )
    strict: bool = option(False, "Ignore --baseline: every failure counts.", kind="flag")
    baseline_update: bool = option(
        False,
        "Rewrite the --baseline file with this run's failures (new ones: placeholder reason, expiry in 90 days).",
        kind="flag",
        commands=RUN_ONLY,
    )
    progress: str = option(
        "auto",
        "Progress display: a status line on a terminal, plain lines otherwise.",
        kind="choice",
        choices=("auto", "tty", "lines", "off"),
        commands=RUN_ONLY,
        readme="status line on a terminal, plain lines in logs (`auto`); replaces pytest's dots unless `-v`",
    )
    mock_fault: tuple[str, ...] = option(
        (),
        "Bundled mock only: turn on a fault switch (repeatable).",
        kind="multi",
        metavar="NAME",
    )
    mock_option: tuple[str, ...] = option(
        (),
        "Bundled mock only: NAME=VALUE for an ambiguous behaviour (repeatable).",
        kind="pairs",
        metavar="NAME=VALUE",
    )
    record: str | None = option(
        None,
        "Write every exchange of the run to FILE as an HTTP Archive (HAR 1.2), credentials redacted.",
        kind="file",
        commands=RUN_ONLY,
        metavar="FILE",
        readme="write every exchange of the run to FILE as an HTTP Archive (HAR 1.2; credentials and key "
        "material redacted) for `kms-conformance parity` (see `docs/parity.md`)",
    )
    verbose: bool = option(
        False,
        "Show every check and full failure tracebacks.",
        kind="flag",
        commands=RUN_ONLY,
        short="-v",
        env=False,
    )


def table() -> list[Row]:
    """Every row: the Settings fields first (in declaration order), then the run's own options."""
    from conformance.settings import Settings

    return rows_of(Settings) + rows_of(RunOptions)


# ``kms-conformance parity`` takes the rows that say where the target is and how to reach it.
PARITY_ROWS = frozenset(
    {
        "vendor", "base_url", "token", "token_command", "project_id", "domain", "iam_url", "ak", "sk",
        "username", "password", "kms", "region", "folder_id", "operation_url", "forbidden_token",
        "expired_token", "ca_bundle", "insecure", "timeout", "max_rps", "max_response_mb",
        "throttle_budget", "mock_fault", "mock_option", "other_token", "other_project_id",
        "other_folder_id", "other_kms", "other_region",
    }
)  # fmt: skip


def rows_for(command: str) -> list[Row]:
    if command == "parity":
        return [row for row in table() if row.name in PARITY_ROWS]
    return [row for row in table() if command in row.opt.commands]


def settings_fields() -> frozenset[str]:
    from conformance.settings import Settings

    return frozenset(f.name for f in dataclasses.fields(Settings))


# -- click ---------------------------------------------------------------------------------------


def click_options(command: str, vendors: Callable[[], tuple[str, ...]] | None = None) -> Callable[[Any], Any]:
    """A decorator adding the rows of ``command`` as click options (``vendors``: the --vendor choices)."""
    import click

    def click_type(row: Row) -> dict[str, Any]:
        kind = row.opt.kind
        if kind == "vendor":
            names = list(vendors() if vendors else ())
            return {"type": click.Choice([*names, "all"] if command == "run" else names), "required": True}
        if kind == "flag":
            return {"is_flag": True}
        if kind == "int":
            bounds = row.opt.bounds
            kind_type = click.IntRange(int(bounds[0]), int(bounds[1])) if bounds else click.INT
            return {"type": kind_type, "default": row.default, "show_default": True}
        if kind == "float":
            low, high = row.opt.bounds or (None, None)
            return {"type": click.FloatRange(low, high), "default": row.default, "show_default": True}
        if kind == "choice":
            return {"type": click.Choice(row.opt.choices), "default": row.default, "show_default": True}
        if kind in ("multi", "pairs"):
            return {"multiple": True}
        if kind == "file":
            return {"type": click.Path(exists=row.name == "ca_bundle", dir_okay=False)}
        if kind == "dir":
            return {"type": click.Path(file_okay=False)}
        return {}

    def decorate(func: Any) -> Any:
        for row in reversed(rows_for(command)):
            names = [row.opt.short, row.flag] if row.opt.short else [row.flag]
            env: dict[str, Any] = {"envvar": row.env, "show_envvar": True} if row.opt.env else {}
            func = click.option(*names, row.name, help=row.opt.help, **env, **click_type(row))(func)
        return func

    return decorate


# -- pytest plugin -------------------------------------------------------------------------------


def add_plugin_options(group: Any) -> None:
    """The plugin rows as ``--kms-*`` options of a pytest option group (values are checked later)."""
    for row in rows_for("plugin"):
        env = f" (or ${row.env})" if row.opt.env else ""
        text = f"{row.opt.help}{env}{' -- secret' if row.secret else ''}"
        if row.opt.kind == "flag":
            group.addoption(
                row.plugin_flag, dest=f"kms_{row.name}", action="store_true", default=None, help=text
            )
        elif row.opt.kind in ("multi", "pairs"):
            group.addoption(row.plugin_flag, dest=f"kms_{row.name}", action="append", default=None, help=text)
        else:
            group.addoption(row.plugin_flag, dest=f"kms_{row.name}", default=None, help=text)


def plugin_spelling(text: str) -> str:
    """``text`` with every CLI option name of a plugin row spelled the plugin's way.

    Reasons are written once, in the CLI's terms (``no --forbidden-token given``); a plugin run
    says them in its own (``no --kms-forbidden-token given``).  Only whole option names of rows
    the plugin offers change: ``--token`` inside ``--token-command``, ``--kms-summary``, an option
    the plugin has not (``--report-dir``) and any other ``--word`` stay as they are.
    """
    return _cli_names().sub(lambda m: "--kms-" + m.group(1), text)


@functools.cache
def _cli_names() -> re.Pattern[str]:
    names = sorted((row.flag[2:] for row in rows_for("plugin")), key=len, reverse=True)
    return re.compile(r"(?<![\w-])--(" + "|".join(map(re.escape, names)) + r")(?![\w-])")


def plugin_values(getoption: Callable[[str], Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Plugin values by row name: option > environment > default; ValueError (one line) when bad."""
    values: dict[str, Any] = {}
    for row in rows_for("plugin"):
        raw = getoption(f"kms_{row.name}")
        if raw is None and row.opt.env and row.env in environ:
            raw = environ[row.env]
            if row.opt.kind in ("multi", "pairs"):
                raw = [part for part in raw.split() if part]
        if raw is None:
            values[row.name] = row.default
        elif row.opt.kind in ("multi", "pairs"):
            values[row.name] = tuple(raw)
        else:
            values[row.name] = row.convert(raw)
    return values


# -- the README table ----------------------------------------------------------------------------


def markdown_table() -> str:
    """The README's option table for ``kms-conformance run``, generated from the rows."""
    lines = ["| option | meaning | default |", "|---|---|---|"]
    for row in rows_for("run"):
        kind = row.opt.kind
        if kind == "vendor":
            spelled = f"`{row.flag} NAME`"
        elif kind == "flag":
            spelled = f"`{row.opt.short + ', ' if row.opt.short else ''}{row.flag}`"
        elif kind == "choice":
            spelled = f"`{row.flag} {{{','.join(row.opt.choices)}}}`"
        else:
            spelled = f"`{row.flag} {row.opt.metavar or row.name.upper().split('_')[-1]}`"
        default = (
            "" if row.default is None or row.default is False or row.default == () else f"`{row.default}`"
        )
        text = row.opt.readme or row.opt.help.rstrip(".")
        lines.append(f"| {spelled} | {text} | {default} |")
    lines.append(
        "| `--config FILE` | TOML file with any of the above (keys as option names, top level or under "
        "`[tool.kms-conformance]`) |  |"
    )
    return "\n".join(lines)


def iter_env_names() -> Iterator[str]:
    for row in table():
        if row.opt.env:
            yield row.env

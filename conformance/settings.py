"""Settings of one conformance run against one vendor target.

Everything the checks need to know about the target travels in one frozen object, built by
the CLI (options > environment > config file) or by the pytest plugin's ``--kms-*`` options.
Secrets live only here and in request headers; ``redacted()`` is what may be shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.options import EVERYWHERE, PLUGIN_ONLY, REQUIRED, option, rows_of


@dataclass(frozen=True)
class Settings:
    """Rows of the option table (``conformance.options``): each field declared with ``option()`` is
    a ``kms-conformance run`` option, a ``--kms-*`` plugin option, a ``KMS_CONFORMANCE_*`` variable
    and a config-file key."""

    vendor: str = option(
        REQUIRED,
        "Which API to check.",
        kind="vendor",
        readme="which API to check (`all`: each bundled mock in turn)",
    )
    base_url: str = option(
        REQUIRED, "The target's API root; without it the bundled mock is started on loopback.", metavar="URL"
    )
    token: str | None = option(
        None, "Bearer / X-Auth-Token credential.", kind="secret", commands=EVERYWHERE, metavar="T"
    )
    token_command: str | None = option(
        None,
        "A command that prints a token; re-run when the token expires (Huawei, Yandex).",
        commands=EVERYWHERE,
        metavar="CMD",
        readme="a command that prints a token (e.g. `yc iam create-token`); re-run when the target "
        "says the token expired",
    )
    project_id: str | None = option(None, "Huawei project id.", metavar="ID")
    domain: str | None = option(
        None,
        "Huawei IAM account (domain) name for --username/--password tokens.",
        commands=EVERYWHERE,
        metavar="NAME",
    )
    iam_url: str | None = option(
        None,
        "Huawei IAM endpoint (default: iam.<region> beside --base-url).",
        commands=EVERYWHERE,
        metavar="URL",
    )
    ak: str | None = option(
        None,
        "Huawei access key (AK/SK signing instead of a token).",
        commands=EVERYWHERE,
        readme="Huawei access key: AK/SK (`SDK-HMAC-SHA256`) signing instead of a token, with `--sk`",
        metavar="AK",
    )
    sk: str | None = option(None, "Huawei secret key.", kind="secret", commands=EVERYWHERE, metavar="SK")
    username: str | None = option(
        None,
        "Thales user (a JWT is fetched and refreshed); Huawei IAM user.",
        commands=EVERYWHERE,
        metavar="U",
        readme="Thales: fetch and refresh a JWT from `/api/v1/auth/tokens`; Huawei: IAM password token (with "
        "`--password`, `--domain`, `--iam-url`), renewed before expiry and on 403 `KMS.0303`",
    )
    password: str | None = option(
        None, "Thales or Huawei IAM password.", kind="secret", commands=EVERYWHERE, metavar="P"
    )
    kms: str | None = option(None, "Thales AWS connection to create scratch keys in.", metavar="NAME")
    region: str | None = option(None, "Thales AWS region for scratch keys.", metavar="R")
    folder_id: str | None = option(None, "Yandex folder for scratch keys.", metavar="F")
    operation_url: str | None = option(
        None,
        "Yandex operation service (default: derived from --base-url).",
        commands=EVERYWHERE,
        metavar="URL",
    )
    forbidden_token: str | None = option(
        None,
        "A valid credential without permission, to check 403 (otherwise those checks are not covered).",
        kind="secret",
        metavar="T",
    )
    expired_token: str | None = option(
        None,
        "An expired credential, to check the expiry answer (otherwise not covered).",
        kind="secret",
        metavar="T",
    )
    # A second tenant scope, for the tenant isolation requirements (without it they are not covered).
    other_token: str | None = option(
        None,
        "A credential of a second scope (Huawei project token, Yandex IAM token; Thales: optional), "
        "to check tenant isolation.",
        kind="secret",
        metavar="T",
        readme="a credential of a second tenant scope, to check that a key is invisible and untouchable from "
        "there: a Huawei token of `--other-project-id`, a Yandex IAM token with access to `--other-folder-id`; "
        "Thales: optional (the run's own credentials otherwise, with `--other-kms`/`--other-region`); without "
        "the second scope the isolation requirements are not covered",
    )
    other_project_id: str | None = option(
        None, "Huawei: the second project (with --other-token).", metavar="ID"
    )
    other_folder_id: str | None = option(None, "Yandex: the second folder (with --other-token).", metavar="F")
    other_kms: str | None = option(None, "Thales: a second AWS connection.", metavar="NAME")
    other_region: str | None = option(None, "Thales: a second AWS region.", metavar="R")
    ca_bundle: str | None = option(
        None, "CA bundle for TLS verification.", kind="file", commands=EVERYWHERE, metavar="FILE"
    )
    insecure: bool = option(
        False, "Do not verify TLS certificates (said in the report).", kind="flag", commands=EVERYWHERE
    )
    timeout: float = option(
        10.0,
        "Deadline for one whole exchange (connect, send, the full answer), seconds.",
        kind="float",
        bounds=(0.1, 600),
        commands=EVERYWHERE,
        metavar="S",
    )
    scope: str = option(
        "full",
        "Only the key life-cycle operations (in every layer), or every operation of the spec.",
        kind="choice",
        choices=("lifecycle", "full"),
    )
    read_only: bool = option(False, "Only checks that create and change nothing.", kind="flag")
    requirement: tuple[str, ...] = option(
        (),
        "Only the checks that name these requirement ids (repeatable; globs such as HW-STATE-*).",
        kind="multi",
        metavar="ID",
        readme="only the checks that name these requirement ids (repeatable; globs such as `HW-STATE-*`); "
        "the envelope, transport and served requirements are checked by every check, so naming one runs "
        "them all; requirements not selected read `not_covered`",
    )
    max_examples: int = option(
        10, "Generated cases per operation.", kind="int", bounds=(1, 10_000), metavar="N"
    )
    case_cache: str | None = option(
        None,
        "Folder that keeps generated cases between runs ('off': draw them every run).",
        metavar="DIR",
        readme="folder that keeps generated cases between runs, so a later run with the same spec, "
        "operation, `--max-examples` and library versions sends the same cases without drawing "
        "them again (default `$XDG_CACHE_HOME/kms-conformance/cases`, else `~/.cache/...`; `off`: "
        "draw every run)",
    )
    run_id: str = "kmsconf"
    ledger: str | None = option(
        None,
        "Path of the key ledger (default: beside --kms-summary, else reports/<vendor>-<UTC>/ledger.jsonl).",
        commands=PLUGIN_ONLY,
        metavar="FILE",
    )
    destructive_fuzzing: bool = option(
        False,
        "Allow generated changing calls (on owned keys only) against a non-loopback target.",
        kind="flag",
    )
    max_rps: float = option(
        0.0,
        "Request-rate cap towards the target (0: none).",
        kind="float",
        bounds=(0, 10_000),
        readme="cap the request rate towards the target (0: none); 429 answers are honoured with "
        "`Retry-After`, within `--throttle-budget`",
        metavar="N",
    )
    concurrency: int = option(
        0,
        "Checks in flight at once against the target (0: automatic -- 8 for a remote target, 1 on loopback).",
        kind="int",
        bounds=(0, 64),
        readme="checks in flight at once against the target (0: automatic -- 8 for a remote target, 1 on "
        "loopback); every check owns its scratch keys, reports keep their order, and `--max-rps` and "
        "429 pauses hold for all of them together",
        metavar="N",
    )
    max_response_mb: float = option(
        4.0,
        "A larger answer is not read: the check fails with 'response too large'.",
        kind="float",
        bounds=(0.01, 1024),
        commands=EVERYWHERE,
        metavar="N",
    )
    throttle_budget: float = option(
        120.0,
        "Seconds the run may spend waiting on HTTP 429 in total; then it stops (exit 3).",
        kind="float",
        bounds=(0, 86_400),
        commands=EVERYWHERE,
        metavar="S",
    )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def secrets(self) -> list[str]:
        """Every secret value of this run, for redaction."""
        return [v for v in (getattr(self, name) for name in SECRET_FIELDS) if v]

    def redacted(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        for name in SECRET_FIELDS:
            if data.get(name):
                data[name] = "[redacted]"
        return data


SECRET_FIELDS: tuple[str, ...] = tuple(row.name for row in rows_of(Settings) if row.secret)


def new_run_id(now: dt.datetime) -> str:
    """The id scratch keys of a run are named with (``kmsconf-HHMMSS``), in CLI and plugin mode alike."""
    return "kmsconf-" + now.strftime("%H%M%S")


def default_report_dir(vendor: str, now: dt.datetime | None = None) -> Path:
    """``reports/<vendor>-<UTC stamp>``: where a run's reports and ledger go unless told otherwise."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("reports") / f"{vendor}-{stamp}"

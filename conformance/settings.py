"""Settings of one conformance run against one vendor target.

Everything the checks need to know about the target travels in one frozen object, built by
the CLI (options > environment > config file) or by the pytest plugin's ``--kms-*`` options.
Secrets live only here and in request headers; ``redacted()`` is what may be shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

SECRET_FIELDS = ("token", "sk", "password", "forbidden_token", "expired_token")


@dataclass(frozen=True)
class Settings:
    vendor: str
    base_url: str
    token: str | None = None
    token_command: str | None = None  # prints a token; re-run when the token expires
    project_id: str | None = None
    domain: str | None = None  # Huawei IAM account (domain) name, with --username/--password
    iam_url: str | None = None  # Huawei IAM endpoint for password tokens (default: derived from --base-url)
    ak: str | None = None
    sk: str | None = None
    username: str | None = None
    password: str | None = None
    kms: str | None = None
    region: str | None = None
    folder_id: str | None = None
    operation_url: str | None = None
    forbidden_token: str | None = None
    expired_token: str | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    timeout: float = 10.0
    scope: str = "full"
    read_only: bool = False
    max_examples: int = 10
    run_id: str = "kmsconf"
    ledger: str | None = None  # path of the key ledger (see conformance.ledger)
    destructive_fuzzing: bool = False  # generated changing calls against a non-loopback target
    max_rps: float = 0.0  # request-rate cap towards the target; 0 = none
    max_response_mb: float = 4.0  # a larger answer is not read: "response too large"
    throttle_budget: float = 120.0  # seconds the run may spend waiting on HTTP 429, in total
    # Values a bundled mock hands over that a real target never needs (e.g. a test clock hook).
    extras: dict[str, str] = field(default_factory=dict)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)

    def secrets(self) -> list[str]:
        """Every secret value of this run, for redaction."""
        return [v for v in (getattr(self, name) for name in SECRET_FIELDS) if v]

    def redacted(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        for name in SECRET_FIELDS:
            if data.get(name):
                data[name] = "[redacted]"
        data.pop("extras", None)
        return data


def new_run_id(now: dt.datetime) -> str:
    """The id scratch keys of a run are named with (``kmsconf-HHMMSS``), in CLI and plugin mode alike."""
    return "kmsconf-" + now.strftime("%H%M%S")


def default_report_dir(vendor: str, now: dt.datetime | None = None) -> Path:
    """``reports/<vendor>-<UTC stamp>``: where a run's reports and ledger go unless told otherwise."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("reports") / f"{vendor}-{stamp}"

"""Tenant isolation: a key made in the run's scope is invisible and untouchable from a second one.

The second scope comes from ``--other-*`` (Huawei: another project and its token; Yandex: another
folder and a token with access to it; Thales: another connection or region).  Against the
bundled mocks, which model two scopes: the faithful mock passes, each mock's isolation fault fails
exactly the isolation requirement (``tests/test_faults.py``), and without a second scope the
requirement is "not covered", naming the options.  Against servers built here that forward the
second scope's requests to the first -- a tenant boundary that is not there -- it fails.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from conformance.mocks import mock_definition
from tests import wrappers
from tests.runs import run_mock, run_target

ISOLATION = {
    "huawei": ("HW-ISO-001", "HW-ISO-002"),
    "thales": ("TH-ISO-001", "TH-ISO-002"),
    "yandex": ("YC-ISO-001", "YC-ISO-002"),
}
OTHER = ("other_token", "other_project_id", "other_folder_id", "other_kms", "other_region")


def _credentials(vendor: str, *, other: bool) -> dict[str, str]:
    definition = mock_definition(vendor)
    found = definition.credentials(definition.config([], {}))
    return {k: v for k, v in found.items() if other or k not in OTHER}


@pytest.mark.parametrize("vendor", sorted(ISOLATION))
def test_a_faithful_mock_keeps_its_scopes_apart(tmp_path, vendor: str) -> None:
    run = run_mock(vendor, tmp_path, requirement=ISOLATION[vendor])
    assert run.code == 0, run.explain()
    assert {run.row(req)["status"] for req in ISOLATION[vendor]} == {"passed"}
    secret = _credentials(vendor, other=True).get("other_token")
    if secret:  # a credential never reaches the reports
        for path in run.report_dir.rglob("*"):
            if path.is_file():
                assert secret not in path.read_text(encoding="utf-8", errors="replace"), path.name


@pytest.mark.parametrize("vendor", sorted(ISOLATION))
def test_without_a_second_scope_isolation_is_not_covered(tmp_path, kms_mock, vendor: str) -> None:
    mock = kms_mock(vendor)
    credentials = {k: v for k, v in mock.credentials.items() if k not in OTHER}
    run = run_target(vendor, mock.url, tmp_path, requirement=ISOLATION[vendor], **credentials)
    for req in ISOLATION[vendor]:
        row = run.row(req)
        assert row["status"] == "not_covered" and "--other-" in row["message"], row


def _huawei_bridge(app: Any) -> Any:
    """Every request of the second project is served as the first project's: one tenant."""
    from conformance.vendors.huawei.mock.models import OTHER_PROJECT_ID, OTHER_TOKEN, PROJECT_ID, TOKEN

    async def bridged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and OTHER_PROJECT_ID in scope["path"]:
            path = scope["path"].replace(OTHER_PROJECT_ID, PROJECT_ID)
            headers = [
                (k, TOKEN.encode() if k == b"x-auth-token" and v == OTHER_TOKEN.encode() else v)
                for k, v in scope["headers"]
            ]
            scope = {**scope, "path": path, "raw_path": path.encode(), "headers": headers}
        await app(scope, receive, send)

    return bridged


def _yandex_bridge(app: Any) -> Any:
    """The second folder's token is taken for the first's: it reaches every key."""
    from conformance.vendors.yandex.mock.responses import OTHER_TOKEN, TOKEN

    async def bridged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            other = f"Bearer {OTHER_TOKEN}".encode()
            headers = [
                (k, f"Bearer {TOKEN}".encode() if k == b"authorization" and v == other else v)
                for k, v in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return bridged


def _thales_bridge(app: Any) -> Any:
    """The key list's region filter is dropped on the way in: every region's keys are listed."""

    async def bridged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/cckm/aws/keys"):
            pairs = [p for p in scope.get("query_string", b"").split(b"&") if not p.startswith(b"region=")]
            scope = {**scope, "query_string": b"&".join(pairs)}
        await app(scope, receive, send)

    return bridged


def _thales_domain_bridge(app: Any) -> Any:
    """The other domain's user is served as the root domain's admin: one tenant."""
    from conformance.vendors.thales.mock.models import OTHER_DOMAIN_USERNAME, USERNAME
    from conformance.vendors.thales.mock.responses import mint_jwt

    def user_of(bearer: bytes) -> str:
        try:
            payload = bearer.split(b".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return ""
        return str(claims.get("preferred_username", ""))

    async def bridged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            admin = f"Bearer {mint_jwt(USERNAME, 0, 2**31)}".encode()
            headers = [
                (k, admin if k == b"authorization" and user_of(v) == OTHER_DOMAIN_USERNAME else v)
                for k, v in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return bridged


# (vendor, the server, the requirements its missing boundary fails): the Huawei bridge also
# serves the run's own token on the other project's path (HW-ISO-002); the Yandex one still
# refuses the run's token on the other folder (YC-ISO-002 holds).
BRIDGES = [
    ("huawei", _huawei_bridge, {"HW-ISO-001", "HW-ISO-002"}),
    ("yandex", _yandex_bridge, {"YC-ISO-001"}),
    ("thales", _thales_bridge, {"TH-ISO-001"}),
    ("thales", _thales_domain_bridge, {"TH-ISO-002"}),
]


@pytest.mark.parametrize(("vendor", "bridge", "requirements"), BRIDGES, ids=[b[1].__name__ for b in BRIDGES])
def test_a_server_without_a_tenant_boundary_fails_isolation(
    tmp_path, vendor: str, bridge, requirements: set[str]
) -> None:
    with wrappers.serve(vendor, bridge) as (url, credentials):
        credentials = {k: v for k, v in credentials.items() if k != "expired_token"}
        run = run_target(vendor, url, tmp_path, requirement=ISOLATION[vendor], **credentials)
    assert run.code == 1
    failed = {req for req in ISOLATION[vendor] if run.row(req)["status"] == "failed"}
    assert failed == requirements, run.explain()

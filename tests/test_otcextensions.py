"""otcextensions (the Open Telekom Cloud extension of openstacksdk; same KMS API as Huawei Cloud)
against the bundled Huawei mock, unchanged: its KMS proxy over every key operation it offers,
and its own KMS functional tests with only their connection set-up adapted (a clouds.yaml that
logs in with ``v3password`` at the mock's ``/v3/auth/tokens`` and points the KMS endpoint at it).

The results are checked, not only the absence of exceptions: states after each change, data
keys that round-trip, the error codes the client parses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("otcextensions")

from openstack import connection, exceptions  # noqa: E402
from otcextensions import sdk  # noqa: E402

from conformance.mocks import BundledMock, start_mock  # noqa: E402
from conformance.vendors.huawei.mock import IAM_DOMAIN, IAM_PASSWORD, IAM_USER, PROJECT_ID  # noqa: E402

CLIENT_OPTIONS = {"json-numbers": "accept"}
# Key states as the API spells them (otcextensions passes them through).
ENABLED, DISABLED, PENDING_DELETION = "2", "3", "4"


@pytest.fixture(scope="module")
def mock() -> Iterator[BundledMock]:
    # otcextensions sends pending_days and datakey_length as JSON numbers where the docs show
    # strings; the docs are silent on numbers, so accepting them is the mock option a team sets.
    server = start_mock("huawei", options=CLIENT_OPTIONS)
    try:
        yield server
    finally:
        server.stop()


def _cloud(mock: BundledMock) -> dict[str, Any]:
    return {
        "auth_type": "v3password",
        "auth": {
            "auth_url": f"{mock.url}/v3",
            "username": IAM_USER,
            "password": IAM_PASSWORD,
            "user_domain_name": IAM_DOMAIN,
            "project_id": PROJECT_ID,
        },
        "kms_endpoint_override": f"{mock.url}/v1.0/%(project_id)s",
        "region_name": "eu-de",
    }


@pytest.fixture(scope="module")
def conn(mock: BundledMock) -> Iterator[Any]:
    cloud = _cloud(mock)
    opened = connection.Connection(
        auth_type=cloud["auth_type"],
        auth=cloud["auth"],
        kms_endpoint_override=cloud["kms_endpoint_override"],
        region_name=cloud["region_name"],
    )
    sdk.register_otc_extensions(opened)
    yield opened
    opened.close()


def _state(conn: Any, key: Any) -> str:
    return conn.kms.get_key(key.id).key_state


def test_proxy_drives_the_key_life_cycle(conn: Any) -> None:
    alias = f"otc-{uuid.uuid4().hex[:12]}"
    key = conn.kms.create_key(key_alias=alias, key_description="from otcextensions")
    assert key.id and key.key_alias == alias
    assert _state(conn, key) == ENABLED
    assert conn.kms.find_key(alias=alias).id == key.id
    assert key.id in {k.id for k in conn.kms.keys()}
    conn.kms.disable_key(key)
    assert _state(conn, key) == DISABLED
    conn.kms.enable_key(key)
    assert _state(conn, key) == ENABLED
    conn.kms.schedule_key_deletion(key, 7)
    pending = conn.kms.get_key(key.id)
    assert pending.key_state == PENDING_DELETION and pending.scheduled_deletion_date
    assert key.id in {k.id for k in conn.kms.keys(key_state=PENDING_DELETION)}
    conn.kms.cancel_key_deletion(key)
    assert _state(conn, key) == DISABLED  # the docs: a cancelled key is disabled, not enabled
    conn.kms.schedule_key_deletion(key, 7)


def test_proxy_data_keys_round_trip(conn: Any) -> None:
    cmk = conn.kms.create_key(key_alias=f"otc-{uuid.uuid4().hex[:12]}")
    try:
        dek = conn.kms.create_datakey(cmk=cmk, datakey_length=256)
        assert len(dek.plain_text) == 64  # 256 bits as hex
        plain = dek.plain_text
        bare = conn.kms.create_datakey_wo_plain(cmk=cmk, datakey_length=512)
        assert bare.plain_text is None and bare.cipher_text
        conn.kms.encrypt_datakey(dek)
        assert dek.cipher_text and dek.cipher_text != plain
        back = conn.kms.decrypt_datakey(
            cmk=cmk, cipher_text=dek.cipher_text, datakey_cipher_length=dek.datakey_cipher_length
        )
        assert back.plain_text == plain
    finally:
        conn.kms.schedule_key_deletion(cmk, 7)


def test_proxy_account_calls(conn: Any) -> None:
    random = conn.kms.generate_random(512)
    assert len(random.random_data) == 128  # 512 bits as hex
    assert int(conn.kms.get_instance_number().instance_num) >= 0
    assert list(conn.kms.quotas())


def test_proxy_parses_documented_errors(conn: Any) -> None:
    unknown = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    with pytest.raises(exceptions.NotFoundException):
        conn.kms.get_key(unknown)  # KMS.0207 "key does not exist" answered 404
    key = conn.kms.create_key(key_alias=f"otc-{uuid.uuid4().hex[:12]}")
    try:
        with pytest.raises(exceptions.SDKException) as refused:
            conn.kms.schedule_key_deletion(key, 6)  # below the documented 7-1096 days
        assert "KMS.1401" in str(refused.value)
        assert _state(conn, key) == ENABLED  # the refused call changed nothing
    finally:
        conn.kms.schedule_key_deletion(key, 7)


def test_their_functional_tests_pass_against_the_mock(mock: BundledMock, tmp_path: Path) -> None:
    """otcextensions' own tests/functional/sdk/kms, as shipped; only clouds.yaml is ours."""
    import yaml

    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"otc": _cloud(mock)}}))
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "KMS_CONFORMANCE_"))}
    env.update(OS_CLIENT_CONFIG_FILE=str(clouds), OS_CLOUD="otc")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "otcextensions.tests.functional.sdk.kms",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-p",
            "no:xdist",
            f"--junitxml={junit}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    counts = {name: int(suite.get(name, 0)) for name in ("tests", "failures", "errors", "skipped")}
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert counts["tests"] >= 7 and counts["failures"] == counts["errors"] == counts["skipped"] == 0, counts

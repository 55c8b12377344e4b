"""Safety against real endpoints (issue #5), proven against the bundled mocks.

Foreign keys are never touched; a killed run leaves a ledger from which ``cleanup`` removes
every scratch key; ``--read-only`` changes nothing; TLS is verified unless told otherwise.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.cleanup import cleanup_ledger
from conformance.ledger import Ledger
from conformance.mocks import RunningMock, available, mock_definition
from conformance.profiles import profile_class
from tests.runs import run_target

# The read operation of each vendor's profile, for byte-for-byte comparisons.
READ = {"huawei": "describe", "thales": "get", "yandex": "get"}
VENDORS = [v for v in available() if v in READ]


def _credential_args(credentials: dict[str, str]) -> list[str]:
    args: list[str] = []
    for name, value in credentials.items():
        if name in ("expired_token",):  # not needed for these runs
            continue
        args += [f"--{name.replace('_', '-')}", value]
    return args


@pytest.mark.parametrize("vendor", VENDORS)
def test_foreign_key_is_unchanged_by_a_full_run(tmp_path: Path, kms_mock, vendor: str) -> None:
    """A whole run (handwritten and generated checks, stateful sequences through list answers that
    name the foreign key) in this process: the ownership guard is the runner's, not the CLI's."""
    mock = kms_mock(vendor)
    outsider = profile_class(vendor)(mock.settings)
    foreign = outsider.create_key()
    before = outsider.call(READ[vendor], foreign).response.content
    credentials = {k: v for k, v in mock.credentials.items() if k != "expired_token"}
    # Five generated cases per operation: list answers naming the foreign key reach the stateful
    # sequences as they do at the default draw.
    run = run_target(vendor, mock.url, tmp_path, max_examples=5, **credentials)
    assert run.code == 0, run.explain()
    after = outsider.call(READ[vendor], foreign).response.content
    outsider.close()
    assert after == before
    assert foreign not in {
        e["key_id"] for e in map(json.loads, (run.report_dir / "ledger.jsonl").read_text().splitlines())
    }


def _start_run(vendor: str, url: str, credentials: dict[str, str], report_dir: Path) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--vendor",
        vendor,
        "--base-url",
        url,
        *_credential_args(credentials),
        "--report-dir",
        str(report_dir),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_CONFORMANCE_")}
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL
    )


def _wait_for_keys(ledger: Path, count: int, proc: subprocess.Popen[str], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ledger.exists() and ledger.read_text().count('"created"') >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"run ended before creating {count} keys: {proc.stdout.read()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"run did not create {count} keys in time")


# What cleanup leaves a scratch key as, per vendor (its shortest documented deletion path).
CLEANED = {"huawei": "pending-deletion", "thales": "pending-deletion", "yandex": "deleted"}
# SIGINT for every vendor (each profile's own cleanup on the way out); SIGKILL for one: what a
# hard kill leaves is the ledger, written the same way for every vendor, and the cleanup command
# finishing each vendor's keys from a ledger is tests/test_cleanup_truth.py.
KILLS = [(v, signal.SIGINT) for v in VENDORS] + [(VENDORS[0], signal.SIGKILL)]


@pytest.mark.parametrize(("vendor", "sig"), KILLS, ids=[f"{v}-{s.name}" for v, s in KILLS])
def test_killed_run_leaves_a_ledger_cleanup_finishes(
    tmp_path: Path, kms_mock, vendor: str, sig: signal.Signals
) -> None:
    mock = kms_mock(vendor)
    report_dir = tmp_path / "killed"
    proc = _start_run(vendor, mock.url, mock.credentials, report_dir)
    ledger_path = report_dir / "ledger.jsonl"
    _wait_for_keys(ledger_path, 5, proc)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=90)  # the run's own interrupt watchdog ends it in 55 s
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)  # every thread's stack on its stderr
        time.sleep(1)
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the run did not end within 90 s of {sig.name}:\n{out[-2000:]}\n{err[-6000:]}")
    stacks = report_dir / "interrupt-stacks.txt"
    if stacks.exists():
        pytest.fail(f"the run was stuck after {sig.name}: {err[-1000:]}\n{stacks.read_text()[-6000:]}")
    created = {
        r["key_id"] for r in map(json.loads, ledger_path.read_text().splitlines()) if r["event"] == "created"
    }
    assert len(created) >= 5
    if sig == signal.SIGINT:
        # An interrupted run is no verdict: exit 130, and summary.json says it was stopped (what it
        # never reached is blocked, never "passed" or "no check ran").
        summary = json.loads((report_dir / "summary.json").read_text())
        assert proc.returncode == 130, proc.returncode
        assert summary["verdict"] == "fail" and summary["stopped"].startswith("interrupted (Ctrl-C)")
        assert not [r["id"] for r in summary["requirements"] if "no check ran" in r["message"]]
        # The summary is written after the interrupted run's cleanup, and says what it did.
        cleanup_record = summary["cleanup"]
        assert set(cleanup_record["cleaned"]) | set(cleanup_record["left"]) == created, cleanup_record
        assert set(cleanup_record["left"]) == {e.key_id for e in Ledger(ledger_path).pending()}
    credentials = {k: v for k, v in mock.credentials.items() if k in ("token", "username", "password")}
    if sig == signal.SIGKILL:
        # Nothing cleaned: ``kms-conformance cleanup`` (the command a crashed run tells you to run)
        # finishes every key from the ledger alone.
        cleanup = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance",
                "cleanup",
                "--ledger",
                str(ledger_path),
                *_credential_args(credentials),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    else:
        # The interrupted run cleaned up itself; the same cleanup, in this process, finds the rest.
        out = io.StringIO()
        assert cleanup_ledger(ledger_path, credentials, out=out) == 0, out.getvalue()
    assert Ledger(ledger_path).pending() == []
    observer = profile_class(vendor)(mock.settings)
    states = {observer.key_state(key_id) for key_id in created}
    observer.close()
    assert states == {CLEANED[vendor]}, "every scratch key must be on its way out"


@pytest.mark.parametrize("vendor", VENDORS)
def test_read_only_changes_nothing(cli, kms_mock, vendor: str) -> None:
    mock = kms_mock(vendor)
    outsider = profile_class(vendor)(mock.settings)
    foreign = outsider.create_key()
    before = outsider.call("list", None).response.content
    one_before = outsider.call(READ[vendor], foreign).response.content
    # Two generated cases per read-only operation: enough to send every operation the read-only
    # filter lets through (one that changes anything changes the list or the foreign key).
    result = cli(
        "run",
        "--vendor",
        vendor,
        "--base-url",
        mock.url,
        "--read-only",
        "--max-examples",
        "2",
        *_credential_args(mock.credentials),
    )
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-1500:]
    assert outsider.call("list", None).response.content == before
    assert outsider.call(READ[vendor], foreign).response.content == one_before
    outsider.close()
    assert not (result.report_dir / "ledger.jsonl").exists()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kms-conformance test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_tls_self_signed_needs_ca_bundle(cli, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    definition = mock_definition("huawei")
    config = definition.config()
    with RunningMock(definition.create_app(config), certfile=str(cert), keyfile=str(key)) as server:
        args = [
            "run",
            "--vendor",
            "huawei",
            "--base-url",
            server.url,
            "--scope",
            "lifecycle",
            "--max-examples",
            "1",  # TLS is the transport's: one generated case per operation still goes through it
            *_credential_args(definition.credentials(config)),
        ]
        refused = cli(*args)
        assert refused.code == 3
        assert "TLS" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        trusted = cli(*args, "--ca-bundle", str(cert))
        assert trusted.code == 0, trusted.stdout[-3000:] + trusted.stderr[-1500:]
        assert trusted.summary["transport"]["tls_verify"] is True
        insecure = cli(*args, "--insecure")
        assert insecure.code == 0, insecure.stdout[-2000:]
        assert insecure.summary["transport"]["tls_verify"] is False
        assert "NOT verified" in (insecure.report_dir / "report.html").read_text()
        assert "NOT verified" in insecure.stdout


@pytest.mark.parametrize("vendor", VENDORS)
def test_profile_refuses_to_change_a_key_it_did_not_create(kms_mock, vendor: str) -> None:
    from conformance.profiles.base import OwnershipError

    mock = kms_mock(vendor)
    outsider = profile_class(vendor)(mock.settings)
    foreign = outsider.create_key()
    before = outsider.call(READ[vendor], foreign).response.content
    run = profile_class(vendor)(mock.settings)
    known = importlib.import_module(profile_class(vendor).__module__).OPERATIONS  # the vendor's profile.py
    tried = [op for op in ("disable", "schedule_deletion", "delete") if op in known]
    assert tried
    for operation in tried:
        with pytest.raises(OwnershipError):
            run.call(operation, foreign)
    assert run.call(READ[vendor], foreign).status == 200  # reading is fine
    assert outsider.call(READ[vendor], foreign).response.content == before

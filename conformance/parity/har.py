"""Recording every exchange of a run as an HTTP Archive (HAR 1.2), and reading one back.

Every request of a run goes through ``GuardedTransport._exchange``; when a ``Recorder`` is
installed there (``install``), each exchange is appended under a lock with a sequence number taken
when it *started*, the check that sent it (``_check``, ``_requirement``) and the credential mode it
was sent with (``_auth``: valid, none, invalid, forbidden, expired).  Redaction happens when the
archive is written, with the run's ``Redactor`` (which then knows every token the run fetched):
secret values, credential headers, token-bearing fields and each vendor's key-material fields.
Generated checks running in child processes record into part files the parent merges
(``PART_DIR_ENV``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.redaction import PLACEHOLDER, Redactor

HAR_VERSION = "1.2"
MAX_HAR_BYTES = 256 * 1024 * 1024  # a larger file is refused, not read
MAX_BODY_CHARS = 1024 * 1024  # bodies longer than this are cut in the archive
PART_DIR_ENV = "KMSCONF_RECORD_PARTS"  # where a run's child processes write their exchanges
# Headers whose values are credentials or tokens beyond the shared list (Huawei's IAM token
# answer header, AK/SK signing's date/security token).
EXTRA_SECRET_HEADERS = frozenset({"x-subject-token", "x-security-token", "authorization"})
CREDENTIAL_HEADERS = frozenset({"authorization", "x-auth-token"})
_REQUIREMENT = re.compile(r"\b[A-Z]{2,3}-[A-Z0-9]+-\d{3}\b")

_current = threading.local()


class HarError(Exception):
    """A HAR file that cannot be used (one line: exit status 2)."""


def set_check(name: str | None) -> None:
    """Name the check running on this thread; its exchanges carry the name."""
    _current.check = name


def current_check() -> str:
    return getattr(_current, "check", None) or "session"


class Recorder:
    """The exchanges of one run (thread-safe), in start order."""

    def __init__(self, credentials: Callable[[], Iterable[str]] = tuple) -> None:
        # The run's own credential values (for telling a valid credential from another one).
        self.credentials = credentials
        self._lock = threading.Lock()
        self._next = 0
        self.lost = 0
        self.entries: list[dict[str, Any]] = []

    def begin(self) -> tuple[int, float, int]:
        with self._lock:
            self._next += 1
            return self._next, time.time(), time.monotonic_ns()

    def add(
        self,
        started: tuple[int, float, int],
        request: Any,
        status: int,
        headers: Iterable[tuple[str, str]],
        content: bytes,
        error: str | None = None,
    ) -> None:
        """Append one exchange; a recording problem never breaks the run (it is counted in ``lost``)."""
        try:
            self._add(started, request, status, headers, content, error)
        except Exception:  # noqa: BLE001 - the run goes on; the archive says how many it lost
            with self._lock:
                self.lost += 1

    def _add(
        self,
        started: tuple[int, float, int],
        request: Any,
        status: int,
        headers: Iterable[tuple[str, str]],
        content: bytes,
        error: str | None,
    ) -> None:
        sequence, wall, mono = started
        try:
            body = request.content
        except Exception:  # noqa: BLE001 - a streamed body that was not read: recorded empty
            body = b""
        entry = {
            "startedDateTime": dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(),
            "time": round((time.monotonic_ns() - mono) / 1e6, 3),
            "request": {
                "method": request.method,
                "url": str(request.url),
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": k, "value": v} for k, v in request.headers.items()],
                "queryString": [{"name": k, "value": v} for k, v in request.url.params.multi_items()],
                "cookies": [],
                "headersSize": -1,
                "bodySize": len(body),
                **(
                    {
                        "postData": {
                            "mimeType": request.headers.get("content-type", ""),
                            "text": _text(body),
                        }
                    }
                    if body
                    else {}
                ),
            },
            "response": {
                "status": status,
                "statusText": "",
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": k, "value": v} for k, v in headers],
                "cookies": [],
                "content": {
                    "size": len(content),
                    "mimeType": _header(headers, "content-type"),
                    "text": _text(content),
                },
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": len(content),
            },
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
            "_sequence": sequence,
            "_mono": mono,
            "_check": current_check(),
            "_requirement": _requirement(current_check()),
            "_auth": request.extensions.get("kms_auth") or self.auth_mode(request.headers),
            **({"_error": error} if error else {}),
        }
        with self._lock:
            self.entries.append(entry)

    def auth_mode(self, headers: Mapping[str, str]) -> str:
        """The credential mode of a request from a client without a declared one (Schemathesis):
        ``valid`` when a credential header carries one of the run's credentials, ``invalid`` when it
        carries something else, ``none`` without one."""
        values = [v for k, v in headers.items() if k.lower() in CREDENTIAL_HEADERS]
        if not values:
            return "none"
        own = [c for c in self.credentials() if c and len(c) >= 4]
        return "valid" if any(c in v for v in values for c in own) else "invalid"

    def ordered(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted(self.entries, key=lambda e: (e["_mono"], e["_sequence"]))


def _text(content: bytes) -> str:
    return content[:MAX_BODY_CHARS].decode("utf-8", errors="replace")


def _header(headers: Iterable[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _requirement(check: str) -> str | None:
    found = _REQUIREMENT.search(check)
    return found.group(0) if found else None


_RECORDER: Recorder | None = None


def install(recorder: Recorder | None) -> None:
    """Record every exchange of this process into ``recorder`` (None: stop recording)."""
    global _RECORDER
    _RECORDER = recorder


def active() -> Recorder | None:
    return _RECORDER


# -- redaction ------------------------------------------------------------------------------------


# Credential fields of request bodies (token grants, AK/SK): never kept, whatever a vendor's rules say.
REQUEST_SECRET_FIELDS = frozenset({"password", "sk", "refresh_token", "client_secret", "secret"})


def redact_entry(entry: dict[str, Any], redactor: Redactor, secret_fields: frozenset[str]) -> dict[str, Any]:
    """``entry`` with credentials and key material removed (a new dict)."""
    out = json.loads(json.dumps(entry))
    out.pop("_mono", None)
    for side in ("request", "response"):
        part = out[side]
        part["headers"] = [
            {
                "name": h["name"],
                "value": PLACEHOLDER if h["name"].lower() in EXTRA_SECRET_HEADERS else h["value"],
            }
            for h in part["headers"]
        ]
        part["headers"] = [
            {"name": k, "value": v}
            for k, v in redactor.headers({h["name"]: h["value"] for h in part["headers"]}).items()
        ]
        holder = part.get("postData") if side == "request" else part.get("content")
        # A request's plaintext is the suite's own made-up test value: kept, so a replay sends what
        # the run sent; only credentials leave request bodies.  Answers lose all key material.
        hidden = secret_fields if side == "response" else secret_fields & REQUEST_SECRET_FIELDS
        if holder and holder.get("text"):
            holder["text"] = redactor.text(_hide_fields(holder["text"], hidden))
    out["request"]["url"] = redactor.text(out["request"]["url"])
    out["request"]["queryString"] = [
        {"name": q["name"], "value": redactor.text(q["value"])} for q in out["request"]["queryString"]
    ]
    if "_error" in out:
        out["_error"] = redactor.text(out["_error"])
    return out


def _hide_fields(text: str, names: frozenset[str]) -> str:
    """JSON ``text`` with the string values of fields named in ``names`` (key material, plaintext)
    replaced by the placeholder; anything not JSON is left to the value redaction."""
    if not names:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (PLACEHOLDER if k in names and isinstance(v, str) else walk(v)) for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return json.dumps(walk(data))


# -- writing and reading --------------------------------------------------------------------------


def archive(
    entries: Sequence[dict[str, Any]],
    meta: Mapping[str, Any],
    redactor: Redactor,
    secret_fields: frozenset[str],
) -> dict[str, Any]:
    """The HAR document: ``entries`` redacted and numbered in start order, ``meta`` in the comments."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mine = version("kms-conformance")
    except PackageNotFoundError:
        mine = "0"
    done = []
    for number, entry in enumerate(entries, start=1):
        item = redact_entry(entry, redactor, secret_fields)
        item["_sequence"] = number
        done.append(item)
    comment = ", ".join(f"{k}={v}" for k, v in meta.items() if isinstance(v, str))
    return {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "kms-conformance", "version": mine, "comment": comment},
            "comment": f"kms-conformance recording: {comment}",
            **{f"_{k}": (redactor.text(v) if isinstance(v, str) else v) for k, v in meta.items()},
            "entries": done,
        }
    }


def write(path: Path, document: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot be written as a recording, or None (checked before the run starts)."""
    if path.is_dir():
        return f"cannot write --record {path}: it is a directory"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"cannot write --record {path}: no directory {parent}"
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"cannot write --record {path}: {exc.strerror or exc}"
    return None


def read(path: Path) -> dict[str, Any]:
    """The ``log`` of a HAR file written by ``--record``; HarError (one line) when it is not one."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HarError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > MAX_HAR_BYTES:
        raise HarError(
            f"{path} is {size / 2**20:.0f} MiB; recordings over {MAX_HAR_BYTES // 2**20} MiB are refused"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HarError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError):
        raise HarError(f"{path} is not a HAR file: not JSON") from None
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict):
        raise HarError(f"{path} is not a HAR file: no 'log' object")
    if log.get("version") != HAR_VERSION:
        raise HarError(f"{path}: HAR version {log.get('version')!r} is not supported (only {HAR_VERSION})")
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise HarError(f"{path} is not a HAR file: no 'entries' list")
    for index, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("request"), dict)
            and isinstance(entry.get("response"), dict)
            and isinstance(entry["request"].get("method"), str)
            and isinstance(entry["request"].get("url"), str)
            and isinstance(entry["response"].get("status"), int)
        ):
            raise HarError(
                f"{path}: entry {index + 1} is not a HAR entry (request method/url, response status)"
            )
    return log


# -- child processes ------------------------------------------------------------------------------


def child_part_dir() -> Path | None:
    found = os.environ.get(PART_DIR_ENV)
    return Path(found) if found else None


def write_part(directory: Path, recorder: Recorder) -> None:
    """A child's exchanges (unredacted: the parent redacts the merged archive), one file per process."""
    (directory / f"part-{os.getpid()}.json").write_text(json.dumps(recorder.ordered()), encoding="utf-8")


def merge_parts(directory: Path, recorder: Recorder) -> None:
    for part in sorted(directory.glob("part-*.json")):
        try:
            recorder.entries.extend(json.loads(part.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue


def run_credentials(settings: Any) -> Callable[[], list[str]]:
    """The credential values of a run as they travel (configured, fetched, the Huawei AK)."""

    def values() -> list[str]:
        return [
            *Redactor(settings.secrets()).secrets,
            *([settings.ak] if getattr(settings, "ak", None) else []),
        ]

    return values

"""Generated cases kept between runs: drawn once, then sent again from a file.

Drawing Schemathesis cases is most of a run's computation (about 25 ms of Hypothesis work per
case on one core), yet the cases of the generated layer depend only on the spec, the operation,
the pinned path parameters, ``--max-examples`` and the library versions -- never on the target's
answers: Hypothesis runs derandomized, without shrinking, and the layer collects failures instead
of raising them.  So a run draws an operation's cases once, keeps them under ``--case-cache``
(a folder; ``off`` turns it off), and a later run with the same inputs sends the very same cases
without drawing them.  The stateful layer is not cached: its steps follow the target's answers.

The file format is JSON with tagged values, not pickle: a cache folder is just files, and
reading one must never run code.  Only dataclasses and enums from Schemathesis' own modules are
rebuilt from their tags; anything else, a garbled file or one from other versions, is a miss --
the cases are drawn again and the file rewritten.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import hashlib
import importlib
import importlib.metadata
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from conformance.metrics import Tally

FORMAT = 1  # bump when the encoding or what a file holds changes
MAX_FILE_BYTES = 4 * 1024 * 1024  # an operation's cases larger than this are drawn every time
OFF = "off"

# The fields of a Schemathesis ``Case`` that make the request (``operation`` is the run's own).
CASE_FIELDS = (
    "method",
    "path",
    "id",
    "path_parameters",
    "headers",
    "cookies",
    "query",
    "body",
    "media_type",
    "multipart_content_types",
)
_REBUILT_FROM = ("schemathesis.",)  # modules whose dataclasses and enums a file may name


# How many generated checks drew their cases (DRAWN) and how many took them from the cache (CACHED).
SOURCES = Tally()
DRAWN, CACHED = "drawn", "cached"


def user_cache() -> Path:
    """The project's per-user cache: ``$XDG_CACHE_HOME/kms-conformance`` (``~/.cache`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kms-conformance"


def default_folder() -> Path:
    return user_cache() / "cases"


def folder_for(setting: str | None) -> Path | None:
    """The cache folder a ``--case-cache`` value names (None: off)."""
    if setting is None or not setting.strip():
        return default_folder()
    if setting.strip().lower() == OFF:
        return None
    return Path(setting).expanduser()


@functools.cache  # read once per process: every operation's key names them
def _versions() -> dict[str, str]:
    found = {}
    for package in ("schemathesis", "hypothesis"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
            found[package] = "?"
    return found


def key(*, spec: bytes, operation: str, max_examples: int, path_parameters: dict[str, Any]) -> str:
    """The name of one operation's cases: every input that changes what is drawn."""
    material = json.dumps(
        {
            "format": FORMAT,
            "spec": hashlib.sha256(spec).hexdigest(),
            "operation": operation,
            "max_examples": max_examples,
            "path_parameters": path_parameters,
            "versions": _versions(),
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


# -- tagged JSON ---------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """``value`` as plain JSON, with tags for what JSON has no word for."""
    from schemathesis.core import NotSet

    if isinstance(value, enum.Enum):  # first: a str or int enum is also a str or an int
        return {"$enum": _name(type(value)), "value": encode(value.value)}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, NotSet):
        return {"$notset": True}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return {"$dataclass": _name(type(value)), "fields": fields}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot keep a {type(value).__name__} in the case cache")


def decode(value: Any) -> Any:
    """The value ``encode`` wrote (raises ValueError on anything it did not write)."""
    from schemathesis.core import NOT_SET

    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$enum" in value:
        cls = _named(value["$enum"])
        if not issubclass(cls, enum.Enum):
            raise ValueError(f"{value['$enum']} is not an enum")
        return cls(decode(value["value"]))
    if "$dataclass" in value:
        made: Any = _named(value["$dataclass"])
        if not (isinstance(made, type) and dataclasses.is_dataclass(made)):
            raise ValueError(f"{value['$dataclass']} is not a dataclass")
        return made(**{name: decode(v) for name, v in value["fields"].items()})
    if "$notset" in value:
        return NOT_SET
    if "$bytes" in value:
        return base64.b64decode(value["$bytes"])
    if "$tuple" in value:
        return tuple(decode(v) for v in value["$tuple"])
    if "$set" in value:
        return {decode(v) for v in value["$set"]}
    if "$dict" in value:
        return {decode(k): decode(v) for k, v in value["$dict"]}
    raise ValueError(f"an untagged object in the case cache: {sorted(value)[:3]}")


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _named(name: str) -> Any:
    module, _, qualname = str(name).partition(":")
    if not module.startswith(_REBUILT_FROM) or not qualname:
        raise ValueError(f"the case cache may not name {name!r}")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


# -- cases ---------------------------------------------------------------------------------------


def snapshot(case: Any) -> dict[str, Any]:
    """What to keep of a case as it was drawn (before the run pins parameters or guards ids)."""
    kept = {name: getattr(case, name) for name in CASE_FIELDS}
    kept["meta"] = case.meta
    return encode(kept)  # encoded at once: the run changes the case's containers when it sends it


def rebuild(operation: Any, kept: dict[str, Any]) -> Any:
    """A Schemathesis case for ``operation`` from a ``snapshot``."""
    from requests.structures import CaseInsensitiveDict
    from schemathesis.generation.case import Case

    fields = decode(kept)
    meta = fields.pop("meta")
    headers = fields.pop("headers")
    method, path = fields.pop("method"), fields.pop("path")
    return Case(
        operation,
        method,
        path,
        headers=CaseInsensitiveDict(headers) if headers is not None else None,
        meta=meta,
        **fields,
    )


class CaseCache:
    """One folder of kept cases: ``load`` a key's cases or None, ``store`` them (atomically)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def load(self, name: str, operation: Any) -> list[Any] | None:
        """The cases kept under ``name``, rebuilt for ``operation``; None when there are none usable."""
        path = self._path(name)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("key") != name:
                return None
            return [rebuild(operation, kept) for kept in data["cases"]]
        except Exception:  # noqa: BLE001 - missing, garbled, from other versions: draw again
            return None

    def store(self, name: str, operation: str, cases: list[dict[str, Any]]) -> bool:
        """Keep ``cases`` (``snapshot`` values) under ``name``; False when they were not kept."""
        try:
            text = json.dumps({"format": FORMAT, "key": name, "operation": operation, "cases": cases})
            if len(text) > MAX_FILE_BYTES:
                return False
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(temporary, self._path(name))  # readers see the old file or the new one
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            return True
        except (OSError, TypeError, ValueError):  # a read-only home, a value JSON cannot hold
            return False

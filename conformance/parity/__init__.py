"""Parity with reality: record a run as a HAR file, replay it against another target, compare.

``har`` records (``--record``) and reads HTTP Archives, ``replay`` sends a recording to a target,
``compare`` holds two answers to each other structurally, ``report`` writes parity.json/html,
``calibrate`` finds the bundled-mock options that match a recording best.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The settings a recording keeps (non-secret): where the run went and which scratch containers.
RECORDED_SETTINGS = (
    "base_url",
    "operation_url",
    "iam_url",
    "project_id",
    "folder_id",
    "kms",
    "region",
    "scope",
)


def spec_version(vendor: str) -> str:
    """``info.version`` of the vendor's OpenAPI document (read as text: no YAML parse for one line)."""
    from conformance import vendors

    try:
        text = vendors.get(vendor).spec.read_text(encoding="utf-8")
    except (OSError, KeyError, ValueError):
        return "unknown"
    found = re.search(r"(?m)^info:\s*\n(?:[ \t]+.*\n)*?[ \t]+version:\s*['\"]?([^'\"\n]+)", text)
    return found.group(1).strip() if found else "unknown"


def recording_meta(settings: Any, mock_info: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a recording says about its run: vendor, spec version, run id, target and settings."""
    return {
        "vendor": settings.vendor,
        "spec_version": spec_version(settings.vendor),
        "run_id": settings.run_id,
        "target": "bundled mock" if mock_info else settings.base_url,
        "mock": (
            {"faults": list(mock_info.get("faults", [])), "options": dict(mock_info.get("options", {}))}
            if mock_info
            else None
        ),
        "settings": {name: getattr(settings, name, None) for name in RECORDED_SETTINGS},
        "urls": profile_urls(settings),
    }


URL_ATTRIBUTES = ("base_url", "operation_url", "crypto_url", "iam_url")


def profile_urls(settings: Any, profile: Any = None) -> dict[str, str]:
    """The API roots a run sends to (the profile's derived operation/crypto endpoints too)."""
    from conformance.profiles import profile_class

    if profile is None:
        profile = profile_class(settings.vendor)(settings)
    found: dict[str, str] = {}
    for name in URL_ATTRIBUTES:
        try:
            value = getattr(profile, name, None) or getattr(settings, name, None)
        except Exception:  # noqa: BLE001 - a derived URL a profile cannot say: left out
            value = None
        if isinstance(value, str) and value:
            found[name] = value.rstrip("/")
    return found

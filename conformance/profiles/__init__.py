"""Vendor profiles: ``profile_class(vendor)`` returns the ``Profile`` subclass for a vendor id."""

from __future__ import annotations

from importlib import import_module

from conformance.profiles.base import Outcome, Probe, Profile, TargetError, Transition

__all__ = ["Outcome", "Probe", "Profile", "TargetError", "Transition", "profile_class"]

_MODULES = {"huawei": "conformance.profiles.huawei", "thales": "conformance.profiles.thales", "yandex": "conformance.profiles.yandex"}


def profile_class(vendor: str) -> type[Profile]:
    try:
        module = import_module(_MODULES[vendor])
    except (KeyError, ModuleNotFoundError):
        raise ValueError(f"unknown vendor {vendor!r}") from None
    return module.PROFILE

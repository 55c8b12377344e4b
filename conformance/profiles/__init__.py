"""The shared profile machinery; ``profile_class(vendor)`` returns a registered vendor's ``Profile``."""

from __future__ import annotations

from conformance.profiles.base import Outcome, Probe, Profile, TargetError, Transition

__all__ = ["Outcome", "Probe", "Profile", "TargetError", "Transition", "profile_class"]


def profile_class(vendor: str) -> type[Profile]:
    """The profile class of a registered vendor (``conformance.vendors``); ValueError if unknown."""
    from conformance import vendors

    return vendors.get(vendor).profile_class()

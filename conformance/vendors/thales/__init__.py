"""Thales CipherTrust CCKM, AWS keys (``/api/v1/cckm/aws/keys...``): profile, catalogue, mock and notes."""

from conformance.specs import spec_path
from conformance.vendors import Vendor

VENDOR = Vendor(
    name="thales",
    title="Thales CipherTrust CCKM (AWS keys)",
    package=__name__,
    spec=spec_path("thales.yaml"),
    credentials=(("token",), ("username", "password")),
    for_writes=("kms", "region"),
)

"""Yandex Cloud KMS (``/kms/v1/keys...``): profile, catalogue, mock and notes."""

from conformance.specs import spec_path
from conformance.vendors import Vendor

VENDOR = Vendor(
    name="yandex",
    title="Yandex Cloud KMS",
    package=__name__,
    spec=spec_path("yandex.yaml"),
    credentials=(("token",), ("token_command",)),
    for_writes=("folder_id",),
)

"""Huawei Cloud KMS (``/v1.0/{project_id}/kms/...``): profile, catalogue, mock and notes."""

from conformance.specs import spec_path
from conformance.vendors import Vendor

VENDOR = Vendor(
    name="huawei",
    title="Huawei Cloud KMS",
    package=__name__,
    spec=spec_path("huawei.yaml"),
    required=("project_id",),
    credentials=(("token",), ("token_command",), ("ak", "sk"), ("username", "password")),
)

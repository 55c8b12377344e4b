"""Parity rules for Thales CipherTrust CCKM (``conformance.parity``): volatile ids, state fields, secrets."""

from conformance.parity.rules import ParityRules

PARITY = ParityRules(
    id_fields=frozenset(
        {"id", "KeyId", "KeyID", "kms_id", "local_key_id", "Arn", "job_config_id", "requestID"}
    ),
    state_fields=frozenset(
        {"KeyState", "Enabled", "KeyUsage", "Origin", "KeyRotationEnabled", "status", "overall_status"}
    ),
    ignore_fields=frozenset({"requestID"}),
    secret_fields=frozenset({"jwt", "refresh_token", "password", "key_material", "KeyMaterial", "material"}),
    skip_paths=(r"/api/v1/auth/tokens/?$",),
    mapped_settings=("kms", "region"),
)

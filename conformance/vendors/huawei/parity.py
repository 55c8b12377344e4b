"""Parity rules for Huawei Cloud KMS (``conformance.parity``): volatile ids, state fields, secrets."""

from conformance.parity.rules import ParityRules

PARITY = ParityRules(
    id_fields=frozenset({"key_id", "grant_id", "domain_id", "id"}),
    state_fields=frozenset({"key_state", "key_rotation_enabled", "origin", "key_spec", "key_usage"}),
    ignore_fields=frozenset({"request_id"}),
    secret_fields=frozenset(
        {"plain_text", "plaintext", "datakey_plain_text", "key_material", "import_token", "password", "sk"}
    ),
    skip_paths=(r"/v3/auth/tokens$",),
    mapped_settings=("project_id",),
)

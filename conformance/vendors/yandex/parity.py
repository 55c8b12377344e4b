"""Parity rules for Yandex Cloud KMS (``conformance.parity``): volatile ids, state fields, secrets."""

from conformance.parity.rules import ParityRules

PARITY = ParityRules(
    id_fields=frozenset({"id", "keyId", "versionId", "primaryVersionId", "resourceId", "sourceKeyId"}),
    state_fields=frozenset({"status", "done", "deletionProtection", "defaultAlgorithm"}),
    ignore_fields=frozenset({"requestId"}),
    secret_fields=frozenset({"plaintext", "iamToken", "dataKeyPlaintext", "privateKey"}),
    skip_paths=(r"/iam/v1/tokens$",),
    poll_path=r"/operations/[^/]+$",
    done_field="done",
    mapped_settings=("folder_id",),
)

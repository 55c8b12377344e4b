"""Reference mock of Yandex Cloud KMS symmetric keys (SymmetricKeyService, SymmetricCryptoService,
OperationService) and asymmetric keys (AsymmetricEncryptionKeyService, AsymmetricSignatureKeyService and their crypto
services) on one loopback app.

Where things are (laid out like moto's services):

| file | what |
|---|---|
| ``models.py`` | keys, versions, operations and their rules: the state machine, rotation, crypto; no HTTP |
| ``asymmetric.py`` | real RSA-OAEP decryption (and signatures) for the asymmetric keys (``cryptography``) |
| ``responses.py`` | the Starlette app: routes, auth, proto3-JSON parsing and spec validation, JSON answers |
| ``exceptions.py`` | ``ApiError`` and the ``google.rpc.Status`` error envelope (gRPC code -> HTTP status) |
| ``faults.py`` | ``FAULTS`` and ``OPTIONS``, and what each one changes (``behaviour_for``) |

Facts and sources: ``conformance/vendors/yandex/NOTES.md`` and the rows of
``conformance/vendors/yandex/catalogue.toml``.  ``POST /_mock/clock {"advanceSeconds": N}``
moves the mock's clock forward (for the destroyAt rule); it is not part of the vendor API.
"""

from __future__ import annotations

from starlette.applications import Starlette

from conformance.mocks.base import MockConfig, MockDefinition
from conformance.vendors.yandex.mock.faults import FAULTS, OPTIONS, behaviour_for
from conformance.vendors.yandex.mock.models import FOLDER_ID, OTHER_FOLDER_ID, USER_ID, YandexKms
from conformance.vendors.yandex.mock.responses import (
    EXPIRED_TOKEN,
    FORBIDDEN_TOKEN,
    OTHER_TOKEN,
    TOKEN,
    build_app,
)

__all__ = [
    "EXPIRED_TOKEN",
    "FAULTS",
    "FOLDER_ID",
    "FORBIDDEN_TOKEN",
    "MOCK",
    "OPTIONS",
    "TOKEN",
    "USER_ID",
    "create_app",
    "credentials",
]


def create_app(config: MockConfig) -> Starlette:
    """A fresh, empty mock service behaving as ``config`` says."""
    behaviour = behaviour_for(config)
    return build_app(YandexKms(behaviour.rules), behaviour)


def credentials(config: MockConfig) -> dict[str, str]:
    """The Settings fields a client of the mock needs."""
    return {
        "token": TOKEN,
        "folder_id": FOLDER_ID,
        "forbidden_token": FORBIDDEN_TOKEN,
        "expired_token": EXPIRED_TOKEN,
        "other_token": OTHER_TOKEN,
        "other_folder_id": OTHER_FOLDER_ID,
    }


MOCK = MockDefinition(
    vendor="yandex", faults=FAULTS, options=OPTIONS, create_app=create_app, credentials=credentials
)

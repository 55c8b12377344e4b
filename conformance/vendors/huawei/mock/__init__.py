"""A faithful in-memory Huawei Cloud KMS (DEW) v1.0 mock, laid out like moto's services.

Where things are:

* ``models.py`` -- keys, states and the state machine (``TRANSITIONS``), tags, crypto; no HTTP.
* ``responses.py`` -- the Starlette app: routes, authentication, validation against
  ``specs/huawei.yaml``, JSON answers.
* ``exceptions.py`` -- the KMS error codes and messages, field -> code, the error envelopes.
* ``faults.py`` -- ``FAULTS`` and ``OPTIONS``, and the one place each switch takes effect.

``MOCK`` is what the vendor registry loads (``conformance.vendors.huawei.VENDOR.mock()``).
The mock does not read the Huawei profile: it is an independent check on it.
"""

from __future__ import annotations

from starlette.applications import Starlette

from conformance.mocks.base import MockConfig, MockDefinition
from conformance.vendors.huawei.mock.exceptions import FIELD_CODES, MESSAGES, GatewayError, KmsError
from conformance.vendors.huawei.mock.faults import FAULTS, OPTIONS, behaviour
from conformance.vendors.huawei.mock.models import (
    AK,
    DOMAIN_ID,
    EXPIRED_TOKEN,
    FORBIDDEN_TOKEN,
    IAM_DOMAIN,
    IAM_PASSWORD,
    IAM_USER,
    KEY_QUOTA,
    OTHER_PROJECT_ID,
    OTHER_TOKEN,
    PROJECT_ID,
    SK,
    STATES_ALL,
    TOKEN,
    TRANSITIONS,
    USER_ID,
    HuaweiKms,
    Key,
)
from conformance.vendors.huawei.mock.responses import NUMERIC_STRING_FIELDS, POST_ACTIONS, build_app

__all__ = [
    "AK",
    "DOMAIN_ID",
    "EXPIRED_TOKEN",
    "FAULTS",
    "FIELD_CODES",
    "FORBIDDEN_TOKEN",
    "IAM_DOMAIN",
    "IAM_PASSWORD",
    "IAM_USER",
    "KEY_QUOTA",
    "MESSAGES",
    "MOCK",
    "NUMERIC_STRING_FIELDS",
    "OPTIONS",
    "POST_ACTIONS",
    "PROJECT_ID",
    "SK",
    "STATES_ALL",
    "TOKEN",
    "TRANSITIONS",
    "USER_ID",
    "GatewayError",
    "HuaweiKms",
    "Key",
    "KmsError",
    "create_app",
    "credentials",
]


def create_app(config: MockConfig) -> Starlette:
    """The mock for ``config``: faults.py turns its switches into a Behaviour, responses.py serves it."""
    return build_app(behaviour(config))


def credentials(config: MockConfig) -> dict[str, str]:
    """The Settings fields a client needs to reach the mock (the same for every config)."""
    return {
        "token": TOKEN,
        "project_id": PROJECT_ID,
        "ak": AK,
        "sk": SK,
        "username": IAM_USER,
        "password": IAM_PASSWORD,
        "domain": IAM_DOMAIN,
        "forbidden_token": FORBIDDEN_TOKEN,
        "expired_token": EXPIRED_TOKEN,
        "other_token": OTHER_TOKEN,
        "other_project_id": OTHER_PROJECT_ID,
    }


MOCK = MockDefinition(
    vendor="huawei", faults=FAULTS, options=OPTIONS, create_app=create_app, credentials=credentials
)

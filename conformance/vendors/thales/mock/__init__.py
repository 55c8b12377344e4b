"""Reference mock of Thales CipherTrust Manager CCKM (AWS keys) and its token flow.

Laid out like moto's services; where is what:

* ``models.py``: the state and the business rules -- users and refresh tokens, AWS connections,
  keys, the AWS KeyState machine (``TRANSITIONS``), policies, aliases and tags.  No HTTP.
* ``responses.py``: the Starlette app -- routes, JWT auth, request parsing and validation
  against the spec, key rendering, ``create_app`` and ``credentials``.
* ``exceptions.py``: the refusals and the CipherTrust error envelope they are answered with.
* ``faults.py``: ``FAULTS`` and ``OPTIONS``, each declared with what it changes (``Behaviour``).

Facts, their sources and which option covers each open question: ``../NOTES.md``.  The checks'
view of the same API is ``conformance/vendors/thales/profile.py``; the mock does not read it.
"""

from __future__ import annotations

from conformance.mocks.base import MockDefinition
from conformance.vendors.thales.mock.exceptions import CckmError
from conformance.vendors.thales.mock.faults import FAULTS, OPTIONS, Behaviour, behaviour
from conformance.vendors.thales.mock.models import (
    ACCOUNT,
    CONNECTIONS,
    DEFAULT_KMS,
    DEFAULT_REGION,
    FORBIDDEN_PASSWORD,
    FORBIDDEN_USERNAME,
    PASSWORD,
    TRANSITIONS,
    USERNAME,
    USERS,
    CckmBackend,
    Key,
    Rules,
)
from conformance.vendors.thales.mock.responses import (
    KEYS_PATH,
    REFRESH_TOKEN_EXPIRES_IN,
    CckmResponses,
    create_app,
    credentials,
    mint_jwt,
    read_jwt,
)

MOCK = MockDefinition(
    vendor="thales", faults=FAULTS, options=OPTIONS, create_app=create_app, credentials=credentials
)

__all__ = [
    "ACCOUNT",
    "CONNECTIONS",
    "DEFAULT_KMS",
    "DEFAULT_REGION",
    "FAULTS",
    "FORBIDDEN_PASSWORD",
    "FORBIDDEN_USERNAME",
    "KEYS_PATH",
    "MOCK",
    "OPTIONS",
    "PASSWORD",
    "REFRESH_TOKEN_EXPIRES_IN",
    "TRANSITIONS",
    "USERNAME",
    "USERS",
    "Behaviour",
    "CckmBackend",
    "CckmError",
    "CckmResponses",
    "Key",
    "Rules",
    "behaviour",
    "create_app",
    "credentials",
    "mint_jwt",
    "read_jwt",
]

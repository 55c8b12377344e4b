"""An in-process client of the Huawei KMS mock, shared by the Huawei test files.

``Kms`` posts to ``/v1.0/{project_id}/kms/<action>`` with the mock's valid token; a file that
tests one operation family subclasses it with that family's calls.  ``start`` gives a fresh mock
app behind Starlette's TestClient.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning  # type: ignore[attr-defined]

from conformance.vendors.huawei.mock import MOCK, PROJECT_ID, TOKEN, create_app

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 behind TestClient; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

BASE = f"/v1.0/{PROJECT_ID}/kms"


class Kms:
    """An in-process client of one mock app with the valid token."""

    alias = "key"  # scratch keys are named <alias>-<n>
    ok_statuses: tuple[int, ...] = (200,)

    def __init__(self, client: TestClient) -> None:
        self.client, self.made = client, 0

    @property
    def model(self) -> Any:
        return self.client.app.state.kms  # type: ignore[attr-defined]

    def post(self, action: str, body: Any) -> Any:
        return self.client.post(f"{BASE}/{action}", json=body, headers={"X-Auth-Token": TOKEN})

    def ok(self, action: str, body: Any) -> Any:
        answer = self.post(action, body)
        assert answer.status_code in self.ok_statuses, answer.text
        return answer.json() if answer.content else None

    def key(self, **extra: str) -> str:
        self.made += 1
        return str(
            self.ok("create-key", {"key_alias": f"{self.alias}-{self.made}", **extra})["key_info"]["key_id"]
        )

    def state(self, key_id: str) -> str:
        return str(self.ok("describe-key", {"key_id": key_id})["key_info"]["key_state"])


def start(client: type[Kms] = Kms, options: dict[str, str] | None = None) -> Iterator[Any]:
    """A fresh mock app (with ``options``) behind an in-process TestClient, as ``client``."""
    with TestClient(create_app(MOCK.config([], options))) as http:
        yield client(http)


def sdk_client(mock: Any) -> Any:
    """huaweicloudsdkkms' ``KmsClient`` for a running Huawei mock (a ``kms_mock`` handle), signing
    with the mock's AK/SK -- the one way the Huawei test files build the vendor's own client."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkkms import v2 as sdk

    c = mock.credentials
    credentials = BasicCredentials(c["ak"], c["sk"], c["project_id"])
    return sdk.KmsClient.new_builder().with_credentials(credentials).with_endpoint(mock.url).build()


def row_holds(profile: Any, name: str) -> bool:
    """Whether the Huawei probe row ``name`` holds against ``profile``'s target: its one request on
    a key of its kind (none, the unknown id, or a fresh one), judged by status, code and check."""
    from conformance.vendors.huawei.profile import PROBES

    (probe,) = [p for p in PROBES if p.name == name]
    if probe.key == "none":
        key_id = None
    else:
        key_id = profile.unknown_key_id() if probe.key == "unknown" else profile.key_in(probe.key)
    outcome = profile.call(probe.operation, key_id, probe.body, auth=probe.auth)
    if outcome.status not in probe.status or (probe.codes and outcome.code not in probe.codes):
        return False
    return probe.check is None or probe.check(outcome) is None

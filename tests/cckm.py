"""A logged-in client of the Thales CCKM mock, shared by the Thales test files.

``Cckm`` holds the calls every file needs (token, create, per-key actions, reads, list); a file
that tests one more endpoint family subclasses it with that family's calls.  ``start`` gives a
fresh mock behind an in-process TestClient; ``refusal`` checks a CCKM error envelope.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from starlette.testclient import TestClient

from conformance.vendors.thales.mock import MOCK

KEYS = "/api/v1/cckm/aws/keys"


class Cckm:
    """A logged-in client of one mock: in-process (TestClient) or over a socket (``url``)."""

    def __init__(self, http: httpx.Client, creds: dict[str, str], url: str = "") -> None:
        self.url = url
        self.creds = creds
        self.http = http
        self.login = self.token(username=creds["username"], password=creds["password"])
        assert self.login.status_code == 200, self.login.text
        self.headers = {"Authorization": f"Bearer {self.login.json()['jwt']}"}

    def token(self, **body: Any) -> httpx.Response:
        return self.http.post("/api/v1/auth/tokens", json={"grant_type": "password", **body})

    def post_key(self, aws_param: dict[str, Any] | None = None, **top: Any) -> httpx.Response:
        """A create request as given (``top``: fields beside ``aws_param``); the answer unchecked."""
        body = {"kms": self.creds["kms"], "region": self.creds["region"], "aws_param": aws_param or {}, **top}
        return self.http.post(KEYS, json=body, headers=self.headers)

    def create(self, **aws_param: Any) -> dict[str, Any]:
        return self.create_with(aws_param)

    def create_with(self, aws_param: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
        """A created key (``top``: fields beside ``aws_param``, a policy template or principals)."""
        response = self.post_key(aws_param, **top)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def act(self, key_id: str, action: str, body: Any = None) -> httpx.Response:
        kwargs = {"json": body} if body is not None else {}
        return self.http.post(f"{KEYS}/{key_id}/{action}", headers=self.headers, **kwargs)

    def get(self, key_id: str) -> httpx.Response:
        return self.http.get(f"{KEYS}/{key_id}", headers=self.headers)

    def state(self, key_id: str) -> str:
        return self.get(key_id).json()["aws_param"]["KeyState"]

    def list(self, **params: Any) -> httpx.Response:
        return self.http.get(KEYS, params=params, headers=self.headers)

    def ids(self, **params: str) -> set[str]:
        """The ids the whole key list names, filtered by ``params``."""
        response = self.list(limit="-1", **params)
        assert response.status_code == 200, response.text
        return {k["id"] for k in response.json()["resources"]}

    def read(self, path: str, **params: str) -> httpx.Response:
        """GET any CCKM path (rotations, synchronization jobs ...) as the logged-in user."""
        return self.http.get(path, params=params, headers=self.headers)


def start(
    client: type[Cckm] = Cckm, faults: tuple[str, ...] = (), options: dict[str, str] | None = None
) -> Iterator[Any]:
    """A fresh mock behind an in-process TestClient, with a logged-in ``client``."""
    config = MOCK.config(list(faults), options)
    with TestClient(MOCK.create_app(config)) as http:
        yield client(http, MOCK.credentials(config))


def refusal(response: httpx.Response, status: int, code: int, *, request_id: bool = False) -> str:
    """The refusal's message, after checking its status, CCKM code and envelope (and requestID)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["codeDesc"].startswith("NCERR"), body
    if request_id:
        assert body["requestID"], body
    return str(body["message"])

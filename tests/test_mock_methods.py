"""A method the API does not define on a path is answered 405 with ``Allow`` (RFC 9110 15.5.6),
for every bundled mock, through the shared machinery (``conformance.mocks.base.AllowOn405``).

In-process: each app through Starlette's TestClient.
"""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conformance.mocks import mock_definition
from conformance.mocks.base import AllowOn405, spec_methods, spec_operations, with_allow_on_405


def _allow(header: str | None) -> set[str]:
    assert header, "405 without an Allow header"
    return {m.strip() for m in header.split(",") if m.strip()}


def _spec_methods(vendor: str, path: str) -> set[str]:
    methods = spec_methods(spec_operations(vendor), path)
    assert methods, (vendor, path)
    return set(methods)


@pytest.mark.parametrize(
    ("vendor", "path"),
    [
        ("thales", "/api/v1/cckm/aws/keys"),
        ("thales", "/api/v1/cckm/aws/keys/0b90f8de-8617-498d-ad63-ca18eb717ae7"),
        ("thales", "/api/v1/cckm/aws/keys/0b90f8de-8617-498d-ad63-ca18eb717ae7/enable"),
        ("yandex", "/kms/v1/keys"),
        ("yandex", "/kms/v1/keys/abcdefghijklmnopqrst"),
        ("yandex", "/kms/v1/keys/abcdefghijklmnopqrst:rotate"),
    ],
)
@pytest.mark.parametrize("method", ["TRACE", "PUT"])
def test_405_names_the_methods_the_path_supports(vendor: str, path: str, method: str) -> None:
    definition = mock_definition(vendor)
    expected = _spec_methods(vendor, path)
    if method in expected:
        pytest.skip(f"{method} is defined on {path}")
    with TestClient(definition.create_app(definition.config())) as http:
        response = http.request(method, path)
        assert response.status_code == 405, response.text
        allowed = _allow(response.headers.get("allow"))
        assert allowed == expected, (vendor, path, allowed)
        assert method not in allowed
        for listed in allowed:  # every listed method is routed: none of them is answered 405
            assert http.request(listed, path).status_code != 405, (vendor, path, listed)


def test_thales_list_path_allows_get_and_post() -> None:
    definition = mock_definition("thales")
    with TestClient(definition.create_app(definition.config())) as http:
        response = http.request("TRACE", "/api/v1/cckm/aws/keys")
    assert response.status_code == 405
    assert _allow(response.headers.get("allow")) == {"GET", "POST"}
    assert response.json()["code"] == 15  # still the CipherTrust envelope


def test_yandex_keys_path_allows_get_and_post() -> None:
    definition = mock_definition("yandex")
    with TestClient(definition.create_app(definition.config())) as http:
        response = http.request("TRACE", "/kms/v1/keys")
    assert response.status_code == 405
    assert _allow(response.headers.get("allow")) == {"GET", "POST"}


def test_huawei_answers_unrouted_methods_404_like_its_gateway() -> None:
    """Huawei's mock answers a wrong method as the API gateway's 404 APIGW.0101 (its NOTES), so no
    405 to carry Allow; its app still goes through the shared middleware."""
    definition = mock_definition("huawei")
    app = definition.create_app(definition.config())
    assert any(m.cls is AllowOn405 for m in app.user_middleware)
    with TestClient(app) as http:
        response = http.request("TRACE", "/v1.0/0123456789abcdef0123456789abcdef/kms/create-key")
    assert response.status_code == 404
    assert "allow" not in response.headers


@pytest.mark.parametrize("vendor", ["huawei", "thales", "yandex"])
def test_every_bundled_mock_goes_through_the_shared_middleware(vendor: str) -> None:
    definition = mock_definition(vendor)
    app = definition.create_app(definition.config())
    assert [m.cls for m in app.user_middleware].count(AllowOn405) == 1


def test_without_a_spec_path_allow_comes_from_the_routes() -> None:
    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/things", ok, methods=["GET"]), Route("/things", ok, methods=["POST"])])
    with TestClient(with_allow_on_405(app, "no-such-vendor")) as http:
        response = http.request("DELETE", "/things")
    assert response.status_code == 405
    # Starlette alone would name only the first route's methods (GET, HEAD)
    assert _allow(response.headers.get("allow")) == {"GET", "HEAD", "POST"}


def test_spec_methods_prefers_the_most_literal_template() -> None:
    assert set(spec_methods(spec_operations("yandex"), "/kms/v1/keys/k1:rotate") or []) == {"POST"}
    assert set(spec_methods(spec_operations("yandex"), "/kms/v1/keys/k1") or []) == {"GET", "PATCH", "DELETE"}
    assert spec_methods(spec_operations("thales"), "/elsewhere") is None

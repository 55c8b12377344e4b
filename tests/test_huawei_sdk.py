"""The official Huawei SDK (huaweicloudsdkkms, AK/SK signing) against the bundled mock."""

from __future__ import annotations

import datetime as dt

import pytest

from conformance.vendors.huawei import aksk as huawei_aksk

sdk = pytest.importorskip("huaweicloudsdkkms.v2")
core_credentials = pytest.importorskip("huaweicloudsdkcore.auth.credentials")
core_exceptions = pytest.importorskip("huaweicloudsdkcore.exceptions.exceptions")


def _client(url: str, ak: str, sk: str, project_id: str):
    credentials = core_credentials.BasicCredentials(ak, sk, project_id)
    return sdk.KmsClient.new_builder().with_credentials(credentials).with_endpoint(url).build()


def test_sdk_drives_the_life_cycle(huawei_mock) -> None:
    c = huawei_mock.credentials
    client = _client(huawei_mock.url, c["ak"], c["sk"], c["project_id"])
    created = client.create_key(
        sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="sdk-life-cycle"))
    )
    key_id = created.key_info.key_id

    disabled = client.disable_key(sdk.DisableKeyRequest(body=sdk.OperateKeyRequestBody(key_id=key_id)))
    assert disabled.key_info.key_state == "3"

    scheduled = client.delete_key(
        sdk.DeleteKeyRequest(body=sdk.ScheduleKeyDeletionRequestBody(key_id=key_id, pending_days="7"))
    )
    assert (scheduled.key_id, scheduled.key_state) == (key_id, "4")

    cancelled = client.cancel_key_deletion(
        sdk.CancelKeyDeletionRequest(body=sdk.OperateKeyRequestBody(key_id=key_id))
    )
    assert cancelled.key_state == "3"

    described = client.list_key_detail(
        sdk.ListKeyDetailRequest(body=sdk.OperateKeyRequestBody(key_id=key_id))
    )
    assert described.key_info.key_state == "3"
    assert described.key_info.key_alias == "sdk-life-cycle"
    assert described.key_info.scheduled_deletion_date == ""


def test_sdk_sees_documented_errors(huawei_mock) -> None:
    c = huawei_mock.credentials
    client = _client(huawei_mock.url, c["ak"], c["sk"], c["project_id"])
    with pytest.raises(core_exceptions.ClientRequestException) as caught:
        client.list_key_detail(
            sdk.ListKeyDetailRequest(
                body=sdk.OperateKeyRequestBody(key_id="0000dead-0000-4000-8000-00000000c0de")
            )
        )
    assert (caught.value.status_code, caught.value.error_code) == (404, "KMS.0207")
    assert caught.value.request_id  # read from the X-Request-Id header


def test_wrong_secret_key_is_refused(huawei_mock) -> None:
    c = huawei_mock.credentials
    client = _client(huawei_mock.url, c["ak"], "not-the-secret", c["project_id"])
    with pytest.raises(core_exceptions.ClientRequestException) as caught:
        client.create_key(sdk.CreateKeyRequest(body=sdk.CreateKeyRequestBody(key_alias="refused")))
    assert (caught.value.status_code, caught.value.error_code) == (401, "APIGW.0301")


def test_signer_matches_the_official_sdk() -> None:
    """Our SDK-HMAC-SHA256 signature equals huaweicloudsdkcore's for the same request."""
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    body = b'{"key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f", "pending_days": "7"}'
    headers = {
        "Content-Type": "application/json;charset=utf-8",
        "X-Project-Id": "p1",
        "User-Agent": "test/1.0",
    }
    now = dt.datetime(2026, 11, 22, 8, 22, 25, tzinfo=dt.UTC)
    request = SdkRequest(
        method="POST",
        schema="http",
        host="127.0.0.1:8080",
        resource_path="/v1.0/p1/kms/schedule-key-deletion",
        query_params=[("b", "2"), ("a", "x y")],
        header_params={**headers, "X-Sdk-Date": now.strftime("%Y%m%dT%H%M%SZ")},
        body=body,
    )
    signed = Signer(core_credentials.BasicCredentials("AK1", "SK1", "p1")).sign(request)
    ours = huawei_aksk.sign_headers(
        "AK1",
        "SK1",
        "POST",
        "http://127.0.0.1:8080/v1.0/p1/kms/schedule-key-deletion?b=2&a=x%20y",
        headers,
        body,
        now,
    )
    assert ours["Authorization"] == signed.header_params["Authorization"]

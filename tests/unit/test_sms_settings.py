"""SMS provider settings (issue 25): production refuses a cloud or HTTP provider that lacks what
it needs to send, naming the variable; a complete configuration starts and builds the adapter."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import pytest

from quan.config import ConfigError, load_settings
from quan.services.delivery import providers
from quan.services.delivery.cloud_sms import AliyunSmsProvider, TencentSmsProvider


def _production(tmp_path: Path, **sms: Any) -> dict[str, Any]:
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return {
        "env": "production",
        "var_dir": tmp_path,
        "database_url": "postgresql://db/quan",
        "secret_key": key(),
        "pii_key": key(),
        "log_signing_key": key(),
        "lottery_algorithm": "quan-lottery-v2",
        **sms,
    }


COMPLETE = {
    "sms_access_key_id": "LTAI5tExample",
    "sms_access_key_secret": "example-secret",
    "sms_sign_name": "泉城消费券",
    "sms_app_id": "1400000001",
    "sms_template_ids": {"citizen.otp.login": "SMS_100001"},
}


@pytest.mark.parametrize(
    ("provider", "missing", "variable"),
    [
        ("aliyun", "sms_access_key_id", "QUAN_SMS_ACCESS_KEY_ID"),
        ("aliyun", "sms_access_key_secret", "QUAN_SMS_ACCESS_KEY_SECRET"),
        ("aliyun", "sms_sign_name", "QUAN_SMS_SIGN_NAME"),
        ("aliyun", "sms_template_ids", "QUAN_SMS_TEMPLATE_IDS"),
        ("tencent", "sms_app_id", "QUAN_SMS_APP_ID"),
        ("tencent", "sms_access_key_secret", "QUAN_SMS_ACCESS_KEY_SECRET"),
        ("http", "sms_http_url", "QUAN_SMS_HTTP_URL"),
    ],
)
def test_production_refuses_an_sms_provider_missing_what_it_needs(
    tmp_path: Path, provider: str, missing: str, variable: str
) -> None:
    sms = {k: v for k, v in COMPLETE.items() if k != missing}
    with pytest.raises(ConfigError, match=f"refusing to start in production.*{variable}"):
        load_settings(**_production(tmp_path, sms_provider=provider, **sms))


@pytest.mark.parametrize(
    ("provider", "adapter"), [("aliyun", AliyunSmsProvider), ("tencent", TencentSmsProvider)]
)
def test_a_complete_cloud_configuration_starts_and_builds_its_adapter(
    tmp_path: Path, provider: str, adapter: type
) -> None:
    settings = load_settings(**_production(tmp_path, sms_provider=provider, **COMPLETE))
    sms = providers.from_settings(settings)["sms"]
    assert isinstance(sms, adapter)
    assert "example-secret" not in repr(sms)  # the secret never shows in a repr or a log


def test_outside_production_the_worker_still_refuses_a_provider_without_credentials(
    tmp_path: Path,
) -> None:
    settings = load_settings(var_dir=tmp_path, sms_provider="tencent")
    with pytest.raises(ConfigError, match="QUAN_SMS_ACCESS_KEY_ID"):
        providers.from_settings(settings)

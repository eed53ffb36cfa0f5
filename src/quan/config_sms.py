"""What each SMS provider needs before Quan may start with it (:func:`sms_problems`), apart from
:mod:`quan.config` so that the settings class stays one module's read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr

if TYPE_CHECKING:
    from quan.config import Settings

# What each SMS provider cannot send without (QUAN_SMS_PROVIDER); a template id for the sign-in
# code at least, since without it no citizen can sign in.
SMS_REQUIRED: dict[str, tuple[str, ...]] = {
    "http": ("sms_http_url",),
    "aliyun": ("sms_access_key_id", "sms_access_key_secret", "sms_sign_name"),
    "tencent": ("sms_access_key_id", "sms_access_key_secret", "sms_sign_name", "sms_app_id"),
}
SMS_REQUIRED_TEMPLATES: dict[str, tuple[str, ...]] = {
    "aliyun": ("citizen.otp.login",),
    "tencent": ("citizen.otp.login",),
}


def sms_problems(settings: Settings) -> list[str]:
    """What the chosen SMS provider is missing, one bilingual line each (empty: complete)."""
    provider = settings.sms_provider
    problems = []
    for name in SMS_REQUIRED.get(provider, ()):
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value or not str(value).strip():
            variable = f"QUAN_{name.upper()}"
            problems.append(
                f"QUAN_SMS_PROVIDER={provider} needs {variable}"
                f" / QUAN_SMS_PROVIDER={provider} 需要设置 {variable}"
            )
    missing = [
        k for k in SMS_REQUIRED_TEMPLATES.get(provider, ()) if k not in settings.sms_template_ids
    ]
    if missing:
        problems.append(
            f"QUAN_SMS_TEMPLATE_IDS has no template id for {', '.join(missing)}"
            f" / QUAN_SMS_TEMPLATE_IDS 缺少模板 ID：{', '.join(missing)}"
        )
    return problems

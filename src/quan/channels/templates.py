"""The text of every message kind Quan sends, in zh-CN and en.

A message is queued with its kind (``outbox.subject``) and its parameters; the relay renders the
text in the configured language (``QUAN_MESSAGE_LOCALE``) and hands kind, parameters and text to
the provider, so that providers with registered templates (Chinese SMS gateways require them)
send the kind's template id with the parameters, and the others the text. A kind without a
template here is sent with the text its service wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from quan.channels.alert_templates import ALERT_TEMPLATES
from quan.channels.feedback_templates import FEEDBACK_TEMPLATES
from quan.channels.reminder_templates import REMINDER_TEMPLATES

Locale = Literal["zh-CN", "en"]
LOCALES: Final = ("zh-CN", "en")

_ZH_SIGN = "【Quan 服务消费券】"
_EN_SIGN = "[Quan vouchers] "

TEMPLATES: Final[Mapping[str, Mapping[str, str]]] = {
    "citizen.otp.login": {
        "zh-CN": _ZH_SIGN + "登录验证码 {code}，5 分钟内有效。如非本人操作，请忽略本短信。",
        "en": _EN_SIGN + "Your sign-in code is {code}, valid for 5 minutes. "
        "If you did not ask for it, ignore this message.",
    },
    "citizen.otp.register": {
        "zh-CN": _ZH_SIGN + "注册验证码 {code}，5 分钟内有效。如非本人操作，请忽略本短信。",
        "en": _EN_SIGN + "Your registration code is {code}, valid for 5 minutes. "
        "If you did not ask for it, ignore this message.",
    },
    "citizen.register.already_registered": {
        "zh-CN": _ZH_SIGN
        + "有人尝试用本手机号注册。本号码已注册，请直接用验证码登录；如非本人操作，请忽略。",
        "en": _EN_SIGN + "Someone tried to register with this number. It is already "
        "registered: sign in with a code. If it was not you, ignore this message.",
    },
    "merchant.approved": {
        "zh-CN": "【券】您的商户入驻申请已审核通过。",
        "en": "[Quan] Your merchant application has been approved.",
    },
    "merchant.rejected": {
        "zh-CN": "【券】您的商户入驻申请未通过审核，原因：{reason}",
        "en": "[Quan] Your merchant application was not approved. Reason: {reason}",
    },
    "merchant.suspended": {
        "zh-CN": "【券】您的商户已被暂停受理消费券，原因：{reason}",
        "en": "[Quan] Your shop may no longer accept vouchers for now. Reason: {reason}",
    },
    "merchant.reinstated": {
        "zh-CN": "【券】您的商户已恢复受理消费券。",
        "en": "[Quan] Your shop accepts vouchers again.",
    },
    "merchant.renewed": {
        "zh-CN": "【券】您的商户已通过定期复审。",
        "en": "[Quan] Your shop passed its periodic review.",
    },
    "voucher.deactivated": {
        "zh-CN": "【券】您的消费券（券码尾号 {tail}）已被暂停使用，原因：{reason}",
        "en": "[Quan] Your voucher (code ending {tail}) is suspended. Reason: {reason}",
    },
    "voucher.reactivated": {
        "zh-CN": "【券】您的消费券（券码尾号 {tail}）已恢复使用。说明：{reason}",
        "en": "[Quan] Your voucher (code ending {tail}) can be used again. Note: {reason}",
    },
    **REMINDER_TEMPLATES,
    **ALERT_TEMPLATES,  # alert notifications to operators (quan.services.operations.alerts)
    **FEEDBACK_TEMPLATES,  # the steps of a complaint (issue 22)
    # Announcements (quan.services.delivery.announcement_release): title and text in the
    # language of QUAN_MESSAGE_LOCALE, chosen when the notice is released.
    "announcement.notice": {
        "zh-CN": _ZH_SIGN + "{title}：{body}",
        "en": _EN_SIGN + "{title}: {body}",
    },
}


def render(kind: str, locale: str, params: Mapping[str, str]) -> str | None:
    """The kind's text in ``locale`` with ``params``; ``None`` (send the text as queued) when
    the kind has no template or the parameters do not fill it."""
    texts = TEMPLATES.get(kind)
    if texts is None:
        return None
    try:
        return texts.get(locale, texts["zh-CN"]).format(**params)
    except (KeyError, IndexError):
        return None

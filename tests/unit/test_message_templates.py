"""Every message kind has its text in zh-CN and en, and the zh-CN text is the one its service
writes (so the relay's rendering and the queued body never drift apart)."""

from __future__ import annotations

import string

from quan.channels import templates
from quan.channels.alert_templates import ALERT_TEMPLATES
from quan.channels.feedback_templates import FEEDBACK_TEMPLATES
from quan.channels.reminder_templates import REMINDER_TEMPLATES
from quan.domain import notices
from quan.services.merchants import merchant_reviews
from quan.services.people import otp
from quan.services.redemption import deactivation


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_kind_has_both_languages_with_the_same_parameters() -> None:
    for kind, texts in templates.TEMPLATES.items():
        assert set(texts) == set(templates.LOCALES), kind
        assert _fields(texts["zh-CN"]) == _fields(texts["en"]), kind


def test_the_zh_texts_are_the_services_own() -> None:
    values = {"code": "123456", "reason": "原因", "tail": "7890", "title": "标题", "body": "正文"}
    written = {
        "citizen.otp.login": otp._SMS[otp.Purpose.LOGIN],
        "citizen.otp.register": otp._SMS[otp.Purpose.REGISTER],
        "citizen.register.already_registered": otp._ALREADY_REGISTERED_SMS,
        **{
            f"merchant.{merchant_reviews._PAST[d]}": text
            for d, text in merchant_reviews.NOTICES.items()
        },
        **{f"voucher.{what}": text for what, text in deactivation.NOTICES.items()},
        "announcement.notice": notices.NOTICE_TEXT["zh-CN"],
    }
    # Reminders and lottery results are written from their templates (services.delivery.
    # reminder_send renders the body with templates.render), so they cannot drift.
    # Alert notifications likewise (quan.services.operations.alert_notify renders them).
    # So are the steps of a complaint (services.feedback.notices).
    rendered = set(REMINDER_TEMPLATES) | set(ALERT_TEMPLATES) | set(FEEDBACK_TEMPLATES)
    assert set(written) | rendered == set(templates.TEMPLATES)
    for kind, text in written.items():
        params = {k: v for k, v in values.items() if k in _fields(text)}
        assert templates.render(kind, "zh-CN", params) == text.format(**params), kind


def test_a_kind_without_a_template_or_its_parameters_is_sent_as_queued() -> None:
    assert templates.render("unknown.kind", "en", {}) is None
    assert templates.render("citizen.otp.login", "en", {}) is None
    assert "123456" in (templates.render("citizen.otp.login", "en", {"code": "123456"}) or "")

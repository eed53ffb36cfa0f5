"""Announcements and partner webhooks: their refusals and the pure rules (issue 25, items 7-8).

An announcement goes to the holders of a program, a batch or a voucher type, or to a segment
(an eligibility rule). A mass notice (more recipients than the configured threshold) waits for
a second person's approval: never the person who wrote it. Webhook event types are those of
the ``events`` table a partner may follow; a delivery carries the event's public projection
(the transparency log leaf's payload), so pseudonyms and ids, never personal data.
"""

from __future__ import annotations

from typing import Final, Literal

from quan.domain.errors import Kind, define

Audience = Literal["program", "batch", "voucher_type", "segment"]
AUDIENCES: Final = ("program", "batch", "voucher_type", "segment")

TITLE_MAX = 60
BODY_MAX = 500

# The event types a partner may subscribe to (docs/delivery.md, "Partner webhooks").
WEBHOOK_EVENT_TYPES: Final = (
    "voucher.claimed",
    "voucher.issued",
    "voucher.redeemed",
    "voucher.redemption_reversed",
    "vouchers.expired",
    "batch.opened",
    "batch.closed",
    "lottery.drawn",
    "announcement.published",
)

AUDIENCE_REF_REQUIRED = define(
    "AUDIENCE_REF_REQUIRED",
    Kind.INVALID,
    zh="请指定收件范围：批次或券种的编号，或细分人群的规则",
    en="Name the audience: a batch or voucher type id, or the segment's rule",
)
AUDIENCE_NOT_IN_PROGRAM = define(
    "AUDIENCE_NOT_IN_PROGRAM",
    Kind.INVALID,
    zh="该批次或券种不属于此项目",
    en="That batch or voucher type does not belong to this program",
)
SEGMENT_NOT_COMPILABLE = define(
    "SEGMENT_NOT_COMPILABLE",
    Kind.INVALID,
    zh="该人群规则无法用于批量通知",
    en="This segment rule cannot be used for a mass notice",
)
NO_RECIPIENTS = define(
    "NO_RECIPIENTS",
    Kind.REFUSED,
    zh="该范围内没有任何收件人",
    en="Nobody is in this audience",
)
SELF_APPROVAL = define(
    "SELF_APPROVAL",
    Kind.FORBIDDEN,
    zh="不能审批自己提交的公告，须由另一人审批",
    en="You cannot approve your own announcement; another person must",
)
ANNOUNCEMENT_NOT_PENDING = define(
    "ANNOUNCEMENT_NOT_PENDING",
    Kind.CONFLICT,
    zh="该公告不在待审批状态（当前：{announcement_status}）",
    en="This announcement is not awaiting approval (it is {announcement_status})",
)
REJECTION_REASON_REQUIRED = define(
    "REJECTION_REASON_REQUIRED",
    Kind.INVALID,
    zh="驳回须填写原因",
    en="A rejection needs a reason",
)
PARTNER_CREDENTIALS_INVALID = define(
    "PARTNER_CREDENTIALS_INVALID",
    Kind.UNAUTHORIZED,
    zh="客户端编号或密钥无效，或该客户端已被停用",
    en="The client id or secret is wrong, or the client was revoked",
)
WEBHOOK_URL_INVALID = define(
    "WEBHOOK_URL_INVALID",
    Kind.INVALID,
    zh="回调地址须为 https:// 地址（开发环境可用 http://）",
    en="The webhook URL must be https:// (http:// in development)",
)
UNKNOWN_EVENT_TYPE = define(
    "UNKNOWN_EVENT_TYPE",
    Kind.INVALID,
    zh="不支持订阅的事件类型：{event_type}",
    en="Not an event type one may subscribe to: {event_type}",
)
REPLAY_RANGE_INVALID = define(
    "REPLAY_RANGE_INVALID",
    Kind.INVALID,
    zh="重放的时间范围无效：开始须早于结束，且不超过 31 天",
    en="The replay range is not valid: start before end, at most 31 days",
)


def needs_approval(recipients: int, threshold: int) -> bool:
    """Whether a notice to ``recipients`` people waits for a second person."""
    return recipients > threshold


NOTICE_TEXT: Final = {
    "zh-CN": "【Quan 服务消费券】{title}：{body}",
    "en": "[Quan vouchers] {title}: {body}",
}
"""The text of a notice (the outbox kind ``announcement.notice``), per language."""


def sms_text(locale: str, title: str, body: str) -> str:
    """The text a notice is sent as (the template ``announcement.notice``, rendered)."""
    return NOTICE_TEXT["en" if locale == "en" else "zh-CN"].format(title=title, body=body)

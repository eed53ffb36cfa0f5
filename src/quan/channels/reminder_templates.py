"""The texts of reminders and lottery results (issue 25), in zh-CN and en; merged into
:data:`quan.channels.templates.TEMPLATES`. Parameters: ``voucher`` (the voucher type's name),
``tail`` (the code's last four characters), ``until`` (end of validity, the program's local
time), ``days`` (whole days left), ``discount`` (yuan), ``left`` (usable vouchers the citizen
still holds in the program), ``lottery`` (the lottery's voucher type) and ``link`` (the public
lottery record, which anyone can verify)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_ZH = "【Quan 服务消费券】"
_EN = "[Quan vouchers] "

REMINDER_TEMPLATES: Final[Mapping[str, Mapping[str, str]]] = {
    "reminder.expiry": {
        "zh-CN": _ZH + "您的消费券「{voucher}」（券码尾号 {tail}）将于 {until} 到期，"
        "还剩 {days} 天，请及时使用。可在券包中关闭提醒。",
        "en": _EN + 'Your voucher "{voucher}" (code ending {tail}) expires on {until}, '
        "{days} day(s) left: use it before then. You can turn reminders off in your wallet.",
    },
    "reminder.claimed": {
        "zh-CN": _ZH + "您已领取消费券「{voucher}」（券码尾号 {tail}），有效期至 {until}。",
        "en": _EN + 'You have claimed the voucher "{voucher}" (code ending {tail}), '
        "valid until {until}.",
    },
    "reminder.redeemed": {
        "zh-CN": _ZH + "您的消费券（券码尾号 {tail}）已使用，抵扣 {discount}。"
        "您在本活动还有 {left} 张可用的消费券。",
        "en": _EN + "Your voucher (code ending {tail}) was used: {discount} off. "
        "You still hold {left} usable voucher(s) in this program.",
    },
    "lottery.won": {
        "zh-CN": _ZH + "您参加的「{lottery}」摇号已开奖：恭喜中签，消费券已放入您的券包。"
        "开奖结果可公开查验：{link}",
        "en": _EN + 'The "{lottery}" lottery has been drawn: you won, and the voucher is in '
        "your wallet. Anyone can verify the draw: {link}",
    },
    "lottery.lost": {
        "zh-CN": _ZH + "您参加的「{lottery}」摇号已开奖：很遗憾，本次未中签。"
        "开奖结果可公开查验：{link}",
        "en": _EN + 'The "{lottery}" lottery has been drawn: you were not selected this time. '
        "Anyone can verify the draw: {link}",
    },
}

"""The texts of the messages telling a complainant of each step of a complaint (issue 22)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_ZH = "【Quan 服务消费券】"
_EN = "[Quan vouchers] "

FEEDBACK_TEMPLATES: Final[Mapping[str, Mapping[str, str]]] = {
    "complaint.filed": {
        "zh-CN": _ZH + "您的投诉（编号 {ref}）已受理，我们会在承诺时限内答复。",
        "en": _EN + "Your complaint (ref. {ref}) was received; we will answer within the "
        "promised time.",
    },
    "complaint.response": {
        "zh-CN": _ZH + "您的投诉（编号 {ref}）有了答复，请在钱包“我的投诉”中查看。",
        "en": _EN + "Your complaint (ref. {ref}) has an answer: see My complaints in your wallet.",
    },
    "complaint.merchant_answer": {
        "zh-CN": _ZH + "商户已就您的投诉（编号 {ref}）作出说明，请在钱包“我的投诉”中查看。",
        "en": _EN + "The merchant answered your complaint (ref. {ref}): see My complaints in "
        "your wallet.",
    },
    "complaint.escalated": {
        "zh-CN": _ZH + "您的投诉（编号 {ref}）未在时限内办理，已升级督办。",
        "en": _EN + "Your complaint (ref. {ref}) was not handled in time and has been escalated.",
    },
    "complaint.resolved": {
        "zh-CN": _ZH + "您的投诉（编号 {ref}）已办结，请在钱包“我的投诉”中查看结果。",
        "en": _EN + "Your complaint (ref. {ref}) is resolved: see the outcome in My complaints.",
    },
}

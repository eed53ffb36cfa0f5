"""The texts of alert notifications to operators (issue 17), in zh-CN and en; merged into
:data:`quan.channels.templates.TEMPLATES`. Parameters: ``rule`` (the rule's name), ``severity``,
``program`` (the program's name, ``-`` for the platform), ``labels`` (``merchant_id=…``),
``value`` (the figure measured), ``condition`` (``> 1``) and ``todo`` (the rule's annotation: what
to do). A webhook's ``alert.webhook`` has no text template: its body is the alert as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_ZH = "【Quan 告警】"
_EN = "[Quan alert] "

ALERT_TEMPLATES: Final[Mapping[str, Mapping[str, str]]] = {
    "alert.firing": {
        "zh-CN": _ZH
        + "{severity} {rule}（{program}，{labels}）：当前值 {value}，条件 {condition}。"
        "处理建议：{todo}",
        "en": _EN + "{severity} {rule} ({program}, {labels}): value {value}, condition "
        "{condition}. What to do: {todo}",
    },
    "alert.resolved": {
        "zh-CN": _ZH + "已恢复：{rule}（{program}，{labels}）。",
        "en": _EN + "Resolved: {rule} ({program}, {labels}).",
    },
}

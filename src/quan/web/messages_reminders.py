"""The console's texts for reminders: a program's reminder rules and the wallet's switch."""

from __future__ import annotations

from typing import Final

REMINDERS: Final[dict[str, tuple[str, str]]] = {
    "reminders.link": ("提醒设置", "Reminders"),
    "reminders.title": ("提醒设置", "Reminders"),
    "reminders.intro": (
        "到期前、领取后、核销后和摇号开奖后通过短信提醒持券人；免打扰时段按本项目时区（{tz}）计算，"
        "期间到期的提醒在时段结束后发出。已过期、已使用或已停用的券不会收到提醒，关闭提醒的居民也不会。",
        "Holders are reminded by SMS before expiry, after a claim, after a redemption and when a"
        " lottery is drawn. Quiet hours are in the program's time zone ({tz}): a reminder due in"
        " them goes when they end. Expired, used or deactivated vouchers get none, nor do citizens"
        " who turned reminders off.",
    ),
    "reminders.saved": ("提醒设置已保存。", "Reminder settings saved."),
    "reminders.current": ("当前设置", "Current settings"),
    "reminders.offsets": ("到期前提醒（天）", "Expiry reminders (days before)"),
    "reminders.offsets_help": (
        "最多 5 个，用逗号分隔，每个 1–90 天，如 7, 1；留空则不发到期提醒。",
        "At most 5, comma-separated, each 1–90 days, e.g. 7, 1; empty for none.",
    ),
    "reminders.days": ("到期前 {days} 天", "{days} day(s) before"),
    "reminders.none": ("不发送", "None"),
    "reminders.notices": ("其他通知", "Other notices"),
    "reminders.on_claim": ("领取后通知", "Notice after a claim"),
    "reminders.on_redemption": (
        "核销后通知（含剩余可用券）",
        "Notice after a redemption (with what remains)",
    ),
    "reminders.lottery_results": (
        "摇号结果通知（含查验链接）",
        "Lottery results (with the verification link)",
    ),
    "reminders.on": ("开", "on"),
    "reminders.off": ("关", "off"),
    "reminders.quiet": ("免打扰时段", "Quiet hours"),
    "reminders.no_quiet": ("无（任何时间均可发送）", "None (reminders go at any hour)"),
    "reminders.quiet_on": ("启用免打扰时段（{tz}）", "Use quiet hours ({tz})"),
    "reminders.quiet_start": ("开始", "From"),
    "reminders.quiet_end": ("结束", "Until"),
    "reminders.edit": ("修改设置", "Change settings"),
    "reminders.save": ("保存", "Save"),
    "wallet.notices": ("消息提醒", "Reminders"),
    "wallet.notices_help": (
        "到期提醒、领取与核销通知、摇号结果。登录验证码不受此开关影响，始终发送。",
        "Expiry reminders, claim and redemption notices, lottery results. Sign-in codes are not"
        " affected: they are always sent.",
    ),
    "wallet.notices_sms": ("接收短信提醒", "Receive reminders by SMS"),
    "wallet.notices_save": ("保存", "Save"),
    "wallet.notices_saved": ("提醒设置已保存。", "Your reminder setting is saved."),
}

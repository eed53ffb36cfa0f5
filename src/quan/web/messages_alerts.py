"""Console texts in zh-CN and en: the live operations page and acknowledging an alert
(see :mod:`quan.web.messages`)."""

from __future__ import annotations

from typing import Final

ALERTS: Final[dict[str, tuple[str, str]]] = {
    "nav.operations": ("运行监控", "Operations"),
    "ops_live.link": ("运行监控", "Live operations"),
    "ops_live.title": ("运行监控", "Live operations"),
    "ops_live.all_programs": ("全部项目", "all programs"),
    "ops_live.intro": (
        "本页每 {seconds} 秒自动刷新，无需重新加载：数据、未处理的告警、"
        "近一小时被拒绝的领取和核销。",
        "This page refreshes itself every {seconds} seconds: figures, open alerts, and the claims "
        "and redemptions refused in the last hour.",
    ),
    "ops_live.refreshed": ("更新于", "Updated at"),
    "ops_live.figures": ("近一小时", "The last hour"),
    "ops_live.firing": ("告警中", "Firing"),
    "ops_live.pending": ("观察中", "Pending"),
    "ops_live.refusals_hour": ("被拒次数", "Refusals"),
    "ops_live.claims_hour": ("领取", "Claims"),
    "ops_live.redemptions_hour": ("核销", "Redemptions"),
    "ops_live.outbox_wait": ("消息最长等待", "Longest message wait"),
    "ops_live.sequencer_lag": ("透明日志延迟", "Log sequencer lag"),
    "ops_live.alerts": ("未处理的告警", "Open alerts"),
    "ops_live.no_alerts": ("目前没有告警。", "No open alerts."),
    "ops_live.state": ("状态", "State"),
    "ops_live.rule": ("规则", "Rule"),
    "ops_live.where": ("对象", "Where"),
    "ops_live.value": ("当前值 / 条件", "Value / condition"),
    "ops_live.since": ("开始于", "Since"),
    "ops_live.todo": ("处理建议", "What to do"),
    "ops_live.ack": ("确认", "Acknowledged"),
    "ops_live.ack_action": ("确认告警", "Acknowledge"),
    "ops_live.ack_title": ("确认告警", "Acknowledge an alert"),
    "ops_live.acked_by": ("{who} 已确认", "Acknowledged by {who}"),
    "ops_live.note": ("处理说明（必填）", "Note: what was done (required)"),
    "ops_live.platform": ("平台", "Platform"),
    "ops_live.state.pending": ("观察中", "Pending"),
    "ops_live.state.firing": ("告警中", "Firing"),
    "ops_live.state.resolved": ("已恢复", "Resolved"),
    "ops_live.severity.info": ("提示", "Info"),
    "ops_live.severity.warning": ("警告", "Warning"),
    "ops_live.severity.critical": ("严重", "Critical"),
    "ops_live.rule.outstanding_expiring": ("未用券即将到期", "Unused vouchers about to lapse"),
    "ops_live.rule.out_of_scope_at_merchant": (
        "商户频繁超范围核销",
        "Out-of-scope attempts at a merchant",
    ),
    "ops_live.rule.claims_per_citizen": ("居民领取过快", "A citizen claims too fast"),
    "ops_live.rule.redemptions_per_citizen": ("居民用券过快", "A citizen's vouchers used too fast"),
    "ops_live.rule.redemptions_per_merchant": ("商户核销过快", "A merchant redeems too fast"),
    "ops_live.rule.merchant_rise": ("商户核销量突增", "A merchant's sudden rise"),
    "ops_live.rule.budget_burn_ahead": ("预算使用快于计划", "Budget burn ahead of plan"),
    "ops_live.rule.outbox_stuck": ("消息发送停滞", "Outbox stuck"),
    "ops_live.rule.sequencer_stuck": ("透明日志停滞", "Log sequencer stuck"),
    "ops_live.rule.job_stuck": ("定时任务停滞", "A scheduled job stuck"),
    "ops_live.refusals": ("近一小时被拒绝的操作", "Refused in the last hour"),
    "ops_live.no_refusals": (
        "近一小时没有被拒绝的领取或核销。",
        "Nothing refused in the last hour.",
    ),
    "ops_live.action.claim": ("领取", "claim"),
    "ops_live.action.redeem": ("核销", "redemption"),
    "ops_live.nobody_in_particular": ("（不针对个人）", "(no one in particular)"),
    "ops_live.refusal_line": (
        "{first}–{last}：{who} 在 {where} 的{action}被拒 {count} 次，原因：{rule}",
        "{first}–{last}: {count} × {action} by {who} at {where} refused: {rule}",
    ),
}

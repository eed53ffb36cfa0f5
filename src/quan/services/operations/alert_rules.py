"""Alert rules: the built-in ones every program gets, and an operator's changes to them.

:data:`BUILTIN` is what an operator expects to be watched without asking: vouchers about to lapse
unused, out-of-scope attempts at a merchant, claim and redemption velocity per citizen and per
merchant, a merchant's sudden rise against its own past, budget burn ahead of plan (per program);
and the outbox, the sequencer or a job stuck (the platform). :func:`seed` writes the missing ones
(``rule_key`` is unique, so two workers seeding at once write each rule once); the evaluation job
calls it before every evaluation, so a new program is watched from its first minute. Operators
change a rule's threshold, durations, severity or switch it off (:func:`change`); the measure
itself is code (:mod:`.alert_measures`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from quan.domain.auth import Actor, Role, require_issuer
from quan.domain.errors import FORBIDDEN, Kind, QuanError, define
from quan.domain.programs import ProgramStatus
from quan.services.operations.alert_measures import MEASURES
from quan.store.alert_tables import SEVERITIES, alert_rules
from quan.store.ids import new_id
from quan.store.tables import programs

ALERT_RULE_NOT_FOUND = define(
    "ALERT_RULE_NOT_FOUND", Kind.NOT_FOUND, zh="没有这条告警规则", en="No such alert rule"
)
ALERT_RULE_INVALID = define(
    "ALERT_RULE_INVALID",
    Kind.INVALID,
    zh="告警规则的设置无效：{reason}",
    en="The alert rule's settings are not valid: {reason}",
)


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    measure: str
    comparator: str
    threshold: float
    for_seconds: int
    keep_firing_seconds: int
    repeat_seconds: int
    severity: str
    zh: str
    en: str
    params: Mapping[str, Any] = field(default_factory=dict)


BUILTIN: Final[tuple[Builtin, ...]] = (
    Builtin(
        "outstanding_expiring", "outstanding_expiring_share", ">", 0.5, 3600, 0, 86400,
        "warning",
        "7 天内到期而仍未使用的券面值超过一半：向持券人发送提醒（提醒规则），或考虑延长有效期。",
        "More than half the value of unused vouchers lapses within 7 days: send holders a "
        "reminder (reminder rules) or consider extending validity.",
        {"days": 7},
    ),
    Builtin(
        "out_of_scope_at_merchant", "refusals_per_merchant", ">", 1.0, 120, 300, 3600,
        "warning",
        "某商户频繁以不在适用范围的消费核销被拒：联系商户核实收银操作，必要时暂停其受理。",
        "A merchant keeps trying to redeem for purchases outside the vouchers' scope: call the "
        "merchant to check its tills, and suspend it if needed.",
        {"code": "OUT_OF_SCOPE", "window_minutes": 10},
    ),
    Builtin(
        "claims_per_citizen", "claims_per_citizen", ">", 10, 0, 600, 3600, "warning",
        "同一居民一小时内领取过多：核查是否为代领或账号被盗用。",
        "One citizen claimed unusually many vouchers within an hour: check for proxy claiming "
        "or a taken-over account.",
        {"window_minutes": 60},
    ),
    Builtin(
        "redemptions_per_citizen", "redemptions_per_citizen", ">", 20, 0, 600, 3600, "warning",
        "同一居民的券一小时内核销过多：核查是否有套现。",
        "One citizen's vouchers were redeemed unusually often within an hour: check for "
        "cashing out.",
        {"window_minutes": 60},
    ),
    Builtin(
        "redemptions_per_merchant", "redemptions_per_merchant", ">", 30, 300, 600, 3600,
        "warning",
        "某商户核销速度异常（每分钟超过阈值）：核查是否集中刷券。",
        "A merchant redeems faster than the threshold per minute: check for bulk redemption "
        "without real purchases.",
        {"window_minutes": 10},
    ),
    Builtin(
        "merchant_rise", "merchant_rise", ">", 5.0, 600, 1800, 3600, "warning",
        "某商户的核销量突然高于其近 7 天平均水平数倍：核实是否有真实消费。",
        "A merchant's redemptions suddenly run several times its own 7-day average: check that "
        "the purchases are real.",
        {"window_minutes": 60, "baseline_days": 7, "min_count": 30},
    ),
    Builtin(
        "budget_burn_ahead", "budget_burn_ahead", ">", 0.2, 3600, 0, 86400, "warning",
        "预算核销进度比时间进度快 20 个百分点以上：评估后续批次的投放节奏和资金安排。",
        "Budget use runs more than 20 points ahead of the calendar: review the pace of later "
        "batches and the funding.",
    ),
)  # fmt: skip

PLATFORM: Final[tuple[Builtin, ...]] = (
    Builtin(
        "outbox_stuck", "outbox_oldest_due_seconds", ">", 600, 120, 0, 1800, "critical",
        "发件箱有消息等待超过 10 分钟：检查 quan worker 是否在运行、短信/邮件服务是否可用。",
        "An outbox message has waited over 10 minutes: check that quan worker runs and that "
        "the SMS and e-mail providers answer.",
    ),
    Builtin(
        "sequencer_stuck", "sequencer_lag_seconds", ">", 300, 60, 0, 1800, "critical",
        "透明日志排序器落后超过 5 分钟：检查 quan worker 的 log-sequencer 任务。",
        "The transparency log's sequencer is more than 5 minutes behind: check quan worker's "
        "log-sequencer job.",
    ),
    Builtin(
        "job_stuck", "job_overdue_seconds", ">", 600, 0, 0, 1800, "critical",
        "有定时任务超过 10 分钟未成功运行：查看任务页的最近错误并检查 quan worker。",
        "A scheduled job has gone over 10 minutes past its interval without success: see its "
        "last error on the jobs page and check quan worker.",
    ),
)  # fmt: skip


def rule_key(program_id: str | None, name: str) -> str:
    return f"{program_id or '*'}:{name}"


def _row(b: Builtin, program_id: str | None, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id("alr"),
        "rule_key": rule_key(program_id, b.name),
        "program_id": program_id,
        "name": b.name,
        "measure": b.measure,
        "params": json.dumps(dict(b.params), sort_keys=True),
        "comparator": b.comparator,
        "threshold": float(b.threshold),
        "for_seconds": b.for_seconds,
        "keep_firing_seconds": b.keep_firing_seconds,
        "repeat_seconds": b.repeat_seconds,
        "severity": b.severity,
        "labels": json.dumps({"severity": b.severity}),
        "annotation_zh": b.zh,
        "annotation_en": b.en,
        "enabled": True,
        "builtin": True,
        "updated_by": "system:quan",
        "created_at": now,
        "updated_at": now,
    }


def seed(tx: Connection, now: datetime) -> int:
    """Write the built-in rules missing for the platform and for every program not closed;
    answers how many were written. Safe to run concurrently (conflicts are skipped)."""
    have = set(tx.execute(select(alert_rules.c.rule_key)).scalars())
    rows = [_row(b, None, now) for b in PLATFORM if rule_key(None, b.name) not in have]
    for program_id in tx.execute(
        select(programs.c.id).where(programs.c.status != ProgramStatus.CLOSED.value)
    ).scalars():
        rows += [
            _row(b, program_id, now) for b in BUILTIN if rule_key(program_id, b.name) not in have
        ]
    if not rows:
        return 0
    insert: Any = postgresql.insert if tx.dialect.name == "postgresql" else sqlite.insert
    result = tx.execute(
        insert(alert_rules).on_conflict_do_nothing(index_elements=[alert_rules.c.rule_key]), rows
    )
    return max(result.rowcount or 0, 0)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    program_id: str | None
    name: str
    measure: str
    params: dict[str, Any]
    comparator: str
    threshold: float
    for_seconds: int
    keep_firing_seconds: int
    repeat_seconds: int
    severity: str
    labels: dict[str, str]
    annotation_zh: str
    annotation_en: str
    enabled: bool
    builtin: bool
    updated_by: str
    updated_at: datetime

    @classmethod
    def of(cls, r: Any) -> Rule:
        return cls(
            r.id, r.program_id, r.name, r.measure, json.loads(r.params), r.comparator,
            r.threshold, r.for_seconds, r.keep_firing_seconds, r.repeat_seconds, r.severity,
            json.loads(r.labels), r.annotation_zh, r.annotation_en, r.enabled, r.builtin,
            r.updated_by, r.updated_at,
        )  # fmt: skip


def _visible(tx: Connection, actor: Actor) -> Any:
    query = select(alert_rules)
    if actor.role not in (Role.ADMIN, Role.AUDITOR):
        own = select(programs.c.id).where(programs.c.issuer_id == actor.issuer_id)
        query = query.where(alert_rules.c.program_id.in_(own))
    return query


def rules(tx: Connection, actor: Actor, program_id: str | None = None) -> list[Rule]:
    """The rules the actor may see (operators: their issuer's programs'), by program and name."""
    query = _visible(tx, actor).order_by(alert_rules.c.program_id, alert_rules.c.name)
    if program_id is not None:
        query = query.where(alert_rules.c.program_id == program_id)
    return [Rule.of(r) for r in tx.execute(query)]


@dataclass(frozen=True, slots=True)
class RuleChange:
    threshold: float | None = None
    for_seconds: int | None = None
    keep_firing_seconds: int | None = None
    repeat_seconds: int | None = None
    severity: str | None = None
    enabled: bool | None = None


def change(tx: Connection, now: datetime, actor: Actor, rule_id: str, c: RuleChange) -> Rule:
    """Change a rule (operators: their issuer's programs' rules; the platform's: admins)."""
    row = tx.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).first()
    if row is None:
        raise QuanError(ALERT_RULE_NOT_FOUND, rule_id=rule_id)
    if row.program_id is None:
        if actor.role != Role.ADMIN:
            raise QuanError(FORBIDDEN)
    else:
        issuer = tx.execute(
            select(programs.c.issuer_id).where(programs.c.id == row.program_id)
        ).scalar_one()
        require_issuer(actor, issuer)
    values: dict[str, Any] = {
        k: v
        for k, v in (
            ("threshold", c.threshold),
            ("for_seconds", c.for_seconds),
            ("keep_firing_seconds", c.keep_firing_seconds),
            ("repeat_seconds", c.repeat_seconds),
            ("severity", c.severity),
            ("enabled", c.enabled),
        )
        if v is not None
    }
    if c.severity is not None and c.severity not in SEVERITIES:
        raise QuanError(ALERT_RULE_INVALID, reason="severity")
    if c.repeat_seconds is not None and c.repeat_seconds < 60:
        raise QuanError(ALERT_RULE_INVALID, reason="repeat_seconds")
    for name in ("for_seconds", "keep_firing_seconds"):
        if values.get(name, 0) < 0:
            raise QuanError(ALERT_RULE_INVALID, reason=name)
    if values:
        values |= {"updated_by": actor.label, "updated_at": now}
        tx.execute(update(alert_rules).where(alert_rules.c.id == rule_id).values(**values))
    return Rule.of(tx.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).one())


assert all(b.measure in MEASURES and MEASURES[b.measure].per_program for b in BUILTIN)
assert all(b.measure in MEASURES and not MEASURES[b.measure].per_program for b in PLATFORM)

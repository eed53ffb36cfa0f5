"""Evaluating alert rules, and the alerts people read and acknowledge.

**One evaluation, one transaction.** :func:`evaluate` seeds missing built-in rules (its own short
transaction), then in one write transaction locks the enabled rules (``FOR UPDATE`` on
PostgreSQL; SQLite's write transaction is already exclusive), measures each rule
(:mod:`.alert_measures`), moves its alerts through their states and queues the notifications in
the outbox. A second evaluator waits for the first and then sees its work, so two workers never
raise the same alert twice or notify twice; and ``alerts.open_key`` is unique, so even without
the lock the database keeps one open alert per rule and label set.

**States.** Inactive (no open row) → ``pending`` when the condition first holds → ``firing`` when
it has held for ``for_seconds`` (at once when that is 0; notified) → ``resolved`` when it has not
held for ``keep_firing_seconds`` (notified). A pending alert whose condition stops goes back to
inactive (its row is removed: nothing happened). A firing alert not acknowledged is notified
again every ``repeat_seconds``. An acknowledgement (who, when, a note) stops the repeats.
A rule switched off resolves its open alerts without a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from quan.channels.outbox import OutboxKeys
from quan.domain.auth import Actor, Role, require_issuer
from quan.domain.errors import Kind, QuanError, define
from quan.services.operations import alert_rules
from quan.services.operations.alert_measures import measure_many
from quan.services.operations.alert_notify import Notice, notify
from quan.services.operations.alert_scope import Cut, Sample, Scope
from quan.store.alert_tables import alert_rules as rules_table
from quan.store.alert_tables import alerts
from quan.store.db import Database
from quan.store.ids import new_id
from quan.store.tables import programs

ALERT_NOT_FOUND = define("ALERT_NOT_FOUND", Kind.NOT_FOUND, zh="没有这条告警", en="No such alert")
ALERT_ALREADY_ACKNOWLEDGED = define(
    "ALERT_ALREADY_ACKNOWLEDGED",
    Kind.CONFLICT,
    zh="这条告警已由他人确认",
    en="This alert has already been acknowledged",
)
ACK_NOTE_MAX = 500


@dataclass(slots=True)
class Evaluation:
    rules: int = 0
    raised: int = 0  # new pending or firing alerts
    fired: int = 0
    resolved: int = 0
    messages: int = 0
    seeded: int = 0
    notices: list[Notice] = field(default_factory=list)

    @property
    def work(self) -> int:
        return self.seeded + self.raised + self.fired + self.resolved + self.messages


def _label_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def evaluate(db: Database, now: datetime, keys: OutboxKeys, locale: str = "zh-CN") -> Evaluation:
    """Evaluate every enabled rule once (see the module docstring)."""
    run = Evaluation()
    with db.write() as tx:
        run.seeded = alert_rules.seed(tx, now)
    with db.write() as tx:
        query = select(rules_table).order_by(rules_table.c.id)
        if db.dialect == "postgresql":
            query = query.with_for_update()
        rows = tx.execute(query).all()
        places = {
            r.id: r
            for r in tx.execute(
                select(
                    programs.c.id, programs.c.name, programs.c.issuer_id,
                    programs.c.starts_at, programs.c.ends_at, programs.c.status,
                )
            )
        }  # fmt: skip
        measured: list[tuple[alert_rules.Rule, Any]] = []
        groups: dict[tuple[str | None, str], list[alert_rules.Rule]] = {}
        for row in rows:
            rule = alert_rules.Rule.of(row)
            program = places.get(rule.program_id) if rule.program_id else None
            if not rule.enabled or (program is not None and program.status == "closed"):
                _close_all(tx, rule.id, now, run)
                continue
            measured.append((rule, program))
            groups.setdefault((rule.program_id, rule.measure), []).append(rule)
        # Rules on one measure in one program are measured together (one read for them all).
        samples: dict[str, list[Sample]] = {}
        for (program_id, name), group in groups.items():
            program = places.get(program_id) if program_id else None
            scope = Scope(
                now=now,
                program_id=program_id,
                issuer_id=program.issuer_id if program else None,
                starts_at=program.starts_at if program else None,
                ends_at=program.ends_at if program else None,
            )
            asked = [(r.params, Cut(r.comparator, r.threshold)) for r in group]
            for r, found in zip(group, measure_many(tx, name, scope, asked), strict=True):
                samples[r.id] = found
        for rule, program in measured:
            run.rules += 1
            breaching = {_label_key(dict(s.labels)): s.value for s in samples[rule.id]}
            _step(tx, rule, program.name if program else "", breaching, now, run)
        for notice in run.notices:
            run.messages += notify(tx, keys, locale, notice)
    return run


def _notice(rule: alert_rules.Rule, program_name: str, alert_id: str, labels: str,
            value: float, event: str, now: datetime) -> Notice:  # fmt: skip
    return Notice(
        alert_id, event, rule.name, rule.severity, rule.program_id, program_name,
        {**rule.labels, **json.loads(labels)}, value, rule.comparator, rule.threshold,
        rule.annotation_zh, rule.annotation_en, now,
    )  # fmt: skip


def _step(
    tx: Connection, rule: alert_rules.Rule, program_name: str, breaching: dict[str, float],
    now: datetime, run: Evaluation,
) -> None:  # fmt: skip
    a = alerts.c
    open_rows = {
        r.labels: r
        for r in tx.execute(
            select(alerts).where(a.rule_id == rule.id, a.state.in_(("pending", "firing")))
        )
    }
    hold = timedelta(seconds=rule.for_seconds)
    for labels, value in breaching.items():
        row = open_rows.get(labels)
        if row is None:
            firing = rule.for_seconds == 0
            alert_id = new_id("alt")
            tx.execute(
                insert(alerts).values(
                    id=alert_id, rule_id=rule.id, program_id=rule.program_id, labels=labels,
                    open_key=f"{rule.id}|{labels}", state="firing" if firing else "pending",
                    value=value, started_at=now, fired_at=now if firing else None,
                    last_seen_at=now, last_notified_at=now if firing else None,
                    notifications=1 if firing else 0,
                )
            )  # fmt: skip
            run.raised += 1
            if firing:
                run.fired += 1
                run.notices.append(
                    _notice(rule, program_name, alert_id, labels, value, "firing", now)
                )
            continue
        values: dict[str, Any] = {"value": value, "last_seen_at": now}
        event = None
        if row.state == "pending" and now - row.started_at >= hold:
            values |= {"state": "firing", "fired_at": now}
            event = "firing"
            run.fired += 1
        elif (
            row.state == "firing"
            and row.acked_at is None
            and row.last_notified_at is not None
            and now - row.last_notified_at >= timedelta(seconds=rule.repeat_seconds)
        ):
            event = "repeat"
        if event is not None:
            values |= {"last_notified_at": now, "notifications": a.notifications + 1}
            run.notices.append(_notice(rule, program_name, row.id, labels, value, event, now))
        tx.execute(update(alerts).where(a.id == row.id).values(**values))
    keep = timedelta(seconds=rule.keep_firing_seconds)
    for labels, row in open_rows.items():
        if labels in breaching:
            continue
        if row.state == "pending":
            tx.execute(delete(alerts).where(a.id == row.id))  # back to inactive
        elif now - row.last_seen_at >= keep:
            tx.execute(
                update(alerts)
                .where(a.id == row.id)
                .values(state="resolved", open_key=None, resolved_at=now)
            )
            run.resolved += 1
            run.notices.append(
                _notice(rule, program_name, row.id, labels, row.value, "resolved", now)
            )


def _close_all(tx: Connection, rule_id: str, now: datetime, run: Evaluation) -> None:
    a = alerts.c
    tx.execute(delete(alerts).where(a.rule_id == rule_id, a.state == "pending"))
    done = tx.execute(
        update(alerts)
        .where(a.rule_id == rule_id, a.state == "firing")
        .values(state="resolved", open_key=None, resolved_at=now)
    )
    run.resolved += done.rowcount or 0


# --- reading and acknowledging ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    rule_id: str
    rule_name: str
    measure: str
    severity: str
    program_id: str | None
    labels: dict[str, str]
    state: str
    value: float
    comparator: str
    threshold: float
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    last_seen_at: datetime
    notifications: int
    acked_at: datetime | None
    acked_by: str | None
    ack_note: str | None
    annotation_zh: str
    annotation_en: str


_COLUMNS = (
    alerts,
    rules_table.c.name.label("rule_name"),
    rules_table.c.measure,
    rules_table.c.severity,
    rules_table.c.comparator,
    rules_table.c.threshold,
    rules_table.c.annotation_zh,
    rules_table.c.annotation_en,
)


def _alert(r: Any) -> Alert:
    return Alert(
        r.id, r.rule_id, r.rule_name, r.measure, r.severity, r.program_id, json.loads(r.labels),
        r.state, r.value, r.comparator, r.threshold, r.started_at, r.fired_at, r.resolved_at,
        r.last_seen_at, r.notifications, r.acked_at, r.acked_by, r.ack_note, r.annotation_zh,
        r.annotation_en,
    )  # fmt: skip


STATE_FILTERS = {
    "open": ("pending", "firing"),
    "pending": ("pending",),
    "firing": ("firing",),
    "resolved": ("resolved",),
    "all": ("pending", "firing", "resolved"),
}


def list_alerts(
    tx: Connection, actor: Actor, *, program_id: str | None = None, state: str = "open",
    limit: int = 100,
) -> list[Alert]:  # fmt: skip
    """Alerts the actor may see, newest first: operators see their issuer's programs' alerts
    and the platform's (which carry no personal data); admins and auditors see all."""
    a = alerts.c
    query = (
        select(*_COLUMNS)
        .select_from(alerts.join(rules_table, rules_table.c.id == a.rule_id))
        .where(a.state.in_(STATE_FILTERS[state]))
        .order_by(a.started_at.desc(), a.id.desc())
        .limit(limit)
    )
    if program_id is not None:
        query = query.where(a.program_id == program_id)
    if actor.role not in (Role.ADMIN, Role.AUDITOR):
        own = select(programs.c.id).where(programs.c.issuer_id == actor.issuer_id)
        query = query.where(a.program_id.is_(None) | a.program_id.in_(own))
    return [_alert(r) for r in tx.execute(query)]


def get_alert(tx: Connection, actor: Actor, alert_id: str) -> Alert:
    row = tx.execute(
        select(*_COLUMNS)
        .select_from(alerts.join(rules_table, rules_table.c.id == alerts.c.rule_id))
        .where(alerts.c.id == alert_id)
    ).first()
    if row is None:
        raise QuanError(ALERT_NOT_FOUND, alert_id=alert_id)
    if row.program_id is not None:
        issuer = tx.execute(
            select(programs.c.issuer_id).where(programs.c.id == row.program_id)
        ).scalar_one()
        try:
            require_issuer(actor, issuer)
        except QuanError:
            raise QuanError(ALERT_NOT_FOUND, alert_id=alert_id) from None
    return _alert(row)


def acknowledge(tx: Connection, now: datetime, actor: Actor, alert_id: str, note: str) -> Alert:
    """Acknowledge an alert with a note (operators: their issuer's and the platform's alerts).
    Once: a second acknowledgement is refused, so the first note stands."""
    from quan.domain.errors import VALIDATION_FAILED

    note = note.strip()
    if not note or len(note) > ACK_NOTE_MAX:
        raise QuanError(VALIDATION_FAILED)
    get_alert(tx, actor, alert_id)
    done = tx.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.acked_at.is_(None))
        .values(acked_at=now, acked_by=actor.label, ack_note=note)
    )
    if not done.rowcount:
        raise QuanError(ALERT_ALREADY_ACKNOWLEDGED, alert_id=alert_id)
    return get_alert(tx, actor, alert_id)

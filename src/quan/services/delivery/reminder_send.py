"""Sending chosen reminders: due ``queued`` rows become sealed outbox messages.

One transaction per step takes up to ``limit`` due rows (PostgreSQL: ``FOR UPDATE SKIP LOCKED``,
so steps in several workers take disjoint rows; SQLite's write lock serialises them), checks each
again — the voucher still active, unexpired and not deactivated, the citizen not opted out of
SMS, the program still sending that kind — and either writes the message to the outbox
(:func:`quan.channels.outbox.enqueue`: recipient, text and parameters sealed) and marks the row
``sent`` with its message id, or marks it ``skipped`` with the reason. Both in the same
transaction, with a conditional ``UPDATE … WHERE status = 'queued'``: a reminder is written to
the outbox at most once. Rows of a program in its quiet hours are left for later: they are due
again when the quiet hours end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, exists, func, select, update

from quan.channels import outbox, templates
from quan.domain.money import format_yuan
from quan.services.delivery.reminder_settings import ReminderRules, all_rules
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys, sealing_aad
from quan.store.citizen_tables import citizens
from quan.store.lottery_tables import lottery_registrations
from quan.store.redemption_tables import redemptions, voucher_deactivations
from quan.store.reminder_tables import notice_opt_outs, reminders
from quan.store.voucher_tables import batches, status_is, voucher_types, vouchers

TEMPLATE = {
    "expiry": "reminder.expiry",
    "claimed": "reminder.claimed",
    "redeemed": "reminder.redeemed",
    "lottery_won": "lottery.won",
    "lottery_lost": "lottery.lost",
}


@dataclass(slots=True)
class SendStep:
    taken: int = 0
    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: int = 0  # due, but their program is in its quiet hours


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _allowed(kind: str, offset: int, rules: ReminderRules) -> bool:
    if kind == "expiry":
        return offset in rules.expiry_offsets
    if kind == "claimed":
        return rules.on_claim
    if kind == "redeemed":
        return rules.on_redemption
    return rules.lottery_results


def _vouchers(tx: Connection, ids: Iterable[str]) -> dict[str, Any]:
    v, t, d = vouchers.c, voucher_types.c, voucher_deactivations.c
    deactivated = exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None))
    rows = tx.execute(
        select(v.id, v.code, v.status, v.valid_until, t.name, deactivated.label("deactivated"))
        .select_from(vouchers.join(voucher_types, t.id == v.voucher_type_id))
        .where(v.id.in_(list(ids)))
    )
    return {r.id: r for r in rows}


def _redemptions(tx: Connection, ids: Iterable[str]) -> dict[str, Any]:
    r, v = redemptions.c, vouchers.c
    rows = tx.execute(
        select(r.id, r.discount_fen, r.status, v.code)
        .select_from(redemptions.join(vouchers, v.id == r.voucher_id))
        .where(r.id.in_(list(ids)))
    )
    return {row.id: row for row in rows}


def _registrations(tx: Connection, ids: Iterable[str]) -> dict[str, Any]:
    r, b, t = lottery_registrations.c, batches.c, voucher_types.c
    rows = tx.execute(
        select(r.id, r.batch_id, t.name)
        .select_from(
            lottery_registrations.join(batches, b.id == r.batch_id).join(
                voucher_types, t.id == b.voucher_type_id
            )
        )
        .where(r.id.in_(list(ids)))
    )
    return {row.id: row for row in rows}


def _usable_left(tx: Connection, now: datetime, citizen_id: str, program_id: str) -> int:
    v, d = vouchers.c, voucher_deactivations.c
    return int(
        tx.execute(
            select(func.count()).where(
                v.citizen_id == citizen_id,
                v.program_id == program_id,
                status_is("active"),
                v.valid_until > now,
                ~exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None)),
            )
        ).scalar_one()
    )


def _phones(tx: Connection, keys: CitizenKeys, ids: Iterable[str]) -> dict[str, str | None]:
    c = citizens.c
    rows = tx.execute(select(c.id, c.phone_enc).where(c.id.in_(list(ids))))
    return {
        r.id: pii.decrypt(keys.sealing, r.phone_enc, sealing_aad(r.id, "phone"))
        if r.phone_enc
        else None
        for r in rows
    }


def _voucher_gone(row: Any, now: datetime) -> str | None:
    """Why a reminder about this voucher must not go, or ``None``."""
    if row is None or row.status in ("expired", "recycled", "unclaimed"):
        return "expired"
    if row.status == "redeemed":
        return "redeemed"
    if row.valid_until is None or row.valid_until <= now:
        return "expired"
    if row.deactivated:
        return "deactivated"
    return None


def send_due(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    *,
    locale: str = "zh-CN",
    public_url: str = "http://127.0.0.1:8000",
    limit: int = 500,
) -> SendStep:
    """One step: up to ``limit`` due reminders sent to the outbox or skipped."""
    step = SendStep()
    rules = all_rules(tx)
    quiet = sorted(p for p, (r, zone) in rules.items() if r.quiet_until(now, zone) is not None)
    m = reminders.c
    due = [m.status == "queued", m.due_at <= now]
    query = (
        select(m.id, m.kind, m.subject_id, m.offset_days, m.program_id, m.citizen_id)
        .where(*due, m.program_id.not_in(quiet))
        .order_by(m.due_at, m.id)
        .limit(limit)
    )
    if tx.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = tx.execute(query).all()
    step.taken = len(rows)
    if quiet and len(rows) < limit:  # the last step of a run says how many wait for morning
        step.deferred = int(
            tx.execute(select(func.count()).where(*due, m.program_id.in_(quiet))).scalar_one()
        )
    if not rows:
        return step
    voucher_kinds = {r.subject_id for r in rows if r.kind in ("expiry", "claimed")}
    found = _vouchers(tx, voucher_kinds)
    redeemed = _redemptions(tx, {r.subject_id for r in rows if r.kind == "redeemed"})
    registered = _registrations(tx, {r.subject_id for r in rows if r.kind.startswith("lottery")})
    citizen_ids = {r.citizen_id for r in rows}
    o = notice_opt_outs.c
    out = set(
        tx.execute(
            select(o.citizen_id).where(o.citizen_id.in_(list(citizen_ids)), o.channel == "sms")
        ).scalars()
    )
    phones = _phones(tx, keys, citizen_ids - out)
    base = public_url.rstrip("/")
    for row in rows:
        program_rules, zone = rules[row.program_id]
        params: dict[str, str] | None = None
        reason: str | None = None
        if not _allowed(row.kind, row.offset_days, program_rules):
            reason = "disabled"
        elif row.citizen_id in out:
            reason = "opted_out"
        elif row.kind in ("expiry", "claimed"):
            voucher: Any = found.get(row.subject_id)
            reason = _voucher_gone(voucher, now)
            if reason is None:
                left = math.ceil((voucher.valid_until - now) / timedelta(days=1))
                params = {
                    "voucher": voucher.name,
                    "tail": voucher.code[-4:],
                    "until": _local(voucher.valid_until, zone),
                    "days": str(left),
                }
        elif row.kind == "redeemed":
            redemption = redeemed.get(row.subject_id)
            if redemption is None or redemption.status != "redeemed":
                reason = "disabled"  # reversed meanwhile: nothing to tell
            else:
                left = _usable_left(tx, now, row.citizen_id, row.program_id)
                params = {
                    "tail": redemption.code[-4:],
                    "discount": format_yuan(int(redemption.discount_fen)),
                    "left": str(left),
                }
        else:
            registration = registered[row.subject_id]
            params = {
                "lottery": registration.name,
                "link": f"{base}/api/v1/batches/{registration.batch_id}/lottery",
            }
        phone = phones.get(row.citizen_id)
        if reason is None and phone is None:
            reason = "no_phone"  # registered at a service centre without a phone
        if reason is not None or params is None:
            _finish(tx, now, row.id, skip_reason=reason or "disabled")
            step.skipped[reason or "disabled"] = step.skipped.get(reason or "disabled", 0) + 1
            continue
        assert phone is not None
        kind = TEMPLATE[row.kind]
        message_id = outbox.enqueue(
            tx,
            now,
            keys.outbox,
            channel="sms",
            recipient=phone,
            subject=kind,
            body=templates.render(kind, locale, params) or kind,
            params=params,
        )
        _finish(tx, now, row.id, message_id=message_id)
        step.sent += 1
    return step


def _finish(
    tx: Connection,
    now: datetime,
    reminder_id: int,
    *,
    message_id: str | None = None,
    skip_reason: str | None = None,
) -> None:
    m = reminders.c
    done = tx.execute(
        update(reminders)
        .where(and_(m.id == reminder_id, m.status == "queued"))
        .values(
            status="sent" if message_id else "skipped",
            message_id=message_id,
            skip_reason=skip_reason,
            done_at=now,
        )
    ).rowcount
    if done != 1:  # locked (PostgreSQL) or serialised (SQLite): another step cannot have it
        raise RuntimeError(f"reminder {reminder_id} was taken by another step")

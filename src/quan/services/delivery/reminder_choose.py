"""Choosing reminders: set-based sweeps that write ``queued`` rows into ``reminders``.

Each sweep is one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` (per program and offset for the
expiry sweep), never a loop per voucher, so a million expiring vouchers are chosen in one
statement. ``UNIQUE (subject_id, kind, offset_days)`` drops whatever was chosen before, by this
worker or another one racing it. What a sweep has covered is kept in ``reminder_sweeps``; each
reads a little before its mark (:data:`OVERLAP`, :data:`EVENT_OVERLAP`) so that a row committed
late is still seen.

- **Expiry**, per program and offset ``d`` (days, largest first, next smaller ``n``, 0 after the
  last): active vouchers whose validity ends in ``(now + n days, now + d days]`` — only the most
  urgent offset is chosen when several are due at once (a worker that was down, or the
  development clock moved) — and that were claimed before the reminder's moment.
- **Claimed**: ``voucher.claimed`` events since the mark (first-come claims; lottery winners get
  their result instead, grants no notice).
- **Redeemed**: live redemptions recorded since the mark (``ix_redemptions_window``).
- **Lottery results**: every registrant of a lottery drawn in the last :data:`LOTTERY_WINDOW`,
  once per batch, as ``lottery_won`` or ``lottery_lost``.

Never chosen: vouchers no longer active (expired, redeemed, recycled), deactivated ones, and
citizens who opted out of SMS. The send step checks all of it again (:mod:`.reminder_send`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Text,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select

from quan.services.delivery.reminder_settings import ReminderRules, all_rules
from quan.store.lottery_tables import lottery_draws, lottery_registrations, lottery_winners
from quan.store.redemption_tables import redemptions, voucher_deactivations
from quan.store.reminder_tables import notice_opt_outs, reminder_sweeps, reminders
from quan.store.tables import UtcDateTime, events
from quan.store.voucher_tables import status_is, vouchers

OVERLAP = timedelta(hours=1)
EVENT_OVERLAP = 50_000  # event ids read again before the claim sweep's mark
FIRST_LOOKBACK = timedelta(hours=1)  # a redemption sweep's first run looks this far back
LOTTERY_WINDOW = timedelta(days=2)  # results go out for draws this recent

COLUMNS = (
    "kind",
    "subject_id",
    "offset_days",
    "program_id",
    "citizen_id",
    "due_at",
    "status",
    "created_at",
)


@dataclass(slots=True)
class Chosen:
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        if count:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def _insert(tx: Connection, query: Select[Any]) -> int:
    """``INSERT INTO reminders (…) <query> ON CONFLICT DO NOTHING``; the rows inserted."""
    dialect = postgresql if tx.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(reminders)
        .from_select(list(COLUMNS), query)
        .on_conflict_do_nothing(index_elements=["subject_id", "kind", "offset_days"])
    )
    return max(tx.execute(statement.execution_options(preserve_rowcount=True)).rowcount or 0, 0)


def _mark(tx: Connection, name: str, *, to: datetime | None = None, id: int | None = None) -> None:
    dialect = postgresql if tx.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(reminder_sweeps).values(name=name, swept_to=to, swept_id=id)
    tx.execute(
        statement.on_conflict_do_update(
            index_elements=["name"],
            set_={"swept_to": statement.excluded.swept_to, "swept_id": statement.excluded.swept_id},
        )
    )


def _marks(tx: Connection, names: Sequence[str]) -> dict[str, Any]:
    s = reminder_sweeps.c
    return {r.name: r for r in tx.execute(select(reminder_sweeps).where(s.name.in_(names)))}


def _usable(now: datetime) -> list[Any]:
    """The voucher is not deactivated and its holder takes SMS reminders."""
    v, d, o = vouchers.c, voucher_deactivations.c, notice_opt_outs.c
    return [
        ~exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None)),
        ~exists().where(o.citizen_id == v.citizen_id, o.channel == "sms"),
    ]


def _claimed_before_moment(tx: Connection, days: int) -> Any:
    days = int(days)  # inlined: a validated small integer
    if tx.dialect.name == "postgresql":
        return text(f"vouchers.claimed_at <= vouchers.valid_until - interval '{days} days'")
    return text(f"vouchers.claimed_at <= datetime(vouchers.valid_until, '-{days} days')")


def _now(now: datetime) -> Any:
    return literal(now, UtcDateTime)


def choose_expiry(
    tx: Connection, now: datetime, program_id: str, rules: ReminderRules, chosen: Chosen
) -> None:
    offsets = rules.expiry_offsets
    names = [f"expiry:{program_id}:{d}" for d in offsets]
    marks = _marks(tx, names)
    v = vouchers.c
    for i, days in enumerate(offsets):
        nearer = offsets[i + 1] if i + 1 < len(offsets) else 0
        low = now + timedelta(days=nearer)
        mark = marks.get(names[i])
        if mark is not None and mark.swept_to is not None:
            low = max(low, mark.swept_to - OVERLAP)
        high = now + timedelta(days=days)
        if low < high:
            query = select(
                literal("expiry", Text),
                v.id,
                literal(days, Integer),
                v.program_id,
                v.citizen_id,
                _now(now),
                literal("queued", Text),
                _now(now),
            ).where(
                status_is("active"),
                v.valid_until > low,
                v.valid_until <= high,
                v.program_id == program_id,
                _claimed_before_moment(tx, days),
                *_usable(now),
            )
            chosen.add("expiry", _insert(tx, query))
        _mark(tx, names[i], to=high)


def choose_claimed(tx: Connection, now: datetime, programs: Sequence[str], chosen: Chosen) -> None:
    e, v = events.c, vouchers.c
    last = tx.execute(select(func.max(e.id))).scalar()
    if last is None:
        return
    mark = _marks(tx, ["claimed"]).get("claimed")
    since = mark.swept_id if mark is not None and mark.swept_id is not None else last
    since -= EVENT_OVERLAP
    if programs:
        query = (
            select(
                literal("claimed", Text),
                v.id,
                literal(0, Integer),
                v.program_id,
                v.citizen_id,
                _now(now),
                literal("queued", Text),
                _now(now),
            )
            .select_from(events.join(vouchers, v.id == e.subject_id))
            .where(
                e.id > since,
                e.id <= last,
                e.type == "voucher.claimed",
                e.subject_type == "voucher",
                status_is("active"),
                v.program_id.in_(programs),
                v.valid_until > now,
                *_usable(now),
            )
        )
        chosen.add("claimed", _insert(tx, query))
    _mark(tx, "claimed", id=int(last))


def choose_redeemed(tx: Connection, now: datetime, program_id: str, chosen: Chosen) -> None:
    r, o = redemptions.c, notice_opt_outs.c
    name = f"redeemed:{program_id}"
    mark = _marks(tx, [name]).get(name)
    since = (
        mark.swept_to - OVERLAP
        if mark is not None and mark.swept_to is not None
        else now - FIRST_LOOKBACK
    )
    query = select(
        literal("redeemed", Text),
        r.id,
        literal(0, Integer),
        r.program_id,
        r.citizen_id,
        _now(now),
        literal("queued", Text),
        _now(now),
    ).where(
        r.program_id == program_id,
        r.recorded_at > since,
        r.recorded_at <= now,
        r.status == "redeemed",
        ~exists().where(o.citizen_id == r.citizen_id, o.channel == "sms"),
    )
    chosen.add("redeemed", _insert(tx, query))
    _mark(tx, name, to=now)


def choose_lottery(tx: Connection, now: datetime, programs: Sequence[str], chosen: Chosen) -> None:
    d, r, w, o = lottery_draws.c, lottery_registrations.c, lottery_winners.c, notice_opt_outs.c
    s = reminder_sweeps.c
    drawn = tx.execute(
        select(d.batch_id, d.program_id).where(
            d.drawn_at.is_not(None),
            d.drawn_at > now - LOTTERY_WINDOW,
            d.drawn_at <= now,
            d.program_id.in_(programs),
            ~exists().where(s.name == literal("lottery:", Text) + d.batch_id),
        )
    ).all()
    for batch_id, program_id in drawn:
        won = exists().where(and_(w.batch_id == r.batch_id, w.pseudonym == r.pseudonym))
        query = select(
            case((won, literal("lottery_won", Text)), else_=literal("lottery_lost", Text)),
            r.id,
            literal(0, Integer),
            literal(program_id, Text),
            r.citizen_id,
            _now(now),
            literal("queued", Text),
            _now(now),
        ).where(
            r.batch_id == batch_id,
            ~exists().where(o.citizen_id == r.citizen_id, o.channel == "sms"),
        )
        chosen.add("lottery", _insert(tx, query))
        _mark(tx, f"lottery:{batch_id}", to=now)


def choose_all(tx: Connection, now: datetime) -> Chosen:
    """Every sweep, for every program, in one transaction."""
    chosen = Chosen()
    rules = all_rules(tx)
    for program_id, (rule, _zone) in rules.items():
        if rule.expiry_offsets:
            choose_expiry(tx, now, program_id, rule, chosen)
        if rule.on_redemption:
            choose_redeemed(tx, now, program_id, chosen)
    choose_claimed(tx, now, [p for p, (r, _) in rules.items() if r.on_claim], chosen)
    choose_lottery(tx, now, [p for p, (r, _) in rules.items() if r.lottery_results], chosen)
    return chosen

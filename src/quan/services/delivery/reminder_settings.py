"""A program's reminder rules, and the citizens' opt-outs (issue 25, docs/delivery.md#reminders).

Rules per program: the expiry offsets (days before a voucher's validity ends, at most
:data:`MAX_OFFSETS` of 1–:data:`MAX_OFFSET_DAYS`), whether a claim, a redemption and a lottery's
result are notified, and quiet hours in the program's time zone (a reminder due in them waits
until they end). A program without a row uses :data:`DEFAULT`. Changing them is an event.

Opt-outs: a citizen may turn reminders and results off per channel. Sign-in codes and notices an
operator must give (a deactivated voucher) are not reminders: they ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.store.events import record_event
from quan.store.reminder_tables import OPT_OUT_CHANNELS, notice_opt_outs, reminder_settings
from quan.store.tables import programs

MAX_OFFSETS = 5
MAX_OFFSET_DAYS = 90

INVALID_REMINDER_SETTINGS = define(
    "INVALID_REMINDER_SETTINGS",
    Kind.INVALID,
    zh="提醒设置无效：到期提醒最多 5 个，每个为 1–90 天且互不相同；"
    "免打扰时段为 00:00–23:59 的整分钟",
    en="Invalid reminder settings: at most 5 expiry reminders, each 1–90 days and all different;"
    " quiet hours are whole minutes between 00:00 and 23:59",
)
UNKNOWN_CHANNEL = define(
    "UNKNOWN_NOTICE_CHANNEL",
    Kind.INVALID,
    zh="未知的通知渠道（可选：短信 sms、电子邮件 email）",
    en="Unknown notice channel (sms or email)",
)


@dataclass(frozen=True, slots=True)
class ReminderRules:
    expiry_offsets: tuple[int, ...]  # days, largest first
    on_claim: bool
    on_redemption: bool
    lottery_results: bool
    quiet_start: int  # minutes after local midnight
    quiet_end: int  # equal to quiet_start: no quiet hours

    def quiet_until(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When the quiet hours around ``now`` end (UTC), or ``None`` outside them."""
        if self.quiet_start == self.quiet_end:
            return None
        local = now.astimezone(zone)
        minute = local.hour * 60 + local.minute
        start, end = self.quiet_start, self.quiet_end
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if not inside:
            return None
        day = local.date() if minute < end else local.date() + timedelta(days=1)
        ends = datetime.combine(day, time(end // 60, end % 60), tzinfo=zone)
        return ends.astimezone(now.tzinfo)


DEFAULT = ReminderRules(
    expiry_offsets=(7, 1),
    on_claim=True,
    on_redemption=True,
    lottery_results=True,
    quiet_start=21 * 60,
    quiet_end=8 * 60,
)


def make_rules(
    expiry_offsets: list[int],
    *,
    on_claim: bool,
    on_redemption: bool,
    lottery_results: bool,
    quiet_start: int,
    quiet_end: int,
) -> ReminderRules:
    offsets = tuple(sorted(set(expiry_offsets), reverse=True))
    if (
        len(offsets) != len(expiry_offsets)
        or len(offsets) > MAX_OFFSETS
        or any(not 1 <= d <= MAX_OFFSET_DAYS for d in offsets)
        or not 0 <= quiet_start < 1440
        or not 0 <= quiet_end < 1440
    ):
        raise QuanError(INVALID_REMINDER_SETTINGS)
    return ReminderRules(offsets, on_claim, on_redemption, lottery_results, quiet_start, quiet_end)


def _of(row: object) -> ReminderRules:
    text: str = row.expiry_offsets  # type: ignore[attr-defined]
    return ReminderRules(
        tuple(int(d) for d in text.split(",") if d),
        bool(row.on_claim),  # type: ignore[attr-defined]
        bool(row.on_redemption),  # type: ignore[attr-defined]
        bool(row.lottery_results),  # type: ignore[attr-defined]
        int(row.quiet_start),  # type: ignore[attr-defined]
        int(row.quiet_end),  # type: ignore[attr-defined]
    )


def all_rules(tx: Connection) -> dict[str, tuple[ReminderRules, ZoneInfo]]:
    """Every program's rules (the defaults where none were set) and time zone."""
    stored = {r.program_id: _of(r) for r in tx.execute(select(reminder_settings))}
    return {
        p.id: (stored.get(p.id, DEFAULT), ZoneInfo(p.timezone))
        for p in tx.execute(select(programs.c.id, programs.c.timezone).order_by(programs.c.id))
    }


def _issuer(tx: Connection, program_id: str) -> str:
    issuer = tx.execute(
        select(programs.c.issuer_id).where(programs.c.id == program_id)
    ).scalar_one_or_none()
    if issuer is None:
        raise QuanError(NOT_FOUND, what=f"program {program_id}")
    return str(issuer)


def get_rules(tx: Connection, actor: Actor, program_id: str) -> ReminderRules:
    require_issuer(actor, _issuer(tx, program_id))
    row = tx.execute(
        select(reminder_settings).where(reminder_settings.c.program_id == program_id)
    ).first()
    return DEFAULT if row is None else _of(row)


def set_rules(
    tx: Connection, now: datetime, actor: Actor, program_id: str, rules: ReminderRules
) -> ReminderRules:
    """Replace the program's rules (operators of its issuer, admins); event
    ``program.reminders``."""
    require_issuer(actor, _issuer(tx, program_id))
    values = {
        "expiry_offsets": ",".join(str(d) for d in rules.expiry_offsets),
        "on_claim": rules.on_claim,
        "on_redemption": rules.on_redemption,
        "lottery_results": rules.lottery_results,
        "quiet_start": rules.quiet_start,
        "quiet_end": rules.quiet_end,
        "updated_by": actor.label,
        "updated_at": now,
    }
    s = reminder_settings.c
    if not tx.execute(
        update(reminder_settings).where(s.program_id == program_id).values(**values)
    ).rowcount:
        tx.execute(insert(reminder_settings).values(program_id=program_id, **values))
    record_event(
        tx,
        type="program.reminders",
        actor=actor,
        subject_type="program",
        subject_id=program_id,
        program_id=program_id,
        at=now,
        payload={
            "expiry_offsets_days": list(rules.expiry_offsets),
            "on_claim": rules.on_claim,
            "on_redemption": rules.on_redemption,
            "lottery_results": rules.lottery_results,
            "quiet_hours": [_hhmm(rules.quiet_start), _hhmm(rules.quiet_end)],
        },
    )
    return rules


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def opted_out(tx: Connection, citizen_id: str) -> set[str]:
    """The channels this citizen receives no reminders or results on."""
    o = notice_opt_outs.c
    return set(tx.execute(select(o.channel).where(o.citizen_id == citizen_id)).scalars())


def set_opt_out(
    tx: Connection, now: datetime, citizen_id: str, channel: str, *, out: bool
) -> set[str]:
    """Turn reminders and results on one channel off (``out``) or back on; idempotent."""
    if channel not in OPT_OUT_CHANNELS:
        raise QuanError(UNKNOWN_CHANNEL)
    o = notice_opt_outs.c
    if out:
        try:
            with tx.begin_nested():
                tx.execute(
                    insert(notice_opt_outs).values(
                        citizen_id=citizen_id, channel=channel, created_at=now
                    )
                )
        except IntegrityError:
            pass  # already out (or a racing request put it there)
    else:
        tx.execute(delete(notice_opt_outs).where(o.citizen_id == citizen_id, o.channel == channel))
    return opted_out(tx, citizen_id)

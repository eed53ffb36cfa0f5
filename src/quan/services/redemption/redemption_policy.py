"""A program's redemption policy: rules that belong to the program rather than to a voucher type.

Today one rule: ``daily_cap``, how many vouchers of the program one holder may redeem per local
day (R3.5); ``None`` means no cap. Setting it is a rule change, recorded as an event (and so in
the transparency log) with the new value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from quan.domain.auth import Actor
from quan.domain.errors import Kind, QuanError, define
from quan.services.money.programs import visible_program
from quan.store.events import record_event
from quan.store.redemption_tables import MAX_DAILY_CAP, redemption_policies

INVALID_DAILY_CAP = define(
    "INVALID_DAILY_CAP",
    Kind.INVALID,
    zh="每人每日核销上限须为 1–100 张，或留空表示不限",
    en="The daily cap must be 1 to 100 vouchers, or null for none",
)


@dataclass(frozen=True, slots=True)
class Policy:
    program_id: str
    daily_cap: int | None
    updated_by: str | None
    updated_at: datetime | None


def get_policy(tx: Connection, actor: Actor, program_id: str) -> Policy:
    visible_program(tx, actor, program_id)
    row = tx.execute(
        select(redemption_policies).where(redemption_policies.c.program_id == program_id)
    ).first()
    if row is None:
        return Policy(program_id, None, None, None)
    return Policy(program_id, row.daily_cap, row.updated_by, row.updated_at)


def set_policy(
    tx: Connection, now: datetime, actor: Actor, program_id: str, daily_cap: int | None
) -> Policy:
    if daily_cap is not None and not 1 <= daily_cap <= MAX_DAILY_CAP:
        raise QuanError(INVALID_DAILY_CAP)
    visible_program(tx, actor, program_id, for_update=True)
    values = {"daily_cap": daily_cap, "updated_by": actor.label, "updated_at": now}
    p = redemption_policies.c
    changed = tx.execute(
        update(redemption_policies).where(p.program_id == program_id).values(**values)
    ).rowcount
    if not changed:  # the program row lock makes the insert race-free
        tx.execute(insert(redemption_policies).values(program_id=program_id, **values))
    record_event(
        tx,
        type="program.redemption_policy_set",
        actor=actor,
        subject_type="program",
        subject_id=program_id,
        program_id=program_id,
        at=now,
        payload={"daily_cap": daily_cap},
    )
    return get_policy(tx, actor, program_id)

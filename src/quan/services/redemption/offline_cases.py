"""Offline double-spend cases: reading them and resolving them (operators of the issuer).

A case is opened at sync when a voucher turns up spent twice (see
:mod:`quan.services.redemption.offline_sync`)
and, while open, holds a sum equal to the winning redemption from that merchant's settlements.
Resolving ends the hold: ``cleared`` (an honest double scan, say), or ``fraud_confirmed`` — the
operator then blacklists the merchant, which holds all of its money (the blacklist is the tool for
confirmed abuse; the case is the record of what was found).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, select, update

from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.money.programs import get_program, visible_program
from quan.store.events import record_event
from quan.store.redemption_tables import offline_cases, offline_records

CASE_NOT_OPEN = define(
    "OFFLINE_CASE_NOT_OPEN",
    Kind.CONFLICT,
    zh="该离线重复核销案件已处理",
    en="This offline double-spend case has already been resolved",
)
CASE_NOTE_REQUIRED = define(
    "OFFLINE_CASE_NOTE_REQUIRED",
    Kind.INVALID,
    zh="处理案件须填写说明（不超过 1000 字）",
    en="Resolving a case needs a note (at most 1000 characters)",
)


class Resolution(StrEnum):
    CLEARED = "cleared"
    FRAUD_CONFIRMED = "fraud_confirmed"


@dataclass(frozen=True, slots=True)
class OfflineCase:
    id: str
    program_id: str
    voucher_id: str
    redemption_id: str
    merchant_id: str
    amount_fen: int
    status: str
    flagged_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None
    record_ids: list[str]


def _case(tx: Connection, row: Any) -> OfflineCase:
    m = row._mapping
    records = list(
        tx.execute(
            select(offline_records.c.id)
            .where(offline_records.c.case_id == m["id"])
            .order_by(offline_records.c.id)
        ).scalars()
    )
    return OfflineCase(
        id=m["id"],
        program_id=m["program_id"],
        voucher_id=m["voucher_id"],
        redemption_id=m["redemption_id"],
        merchant_id=m["merchant_id"],
        amount_fen=int(m["amount_fen"]),
        status=m["status"],
        flagged_at=m["flagged_at"],
        resolved_by=m["resolved_by"],
        resolved_at=m["resolved_at"],
        resolution=m["resolution"],
        record_ids=records,
    )


def cases_query(tx: Connection, actor: Actor, program_id: str, status: str | None) -> Select[Any]:
    visible_program(tx, actor, program_id)
    query = select(offline_cases).where(offline_cases.c.program_id == program_id)
    if status is not None:
        query = query.where(offline_cases.c.status == status)
    return query


def load(tx: Connection, rows: list[Any]) -> list[OfflineCase]:
    return [_case(tx, row) for row in rows]


def get_case(tx: Connection, actor: Actor, case_id: str) -> OfflineCase:
    row = tx.execute(select(offline_cases).where(offline_cases.c.id == case_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"offline case {case_id}")
    require_issuer(actor, get_program(tx, row.program_id).issuer_id)
    return _case(tx, row)


def resolve(
    tx: Connection, now: datetime, actor: Actor, case_id: str, resolution: Resolution, note: str
) -> OfflineCase:
    note = " ".join(note.split())
    if not note or len(note) > 1000:
        raise QuanError(CASE_NOTE_REQUIRED)
    case = get_case(tx, actor, case_id)
    get_program(tx, case.program_id, for_update=True)  # settlement reads holds under this lock
    changed = tx.execute(
        update(offline_cases)
        .where(offline_cases.c.id == case_id, offline_cases.c.status == "open")
        .values(
            status="resolved",
            resolved_by=actor.label,
            resolved_at=now,
            resolution=f"{resolution.value}: {note}",
        )
    ).rowcount
    if changed != 1:
        raise QuanError(CASE_NOT_OPEN)
    record_event(
        tx,
        type="offline_case.resolved",
        actor=actor,
        subject_type="offline_case",
        subject_id=case_id,
        program_id=case.program_id,
        at=now,
        payload={"resolution": resolution.value, "merchant_id": case.merchant_id},
    )
    return get_case(tx, actor, case_id)

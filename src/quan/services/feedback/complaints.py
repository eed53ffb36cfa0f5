"""Complaints as tickets: filing (wallet, merchant portal, hotline), assignment, answers by staff
and by the merchant concerned, resolution. One use case, one transaction; each step is a row of
``complaint_steps``, an event, and — for a citizen or a hotline caller — an SMS through the
sealed outbox written in the same transaction.

Deadlines: filing sets the first response's (:class:`quan.domain.feedback.Category`); the first
answer (staff's or the merchant's) sets the resolution's; resolving clears it. Every change of
status is a conditional ``UPDATE … WHERE status = <read>``, so two answers at once set the first
response once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from quan.domain.auth import Actor, Role, require_issuer
from quan.domain.errors import FORBIDDEN, NOT_FOUND, QuanError
from quan.domain.feedback import (
    COMPLAINT_CLOSED,
    COMPLAINT_LINK_NOT_YOURS,
    category,
    clean_text,
)
from quan.services.feedback.notices import caller_aad, tell
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys, find_by_phone_hash
from quan.store.events import record_event
from quan.store.feedback_tables import complaint_steps, complaints
from quan.store.ids import new_id
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import redemptions
from quan.store.tables import programs, staff_users
from quan.store.voucher_tables import vouchers

EVENT_TYPES = {
    "filed": "complaint.filed",
    "assigned": "complaint.assigned",
    "response": "complaint.response",
    "merchant_answer": "complaint.merchant_answer",
    "escalated": "complaint.escalated",
    "resolved": "complaint.resolved",
}


@dataclass(frozen=True, slots=True)
class Filing:
    """What a complaint is about and who files it (exactly one complainant)."""

    category: str
    text: str
    channel: str  # wallet | portal | hotline
    citizen_id: str | None = None
    caller_phone: str | None = None  # hotline: parsed 11 digits
    filing_merchant_id: str | None = None
    merchant_id: str | None = None  # the merchant concerned
    voucher_id: str | None = None
    voucher_code: str | None = None  # hotline and portal: the code read out


def _links(tx: Connection, filing: Filing, citizen_id: str | None) -> dict[str, Any]:
    """The voucher, redemption, merchant, program and issuer a filing names, checked."""
    v = vouchers.c
    voucher: Any = None
    if filing.voucher_id or filing.voucher_code:
        where = v.id == filing.voucher_id if filing.voucher_id else v.code == filing.voucher_code
        voucher = tx.execute(select(v.id, v.program_id, v.citizen_id).where(where)).first()
        if voucher is None or (citizen_id is not None and voucher.citizen_id != citizen_id):
            raise QuanError(COMPLAINT_LINK_NOT_YOURS)
    redemption: Any = None
    if voucher is not None:
        r = redemptions.c
        redemption = tx.execute(
            select(r.id, r.merchant_id)
            .where(r.voucher_id == voucher.id, r.status == "redeemed")
            .order_by(r.id.desc())
        ).first()
    merchant_id = filing.merchant_id or (redemption.merchant_id if redemption else None)
    issuer_id: str | None = None
    if merchant_id is not None:
        issuer_id = tx.execute(
            select(merchants.c.issuer_id).where(merchants.c.id == merchant_id)
        ).scalar()
        if issuer_id is None:
            raise QuanError(NOT_FOUND, what=f"merchant {merchant_id}")
    program_id = voucher.program_id if voucher is not None else None
    if program_id is not None:
        issuer_id = tx.execute(
            select(programs.c.issuer_id).where(programs.c.id == program_id)
        ).scalar_one()
    return {
        "voucher_id": voucher.id if voucher is not None else None,
        "redemption_id": redemption.id if redemption is not None else None,
        "merchant_id": merchant_id,
        "program_id": program_id,
        "issuer_id": issuer_id,
    }


def _step(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    row: Any,
    kind: str,
    actor: Actor,
    *,
    body: str | None = None,
    level: int | None = None,
    locale: str = "zh-CN",
) -> None:
    message_id = tell(tx, now, keys, row, kind, locale=locale)
    tx.execute(
        insert(complaint_steps).values(
            complaint_id=row.id,
            kind=kind,
            by=actor.label,
            body=body,
            level=level,
            message_id=message_id,
            at=now,
        )
    )
    payload: dict[str, Any] = {"category": row.category}
    if kind == "filed":
        payload["channel"] = row.channel
    if level is not None:
        payload["level"] = level
    record_event(
        tx,
        type=EVENT_TYPES[kind],
        actor=actor,
        subject_type="complaint",
        subject_id=row.id,
        at=now,
        program_id=row.program_id,
        payload=payload,
    )


def load(tx: Connection, complaint_id: str, *, lock: bool = False) -> Any:
    query = select(complaints).where(complaints.c.id == complaint_id)
    if lock and tx.dialect.name == "postgresql":
        query = query.with_for_update()
    row = tx.execute(query).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"complaint {complaint_id}")
    return row


def file_complaint(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    actor: Actor,
    filing: Filing,
    *,
    locale: str = "zh-CN",
) -> str:
    """Record a complaint and tell the complainant it was received; its id."""
    kind = category(filing.category)
    text = clean_text(filing.text)
    complaint_id = new_id("cmp")
    citizen_id = filing.citizen_id
    caller_hash: str | None = None
    caller_enc: str | None = None
    if filing.caller_phone is not None:
        phone_hash = keys.phone_hash(filing.caller_phone)
        known = find_by_phone_hash(tx, phone_hash)
        if known is not None:
            citizen_id = known.id
        else:
            caller_hash = phone_hash
            caller_enc = pii.encrypt(keys.sealing, filing.caller_phone, caller_aad(complaint_id))
    links = _links(tx, filing, citizen_id if filing.channel == "wallet" else None)
    if actor.kind == "staff" and links["issuer_id"] is not None:
        require_issuer(actor, links["issuer_id"])
    if actor.kind == "staff" and links["issuer_id"] is None:
        links["issuer_id"] = actor.issuer_id
    if filing.filing_merchant_id is not None and links["issuer_id"] is None:
        links["issuer_id"] = tx.execute(
            select(merchants.c.issuer_id).where(merchants.c.id == filing.filing_merchant_id)
        ).scalar()
    tx.execute(
        insert(complaints).values(
            id=complaint_id,
            category=kind.code,
            channel=filing.channel,
            status="open",
            citizen_id=citizen_id,
            caller_phone_hash=caller_hash,
            caller_phone_enc=caller_enc,
            filing_merchant_id=filing.filing_merchant_id,
            filed_by=actor.label,
            body=text,
            escalation_level=0,
            due_at=now + kind.respond_within,
            filed_at=now,
            **links,
        )
    )
    _step(tx, now, keys, load(tx, complaint_id), "filed", actor, body=None, locale=locale)
    return complaint_id


def check_visible(actor: Actor, row: Any) -> None:
    """Refuse a staff member who may not read the complaint (another issuer's operator)."""
    _staff_may(actor, row, write=False)


def _staff_may(actor: Actor, row: Any, *, write: bool) -> None:
    """Staff of the complaint's issuer (admins and auditors everywhere; auditors only read).
    A complaint that names no issuer (a hotline call about nothing in particular) is every
    operator's."""
    if actor.kind != "staff" or (write and actor.role not in (Role.ADMIN, Role.OPERATOR)):
        raise QuanError(FORBIDDEN)
    if row.issuer_id is not None:
        require_issuer(actor, row.issuer_id)


def _answered(tx: Connection, now: datetime, row: Any) -> None:
    """The first answer: ``open`` → ``answered`` with the resolution's deadline, once."""
    if row.status != "open":
        return
    c = complaints.c
    tx.execute(
        update(complaints)
        .where(c.id == row.id, c.status == "open")
        .values(
            status="answered",
            first_response_at=now,
            due_at=now + category(row.category).resolve_within,
        )
    )


def respond(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    actor: Actor,
    complaint_id: str,
    text: str,
    *,
    resolve: bool = False,
    locale: str = "zh-CN",
) -> None:
    """Staff answer the complainant; ``resolve`` closes the complaint with this answer."""
    row = load(tx, complaint_id, lock=True)
    _staff_may(actor, row, write=True)
    if row.status == "resolved":
        raise QuanError(COMPLAINT_CLOSED)
    body = clean_text(text)
    _answered(tx, now, row)
    if resolve:
        c = complaints.c
        done = tx.execute(
            update(complaints)
            .where(c.id == row.id, c.status != "resolved")
            .values(
                status="resolved",
                resolved_at=now,
                due_at=None,
                first_response_at=row.first_response_at or now,
            )
        ).rowcount
        if done != 1:
            raise QuanError(COMPLAINT_CLOSED)
    _step(
        tx,
        now,
        keys,
        load(tx, complaint_id),
        "resolved" if resolve else "response",
        actor,
        body=body,
        locale=locale,
    )


def merchant_answer(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    actor: Actor,
    complaint_id: str,
    text: str,
    *,
    locale: str = "zh-CN",
) -> None:
    """The merchant concerned answers (its owner, in the portal); counts as a first response."""
    row = load(tx, complaint_id, lock=True)
    if actor.merchant_id is None or row.merchant_id != actor.merchant_id:
        raise QuanError(NOT_FOUND, what=f"complaint {complaint_id}")
    if row.status == "resolved":
        raise QuanError(COMPLAINT_CLOSED)
    body = clean_text(text)
    _answered(tx, now, row)
    _step(tx, now, keys, load(tx, complaint_id), "merchant_answer", actor, body=body, locale=locale)


def assign(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    actor: Actor,
    complaint_id: str,
    assignee: str,
) -> None:
    """Give the complaint to a staff member (an operator or admin of its issuer)."""
    row = load(tx, complaint_id, lock=True)
    _staff_may(actor, row, write=True)
    if row.status == "resolved":
        raise QuanError(COMPLAINT_CLOSED)
    s = staff_users.c
    user = tx.execute(select(s.id, s.role, s.issuer_id, s.active).where(s.id == assignee)).first()
    if user is None or not user.active or user.role not in (Role.ADMIN, Role.OPERATOR):
        raise QuanError(NOT_FOUND, what=f"staff {assignee}")
    if row.issuer_id is not None and user.role == Role.OPERATOR and user.issuer_id != row.issuer_id:
        raise QuanError(NOT_FOUND, what=f"staff {assignee}")
    tx.execute(update(complaints).where(complaints.c.id == row.id).values(assignee=assignee))
    _step(tx, now, keys, row, "assigned", actor, body=None)

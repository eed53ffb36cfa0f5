"""Announcements and targeted notices: write, preview, approve or reject, queue (issue 25, 7).

An operator writes a notice in zh-CN and en to the holders of a program, a batch or a voucher
type, or to a segment (an eligibility rule, compiled to SQL by
:func:`quan.services.issuance.grants.rule_sql`). :func:`preview` counts the recipients per
channel and renders the text without writing anything. :func:`create` writes it: at or under
``threshold`` recipients it is queued at once; above, it waits for a second person
(:func:`approve`, :func:`reject` with a reason; the writer can never approve their own).

Queueing is one ``INSERT … SELECT`` into ``announcement_recipients`` (the primary key keeps one
row per citizen); the ``announcements`` job (:mod:`.announcement_release`) hands them to the
sealed outbox at the configured rate. A public notice shows on the program's disclosure page
from the moment it is queued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from quan.domain.auth import Actor, require_issuer
from quan.domain.citizens import local_date
from quan.domain.eligibility import rule_to_json
from quan.domain.eligibility_json import parse_rule
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.notices import (
    ANNOUNCEMENT_NOT_PENDING,
    AUDIENCE_NOT_IN_PROGRAM,
    AUDIENCE_REF_REQUIRED,
    NO_RECIPIENTS,
    REJECTION_REASON_REQUIRED,
    SEGMENT_NOT_COMPILABLE,
    SELF_APPROVAL,
    Audience,
    needs_approval,
    sms_text,
)
from quan.services.issuance.grants import rule_sql
from quan.services.money import programs
from quan.store.citizen_tables import citizens
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.notify_tables import announcement_recipients, announcements
from quan.store.voucher_tables import batches, voucher_types, vouchers


@dataclass(frozen=True, slots=True)
class Draft:
    program_id: str
    audience: Audience
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    audience_ref: str | None = None  # the batch or voucher type
    segment: Any = None  # the segment's eligibility rule (JSON), for audience "segment"
    public: bool = False


@dataclass(frozen=True, slots=True)
class Preview:
    recipients: int
    by_channel: dict[str, int]  # sms: has a phone; none: registered without one
    text_zh: str
    text_en: str
    needs_approval: bool


@dataclass(frozen=True, slots=True)
class Announcement:
    id: str
    program_id: str
    audience: str
    audience_ref: str | None
    segment: Any
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    public: bool
    status: str
    recipients: int
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    reject_reason: str | None
    queued: int
    released: int
    published_at: datetime | None
    sent_at: datetime | None
    created_at: datetime


def from_row(row: Any) -> Announcement:
    m = row._mapping
    return Announcement(
        **{f: m[f] for f in Announcement.__dataclass_fields__ if f not in ("segment",)},
        segment=json.loads(m["segment"]) if m["segment"] else None,
    )


def _audience(tx: Connection, now: datetime, draft: Draft) -> ColumnElement[bool]:
    """The condition on ``citizens`` that picks the draft's recipients."""
    program = programs.get_program(tx, draft.program_id)
    if draft.audience == "segment":
        if draft.segment is None:
            raise QuanError(AUDIENCE_REF_REQUIRED)
        condition, residual = rule_sql(parse_rule(draft.segment), local_date(now, program.timezone))
        if residual is not None:
            raise QuanError(SEGMENT_NOT_COMPILABLE)
        return condition if condition is not None else literal(True)
    held = (vouchers.c.citizen_id == citizens.c.id) & (vouchers.c.program_id == program.id)
    if draft.audience == "batch":
        if not draft.audience_ref:
            raise QuanError(AUDIENCE_REF_REQUIRED)
        owner = tx.execute(
            select(batches.c.program_id).where(batches.c.id == draft.audience_ref)
        ).scalar()
        if owner != program.id:
            raise QuanError(AUDIENCE_NOT_IN_PROGRAM)
        held = held & (vouchers.c.batch_id == draft.audience_ref)
    elif draft.audience == "voucher_type":
        if not draft.audience_ref:
            raise QuanError(AUDIENCE_REF_REQUIRED)
        owner = tx.execute(
            select(voucher_types.c.program_id).where(voucher_types.c.id == draft.audience_ref)
        ).scalar()
        if owner != program.id:
            raise QuanError(AUDIENCE_NOT_IN_PROGRAM)
        held = held & (vouchers.c.voucher_type_id == draft.audience_ref)
    return exists(select(vouchers.c.id).where(held))


def _channel() -> ColumnElement[str]:
    return case((citizens.c.phone_enc.is_not(None), "sms"), else_="none")


def preview(
    tx: Connection, now: datetime, actor: Actor, draft: Draft, *, threshold: int
) -> Preview:
    """How many would receive the notice, per channel, and its text in both languages."""
    program = programs.get_program(tx, draft.program_id)
    require_issuer(actor, program.issuer_id)
    condition = _audience(tx, now, draft)
    channel = _channel().label("channel")
    by_channel = {"sms": 0, "none": 0}
    for name, count in tx.execute(select(channel, func.count()).where(condition).group_by(channel)):
        by_channel[name] = int(count)
    total = sum(by_channel.values())
    return Preview(
        recipients=total,
        by_channel=by_channel,
        text_zh=sms_text("zh-CN", draft.title_zh, draft.body_zh),
        text_en=sms_text("en", draft.title_en, draft.body_en),
        needs_approval=needs_approval(total, threshold),
    )


def create(
    tx: Connection,
    now: datetime,
    actor: Actor,
    draft: Draft,
    *,
    threshold: int,
    idempotency_key: str | None = None,
) -> Announcement:
    """Write the notice: queued now, or waiting for approval above ``threshold`` recipients.

    The same writer with the same ``idempotency_key`` gets the first answer back (a unique key
    in the database, so two racing submissions write one notice)."""
    if idempotency_key is not None:
        found = _by_key(tx, actor, idempotency_key)
        if found is not None:
            return found
    seen = preview(tx, now, actor, draft, threshold=threshold)
    if seen.recipients == 0:
        raise QuanError(NO_RECIPIENTS)
    announcement_id = new_id("ann")
    values = {
        "id": announcement_id,
        "program_id": draft.program_id,
        "audience": draft.audience,
        "audience_ref": draft.audience_ref if draft.audience != "segment" else None,
        "segment": json.dumps(rule_to_json(parse_rule(draft.segment)))
        if draft.audience == "segment"
        else None,
        "title_zh": draft.title_zh,
        "title_en": draft.title_en,
        "body_zh": draft.body_zh,
        "body_en": draft.body_en,
        "public": draft.public,
        "status": "pending_approval",
        "recipients": seen.recipients,
        "requested_by": actor.label,
        "idempotency_key": idempotency_key,
        "queued": 0,
        "released": 0,
        "created_at": now,
    }
    try:
        with tx.begin_nested():
            tx.execute(insert(announcements).values(**values))
    except IntegrityError:
        found = _by_key(tx, actor, idempotency_key) if idempotency_key else None
        if found is None:
            raise
        return found
    record_event(
        tx,
        type="announcement.requested",
        actor=actor,
        subject_type="announcement",
        subject_id=announcement_id,
        program_id=draft.program_id,
        at=now,
        payload={
            "audience": draft.audience,
            "recipients": seen.recipients,
            "public": draft.public,
            "needs_approval": seen.needs_approval,
        },
    )
    if not seen.needs_approval:
        _queue(tx, now, actor, announcement_id)
    return get(tx, announcement_id)


def _by_key(tx: Connection, actor: Actor, key: str) -> Announcement | None:
    row = tx.execute(
        select(announcements).where(
            announcements.c.requested_by == actor.label,
            announcements.c.idempotency_key == key,
        )
    ).first()
    return from_row(row) if row is not None else None


def get(tx: Connection, announcement_id: str, *, for_update: bool = False) -> Announcement:
    query = select(announcements).where(announcements.c.id == announcement_id)
    if for_update:
        query = query.with_for_update()
    row = tx.execute(query).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"announcement {announcement_id}")
    return from_row(row)


def _pending(tx: Connection, actor: Actor, announcement_id: str) -> Announcement:
    found = get(tx, announcement_id, for_update=True)
    require_issuer(actor, programs.get_program(tx, found.program_id).issuer_id)
    if found.status != "pending_approval":
        raise QuanError(ANNOUNCEMENT_NOT_PENDING, announcement_status=found.status)
    if found.requested_by == actor.label:
        raise QuanError(SELF_APPROVAL)
    return found


def _decide(
    tx: Connection, now: datetime, actor: Actor, announcement_id: str, values: dict[str, Any]
) -> None:
    """The decision, written only if the notice is still pending (a racing decision loses)."""
    done = tx.execute(
        update(announcements)
        .where(
            announcements.c.id == announcement_id,
            announcements.c.status == "pending_approval",
        )
        .values(decided_by=actor.label, decided_at=now, **values)
    ).rowcount
    if done != 1:
        current = get(tx, announcement_id).status
        raise QuanError(ANNOUNCEMENT_NOT_PENDING, announcement_status=current)


def approve(tx: Connection, now: datetime, actor: Actor, announcement_id: str) -> Announcement:
    """A second person approves a mass notice: it is queued."""
    found = _pending(tx, actor, announcement_id)
    _decide(tx, now, actor, announcement_id, {"status": "sending"})
    record_event(
        tx,
        type="announcement.approved",
        actor=actor,
        subject_type="announcement",
        subject_id=announcement_id,
        program_id=found.program_id,
        at=now,
        payload={"requested_by": found.requested_by},
    )
    _queue(tx, now, actor, announcement_id)
    return get(tx, announcement_id)


def reject(
    tx: Connection, now: datetime, actor: Actor, announcement_id: str, reason: str
) -> Announcement:
    """A second person refuses a mass notice, saying why (the writer sees the reason)."""
    reason = reason.strip()
    if not reason:
        raise QuanError(REJECTION_REASON_REQUIRED)
    found = _pending(tx, actor, announcement_id)
    _decide(tx, now, actor, announcement_id, {"status": "rejected", "reject_reason": reason})
    record_event(
        tx,
        type="announcement.rejected",
        actor=actor,
        subject_type="announcement",
        subject_id=announcement_id,
        program_id=found.program_id,
        at=now,
        payload={"requested_by": found.requested_by, "reason": reason},
    )
    return get(tx, announcement_id)


def _queue(tx: Connection, now: datetime, actor: Actor, announcement_id: str) -> None:
    """Every recipient in one statement; the job releases them to the outbox at its rate."""
    found = get(tx, announcement_id)
    draft = Draft(
        program_id=found.program_id,
        audience=found.audience,  # type: ignore[arg-type]
        audience_ref=found.audience_ref,
        segment=found.segment,
        title_zh=found.title_zh,
        title_en=found.title_en,
        body_zh=found.body_zh,
        body_en=found.body_en,
    )
    chosen = select(literal(announcement_id), citizens.c.id, _channel()).where(
        _audience(tx, now, draft)
    )
    tx.execute(
        insert(announcement_recipients).from_select(
            ["announcement_id", "citizen_id", "channel"], chosen
        )
    )
    # Counted, not the statement's row count (which the PostgreSQL driver does not always say).
    queued = tx.execute(
        select(func.count()).where(announcement_recipients.c.announcement_id == announcement_id)
    ).scalar_one()
    tx.execute(
        update(announcements)
        .where(announcements.c.id == announcement_id)
        .values(status="sending", queued=int(queued), published_at=now)
    )
    record_event(
        tx,
        type="announcement.published",
        actor=actor,
        subject_type="announcement",
        subject_id=announcement_id,
        program_id=found.program_id,
        at=now,
        payload={
            "audience": found.audience,
            "audience_ref": found.audience_ref,
            "recipients": int(queued),
            "public": found.public,
        },
    )

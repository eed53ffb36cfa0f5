"""What the console, the API and the disclosure page read of announcements: lists, the public
notices of a program, and a notice's sending progress (no personal data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from quan.domain.auth import Actor, Role, require_issuer
from quan.services.delivery.announcements import Announcement, from_row, get
from quan.services.money import programs
from quan.store.notify_tables import announcement_recipients, announcements
from quan.store.tables import outbox
from quan.store.tables import programs as programs_table


def for_program(
    tx: Connection, actor: Actor, program_id: str, limit: int = 100
) -> list[Announcement]:
    require_issuer(actor, programs.get_program(tx, program_id).issuer_id)
    rows = tx.execute(
        select(announcements)
        .where(announcements.c.program_id == program_id)
        .order_by(announcements.c.created_at.desc(), announcements.c.id.desc())
        .limit(limit)
    )
    return [from_row(r) for r in rows]


def pending(tx: Connection, actor: Actor, limit: int = 100) -> list[Announcement]:
    """Notices waiting for approval that ``actor`` may decide (an operator: of their issuer)."""
    query = (
        select(announcements)
        .where(announcements.c.status == "pending_approval")
        .order_by(announcements.c.created_at)
        .limit(limit)
    )
    if actor.role == Role.OPERATOR:
        query = query.join(programs_table, programs_table.c.id == announcements.c.program_id)
        query = query.where(programs_table.c.issuer_id == actor.issuer_id)
    return [from_row(r) for r in tx.execute(query)]


def public_for_program(tx: Connection, program_id: str, limit: int = 50) -> list[Announcement]:
    """What the disclosure page shows: public notices that went out, newest first."""
    rows = tx.execute(
        select(announcements)
        .where(
            announcements.c.program_id == program_id,
            announcements.c.public.is_(True),
            announcements.c.status.in_(("sending", "sent")),
        )
        .order_by(announcements.c.published_at.desc(), announcements.c.id.desc())
        .limit(limit)
    )
    return [from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Progress:
    queued: int
    released: int
    waiting: int
    no_channel: int  # recipients without a phone: released without a message
    by_status: dict[str, int]  # the released messages' outbox statuses


def progress(tx: Connection, announcement_id: str) -> Progress:
    found = get(tx, announcement_id)
    r = announcement_recipients.c
    no_channel = tx.execute(
        select(func.count()).where(r.announcement_id == announcement_id, r.channel == "none")
    ).scalar_one()
    by_status = dict.fromkeys(("queued", "sending", "delivered", "failed", "dead"), 0)
    for status, count in tx.execute(
        select(outbox.c.status, func.count())
        .select_from(announcement_recipients.join(outbox, outbox.c.id == r.message_id))
        .where(r.announcement_id == announcement_id)
        .group_by(outbox.c.status)
    ):
        by_status[status] = int(count)
    return Progress(
        queued=found.queued,
        released=found.released,
        waiting=found.queued - found.released,
        no_channel=int(no_channel),
        by_status=by_status,
    )


def visible(tx: Connection, actor: Actor, announcement_id: str) -> Announcement:
    """A notice as staff may read it: operators those of their issuer's programs."""
    found = get(tx, announcement_id)
    require_issuer(actor, programs.get_program(tx, found.program_id).issuer_id)
    return found

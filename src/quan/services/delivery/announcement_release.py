"""The ``announcements`` job: hand queued recipients to the sealed outbox at a steady rate.

A city-wide notice is queued as one set of rows (:mod:`.announcements`); this job, run each
second by one worker at a time (its lease), takes at most ``rate`` of them per run, oldest
notice first, and for each opens the citizen's phone and seals one message into the outbox
(kind ``announcement.notice``). The relay then sends them as any other message, so a provider
never sees more than ``rate`` new notices a second on top of the platform's own traffic.

Each recipient row is claimed by a conditional ``UPDATE … WHERE released_at IS NULL`` before its
message is written, in the same transaction: a row is released at most once, so each citizen
gets one message per notice. Recipients without a phone are released without a message (the
progress counts them). When nothing waits, the notice is ``sent``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select, update

from quan.channels import outbox
from quan.domain.auth import SYSTEM
from quan.domain.notices import sms_text
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys, sealing_aad
from quan.store.citizen_tables import citizens
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.notify_tables import announcement_recipients, announcements

KIND = "announcement.notice"


def release(db: Database, now: datetime, keys: CitizenKeys, *, rate: int, locale: str) -> int:
    """Release up to ``rate`` recipients; how many were released."""
    done = 0
    with db.write() as tx:
        sending = tx.execute(
            select(announcements)
            .where(announcements.c.status == "sending")
            .order_by(announcements.c.published_at, announcements.c.id)
            .limit(20)
        ).all()
        for notice in sending:
            if done >= rate:
                break
            released = _release_some(tx, now, keys, notice, rate - done, locale)
            done += released
            # Finished only when nothing waits: a run whose rows a racing run took released
            # none, yet more may wait beyond its budget.
            if _waiting(tx, notice.id) == 0:
                _finish(tx, now, notice)
    return done


def _waiting(tx: Connection, announcement_id: str) -> int:
    r = announcement_recipients.c
    return int(
        tx.execute(
            select(func.count()).where(
                r.announcement_id == announcement_id, r.released_at.is_(None)
            )
        ).scalar_one()
    )


def _release_some(
    tx: Connection, now: datetime, keys: CitizenKeys, notice: object, budget: int, locale: str
) -> int:
    n = notice._mapping  # type: ignore[attr-defined]
    r = announcement_recipients.c
    rows = tx.execute(
        select(r.citizen_id, r.channel, citizens.c.phone_enc)
        .select_from(announcement_recipients.join(citizens, citizens.c.id == r.citizen_id))
        .where(r.announcement_id == n["id"], r.released_at.is_(None))
        .order_by(r.citizen_id)
        .limit(budget)
    ).all()
    title, body = (n["title_en"], n["body_en"]) if locale == "en" else (n["title_zh"], n["body_zh"])
    params = {"title": title, "body": body}
    released = 0
    for row in rows:
        claimed = tx.execute(
            update(announcement_recipients)
            .where(
                r.announcement_id == n["id"],
                r.citizen_id == row.citizen_id,
                r.released_at.is_(None),
            )
            .values(released_at=now)
        ).rowcount
        if claimed != 1:
            continue
        released += 1
        if row.channel != "sms" or row.phone_enc is None:
            continue  # no phone (or it was removed since): counted, nothing to send
        phone = pii.decrypt(keys.sealing, row.phone_enc, sealing_aad(row.citizen_id, "phone"))
        message_id = outbox.enqueue(
            tx,
            now,
            keys.outbox,
            channel="sms",
            recipient=phone,
            subject=KIND,
            body=sms_text(locale, title, body),
            params=params,
        )
        tx.execute(
            update(announcement_recipients)
            .where(r.announcement_id == n["id"], r.citizen_id == row.citizen_id)
            .values(message_id=message_id)
        )
    if released:
        tx.execute(
            update(announcements)
            .where(announcements.c.id == n["id"])
            .values(released=announcements.c.released + released)
        )
    return released


def _finish(tx: Connection, now: datetime, notice: object) -> None:
    n = notice._mapping  # type: ignore[attr-defined]
    finished = tx.execute(
        update(announcements)
        .where(announcements.c.id == n["id"], announcements.c.status == "sending")
        .values(status="sent", sent_at=now)
    ).rowcount
    if finished:
        record_event(
            tx,
            type="announcement.sent",
            actor=SYSTEM,
            subject_type="announcement",
            subject_id=n["id"],
            program_id=n["program_id"],
            at=now,
            payload={"queued": n["queued"]},
        )

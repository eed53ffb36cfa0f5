"""quan-lottery-v2's close and beacon (摇号公开随机值): what the draw's seed mixes in.

* Registration takes the batch's registration lock shared (:func:`lock_registrations`); recording
  the beacon takes it exclusively, so it waits for every registration still in flight, and a
  registration that gets the lock after it sees the beacon and is refused: once the beacon is
  recorded no registration of the batch can be added.
* The close checkpoint (:func:`close_checkpoint`) is the first signed log checkpoint whose tree
  holds the batch's commitment and every registration event; while one of them still waits for
  the sequencer the beacon is refused (``LOTTERY_CLOSE_NOT_LOGGED``, retry in a moment).
* The beacon is recorded once (a conditional UPDATE), after registration closes, by staff who
  are neither the batch's creator nor whoever made the commitment (maker-checker), with its
  source; the ``lottery.beacon`` event logs it with the close checkpoint and the digest of the
  reserved pools' members, so that the membership, which the registration leaves do not carry,
  is fixed before the seed exists too.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from quan.domain import lottery_v2 as v2
from quan.domain.auth import Actor
from quan.domain.errors import Kind, QuanError, define
from quan.store.events import record_event
from quan.store.log_tables import log_checkpoints, log_entries
from quan.store.lottery_tables import lottery_draws, lottery_registrations
from quan.store.tables import events
from quan.store.voucher_tables import batches

BEACON_SAME_PERSON = define(
    "LOTTERY_BEACON_SAME_PERSON",
    Kind.FORBIDDEN,
    zh="公开随机值须由创建该摇号批次以外的另一名工作人员录入",
    en="The public value must be entered by someone other than whoever created this lottery",
)
BEACON_ALREADY_RECORDED = define(
    "LOTTERY_BEACON_ALREADY_RECORDED",
    Kind.CONFLICT,
    zh="该摇号的公开随机值已经录入",
    en="The public value of this lottery was already entered at {recorded_at}",
)
BEACON_NOT_RECORDED = define(
    "LOTTERY_BEACON_NOT_RECORDED",
    Kind.CONFLICT,
    zh="摇号前须由另一名工作人员在报名截止后录入公开随机值",
    en="Before the draw a second person must enter the public value (after registration closes)",
)
NOT_V2 = define(
    "LOTTERY_NOT_V2",
    Kind.CONFLICT,
    zh="该摇号使用 {algorithm}，没有公开随机值",
    en="This lottery uses {algorithm}, which takes no public value",
)
CLOSE_NOT_LOGGED = define(
    "LOTTERY_CLOSE_NOT_LOGGED",
    Kind.CONFLICT,
    zh="报名记录尚未全部写入透明日志，请稍后重试",
    en="Registrations are still being written to the transparency log; retry in a moment",
)

# PostgreSQL advisory lock namespace of the registration locks (the batch id's CRC-32 is the key;
# two batches sharing one only wait for each other briefly).
_LOCK_SPACE = 0x4C4F5432  # "LOT2"


def lock_registrations(tx: Connection, batch_id: str, *, exclusive: bool) -> None:
    """The batch's registration lock, until the transaction ends (PostgreSQL; SQLite writers are
    serialised by ``BEGIN IMMEDIATE`` already). Shared for a registration, exclusive for the
    close: an advisory lock costs no row write, so registrations do not queue on each other."""
    if tx.dialect.name != "postgresql":
        return
    key = zlib.crc32(batch_id.encode("utf-8")) - (1 << 31)  # into int4
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    tx.exec_driver_sql(f"SELECT {fn}(%(space)s, %(key)s)", {"space": _LOCK_SPACE, "key": key})


@dataclass(frozen=True, slots=True)
class CloseCheckpoint:
    size: int
    root: bytes
    note: str


def close_checkpoint(tx: Connection, batch_id: str) -> CloseCheckpoint:
    """The first signed checkpoint whose tree holds the batch's commitment and registrations."""
    e, le = events.c, log_entries.c
    total, logged, last = tx.execute(
        select(func.count(), func.count(le.log_index), func.max(le.log_index))
        .select_from(events.outerjoin(log_entries, le.event_id == e.id))
        .where(
            e.subject_type == "batch",
            e.subject_id == batch_id,
            e.type.in_((v2.COMMITTED, v2.REGISTERED)),
        )
    ).one()
    if not total or total != logged or last is None:
        raise QuanError(CLOSE_NOT_LOGGED)
    c = log_checkpoints.c
    row = tx.execute(
        select(c.tree_size, c.root_hash, c.note)
        .where(c.tree_size > last)
        .order_by(c.tree_size)
        .limit(1)
    ).first()
    if row is None:
        raise QuanError(CLOSE_NOT_LOGGED)
    return CloseCheckpoint(int(row.tree_size), bytes(row.root_hash), row.note)


def _members(tx: Connection, batch_id: str) -> dict[str, list[str]]:
    r = lottery_registrations.c
    members: dict[str, list[str]] = {}
    rows = tx.execute(select(r.pseudonym, r.groups).where(r.batch_id == batch_id, r.groups != ""))
    for pseudonym, groups in rows:
        for g in groups.split(","):
            members.setdefault(g, []).append(pseudonym)
    return members


def makers(tx: Connection, batch_id: str) -> set[str]:
    """Who created the batch and who made its commitment (actor labels)."""
    created_by = tx.execute(select(batches.c.created_by).where(batches.c.id == batch_id)).scalar()
    e = events.c
    committed = tx.execute(
        select(e.actor).where(
            e.subject_type == "batch", e.subject_id == batch_id, e.type == v2.COMMITTED
        )
    ).scalars()
    return {label for label in (created_by, *committed) if label}


def record_beacon(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    draw_row: Any,
    *,
    value: str,
    source: str,
) -> None:
    """Record the public value (see the module's text); the caller
    (:func:`quan.services.issuance.lottery.record_beacon`) has checked that registration closed,
    and read ``draw_row``, the batch's lottery record."""
    if draw_row.algorithm != v2.ALGORITHM:
        raise QuanError(NOT_V2, algorithm=draw_row.algorithm)
    v2.check_beacon(value, source)
    if actor.label in makers(tx, batch_id):
        raise QuanError(BEACON_SAME_PERSON)
    lock_registrations(tx, batch_id, exclusive=True)
    d = lottery_draws.c
    current = tx.execute(
        select(d.beacon_at, d.drawn_at).where(d.batch_id == batch_id).with_for_update()
    ).one()
    if current.beacon_at is not None:
        raise QuanError(BEACON_ALREADY_RECORDED, recorded_at=current.beacon_at.isoformat())
    close = close_checkpoint(tx, batch_id)
    digest = v2.members_digest(_members(tx, batch_id))
    done = tx.execute(
        update(lottery_draws)
        .where(d.batch_id == batch_id, d.beacon.is_(None))
        .values(
            beacon=value,
            beacon_source=source,
            beacon_by=actor.label,
            beacon_at=now,
            close_size=close.size,
            close_root=close.root,
            close_note=close.note,
        )
    ).rowcount
    if not done:
        raise QuanError(BEACON_ALREADY_RECORDED, recorded_at="")
    record_event(
        tx,
        type=v2.BEACON,
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=draw_row.program_id,
        at=now,
        payload={
            "beacon": value,
            "source": source,
            "close_size": close.size,
            "close_root": close.root.hex(),
            "members_digest": digest,
        },
    )


def draw_seed(draw_row: Any, secret: bytes) -> bytes:
    """The v2 seed of a lottery whose beacon is recorded (refused before)."""
    if draw_row.beacon is None or draw_row.close_root is None:
        raise QuanError(BEACON_NOT_RECORDED)
    return v2.derive_seed(secret, bytes(draw_row.close_root), draw_row.beacon)

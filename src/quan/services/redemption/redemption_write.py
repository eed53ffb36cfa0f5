"""Writing redemptions: the row, its journal entry and its event, one at a time or many in one
statement (PostgreSQL), for :mod:`quan.services.redemption.redeem` and the micro-batches of
:mod:`quan.services.redemption.redemption_many`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Text,
    bindparam,
    cast,
    column,
    exists,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from quan.domain.auth import Actor
from quan.domain.canonical import canonical_json
from quan.domain.ledger import Bucket, JournalEntry, Posting, transfer
from quan.domain.redemption_situation import Applied
from quan.services.redemption.redemption import Redemption, _from_mapping
from quan.services.redemption.redemption_facts import _Loaded
from quan.store import ledger
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import (
    redemptions,
    voucher_deactivations,
)
from quan.store.tables import events, journal_entries, postings
from quan.store.voucher_tables import vouchers


def _record(
    tx: Connection,
    now: datetime,
    actor: Actor,
    loaded: _Loaded,
    applied: Applied,
    terminal_id: str,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> Redemption | None:
    """Write the redemption, its journal entry and its event; ``None`` (nothing written) if the
    voucher is no longer redeemable at the time of the write."""
    row = _redemption_row(now, loaded, applied, terminal_id, channel, order_ref, details)
    redemption = _from_mapping(row)
    entry = _entry(redemption, loaded.batch_id)
    payload = _payload(redemption)
    if tx.dialect.name == "postgresql":
        return redemption if _write_pg(tx, now, actor, row, entry, payload) else None
    taken = tx.execute(
        update(vouchers)
        .where(vouchers.c.id == redemption.voucher_id, vouchers.c.status == "active")
        .values(status="redeemed", status_changed_at=now)
    ).rowcount
    if taken != 1:  # unreachable under the row lock; the status guard makes it harmless anyway
        return None
    tx.execute(insert(redemptions).values(**row))
    ledger.post(
        tx,
        program_id=redemption.program_id,
        entry=entry,
        source_type="redemption",
        source_id=redemption.id,
        memo=_memo(redemption),
        created_by=actor.label,
        at=now,
    )
    record_event(
        tx,
        type="voucher.redeemed",
        actor=actor,
        subject_type="voucher",
        subject_id=redemption.voucher_id,
        program_id=redemption.program_id,
        at=now,
        payload=payload,
    )
    return redemption


def _redemption_row(
    now: datetime,
    loaded: _Loaded,
    applied: Applied,
    terminal_id: str,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> dict[str, Any]:
    s = loaded.situation
    spec = s.voucher.spec
    return {
        "id": new_id("rdm"),
        "program_id": s.program.id,
        "batch_id": loaded.batch_id,
        "voucher_id": s.voucher.id,
        "merchant_id": s.merchant.id,
        "terminal_id": terminal_id,
        "citizen_id": s.voucher.holder_id,
        "channel": channel,
        "category": s.order.category,
        "scene": s.order.scene.value,
        "order_amount_fen": s.order.amount_fen,
        "discount_fen": applied.discount_fen,
        "unit_fen": loaded.unit_fen,
        "min_spend_fen": spec.discount.min_spend_fen,
        "max_per_order": spec.max_per_order,
        "order_ref": order_ref,
        "order_seq": applied.order_seq if order_ref is not None else None,
        "local_day": loaded.local_day,
        "day_seq": loaded.free_day_seq if s.daily_cap is not None else None,
        "details": json.dumps(dict(details), ensure_ascii=False) if details else None,
        "redeemed_at": s.order.at,
        "recorded_at": now,
        "status": "redeemed",
        "reversed_at": None,
    }


def _entry(r: Redemption, batch_id: str) -> JournalEntry:
    return transfer(
        "redemption",
        r.discount_fen,
        Posting(Bucket.RESERVED, 0, batch_id),
        Posting(Bucket.PAYABLE, 0, r.merchant_id),
    )


def _memo(r: Redemption) -> str:
    return f"voucher {r.voucher_id} redeemed at merchant {r.merchant_id}"


def _payload(r: Redemption) -> dict[str, Any]:
    return {
        "redemption_id": r.id,
        "batch_id": r.batch_id,
        "merchant_id": r.merchant_id,
        "terminal_id": r.terminal_id,
        "channel": r.channel,
        "category": r.category,
        "scene": r.scene,
        "order_amount_fen": r.order_amount_fen,
        "discount_fen": r.discount_fen,
        "redeemed_at": r.redeemed_at.isoformat(),
    }


_REDEMPTION_COLUMNS = (
    "id", "program_id", "batch_id", "voucher_id", "merchant_id", "terminal_id", "citizen_id",
    "channel", "category", "scene", "order_amount_fen", "discount_fen", "unit_fen",
    "min_spend_fen", "max_per_order", "order_ref", "order_seq", "local_day", "day_seq",
    "details", "redeemed_at", "recorded_at", "status", "reversed_at",
)  # fmt: skip


_JOURNAL_COLUMNS = (
    "id", "program_id", "kind", "source_type", "source_id", "memo", "created_by", "created_at",
)  # fmt: skip


_EVENT_COLUMNS = (
    "type", "actor", "subject_type", "subject_id", "program_id", "payload", "occurred_at",
)  # fmt: skip


_LEGS = 2  # a redemption's entry: reserved:<batch> → payable:<merchant>


_POSTING_FIELDS = ("bucket", "ref", "amount_fen")


# Every value of one redemption's write (:func:`write_params`), a field of each row of the
# write's JSON array; with the type of the column it goes to.
_FIELDS = {
    **{f"r_{k}": redemptions.c[k].type for k in _REDEMPTION_COLUMNS},
    **{f"j_{k}": journal_entries.c[k].type for k in _JOURNAL_COLUMNS},
    **{f"p{n}_{k}": postings.c[k].type for n in range(_LEGS) for k in _POSTING_FIELDS},
    **{f"e_{k}": events.c[k].type for k in _EVENT_COLUMNS},
}


@lru_cache(maxsize=1)
def write_statement() -> Any:
    """The PostgreSQL write of any number of redemptions in one statement (planned once, not
    once per redemption; one for a redemption alone): the values arrive as one JSON array
    (the driver quotes text arrays element by element, several times slower), one row
    of ``written`` per redemption; each voucher's conditional ``UPDATE`` decides whether its
    redemption, journal entry, postings and event are written. The ids of those written."""
    rows = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), JSONB))
        .table_valued(*[column(name, t) for name, t in _FIELDS.items()])
        .render_derived(name="x", with_types=True)
    )
    written = select(rows).cte("written")
    w = written.c
    v, d = vouchers.c, voucher_deactivations.c
    deactivated = exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None))
    took = (
        update(vouchers)
        .where(v.id == w.r_voucher_id, v.status == "active", ~deactivated)
        .values(
            status="redeemed", status_changed_at=bindparam("v_at", type_=v.status_changed_at.type)
        )
        .returning(v.id)
        .cte("took")
    )
    made = (
        insert(redemptions)
        .from_select(
            list(_REDEMPTION_COLUMNS),
            select(*[w[f"r_{k}"] for k in _REDEMPTION_COLUMNS]).select_from(
                written.join(took, took.c.id == w.r_voucher_id)
            ),
        )
        .returning(redemptions.c.id)
        .cte("made")
    )
    with_made = written.join(made, made.c.id == w.r_id)
    posted = (
        insert(journal_entries)
        .from_select(
            list(_JOURNAL_COLUMNS),
            select(*[w[f"j_{k}"] for k in _JOURNAL_COLUMNS]).select_from(with_made),
        )
        .returning(journal_entries.c.id)
        .cte("posted")
    )
    legs = union_all(
        *[
            select(w.j_id, w.j_program_id, *[w[f"p{n}_{k}"] for k in _POSTING_FIELDS]).select_from(
                written.join(posted, posted.c.id == w.j_id)
            )
            for n in range(_LEGS)
        ]
    )
    legs_done = (
        insert(postings)
        .from_select(["entry_id", "program_id", *_POSTING_FIELDS], legs)
        .returning(postings.c.entry_id)
        .cte("legs")
    )
    evented = (
        insert(events)
        .from_select(
            list(_EVENT_COLUMNS),
            select(*[w[f"e_{k}"] for k in _EVENT_COLUMNS]).select_from(with_made),
        )
        .returning(events.c.id)
        .cte("evented")
    )
    return select(made.c.id).add_cte(legs_done, evented)


def write_rows(tx: Connection, now: datetime, params: Sequence[Mapping[str, Any]]) -> set[str]:
    """PostgreSQL: write the redemptions whose values :func:`write_params` gave, each only if
    its voucher is still active and not deactivated (as this statement's fresh snapshot sees
    it); the ids of the redemptions written."""
    rows = json.dumps([{k: p[k] for k in _FIELDS} for p in params], default=_iso)
    return set(tx.execute(write_statement(), {"rows": rows, "v_at": now}).scalars())


def _write_pg(
    tx: Connection,
    now: datetime,
    actor: Actor,
    row: Mapping[str, Any],
    entry: JournalEntry,
    payload: dict[str, Any],
) -> bool:
    """PostgreSQL: the whole write in one round trip (:func:`write_statement`): the voucher's
    conditional ``UPDATE``, then, only if it took the voucher, the redemption row, its journal
    entry with both postings, and the ``voucher.redeemed`` event. Whether it took it."""
    return bool(write_rows(tx, now, [write_params(now, actor, row, entry, payload)]))


def write_params(
    now: datetime,
    actor: Actor,
    row: Mapping[str, Any],
    entry: JournalEntry,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The bound values of the PostgreSQL write (:func:`write_statement`) of one redemption."""
    assert len(entry.postings) == _LEGS
    params: dict[str, Any] = {"v_id": row["voucher_id"], "v_at": now}
    params.update({f"r_{k}": row[k] for k in _REDEMPTION_COLUMNS})
    journal = {
        "id": new_id("je"),
        "program_id": row["program_id"],
        "kind": entry.kind,
        "source_type": "redemption",
        "source_id": row["id"],
        "memo": f"voucher {row['voucher_id']} redeemed at merchant {row['merchant_id']}",
        "created_by": actor.label,
        "created_at": now,
    }
    params.update({f"j_{k}": value for k, value in journal.items()})
    for n, leg in enumerate(entry.postings):
        params[f"p{n}_bucket"] = leg.bucket.value
        params[f"p{n}_ref"] = leg.ref
        params[f"p{n}_amount_fen"] = leg.amount_fen
    event = {
        "type": "voucher.redeemed",
        "actor": actor.label,
        "subject_type": "voucher",
        "subject_id": row["voucher_id"],
        "program_id": row["program_id"],
        "payload": canonical_json(payload),
        "occurred_at": now,
    }
    params.update({f"e_{k}": value for k, value in event.items()})
    return params


def _iso(value: Any) -> str:
    """JSON for the dates and times of a write (aware datetimes keep their offset)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a redemption's write")

"""Issuing vouchers in bulk: the seam lottery winners and targeted grants go through.

The caller decides who receives (a draw, a segment, an uploaded list) and which pool each takes
from; the functions here enforce what the batch guarantees whatever the caller does. They take
free voucher rows like a single claim does (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a pool
never gives more than it holds, and the per-citizen limit rests on the same unique key
``(batch_id, citizen_id, claim_seq)``: a concurrent issuance that counted the same holdings
fails on it and rolls back whole, to be retried.

Set-based: on PostgreSQL one statement per pool and slice locks the free rows, numbers them,
gives the n-th row to the n-th recipient (``unnest … WITH ORDINALITY``) and writes the
``voucher.issued`` events (one per voucher, as a claim writes one) with ``INSERT … SELECT``; on
SQLite (one writer) the same is an ``executemany`` of the assignment and one of the events.
:func:`issue_many` answers the issued vouchers; :func:`issue_counted` only counts (a grant to a
million citizens needs no million objects back). :meth:`Issuance.assign_selected` takes the
recipients as a query instead (a grant's segment, PostgreSQL): one statement for the whole set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Text, cast, func, insert, literal, select, text, update

from quan.domain.auth import Actor
from quan.domain.batches import BatchStatus
from quan.domain.canonical import canonical_json
from quan.domain.claims import BATCH_NOT_OPEN, Channel
from quan.domain.errors import QuanError
from quan.services.issuance.batches import get_batch
from quan.services.issuance.claim_cache import load_facts
from quan.services.issuance.claims import IssuedVoucher, citizen_actor, issued_from_row
from quan.services.issuance.issued_rows import (
    _ASSIGN,
    _ASSIGN_PG,
    _EVENT_COLUMNS,
    IssueCount,
    IssueReport,
    Recipient,
    _free_ids,
    _held,
)
from quan.store.tables import events
from quan.store.voucher_tables import status_is, vouchers

# Recipients per statement: bounds the arrays sent and the rows one statement locks.
SLICE = 50_000


def issue_many(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    recipients: Sequence[Recipient],
    *,
    channel: Channel,
) -> IssueReport:
    """Give one voucher each to ``recipients``, in bulk, inside the caller's transaction.

    The caller has already decided who receives (a draw, a segment); this enforces what the
    batch guarantees whatever the caller does: the batch is open, a pool gives at most its
    vouchers, a citizen holds at most ``per_citizen_limit``. Answers the issued vouchers in the
    order of ``recipients``.
    """
    issuance = Issuance.start(tx, now, actor, batch_id, channel)
    by_pool, at_limit = issuance.plan(recipients, holding_none=False)
    issued: list[tuple[int, IssuedVoucher]] = []
    unserved: list[tuple[int, Recipient]] = []
    for pool, wanted in by_pool.items():
        given = issuance.assign(pool, [(recipients[i].citizen_id, seq) for i, seq in wanted])
        by_id: dict[str, IssuedVoucher] = {}
        ids = [voucher_id for _, voucher_id in given]
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            rows = tx.execute(select(vouchers).where(vouchers.c.id.in_(chunk))).all()
            by_id.update((row.id, issued_from_row(row)) for row in rows)
        for n, voucher_id in given:
            issued.append((wanted[n][0], by_id[voucher_id]))
        served = {n for n, _ in given}
        unserved.extend((i, recipients[i]) for n, (i, _) in enumerate(wanted) if n not in served)
    issued.sort(key=lambda pair: pair[0])
    unserved.sort(key=lambda pair: pair[0])
    return IssueReport([v for _, v in issued], at_limit, [r for _, r in unserved])


def issue_counted(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    recipients: Sequence[Recipient],
    *,
    channel: Channel,
    holding_none: bool = False,
) -> IssueCount:
    """:func:`issue_many` for large numbers: the same guarantees, counts only.

    ``holding_none``: the caller selected recipients holding no voucher of the batch (in SQL,
    in this transaction), so every claim_seq is 1 and holdings are not counted again; a racing
    issuance to the same citizen still fails on the unique key.
    """
    issuance = Issuance.start(tx, now, actor, batch_id, channel)
    return issuance.count(recipients, holding_none=holding_none)


@dataclass(slots=True)
class Issuance:
    """One issuance into one batch, possibly called with several slices of recipients (a grant
    reading its segment by pages): it remembers, per pool, the last voucher taken, so each
    slice starts after it instead of stepping over the rows this transaction already took
    (on PostgreSQL those stay in the stock index, dead, until vacuum). A row skipped because a
    concurrent claim held it is not revisited by this issuance: at worst a recipient is reported
    ``unserved`` while a voucher is free again, never a voucher given twice."""

    tx: Connection
    now: datetime
    actor: Actor
    batch_id: str
    program_id: str
    channel: Channel
    limit: int
    valid_from: datetime
    valid_until: datetime
    after: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls, tx: Connection, now: datetime, actor: Actor, batch_id: str, channel: Channel
    ) -> Issuance:
        batch = get_batch(tx, batch_id)
        if batch.status is not BatchStatus.OPEN:
            raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
        facts = load_facts(tx, batch_id)
        if tx.dialect.name == "postgresql":
            # Room for the sorts of a slice (row numbers, joins) in memory rather than on disk;
            # LOCAL: this transaction only.
            tx.execute(text("SET LOCAL work_mem = '64MB'"))
        valid_from, valid_until = facts.validity.window_for(now, facts.timezone)
        return cls(
            tx=tx,
            now=now,
            actor=actor,
            batch_id=batch_id,
            program_id=batch.program_id,
            channel=channel,
            limit=batch.rules.per_citizen_limit,
            valid_from=valid_from,
            valid_until=valid_until,
        )

    def count(self, recipients: Sequence[Recipient], *, holding_none: bool) -> IssueCount:
        """Issue to ``recipients`` (see :func:`issue_counted`); counts only."""
        by_pool, at_limit = self.plan(recipients, holding_none=holding_none)
        issued = unserved = 0
        for pool, wanted in by_pool.items():
            for start in range(0, len(wanted), SLICE):
                part = wanted[start : start + SLICE]
                n = self.assign_count(pool, [(recipients[i].citizen_id, seq) for i, seq in part])
                issued += n
                unserved += len(part) - n
        return IssueCount(issued, len(at_limit), unserved)

    def plan(
        self, recipients: Sequence[Recipient], *, holding_none: bool
    ) -> tuple[dict[str, list[tuple[int, int]]], list[str]]:
        """Per pool, ``(index in recipients, claim_seq)`` in order; and who is at the limit."""
        if holding_none:
            held: dict[str, int] = {}
        else:
            held = _held(self.tx, self.batch_id, sorted({r.citizen_id for r in recipients}))
        by_pool: dict[str, list[tuple[int, int]]] = {}
        at_limit: list[str] = []
        for i, recipient in enumerate(recipients):
            seq = held.get(recipient.citizen_id, 0) + 1
            if seq > self.limit:
                at_limit.append(recipient.citizen_id)
                continue
            held[recipient.citizen_id] = seq
            by_pool.setdefault(recipient.pool, []).append((i, seq))
        return by_pool, at_limit

    def assign(self, pool: str, wanted: Sequence[tuple[str, int]]) -> list[tuple[int, str]]:
        """Give the n-th free voucher of ``pool`` to the n-th ``(citizen, seq)``; answers
        ``(n, voucher id)`` for those served (a prefix of ``wanted``), events written."""
        given: list[tuple[int, str]] = []
        for start in range(0, len(wanted), SLICE):
            part = wanted[start : start + SLICE]
            given.extend((start + n, v) for n, v in self._assign(pool, part, answer=True))
        return given

    def assign_count(self, pool: str, wanted: Sequence[tuple[str, int]]) -> int:
        return len(self._assign(pool, wanted, answer=False))

    def assign_selected(self, pool: str, chosen: Select[Any]) -> tuple[int, int]:
        """PostgreSQL: give the n-th free voucher of ``pool`` to the n-th citizen of ``chosen``
        (a query of citizen ids, one column, each holding no voucher of the batch: claim_seq 1)
        in one statement, events written; answers ``(citizens chosen, vouchers given)``.

        The recipients never leave the database, and the batch's vouchers are joined to their
        new holders once for the whole set rather than once per slice of recipients."""
        if self.tx.dialect.name != "postgresql":
            raise NotImplementedError("assign_selected is PostgreSQL's (FOR UPDATE SKIP LOCKED)")
        row = self.tx.execute(self._selected_statement(pool, chosen)).one()
        targeted, given, last = int(row[0]), int(row[1]), row[2]
        if last is not None:
            self.after[pool] = str(last)
        return targeted, given

    def _selected_statement(self, pool: str, chosen: Select[Any]) -> Select[Any]:
        """:data:`_ASSIGN_PG` with the recipients given by a query (see :meth:`assign_selected`)."""
        v = vouchers.c
        picked = chosen.cte("chosen")
        citizen = picked.c[0]
        wanted = select(
            citizen.label("citizen_id"), func.row_number().over(order_by=citizen).label("n")
        ).cte("wanted")
        locked = (
            select(v.id)
            .where(
                v.batch_id == self.batch_id,
                v.pool == pool,
                status_is("unclaimed"),
                v.id > self.after.get(pool, ""),
            )
            .order_by(v.id)
            .limit(select(func.count()).select_from(picked).scalar_subquery())
            .with_for_update(skip_locked=True)
            .cte("locked")
        )
        free = select(locked.c.id, func.row_number().over(order_by=locked.c.id).label("n")).cte(
            "free"
        )
        given = (
            update(vouchers)
            .where(v.id == free.c.id, wanted.c.n == free.c.n, status_is("unclaimed"))
            .values(
                status="active",
                citizen_id=wanted.c.citizen_id,
                claim_seq=1,
                channel=self.channel.value,
                claimed_at=self.now,
                valid_from=self.valid_from,
                valid_until=self.valid_until,
                status_changed_at=self.now,
            )
            .returning(v.id, v.citizen_id, v.claim_seq)
            .cte("given")
        )
        head, mid, tail = self._payload_parts(pool)
        e = events.c
        payload = (
            literal(head, Text)
            + cast(func.to_json(literal("citizen:", Text) + given.c.citizen_id), Text)
            + literal(mid, Text)
            + cast(given.c.claim_seq, Text)
            + literal(tail, Text)
        )
        logged = (
            insert(events)
            .from_select(
                list(_EVENT_COLUMNS),
                select(
                    literal("voucher.issued", Text),
                    literal(self.actor.label, Text),
                    literal("voucher", Text),
                    given.c.id,
                    literal(self.program_id, Text),
                    payload,
                    literal(self.now, e.occurred_at.type),
                ).select_from(given),
            )
            .cte("logged")
        )
        return (
            select(
                select(func.count()).select_from(picked).scalar_subquery(),
                func.count(given.c.id),
                func.max(given.c.id),
            )
            .select_from(given)
            .add_cte(logged)
        )

    def _assign(
        self, pool: str, wanted: Sequence[tuple[str, int]], *, answer: bool
    ) -> list[tuple[int, str]]:
        if not wanted:
            return []
        if self.tx.dialect.name == "postgresql":
            return self._assign_pg(pool, wanted, answer=answer)
        return self._assign_sqlite(pool, wanted)

    def _payload_parts(self, pool: str) -> tuple[str, str, str]:
        """The event payload around its two varying values: ``head ‖ citizen ‖ mid ‖ seq ‖ tail``
        is exactly :func:`issued_payload` (canonical JSON; keys sorted, so citizen precedes
        claim_seq)."""
        marker_citizen, marker_seq = "\u0001citizen\u0001", 987_654_321_987
        whole = canonical_json(
            {
                "batch_id": self.batch_id,
                "pool": pool,
                "claim_seq": marker_seq,
                "channel": self.channel.value,
                "valid_until": self.valid_until.isoformat(),
                "citizen": marker_citizen,
            }
        )
        head, rest = whole.split(canonical_json(marker_citizen))
        mid, tail = rest.split(str(marker_seq))
        return head, mid, tail

    def _assign_pg(
        self, pool: str, wanted: Sequence[tuple[str, int]], *, answer: bool
    ) -> list[tuple[int, str]]:
        head, mid, tail = self._payload_parts(pool)
        rows = self.tx.execute(
            _ASSIGN_PG,
            {
                "batch_id": self.batch_id,
                "pool": pool,
                "k": len(wanted),
                "citizen_ids": [c for c, _ in wanted],
                "seqs": [seq for _, seq in wanted],
                "channel": self.channel.value,
                "now": self.now,
                "valid_from": self.valid_from,
                "valid_until": self.valid_until,
                "actor": self.actor.label,
                "program_id": self.program_id,
                "head": head,
                "mid": mid,
                "tail": tail,
                "answer": answer,
                "after": self.after.get(pool, ""),
            },
        ).all()
        if not answer:
            count, last = int(rows[0][0]), rows[0][1]
            if last is not None:
                self.after[pool] = str(last)
            return [(0, "")] * count
        given = sorted((int(n) - 1, str(voucher_id)) for n, voucher_id in rows)
        if given:
            self.after[pool] = max(voucher_id for _, voucher_id in given)
        return given

    def _assign_sqlite(self, pool: str, wanted: Sequence[tuple[str, int]]) -> list[tuple[int, str]]:
        ids = _free_ids(self.tx, self.batch_id, pool, len(wanted))
        if not ids:
            return []
        pairs = list(zip(ids, wanted, strict=False))
        self.tx.execute(
            _ASSIGN,
            [
                {
                    "b_id": voucher_id,
                    "b_citizen_id": citizen_id,
                    "b_claim_seq": seq,
                    "b_channel": self.channel.value,
                    "b_now": self.now,
                    "b_valid_from": self.valid_from,
                    "b_valid_until": self.valid_until,
                }
                for voucher_id, (citizen_id, seq) in pairs
            ],
        )
        head, mid, tail = self._payload_parts(pool)
        self.tx.execute(
            insert(events),
            [
                {
                    "type": "voucher.issued",
                    "actor": self.actor.label,
                    "subject_type": "voucher",
                    "subject_id": voucher_id,
                    "program_id": self.program_id,
                    "payload": head
                    + canonical_json(citizen_actor(citizen_id).label)
                    + mid
                    + str(seq)
                    + tail,
                    "occurred_at": self.now,
                }
                for voucher_id, (citizen_id, seq) in pairs
            ],
        )
        return [(n, voucher_id) for n, (voucher_id, _) in enumerate(pairs)]

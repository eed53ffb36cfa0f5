"""The draw: refused before registration closes and twice; reveals the seed, draws (in SQL on
PostgreSQL, :mod:`~quan.services.issuance.lottery_draw_pg`; in Python elsewhere), issues the
winners' vouchers and records them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Text, bindparam, func, select, update

from quan.config import Settings
from quan.domain import lottery as algo
from quan.domain import lottery_v2 as v2
from quan.domain.auth import Actor
from quan.domain.batches import GENERAL, BatchStatus
from quan.domain.canonical import canonical_json
from quan.domain.claims import BATCH_NOT_OPEN, Channel
from quan.domain.errors import QuanError
from quan.services.issuance import lottery_v2
from quan.services.issuance.batches import Batch
from quan.services.issuance.issued_rows import IssueCount, Recipient
from quan.services.issuance.issuing import Issuance, issue_counted
from quan.services.issuance.lottery import (
    ALREADY_DRAWN,
    REGISTRATION_STILL_OPEN,
    PublicLottery,
    _lottery_batch,
    _planned_pools,
    ensure_lottery,
    public_lottery,
)
from quan.services.issuance.lottery_commitment import seed_key
from quan.services.issuance.lottery_draw_pg import _draw_in_postgres
from quan.services.issuance.lottery_pools import (
    READ_PAGE,
    _citizens,
    _Drawn,
    _members,
    _on_postgres,
    _record_winners,
    plan_pools_streamed,
)
from quan.services.people import pii
from quan.store.events import record_event
from quan.store.lottery_tables import lottery_draws, lottery_registrations


@dataclass(frozen=True, slots=True)
class DrawOutcome:
    lottery: PublicLottery
    issued: int
    unserved: int


def draw(
    tx: Connection, now: datetime, settings: Settings, actor: Actor, batch_id: str
) -> DrawOutcome:
    """Reveal the seed and draw (once: a conditional UPDATE decides between racing draws).

    PostgreSQL computes the scores (:func:`_draw_in_postgres`); elsewhere one streaming pass in
    Python does (:func:`_draw_in_python`). Only the winners are written (``lottery_winners``, a
    statement per pool); a registrant without a row there has lost. The winners' vouchers are
    issued set-based (:func:`_issue`).
    """
    batch = _lottery_batch(tx, batch_id, for_update=True)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    row = ensure_lottery(tx, now, settings, batch)
    if row.drawn_at is not None:
        raise QuanError(ALREADY_DRAWN, drawn_at=row.drawn_at.isoformat())
    if now < batch.rules.claim_closes_at:
        raise QuanError(REGISTRATION_STILL_OPEN, closes_at=batch.rules.claim_closes_at.isoformat())
    sealed = bytes.fromhex(pii.decrypt(seed_key(settings), row.seed_sealed, batch_id))
    if algo.commitment(sealed) != row.commitment:
        raise RuntimeError("the sealed seed does not match the published commitment")
    v2_secret = sealed if row.algorithm == v2.ALGORITHM else None
    # v2: the secret mixed with the close checkpoint and the beacon (refused without a beacon).
    seed = sealed if v2_secret is None else lottery_v2.draw_seed(row, v2_secret)
    d = lottery_draws.c
    won_race = tx.execute(
        update(lottery_draws)
        .where(d.batch_id == batch_id, d.drawn_at.is_(None))
        .values(drawn_at=now, drawn_by=actor.label)
    ).rowcount
    if not won_race:
        drawn_at = tx.execute(select(d.drawn_at).where(d.batch_id == batch_id)).scalar()
        raise QuanError(ALREADY_DRAWN, drawn_at=drawn_at.isoformat() if drawn_at else "")
    planned = _planned_pools(batch)
    drawn = _draw_in_postgres(tx, batch_id, seed, planned) if _on_postgres(tx) else None
    if drawn is None:
        drawn = _draw_in_python(tx, batch_id, seed, planned)
    published = drawn.published
    _record_winners(tx, batch_id, published)
    winners = [p for pool in published for p in pool["winners"]]
    citizen_of = drawn.citizen_of
    missing = [p for p in winners if p not in citizen_of]
    if missing:
        citizen_of.update(_citizens(tx, batch_id, missing))
    recipients = _recipients(published, citizen_of, batch)
    report = _issue(tx, now, actor, batch_id, recipients)
    tx.execute(
        update(lottery_draws)
        .where(d.batch_id == batch_id)
        .values(
            seed=seed.hex(),
            secret=None if v2_secret is None else v2_secret.hex(),
            registrants_digest=drawn.digest,
            registrants=drawn.count,
            pools=canonical_json(published),
        )
    )
    record_event(
        tx,
        type="lottery.drawn",
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=batch.program_id,
        at=now,
        payload={
            "seed": seed.hex(),
            **({} if v2_secret is None else {"secret": v2_secret.hex(), "algorithm": v2.ALGORITHM}),
            "commitment": row.commitment,
            "registrants_digest": drawn.digest,
            "registrants": drawn.count,
            "winners": len(winners),
            "issued": report.issued,
        },
    )
    lottery = public_lottery(tx, now, settings, batch_id)
    return DrawOutcome(lottery, report.issued, report.unserved + report.at_limit)


def _issue(
    tx: Connection, now: datetime, actor: Actor, batch_id: str, recipients: Sequence[Recipient]
) -> IssueCount:
    """The winners' vouchers (none of them holds one of this batch yet). PostgreSQL: one
    statement per pool they take from (:meth:`Issuance.assign_selected`, the ids sent as one
    text), so the batch's vouchers are joined to their holders once rather than per slice of
    winners; elsewhere slice by slice (:func:`issuing.issue_counted`)."""
    if not _on_postgres(tx):
        return issue_counted(
            tx, now, actor, batch_id, recipients, channel=Channel.LOTTERY, holding_none=True
        )
    by_pool: dict[str, list[str]] = {}
    for recipient in recipients:
        by_pool.setdefault(recipient.pool, []).append(recipient.citizen_id)
    issuance = Issuance.start(tx, now, actor, batch_id, Channel.LOTTERY)
    issued = unserved = 0
    for i, (pool, ids) in enumerate(by_pool.items()):
        joined = ",".join(ids)
        if joined.count(",") != len(ids) - 1:  # ids are generated; a comma would split one
            raise RuntimeError("a citizen id contains a comma")
        chosen = select(func.unnest(func.string_to_array(bindparam(f"ids_{i}", joined, Text), ",")))
        targeted, given = issuance.assign_selected(pool, chosen)
        issued += given
        unserved += targeted - given
    return IssueCount(issued=issued, at_limit=0, unserved=unserved)


def _draw_in_python(
    tx: Connection, batch_id: str, seed: bytes, planned: list[dict[str, Any]]
) -> _Drawn:
    """One streaming pass over the registrants in pseudonym order computes the registrants
    digest and every score (:func:`quan.domain.lottery.draw_streamed`)."""
    r = lottery_registrations.c
    count = int(
        tx.execute(
            select(func.count()).select_from(lottery_registrations).where(r.batch_id == batch_id)
        ).scalar_one()
    )
    members = _members(tx, batch_id, {p["name"] for p in planned if p["reserved"]})
    digests: list[str] = []

    def stream() -> Iterator[algo.Registrant]:
        """The registrants in pseudonym order; the first pass also hashes the digest lines."""
        digest = hashlib.sha256() if not digests else None
        pseudonym = r.pseudonym.collate("C") if _on_postgres(tx) else r.pseudonym
        query = (
            select(r.pseudonym, r.tickets)
            .where(r.batch_id == batch_id)
            .order_by(pseudonym)
            .execution_options(stream_results=True, yield_per=READ_PAGE)
        )
        for page in tx.execute(query).partitions():
            if digest is not None:
                digest.update("".join([f"{p},{t}\n" for p, t in page]).encode("ascii"))
            yield from cast("Sequence[algo.Registrant]", page)  # rows unpack like them
        if digest is not None:
            digests.append(digest.hexdigest())

    published, _ = plan_pools_streamed(planned, stream, count, members, seed)
    return _Drawn(count, digests[0], published, {})


def _recipients(
    published: Sequence[dict[str, Any]], citizen_of: dict[str, str], batch: Batch
) -> list[Recipient]:
    """Reserved winners take from their pool; general winners from ``general``, then from the
    places the reserved pools released (their unused vouchers)."""
    recipients: list[Recipient] = []
    spare: list[str] = []
    for pool in published:
        if pool["reserved"]:
            won = pool["winners"]
            recipients.extend(Recipient(citizen_of[p], pool["name"]) for p in won)
            spare.extend([pool["name"]] * (int(pool["base_k"]) - len(won)))
    for pool in published:
        if not pool["reserved"]:
            base = int(pool["base_k"])
            for i, p in enumerate(pool["winners"]):
                source = GENERAL if i < base else spare[i - base]
                recipients.append(Recipient(citizen_of[p], source))
    return recipients

"""Judging many first-come claims with a few statements: each request's citizen, holdings,
replays and blacklist entries read at once, then every refusal checked in the order
:func:`quan.services.issuance.claims.claim` checks it (for
:mod:`quan.services.issuance.claim_batch`)."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Text,
    bindparam,
    cast,
    exists,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from quan.domain.batches import PROGRAM_NOT_ACTIVE, BatchStatus
from quan.domain.blacklist import refusal
from quan.domain.citizens import priority_groups
from quan.domain.claims import ALREADY_CLAIMED, BATCH_NOT_OPEN, Channel
from quan.domain.eligibility import evaluate
from quan.domain.errors import NOT_FOUND, UNAUTHORIZED, QuanError
from quan.domain.programs import ProgramStatus
from quan.services.idempotency import KEY_REUSED
from quan.services.issuance.claim_cache import ClaimFacts
from quan.services.issuance.claims import ClaimOutcome, issued_from_row
from quan.services.people import blacklist
from quan.services.people.citizens import profile_of
from quan.store.citizen_tables import blacklist_entries, citizens
from quan.store.db import Database
from quan.store.tables import UtcDateTime, programs
from quan.store.voucher_tables import batches, vouchers

# A request's answer: its voucher, its refusal (QuanError), or the database failure that kept
# it from being judged (nothing was written for it).
ClaimResult = ClaimOutcome | Exception


_v, _bl, _c = vouchers.c, blacklist_entries.c, citizens.c
_IDS: Any = bindparam("citizen_ids", expanding=True)


# PostgreSQL: the same facts in one round trip, one row per request (arrays in, unnested).
_r = (
    func.unnest(
        cast(bindparam("citizen_ids"), ARRAY(Text)), cast(bindparam("claim_keys"), ARRAY(Text))
    )
    .table_valued("citizen_id", "claim_key")
    .render_derived(name="r")
)
_mine = vouchers.alias("mine")


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One citizen's request to claim from the batch (already authenticated)."""

    citizen_id: str
    key: str | None = None
    channel: Channel = Channel.APP


@dataclass(slots=True)
class _Claimant:
    index: int
    request: ClaimRequest
    pools: list[str]
    seq: int
    result: ClaimOutcome | None = None
    tried: list[str] = field(default_factory=list)


_STATUS = (
    select(batches.c.status.label("batch_status"), programs.c.status.label("program_status"))
    .select_from(batches.join(programs, programs.c.id == batches.c.program_id))
    .where(batches.c.id == bindparam("batch_id"))
)


_PROFILES = select(
    _c.id, _c.birth_date, _c.region_code, _c.income_group, _c.disabled, _c.disability_grade
).where(_c.id.in_(_IDS))


_HELD = (
    select(_v.citizen_id, func.count().label("held"))
    .where(_v.batch_id == bindparam("batch_id"), _v.citizen_id.in_(_IDS))
    .group_by(_v.citizen_id)
)


_REPLAYS = select(vouchers).where(
    _v.citizen_id.in_(_IDS), _v.claim_key.in_(bindparam("claim_keys", expanding=True))
)


def _blocked(tx: Connection, ids: list[str], now: datetime) -> set[str]:
    rows = tx.execute(
        select(_bl.subject_id)
        .where(_bl.subject_type == "citizen", _bl.subject_id.in_(ids), blacklist.in_force_at(now))
        .distinct()
    )
    return {row.subject_id for row in rows}


@dataclass(slots=True)
class _Look:
    """What the shared transaction read about the batch and each claimant."""

    batch_status: str
    program_status: str
    profiles: dict[str, Any]  # citizen id → row of attributes; absent: no such citizen
    held: dict[str, int]  # vouchers of the batch each citizen holds (absent: none)
    blocked: set[str]  # citizens a blacklist entry bars now
    replays: dict[tuple[str, str], Any]  # (citizen, key) → the voucher row that key claimed


def _look_portable(
    tx: Connection, now: datetime, facts: ClaimFacts, requests: Sequence[ClaimRequest]
) -> _Look:
    """Five small statements (SQLite: calls into this process, no round trips)."""
    ids = [r.citizen_id for r in requests]
    keys = [r.key for r in requests if r.key is not None]
    status = tx.execute(_STATUS, {"batch_id": facts.batch_id}).one()
    replays: dict[tuple[str, str], Any] = {}
    if keys:
        rows = tx.execute(_REPLAYS, {"citizen_ids": ids, "claim_keys": keys})
        replays = {(row.citizen_id, row.claim_key): row for row in rows}
    return _Look(
        batch_status=status.batch_status,
        program_status=status.program_status,
        profiles={row.id: row for row in tx.execute(_PROFILES, {"citizen_ids": ids})},
        held={
            row.citizen_id: int(row.held)
            for row in tx.execute(_HELD, {"batch_id": facts.batch_id, "citizen_ids": ids})
        },
        blocked=_blocked(tx, ids, now),
        replays=replays,
    )


_LOOK_PG = select(
    _r.c.citizen_id,
    _r.c.claim_key,
    _c.id.label("found"),
    _c.birth_date,
    _c.region_code,
    _c.income_group,
    _c.disabled,
    _c.disability_grade,
    select(func.count())
    .select_from(_mine)
    .where(_mine.c.batch_id == bindparam("batch_id"), _mine.c.citizen_id == _r.c.citizen_id)
    .scalar_subquery()
    .label("held"),
    exists()
    .where(
        _bl.subject_type == "citizen",
        _bl.subject_id == _r.c.citizen_id,
        # in_force_at builds SQL comparisons, which take a bind parameter as well as a datetime.
        blacklist.in_force_at(typing.cast(datetime, bindparam("now", type_=UtcDateTime()))),
    )
    .label("blocked"),
    select(_mine.c.id)
    .where(_mine.c.citizen_id == _r.c.citizen_id, _mine.c.claim_key == _r.c.claim_key)
    .scalar_subquery()
    .label("replay_id"),
    _STATUS.with_only_columns(batches.c.status).scalar_subquery().label("batch_status"),
    _STATUS.with_only_columns(programs.c.status).scalar_subquery().label("program_status"),
).select_from(_r.outerjoin(citizens, _c.id == _r.c.citizen_id))


def _look_postgresql(
    tx: Connection, now: datetime, facts: ClaimFacts, requests: Sequence[ClaimRequest]
) -> _Look:
    rows = tx.execute(
        _LOOK_PG,
        {
            "citizen_ids": [r.citizen_id for r in requests],
            "claim_keys": [r.key for r in requests],
            "batch_id": facts.batch_id,
            "now": now,
        },
    ).all()
    replay_ids = [row.replay_id for row in rows if row.replay_id is not None]
    replays: dict[tuple[str, str], Any] = {}
    if replay_ids:  # rare: retries of claims already made
        found = tx.execute(select(vouchers).where(_v.id.in_(replay_ids)))
        replays = {(row.citizen_id, row.claim_key): row for row in found}
    first = rows[0]
    if first.batch_status is None:
        raise QuanError(NOT_FOUND, what=f"batch {facts.batch_id}")
    return _Look(
        batch_status=first.batch_status,
        program_status=first.program_status,
        profiles={row.citizen_id: row for row in rows if row.found is not None},
        held={row.citizen_id: int(row.held) for row in rows},
        blocked={row.citizen_id for row in rows if row.blocked},
        replays=replays,
    )


def _judge(
    tx: Connection,
    now: datetime,
    today: Any,
    facts: ClaimFacts,
    index: int,
    request: ClaimRequest,
    look: _Look,
) -> _Claimant | ClaimOutcome:
    """One request's refusals, in the order :func:`quan.services.issuance.claims.claim` checks
    them."""
    citizen_id = request.citizen_id
    row = look.profiles.get(citizen_id)
    if row is None:
        raise QuanError(UNAUTHORIZED)  # the token's citizen no longer exists
    if request.key is not None:
        replay = look.replays.get((citizen_id, request.key))
        if replay is not None:
            if replay.batch_id != facts.batch_id or replay.channel != request.channel.value:
                raise QuanError(KEY_REUSED)
            return ClaimOutcome(issued_from_row(replay), replayed=True)
    if look.batch_status != BatchStatus.OPEN.value:
        raise QuanError(BATCH_NOT_OPEN, batch_status=look.batch_status)
    if look.program_status != ProgramStatus.ACTIVE.value:
        raise QuanError(PROGRAM_NOT_ACTIVE, program_status=look.program_status)
    profile = profile_of(row)
    pools = facts.rules.pools_for(priority_groups(profile, today), now)
    if citizen_id in look.blocked:
        entry = blacklist.active_block(tx, "citizen", citizen_id, now)
        if entry is not None:  # None: lifted between the two reads, so not barred any more
            raise refusal(entry)
    failure = evaluate(facts.eligibility, profile, today)
    if failure is not None:
        raise failure.error()
    limit = facts.rules.per_citizen_limit
    count = look.held.get(citizen_id, 0)
    if count >= limit:
        raise QuanError(ALREADY_CLAIMED, per_citizen_limit=limit)
    return _Claimant(index=index, request=request, pools=pools, seq=count + 1)


def replays_or_refusal(
    db: Database, facts: ClaimFacts, requests: Sequence[ClaimRequest], refusal: QuanError
) -> list[ClaimResult]:
    """Requests refused without any write (the window is over, the batch is sold out): those
    with an Idempotency-Key that claimed earlier get their voucher back, all in one read."""
    keyed = [r for r in requests if r.key is not None]
    replays: dict[tuple[str, str], Any] = {}
    if keyed:
        with db.lookup() as tx:
            rows = tx.execute(
                _REPLAYS,
                {
                    "citizen_ids": [r.citizen_id for r in keyed],
                    "claim_keys": [r.key for r in keyed],
                },
            )
            replays = {(row.citizen_id, row.claim_key): row for row in rows}
    out: list[ClaimResult] = []
    for request in requests:
        row = replays.get((request.citizen_id, request.key or ""))
        if row is None:
            out.append(QuanError(refusal.spec, **refusal.params))  # one per request
        elif row.batch_id != facts.batch_id or row.channel != request.channel.value:
            out.append(QuanError(KEY_REUSED))
        else:
            out.append(ClaimOutcome(issued_from_row(row), replayed=True))
    return out

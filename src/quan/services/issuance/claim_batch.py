"""First-come claims committed together: many claims of one batch in one transaction.

In a flash round thousands of claims arrive each second. Committing each in its own
transaction makes the database pay one commit (one fsync) and a handful of round trips per
claim; committing the claims that arrived within the same few milliseconds together shares
that cost (a group commit). Each request is still answered only after its claim is durable.

Every guarantee of :mod:`quan.services.issuance.claims` holds, from the same database mechanisms:

- the stock is the pre-generated voucher rows, taken with ``FOR UPDATE SKIP LOCKED``: a
  micro-batch takes ``k`` free rows of a pool in one statement and can never take more rows
  than opening made;
- ``UNIQUE (batch_id, citizen_id, claim_seq)`` and ``UNIQUE (citizen_id, claim_key)`` still
  decide between racing claims of one citizen. Within a micro-batch a citizen's requests are
  judged in rounds, each seeing the one before; across transactions, a lost uniqueness race
  (or a deadlock on those keys) rolls the micro-batch back, which runs once more and then, if
  it loses again, claim by claim through :func:`quan.services.issuance.claims.claim_first_come`:
  slower, but rare (a citizen racing themselves from two processes at the same millisecond);
- a pool is remembered as empty only after the transaction that saw it empty committed.

Refusals are judged per request, in the order and with the codes of
:func:`quan.services.issuance.claims.claim`; a refused request writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Connection,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from quan.clock import Clock
from quan.domain.citizens import local_date
from quan.domain.claims import SOLD_OUT
from quan.domain.errors import UNAUTHORIZED, QuanError
from quan.services.issuance.claim_cache import ClaimCache, ClaimFacts
from quan.services.issuance.claim_judge import (
    ClaimRequest,
    ClaimResult,
    _Claimant,
    _judge,
    _look_portable,
    _look_postgresql,
)
from quan.services.issuance.claim_take import _record_claims, _take_all
from quan.services.issuance.claims import ClaimOutcome, claim_first_come
from quan.store.db import Database


def claim_together(
    db: Database,
    clock: Clock,
    facts: ClaimFacts,
    requests: Sequence[ClaimRequest],
    cache: ClaimCache,
) -> list[ClaimResult]:
    """Judge and make every claim of ``requests`` (one batch) in one transaction; the answer
    for each request, in order.

    A citizen's requests are judged in rounds inside the transaction: the first request of
    each citizen, then the second (which sees the first's voucher, or its key), and so on.
    A lost race with another process's transaction (a unique key, a deadlock) rolls the whole
    transaction back; it runs once more (the other transaction has committed by then, so the
    re-run sees it), and if it loses again every request runs alone.
    """
    rounds = _rounds(requests)
    for _ in range(2):
        results: list[ClaimResult | None] = [None] * len(requests)
        emptied: set[str] = set()
        try:
            with db.write() as tx:
                now = clock.now()
                for indexes in rounds:
                    shared = [requests[i] for i in indexes]
                    answers = _claim_in(tx, now, facts, shared, cache, emptied)
                    for i, answer in zip(indexes, answers, strict=True):
                        results[i] = answer
        except DBAPIError as exc:
            if not _lost_race(exc):
                raise  # nothing was written for any request: each is answered with the error
            continue
        for pool in emptied:
            cache.mark_empty(facts.batch_id, pool)
        return [r for r in results if r is not None]
    return [_alone(db, clock, facts, r, cache) for r in requests]


def _rounds(requests: Sequence[ClaimRequest]) -> list[list[int]]:
    """Request indexes by round: round k holds each citizen's k-th request."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for i, request in enumerate(requests):
        n = seen.get(request.citizen_id, 0)
        seen[request.citizen_id] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds


def _lost_race(exc: DBAPIError) -> bool:
    """A uniqueness race or a deadlock between concurrent transactions."""
    if isinstance(exc, IntegrityError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in ("40P01", "40001")  # deadlock_detected, serialization_failure


def _alone(
    db: Database, clock: Clock, facts: ClaimFacts, request: ClaimRequest, cache: ClaimCache
) -> ClaimResult:
    """One request in its own transaction (the per-claim path); its failure is its answer."""
    try:
        return claim_first_come(
            db,
            clock,
            request.citizen_id,
            facts.batch_id,
            key=request.key,
            channel=request.channel,
            cache=cache,
        )
    except QuanError as error:
        if error.spec.code == "NOT_FOUND":  # the token's citizen does not exist
            return QuanError(UNAUTHORIZED)
        return error
    except Exception as error:  # handed to this request as its answer, not lost
        return error


def _claim_in(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    requests: Sequence[ClaimRequest],
    cache: ClaimCache,
    emptied: set[str],
) -> list[ClaimResult]:
    """The shared transaction: judge every request, then take vouchers pool by pool."""
    if tx.dialect.name == "postgresql":
        look = _look_postgresql(tx, now, facts, requests)
    else:
        look = _look_portable(tx, now, facts, requests)
    claimants: list[_Claimant] = []
    results: list[ClaimResult | None] = [None] * len(requests)
    today = local_date(now, facts.timezone)
    for i, request in enumerate(requests):
        try:
            claimant = _judge(tx, now, today, facts, i, request, look)
        except QuanError as error:
            results[i] = error
            continue
        if isinstance(claimant, ClaimOutcome):
            results[i] = claimant
        else:
            claimants.append(claimant)

    valid_from, valid_until = facts.validity.window_for(now, facts.timezone)
    taken = _take_all(tx, now, facts, claimants, cache, emptied, valid_from, valid_until)
    if tx.dialect.name != "postgresql":  # PostgreSQL recorded them in the claim statement
        _record_claims(tx, now, facts, taken)
    for claimant in claimants:
        results[claimant.index] = claimant.result or QuanError(SOLD_OUT)
    return [r for r in results if r is not None]


# --- taking vouchers for many claimants at once ---------------------------------------------

# (PostgreSQL also writes each claim's ``voucher.claimed`` event in the same statement, with
# the payload :func:`quan.services.issuance.claims.claim_payload` gives, built before the
# statement.)

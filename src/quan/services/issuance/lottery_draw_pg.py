"""The draw on PostgreSQL: every registrant's ticket scored in SQL, the best per pool kept, read a
page at a time (falls back to the portable draw of :mod:`quan.services.issuance.lottery_draw`
when the database cannot)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection

from quan.domain import lottery as algo
from quan.domain.batches import MAX_TICKETS
from quan.domain.errors import QuanError
from quan.services.issuance.lottery_pools import (
    READ_PAGE,
    _Drawn,
    plan_pools_scored,
)

# PostgreSQL scores every registrant in SQL, in parallel workers: score = the least of the
# tickets' SHA-256, one term per ticket up to MAX_TICKETS (LEAST skips the NULL terms of tickets
# a registrant does not hold). A registrant with tickets outside 1..MAX_TICKETS gets the empty
# score, so it sorts first and is always read back: the draw then falls back to Python.
_TICKET_HASH = "sha256(%(seed)s || convert_to(pseudonym, 'UTF8') || decode('{j:08x}', 'hex'))"


_SCORE = (
    "CASE WHEN tickets = 1 THEN "
    + _TICKET_HASH.format(j=0)
    + f" WHEN tickets BETWEEN 2 AND {MAX_TICKETS} THEN LEAST("
    + ", ".join(
        _TICKET_HASH.format(j=0)
        if j == 0
        else f"CASE WHEN tickets > {j} THEN " + _TICKET_HASH.format(j=j) + " END"
        for j in range(MAX_TICKETS)
    )
    + ") ELSE ''::bytea END"
)


# Built from constants only (the values are bound parameters).
_MEMBERS_PG = (
    f"SELECT pseudonym, citizen_id, tickets, groups, {_SCORE} AS score"  # noqa: S608
    " FROM lottery_registrations WHERE batch_id = %(batch_id)s AND groups <> ''"
)


_BEST_PG = (
    f"SELECT pseudonym, citizen_id, tickets, {_SCORE} AS score"  # noqa: S608
    " FROM lottery_registrations WHERE batch_id = %(batch_id)s{bound}"
    ' ORDER BY score, pseudonym COLLATE "C" LIMIT %(keep)s'
)


# The registrant list in the digest's order: an index-only scan of
# ix_lottery_registrations_batch_pseudonym_c once the table is vacuumed, else a sort.
_LIST_PG = (
    "SELECT pseudonym || ',' || tickets || E'\\n' FROM lottery_registrations"
    ' WHERE batch_id = %(batch_id)s ORDER BY pseudonym COLLATE "C"'
)


class _FallBackError(Exception):
    """The registrants hold tickets the SQL scores do not cover: draw in Python instead."""


def _draw_in_postgres(
    tx: Connection, batch_id: str, seed: bytes, planned: list[dict[str, Any]]
) -> _Drawn | None:
    """The draw on PostgreSQL, or None when it must fall back to :func:`_draw_in_python`.

    One read of the registrant list in pseudonym byte order gives the count and the digest
    (:func:`_digest_pg`); the reserved pools' members and their scores
    are read in one statement, the general pool's best ``keep`` in another (a bounded sort in
    parallel workers). Every score is the algorithm's; ``tests/integration/test_lottery.py``
    checks them against :mod:`quan.domain.lottery`.
    """
    raw: Any = tx.connection.driver_connection
    count, digest = _digest_pg(raw, batch_id)
    reserved = {p["name"] for p in planned if p["reserved"]}
    members: dict[str, set[str]] = {name: set() for name in reserved}
    member_keys: dict[str, bytes] = {}
    citizen_of: dict[str, str] = {}
    params: dict[str, Any] = {"batch_id": batch_id, "seed": seed}
    with raw.cursor() as cursor:
        # Room for the bounded sort of up to a few million candidates in memory; this
        # transaction only.
        cursor.execute("SET LOCAL work_mem = '512MB'")
        if reserved:
            for name, citizen, tickets, groups, score in cursor.execute(_MEMBERS_PG, params):
                pools = [g for g in groups.split(",") if g in members]
                if not pools:
                    continue
                if not 1 <= tickets <= MAX_TICKETS:
                    return None
                for g in pools:
                    members[g].add(name)
                member_keys[name] = algo.score_key(bytes(score), name)
                citizen_of[name] = citizen

        def scorer(keep: int, bound: bytes, wanted: frozenset[str]) -> algo.Scores:
            keys: list[bytes] = []
            if keep > 0 and bound:
                accept_all = bound == b"\xff" * len(bound)
                query = _BEST_PG.format(bound="" if accept_all else f" AND {_SCORE} <= %(bound)s")
                # Row by row from the fetched result: a million tuples held at once would keep
                # the garbage collector busy.
                rows = cursor.execute(query, {**params, "bound": bound, "keep": keep})
                for name, citizen, tickets, score in rows:
                    if not 1 <= tickets <= MAX_TICKETS:
                        raise _FallBackError
                    keys.append(algo.score_key(bytes(score), name))
                    citizen_of[name] = citizen
            return algo.Scores(keys, {p: member_keys[p] for p in wanted if p in member_keys})

        try:
            published, _ = plan_pools_scored(planned, count, members, seed, scorer)
        except _FallBackError:
            return None
    return _Drawn(count, digest, published, citizen_of)


def _digest_pg(raw: Any, batch_id: str) -> tuple[int, str]:
    """The registrant count and digest from the list read in the digest's order, its lines made
    by the database and fetched a page at a time (never parsed in Python)."""
    digest = hashlib.sha256()
    count = 0
    with raw.cursor() as cursor:
        # Plan the named cursor for the whole list, not for its first rows (an index scan
        # fetching the table in pseudonym order would be far slower than a sort).
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
    with raw.cursor(name="lottery_registrants") as cursor:
        cursor.execute(_LIST_PG, {"batch_id": batch_id})
        while page := cursor.fetchmany(READ_PAGE):
            text = "".join([line for (line,) in page])
            if not text.isascii() or text.count(",") != len(page):
                raise QuanError(algo.INVALID_LOTTERY_INPUT, reason="pseudonym")
            count += len(page)
            digest.update(text.encode("ascii"))
    return count, digest.hexdigest()

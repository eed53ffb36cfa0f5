"""The lottery's pools planned from its registrants, and what every draw shares: the registrants
read a page at a time, the reserved groups' members, the pseudonyms' citizens and the winners
recorded (:mod:`quan.services.issuance.lottery_draw` draws)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from quan.domain import lottery as algo
from quan.domain.batches import GENERAL
from quan.domain.errors import QuanError
from quan.store.bulk import copy_rows
from quan.store.lottery_tables import lottery_registrations, lottery_winners

_WINNERS_PG = (
    "INSERT INTO lottery_winners (batch_id, pseudonym, pool)"
    " SELECT %(batch_id)s, name, %(pool)s FROM unnest(string_to_array(%(names)s, ',')) AS name"
)


def plan_pools(
    batch_pools: Sequence[dict[str, Any]],
    registrants: Sequence[tuple[str, int, tuple[str, ...]]],
    seed: bytes,
) -> tuple[list[dict[str, Any]], algo.DrawResult]:
    """Draw with reserved pools, release their unfilled places to general and draw again.

    ``batch_pools``: the planned pools (name, reserved, base_k).
    """
    members: dict[str, set[str]] = {p["name"]: set() for p in batch_pools if p["reserved"]}
    for name, _, groups in registrants:
        for g in groups:
            if g in members:
                members[g].add(name)
    entries = [algo.Registrant(p, t) for p, t, _ in registrants]
    return plan_pools_streamed(batch_pools, lambda: entries, len(entries), members, seed)


def plan_pools_streamed(
    batch_pools: Sequence[dict[str, Any]],
    registrants: Callable[[], Iterable[algo.Registrant]],
    count: int,
    members: dict[str, set[str]],
    seed: bytes,
) -> tuple[list[dict[str, Any]], algo.DrawResult]:
    """:func:`plan_pools` over a stream of ``count`` registrants (see
    :func:`quan.domain.lottery.draw_streamed`); ``members``: each reserved pool's pseudonyms."""

    def scan(keep: int, bound: bytes, wanted: frozenset[str]) -> algo.Scores:
        return algo.scan_scores(seed, registrants(), keep, bound, wanted)

    return plan_pools_scored(batch_pools, count, members, seed, scan)


def plan_pools_scored(
    batch_pools: Sequence[dict[str, Any]],
    count: int,
    members: dict[str, set[str]],
    seed: bytes,
    scorer: algo.Scorer,
) -> tuple[list[dict[str, Any]], algo.DrawResult]:
    """:func:`plan_pools` over scores from ``scorer`` (see
    :func:`quan.domain.lottery.draw_scored`); ``members``: each reserved pool's pseudonyms.

    Reserved pools are drawn first and do not depend on the general k: the draw is made with
    the general pool's final k, found from what the reserved pools leave unfilled; a second
    draw happens only when a registrant in several reserved pools makes that count wrong.
    """
    reserved = [
        algo.Pool(p["name"], int(p["base_k"]), frozenset(members.get(p["name"], ())))
        for p in batch_pools
        if p["reserved"]
    ]
    base_general = next(int(p["base_k"]) for p in batch_pools if not p["reserved"])
    unfilled = sum(max(0, pool.k - len(pool.members or ())) for pool in reserved)
    result = algo.draw_scored(
        seed, count, [*reserved, algo.Pool(GENERAL, base_general + unfilled)], scorer
    )
    released = sum(r.unfilled for r in result.pools if r.name != GENERAL)
    if released != unfilled:
        # A registrant in several reserved pools is drawn in the first only: count again.
        result = algo.draw_scored(
            seed, count, [*reserved, algo.Pool(GENERAL, base_general + released)], scorer
        )
        released = sum(r.unfilled for r in result.pools if r.name != GENERAL)
    published = []
    for p in batch_pools:
        won = result.winners(p["name"])
        k = int(p["base_k"]) + (released if not p["reserved"] else 0)
        published.append(
            {
                "name": p["name"],
                "reserved": bool(p["reserved"]),
                "base_k": int(p["base_k"]),
                "k": k,
                "winners": sorted(won),
            }
        )
    return published, result


# Registrants read per round trip of the Python draw's streaming pass.
READ_PAGE = 100_000


@dataclass(slots=True)
class _Drawn:
    """What the draw computed: the registrant count and digest, the published pools, and the
    winners' citizens (``citizen_of``; may hold more than the winners)."""

    count: int
    digest: str
    published: list[dict[str, Any]]
    citizen_of: dict[str, str]


def _on_postgres(tx: Connection) -> bool:
    return tx.dialect.name == "postgresql"


def _members(tx: Connection, batch_id: str, reserved: set[str]) -> dict[str, set[str]]:
    """Each reserved pool's registrants (pseudonyms), from the groups noted at registration."""
    members: dict[str, set[str]] = {name: set() for name in reserved}
    if not reserved:
        return members
    r = lottery_registrations.c
    rows = tx.execute(
        select(r.pseudonym, r.groups)
        .where(r.batch_id == batch_id, r.groups != "")
        .execution_options(stream_results=True, yield_per=READ_PAGE)
    )
    for pseudonym, groups in rows:
        for g in groups.split(","):
            if g in members:
                members[g].add(pseudonym)
    return members


def _citizens(tx: Connection, batch_id: str, names: list[str]) -> dict[str, str]:
    """The citizens of the given registrants (pseudonyms), a slice of names per statement."""
    r = lottery_registrations.c
    found: dict[str, str] = {}
    for start in range(0, len(names), 500):  # SQLite: bound the IN list's parameters
        part = names[start : start + 500]
        rows = tx.execute(
            select(r.pseudonym, r.citizen_id).where(r.batch_id == batch_id, r.pseudonym.in_(part))
        )
        found.update((p, c) for p, c in rows)
    return found


def _record_winners(tx: Connection, batch_id: str, published: Sequence[dict[str, Any]]) -> None:
    """One ``lottery_winners`` row per winner (PostgreSQL: one statement per pool)."""
    if not _on_postgres(tx):
        rows = [(batch_id, p, pool["name"]) for pool in published for p in pool["winners"]]
        copy_rows(tx, lottery_winners, ("batch_id", "pseudonym", "pool"), rows)
        return
    raw: Any = tx.connection.driver_connection
    with raw.cursor() as cursor:
        for pool in published:
            names = pool["winners"]
            if not names:
                continue
            # One text split by the database: binding a million-element array costs more.
            joined = ",".join(names)
            if joined.count(",") != len(names) - 1:
                raise QuanError(algo.INVALID_LOTTERY_INPUT, reason="pseudonym")
            cursor.execute(
                _WINNERS_PG, {"batch_id": batch_id, "pool": pool["name"], "names": joined}
            )

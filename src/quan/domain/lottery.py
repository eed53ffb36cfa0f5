"""The verifiable lottery ``quan-lottery-v1`` (摇号): commitment, pseudonyms, scores and the draw.

This module is the normative algorithm of ``docs/api.md`` in code; anyone holding the published
registrant list, the pools and the revealed seed can rerun :func:`draw` (or :func:`verify_draw`)
and must get the same winners.

1. ``commitment = hex(SHA-256(seed))`` is published before registration closes; seed = 32 bytes.
2. A registrant is ``(pseudonym, tickets)``; ``pseudonym = hex(HMAC-SHA256(program key,
   citizen id)[:16])``. ``registrants_digest`` = hex(SHA-256 of ``pseudonym,tickets\\n`` lines
   sorted by pseudonym).
3. ``score = min over j < tickets of SHA-256(seed ‖ pseudonym ASCII ‖ j as 4-byte big-endian)``,
   read as a 256-bit big-endian integer.
4. Each pool's winners are its k smallest scores, ties broken by the smaller pseudonym. Reserved
   pools are drawn first, among their members, in the order given; whoever is not drawn there
   joins the general pool.

Two points the API text leaves open are fixed here: a registrant who belongs to several reserved
pools competes in each in turn until drawn (so nobody wins twice), and pool members who did not
register are ignored. Unused reserved places are reported (``PoolResult.unfilled``), not moved:
releasing them to the general pool is a batch rule decided before the draw.

:func:`draw_streamed` scores a stream of registrants in Python; :func:`draw_scored` takes the
scores from elsewhere (the service has PostgreSQL hash ten million registrants in SQL) and draws
the pools from them the same way.

Each pseudonym must appear once in the list. :func:`registrants_digest` (computed when
registration closes) refuses duplicates; :func:`draw` does not spend a pass over millions of
entries on it, but refuses a list in which a duplicate would be drawn twice or sits in a reserved
pool. Malformed input raises ``INVALID_LOTTERY_INPUT`` with a ``reason``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from math import isqrt
from typing import NamedTuple

from quan.domain.errors import Kind, QuanError, define

ALGORITHM = "quan-lottery-v1"
SEED_BYTES = 32
MIN_PROGRAM_KEY_BYTES = 16

INVALID_LOTTERY_INPUT = define(
    "INVALID_LOTTERY_INPUT",
    Kind.INVALID,
    zh="摇号数据不符合算法要求",
    en="The lottery data does not meet the algorithm's requirements",
)

# Scores only; tests swap it for a colliding hash to exercise ties, which SHA-256 never produces.
_score_hash = hashlib.sha256
_TICKET_0 = (0).to_bytes(4, "big")
_DIGEST_BYTES = 32


class Registrant(NamedTuple):
    """One line of the public registrant list.

    A named tuple rather than a dataclass: a draw may hold ten million of them, and database rows
    arrive as tuples already.
    """

    pseudonym: str
    tickets: int = 1


@dataclass(frozen=True, slots=True)
class Pool:
    """Places to draw: ``members=None`` is the general pool, otherwise a reserved pool."""

    name: str
    k: int
    members: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class PoolResult:
    name: str
    k: int
    winners: tuple[str, ...]  # pseudonyms, best score first

    @property
    def unfilled(self) -> int:
        return self.k - len(self.winners)


@dataclass(frozen=True, slots=True)
class DrawResult:
    algorithm: str
    commitment: str
    pools: tuple[PoolResult, ...]  # in drawing order: reserved pools, then the general pool

    def winners(self, pool: str) -> tuple[str, ...]:
        for result in self.pools:
            if result.name == pool:
                return result.winners
        raise KeyError(pool)

    @property
    def all_winners(self) -> frozenset[str]:
        return frozenset(p for result in self.pools for p in result.winners)


def commitment(seed: bytes) -> str:
    """What the operator publishes before registration closes: hex(SHA-256(seed))."""
    _check_seed(seed)
    return hashlib.sha256(seed).hexdigest()


def pseudonym(program_key: bytes, citizen_id: str) -> str:
    """A citizen's public name in one program's lottery: hex of HMAC-SHA256(key, id)[:16]."""
    # Citizen ids come from a small space (resident ID numbers can be enumerated), so a short
    # key would let anyone reverse the public list; refuse one rather than publish it.
    if len(program_key) < MIN_PROGRAM_KEY_BYTES:
        raise ValueError(f"the program key must have at least {MIN_PROGRAM_KEY_BYTES} bytes")
    mac = hmac.new(program_key, citizen_id.encode("utf-8"), hashlib.sha256).digest()
    return mac[:16].hex()


def registrants_digest(entries: Sequence[Registrant]) -> str:
    """hex(SHA-256) of the ``pseudonym,tickets`` lines sorted by pseudonym; checks every entry."""
    ordered = sorted(entries, key=lambda r: r.pseudonym)
    for before, after in pairwise(ordered):
        if before.pseudonym == after.pseudonym:
            raise QuanError(INVALID_LOTTERY_INPUT, reason="duplicate_pseudonym")
    for entry in ordered:
        _check_registrant(entry)
    text = "".join(f"{p},{t}\n" for p, t in ordered)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def score(seed: bytes, pseudonym: str, tickets: int) -> int:
    """A registrant's score: the smallest of its tickets' hashes, as a 256-bit integer."""
    _check_seed(seed)
    _check_registrant(Registrant(pseudonym, tickets))
    return int.from_bytes(_score_digest(seed, pseudonym.encode("ascii"), tickets), "big")


def draw(seed: bytes, registrants: Sequence[Registrant], pools: Sequence[Pool]) -> DrawResult:
    """Draw every pool; reserved pools first in the given order, then the general pool."""
    return draw_streamed(seed, lambda: registrants, len(registrants), pools)


def draw_streamed(
    seed: bytes,
    registrants: Callable[[], Iterable[Registrant]],
    count: int,
    pools: Sequence[Pool],
) -> DrawResult:
    """:func:`draw` over registrants read as a stream (ten million need not sit in memory).

    ``registrants()`` yields the ``count`` registrants; it is called once, or a second time in
    the rare case the first pass kept too few (see :func:`score_bound`). Same result as
    :func:`draw` over the same list.
    """

    def scan(keep: int, bound: bytes, members: frozenset[str]) -> Scores:
        return scan_scores(seed, registrants(), keep, bound, members)

    return draw_scored(seed, count, pools, scan)


def scan_scores(
    seed: bytes,
    registrants: Iterable[Registrant],
    keep: int,
    bound: bytes,
    members: frozenset[str],
) -> Scores:
    """The :class:`Scores` of a pass over ``registrants`` (the scorer of :func:`draw_streamed`)."""
    return _scan(seed, registrants, keep=keep, bound=bound, members=members)


def draw_scored(seed: bytes, count: int, pools: Sequence[Pool], scorer: Scorer) -> DrawResult:
    """:func:`draw` over scores computed elsewhere (a database can hash the ten million).

    ``scorer(keep, bound, members)`` answers the :class:`Scores` of the ``count`` registrants:
    ``keys`` = the best ``keep`` keys (:func:`score_key`) among those whose score digest is
    <= ``bound`` (all of them if fewer), ``member_keys`` = the key of every registrant named
    in ``members``. It is called once, or a second time with ``bound`` = all when the first
    bound (:func:`score_bound`) admitted too few. Same result as :func:`draw` when the scorer
    follows the algorithm.
    """
    _check_seed(seed)
    _check_pools(pools)
    reserved = [pool for pool in pools if pool.members is not None]
    general = next((pool for pool in pools if pool.members is None), None)
    members: set[str] = set()
    for pool in reserved:
        members.update(pool.members or ())
    # At most this many registrants leave the general pool as reserved winners.
    leaving = min(sum(pool.k for pool in reserved), len(members))
    general_k = general.k if general is not None else 0
    keep = general_k + leaving
    scan = scorer(keep, score_bound(general_k, count, leaving), frozenset(members))
    drawn: set[str] = set()
    results: list[PoolResult] = []
    for pool in reserved:
        entrants = [
            scan.member_keys[p]
            for p in pool.members or ()
            if p in scan.member_keys and p not in drawn
        ]
        winners = _best(entrants, pool.k, drawn)
        drawn.update(winners)
        results.append(PoolResult(pool.name, pool.k, winners))
    if general is not None:
        winners = _best(scan.keys, general_k, drawn)
        if len(winners) < min(general_k, count - len(drawn)):
            # The guess admitted too few (about 6 standard deviations off): scan again, keeping all.
            rescan = scorer(general_k + len(drawn), _ACCEPT_ALL, frozenset())
            winners = _best(rescan.keys, general_k, drawn)
        results.append(PoolResult(general.name, general_k, winners))
    return DrawResult(ALGORITHM, commitment(seed), tuple(results))


# The scan below is the hot path (10 million registrants must draw in seconds): one pass computes
# every score once. Keys are ``digest ‖ pseudonym`` bytes: since every digest is 32 bytes,
# comparing keys as bytes orders by score (big-endian bytes order like the integers) and then by
# pseudonym, which is the rule. Bytes are not tracked by the garbage collector, unlike tuples,
# which matters at this size.

_ACCEPT_ALL = b"\xff" * _DIGEST_BYTES
_ACCEPT_NONE = b""  # every digest compares greater than the empty bytes


@dataclass(slots=True)
class Scores:
    """What a draw needs of the scores (see :func:`draw_scored`)."""

    keys: list[bytes]  # the best keys under the bound: enough to draw the general pool
    member_keys: dict[str, bytes]  # every reserved pool member's key


Scorer = Callable[[int, bytes, frozenset[str]], Scores]


def score_key(digest: bytes, pseudonym: str) -> bytes:
    """A registrant's sort key: its score digest (32 bytes) ‖ its pseudonym (ASCII).

    Keys compare as bytes in the draw's order: by score, then by pseudonym."""
    if len(digest) != _DIGEST_BYTES:
        raise ValueError("a score digest has 32 bytes")
    return digest + pseudonym.encode("ascii")


def score_bound(k: int, registrants: int, leaving: int) -> bytes:
    """A score bound that about k + leaving (+ 6 standard deviations) registrants fall under.

    A registrant with t tickets falls under a bound at least as often as one with a single ticket
    (whose score is uniform). Reserved winners (at most ``leaving``) are counted in full because
    they are biased towards low scores: all of them may sit under the bound. So at least k
    general entrants fall under it unless chance is ~6 standard deviations off; :func:`draw` then
    rescans. Only speed depends on the guess, never the result.
    """
    if k <= 0:
        return _ACCEPT_NONE
    wanted = k + leaving
    if wanted >= registrants:
        return _ACCEPT_ALL
    bound = ((wanted + 6 * isqrt(wanted) + 64) << (8 * _DIGEST_BYTES)) // registrants
    if bound >= 1 << (8 * _DIGEST_BYTES):
        return _ACCEPT_ALL
    return bound.to_bytes(_DIGEST_BYTES, "big")


def _scan(
    seed: bytes,
    registrants: Iterable[Registrant],
    *,
    keep: int,
    bound: bytes,
    members: frozenset[str],
) -> Scores:
    """Score everyone once; keep the keys whose digest <= bound, and every member's key.

    The bound only ever tightens, to the keep-th best digest seen so far: whoever is strictly
    above it already has ``keep`` better entrants, enough for k winners even after the reserved
    winners leave. Entrants equal to it are kept, since their pseudonym may win the tie.
    """
    if keep <= 0:
        bound = _ACCEPT_NONE
    sha256 = _score_hash
    ticket_0 = _TICKET_0
    limit = 2 * keep + 1024  # bounds memory when many tickets push many entrants under the guess
    keys: list[bytes] = []
    member_keys: dict[str, bytes] = {}
    any_members = bool(members)
    try:
        for name, tickets in registrants:
            raw = name.encode("ascii")
            if tickets == 1:
                digest = sha256(seed + raw + ticket_0).digest()
            else:
                _check_tickets(name, tickets)
                digest = _score_digest(seed, raw, tickets)
            if digest <= bound:
                keys.append(digest + raw)
                if len(keys) > limit:
                    keys.sort()
                    del keys[keep:]
                    bound = keys[-1][:_DIGEST_BYTES]
            if any_members and name in members:
                if name in member_keys:
                    raise QuanError(INVALID_LOTTERY_INPUT, reason="duplicate_pseudonym")
                member_keys[name] = digest + raw
    except UnicodeEncodeError:
        raise QuanError(INVALID_LOTTERY_INPUT, reason="pseudonym") from None
    return Scores(keys, member_keys)


def _best(keys: list[bytes], k: int, drawn: set[str]) -> tuple[str, ...]:
    """The pseudonyms of the k best keys, skipping those already drawn (sorts ``keys``)."""
    keys.sort()
    winners: list[str] = []
    taken: set[str] = set()
    for key in keys:
        if len(winners) >= k:
            break
        name = key[_DIGEST_BYTES:].decode("ascii")
        if name in drawn:
            continue
        if name in taken:
            raise QuanError(INVALID_LOTTERY_INPUT, reason="duplicate_pseudonym")
        taken.add(name)
        winners.append(name)
    return tuple(winners)


def _score_digest(seed: bytes, raw_pseudonym: bytes, tickets: int) -> bytes:
    prefix = seed + raw_pseudonym
    return min(_score_hash(prefix + j.to_bytes(4, "big")).digest() for j in range(tickets))


def _check_seed(seed: bytes) -> None:
    if len(seed) != SEED_BYTES:
        raise QuanError(INVALID_LOTTERY_INPUT, reason="seed", expected_bytes=SEED_BYTES)


def _check_registrant(entry: Registrant) -> None:
    name = entry.pseudonym
    # Any printable ASCII without a comma keeps the ``pseudonym,tickets`` lines unambiguous; how
    # pseudonyms are made (hex of an HMAC) is :func:`pseudonym`'s business, not the draw's.
    if not name or not name.isascii() or not name.isprintable() or "," in name:
        raise QuanError(INVALID_LOTTERY_INPUT, reason="pseudonym")
    _check_tickets(name, entry.tickets)


def _check_tickets(name: str, tickets: int) -> None:
    # j is written in 4 bytes, so a registrant can hold at most 2**32 tickets.
    if not 1 <= tickets <= 1 << 32:
        raise QuanError(INVALID_LOTTERY_INPUT, reason="tickets", pseudonym=name)


def _check_pools(pools: Sequence[Pool]) -> None:
    names = [pool.name for pool in pools]
    if len(set(names)) != len(names):
        raise QuanError(INVALID_LOTTERY_INPUT, reason="duplicate_pool")
    if sum(1 for pool in pools if pool.members is None) > 1:
        raise QuanError(INVALID_LOTTERY_INPUT, reason="several_general_pools")
    for pool in pools:
        if pool.k < 0:
            raise QuanError(INVALID_LOTTERY_INPUT, reason="pool_size", pool=pool.name)

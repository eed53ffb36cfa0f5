"""Checking a published draw: recompute it from the revealed seed and the registrants, and name
every difference (for the independent verifier and the draw's own check)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from quan.domain.lottery import Pool, Registrant, commitment, draw, registrants_digest


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way the published outcome differs from the recomputed one.

    ``what`` is ``commitment``, ``registrants_digest``, ``winner`` (then ``expected`` is a
    pseudonym that should have won and ``published`` is None, or the other way round),
    ``duplicate`` (a pseudonym published twice in one pool) or ``pool`` (a pool published but not
    drawn, or drawn but not published).
    """

    what: str
    pool: str | None
    expected: str | None
    published: str | None


def verify_draw(
    published_commitment: str,
    seed: bytes,
    registrants: Sequence[Registrant],
    pools: Sequence[Pool],
    published_winners: Mapping[str, Sequence[str]],
    published_registrants_digest: str | None = None,
) -> list[Mismatch]:
    """Recompute a draw from public data; an empty list means the published outcome is right.

    Winners are compared per pool as sets: who won is the claim, not the order it is listed in.
    """
    mismatches: list[Mismatch] = []
    expected_commitment = commitment(seed)
    if published_commitment.lower() != expected_commitment:
        mismatches.append(Mismatch("commitment", None, expected_commitment, published_commitment))
    if published_registrants_digest is not None:
        expected_digest = registrants_digest(registrants)
        if published_registrants_digest.lower() != expected_digest:
            mismatches.append(
                Mismatch("registrants_digest", None, expected_digest, published_registrants_digest)
            )
    result = draw(seed, registrants, pools)
    for pool in result.pools:
        if pool.name not in published_winners:
            mismatches.append(Mismatch("pool", pool.name, pool.name, None))
        listed = published_winners.get(pool.name, ())
        published = set(listed)
        if len(published) != len(listed):
            repeated = sorted(p for p, n in Counter(listed).items() if n > 1)
            mismatches.extend(Mismatch("duplicate", pool.name, None, p) for p in repeated)
        expected = set(pool.winners)
        mismatches.extend(
            Mismatch("winner", pool.name, p, None) for p in sorted(expected - published)
        )
        mismatches.extend(
            Mismatch("winner", pool.name, None, p) for p in sorted(published - expected)
        )
    drawn_names = {pool.name for pool in result.pools}
    mismatches.extend(
        Mismatch("pool", name, None, name)
        for name in sorted(published_winners)
        if name not in drawn_names
    )
    return mismatches

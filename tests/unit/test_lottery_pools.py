"""The service's pool planning (one pass when it can) equals the two-draw rule it implements."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from quan.domain import lottery as algo
from quan.services.issuance.lottery_pools import plan_pools


def two_draws(
    pools: list[dict[str, Any]], registrants: list[tuple[str, int, tuple[str, ...]]], seed: bytes
) -> dict[str, list[str]]:
    """The rule as written: draw, release the reserved pools' unfilled places, draw again."""
    entries = [algo.Registrant(p, t) for p, t, _ in registrants]
    reserved = [
        algo.Pool(
            p["name"],
            p["base_k"],
            frozenset(name for name, _, groups in registrants if p["name"] in groups),
        )
        for p in pools
        if p["reserved"]
    ]
    general = next(p["base_k"] for p in pools if not p["reserved"])
    first = algo.draw(seed, entries, [*reserved, algo.Pool("general", general)])
    released = sum(r.unfilled for r in first.pools if r.name != "general")
    second = algo.draw(seed, entries, [*reserved, algo.Pool("general", general + released)])
    return {r.name: sorted(r.winners) for r in second.pools}


def test_planning_equals_drawing_twice_with_overlapping_reserved_pools() -> None:
    rng = random.Random(7)
    for case in range(60):
        seed = hashlib.sha256(b"case %d" % case).digest()
        n = rng.randint(0, 60)
        registrants = [
            (
                hashlib.md5(b"%d-%d" % (case, i)).hexdigest(),
                rng.choice((1, 1, 2, 3)),
                tuple(g for g in ("elderly", "disabled") if rng.random() < 0.3),
            )
            for i in range(n)
        ]
        pools = [
            {"name": "elderly", "reserved": True, "base_k": rng.randint(0, 12)},
            {"name": "disabled", "reserved": True, "base_k": rng.randint(0, 12)},
            {"name": "general", "reserved": False, "base_k": rng.randint(0, 30)},
        ]
        published, _ = plan_pools(pools, registrants, seed)
        expected = two_draws(pools, registrants, seed)
        assert {p["name"]: p["winners"] for p in published} == expected, case
        released = sum(p["base_k"] - len(expected[p["name"]]) for p in pools if p["reserved"])
        general = next(p for p in published if p["name"] == "general")
        assert general["k"] == general["base_k"] + released

"""Rules of the ``quan-lottery-v1`` draw, checked against vectors and a naive reference.

The expected values below were computed by the straightforward implementation in this file
(``naive_*``), which follows docs/api.md word for word and shares no code with the module.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quan.domain import lottery
from quan.domain.errors import QuanError
from quan.domain.lottery import (
    ALGORITHM,
    INVALID_LOTTERY_INPUT,
    Pool,
    Registrant,
    commitment,
    draw,
    pseudonym,
    registrants_digest,
    score,
)
from quan.domain.lottery_verify import Mismatch, verify_draw

Hash = Callable[[bytes], bytes]

SEED = bytes(range(32))
PROGRAM_KEY = b"quan-lottery-test-program-key-01"

# Citizen id -> (pseudonym under PROGRAM_KEY, tickets) for the vectors.
CITIZENS = {
    "110105194912310021": ("fda7c43306883c93976158739f5ce024", 1),
    "360426199101010071": ("46da02a8359862babde1a3d078506c25", 1),
    "44011320141005001X": ("e77dddc5dbc96f0eede2979e85a5b174", 3),
    "110111198012010078": ("d00374fed7166b2355a756fd7f7fedef", 1),
    "412723199010050012": ("190b28d6fa667f1c78f2496bad823733", 2),
    "120110199212010072": ("6b1554a948ef6c08ee9a1c08e469ca20", 1),
}
REGISTRANTS = [Registrant(p, t) for p, t in CITIZENS.values()]
A, B, C, D, E, F = (p for p, _ in CITIZENS.values())
# Everyone ranked by score, best first.
RANKING = [A, B, C, F, E, D]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def naive_score(seed: bytes, name: str, tickets: int, hash_: Hash = sha256) -> int:
    return min(
        int.from_bytes(hash_(seed + name.encode("ascii") + j.to_bytes(4, "big")), "big")
        for j in range(tickets)
    )


def naive_draw(
    seed: bytes,
    registrants: Sequence[tuple[str, int]],
    pools: Sequence[Pool],
    hash_: Hash = sha256,
) -> dict[str, list[str]]:
    tickets = dict(registrants)
    drawn: set[str] = set()
    result: dict[str, list[str]] = {}
    ordered = [p for p in pools if p.members is not None] + [p for p in pools if p.members is None]
    for pool in ordered:
        members = tickets.keys() if pool.members is None else pool.members
        entrants = [p for p in members if p in tickets and p not in drawn]
        entrants.sort(key=lambda p: (naive_score(seed, p, tickets[p], hash_), p))
        result[pool.name] = entrants[: pool.k]
        drawn.update(result[pool.name])
    return result


def winners_of(
    seed: bytes, registrants: Sequence[Registrant], pools: Sequence[Pool]
) -> dict[str, list[str]]:
    return {r.name: list(r.winners) for r in draw(seed, registrants, pools).pools}


def reason_for(action: Callable[[], object]) -> str:
    with pytest.raises(QuanError) as caught:
        action()
    assert caught.value.spec is INVALID_LOTTERY_INPUT
    return str(caught.value.params["reason"])


# --- published values -------------------------------------------------------------------------


def test_commitment_is_the_hex_sha256_of_the_seed() -> None:
    assert commitment(SEED) == "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"


def test_seed_must_be_32_bytes() -> None:
    assert reason_for(lambda: commitment(bytes(31))) == "seed"
    assert reason_for(lambda: draw(bytes(33), REGISTRANTS, [Pool("general", 1)])) == "seed"


def test_pseudonym_is_the_hex_of_the_first_16_bytes_of_the_hmac() -> None:
    for citizen, (expected, _) in CITIZENS.items():
        assert pseudonym(PROGRAM_KEY, citizen) == expected
    mac = hmac.new(PROGRAM_KEY, b"110105194912310021", hashlib.sha256).hexdigest()
    assert pseudonym(PROGRAM_KEY, "110105194912310021") == mac[:32]


def test_pseudonyms_differ_between_programs() -> None:
    other_key = b"another-program-key-of-32-bytes!"
    assert pseudonym(other_key, "110105194912310021") != pseudonym(
        PROGRAM_KEY, "110105194912310021"
    )


def test_short_program_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonym(b"short", "110105194912310021")


def test_registrants_digest_vector() -> None:
    expected = "4f15241e232c5726026e4791a51c2c67c9a386508cd294c203c5caef35e6c167"
    assert registrants_digest(REGISTRANTS) == expected
    lines = "".join(f"{p},{t}\n" for p, t in sorted(CITIZENS.values()))
    assert hashlib.sha256(lines.encode()).hexdigest() == expected


def test_registrants_digest_does_not_depend_on_list_order() -> None:
    assert registrants_digest(list(reversed(REGISTRANTS))) == registrants_digest(REGISTRANTS)


def test_registrants_digest_refuses_a_pseudonym_listed_twice() -> None:
    twice = [*REGISTRANTS, Registrant(A, 2)]
    assert reason_for(lambda: registrants_digest(twice)) == "duplicate_pseudonym"


@pytest.mark.parametrize("bad", [Registrant(A, 0), Registrant(A, -1)])
def test_registrants_digest_refuses_fewer_than_one_ticket(bad: Registrant) -> None:
    assert reason_for(lambda: registrants_digest([bad])) == "tickets"


@pytest.mark.parametrize("name", ["", "a,b", "line\nbreak", "假名"])
def test_registrants_digest_refuses_pseudonyms_that_break_the_line_format(name: str) -> None:
    assert reason_for(lambda: registrants_digest([Registrant(name, 1)])) == "pseudonym"


def test_score_vectors() -> None:
    assert score(SEED, A, 1) == 0x0F27F83551FB328E736D01FF990BCE1FC3EAE6673DDF11FFA5923DD273F12D62
    assert score(SEED, C, 3) == 0x59DF74DAAA08147D9B03C0E2B13AC2902D0FED47E2BBE2FB3C14A40D7A45D7DB
    assert score(SEED, E, 2) == 0xBD80F2799321857DB1274EC3BC7F5F8D1DE61981569150CA8D5E153843FADE22


def test_several_tickets_score_the_minimum_over_the_tickets() -> None:
    per_ticket = [
        int.from_bytes(sha256(SEED + C.encode() + j.to_bytes(4, "big")), "big") for j in range(3)
    ]
    assert score(SEED, C, 3) == min(per_ticket)
    assert score(SEED, C, 1) == per_ticket[0]
    assert len(set(per_ticket)) == 3


def test_more_tickets_never_score_worse() -> None:
    scores = [score(SEED, A, tickets) for tickets in range(1, 20)]
    assert scores == sorted(scores, reverse=True)


def test_score_refuses_zero_tickets() -> None:
    assert reason_for(lambda: score(SEED, A, 0)) == "tickets"


# --- the draw ---------------------------------------------------------------------------------


def test_winners_are_the_k_smallest_scores() -> None:
    assert winners_of(SEED, REGISTRANTS, [Pool("general", 6)]) == {"general": RANKING}
    assert winners_of(SEED, REGISTRANTS, [Pool("general", 2)]) == {"general": [A, B]}
    assert naive_draw(SEED, REGISTRANTS, [Pool("general", 6)]) == {"general": RANKING}


def test_draw_result_names_the_algorithm_and_the_commitment() -> None:
    result = draw(SEED, REGISTRANTS, [Pool("general", 2)])
    assert result.algorithm == ALGORITHM == "quan-lottery-v1"
    assert result.commitment == commitment(SEED)
    assert result.winners("general") == (A, B)
    assert result.all_winners == {A, B}
    with pytest.raises(KeyError):
        result.winners("elderly")


def test_reserved_pool_is_drawn_among_its_members_first() -> None:
    # E and D rank last overall, but the elderly pool is theirs alone.
    pools = [Pool("general", 2), Pool("elderly", 1, frozenset({D, E}))]
    result = draw(SEED, REGISTRANTS, pools)
    assert [r.name for r in result.pools] == ["elderly", "general"]
    assert result.winners("elderly") == (E,)
    assert result.winners("general") == (A, B)


def test_reserved_member_not_drawn_joins_the_general_pool() -> None:
    # A and B are the two best scores; the pool has one place, so B competes again in general.
    pools = [Pool("elderly", 1, frozenset({A, B})), Pool("general", 1)]
    assert winners_of(SEED, REGISTRANTS, pools) == {"elderly": [A], "general": [B]}


def test_reserved_winner_does_not_also_take_a_general_place() -> None:
    pools = [Pool("elderly", 1, frozenset({A})), Pool("general", 2)]
    assert winners_of(SEED, REGISTRANTS, pools) == {"elderly": [A], "general": [B, C]}


def test_registrant_in_two_reserved_pools_wins_at_most_once() -> None:
    pools = [
        Pool("elderly", 1, frozenset({A, D})),
        Pool("disabled", 1, frozenset({A, E})),
        Pool("general", 1),
    ]
    assert winners_of(SEED, REGISTRANTS, pools) == {
        "elderly": [A],
        "disabled": [E],
        "general": [B],
    }


def test_pool_members_who_did_not_register_are_ignored() -> None:
    outsider = "0" * 32  # would beat everyone on pseudonym order, but never registered
    pools = [Pool("elderly", 2, frozenset({outsider, D}))]
    result = draw(SEED, REGISTRANTS, pools)
    assert result.winners("elderly") == (D,)
    assert result.pools[0].unfilled == 1


def test_pool_larger_than_its_entrants_takes_them_all_and_reports_unfilled_places() -> None:
    result = draw(SEED, REGISTRANTS, [Pool("general", 10)])
    assert result.winners("general") == tuple(RANKING)
    assert result.pools[0].unfilled == 4


def test_pool_of_zero_places_has_no_winners() -> None:
    assert winners_of(SEED, REGISTRANTS, [Pool("general", 0)]) == {"general": []}


def test_draw_without_a_general_pool_only_draws_reserved_pools() -> None:
    assert winners_of(SEED, REGISTRANTS, [Pool("elderly", 1, frozenset({D, E}))]) == {
        "elderly": [E]
    }


def test_empty_registrant_list_has_no_winners() -> None:
    assert winners_of(SEED, [], [Pool("general", 3)]) == {"general": []}


def test_ties_are_broken_by_the_smaller_pseudonym(monkeypatch: pytest.MonkeyPatch) -> None:
    # SHA-256 never ties in practice, so make every score equal with a constant hash.
    constant = hashlib.sha256(b"tie")
    monkeypatch.setattr(lottery, "_score_hash", lambda _data=b"": constant.copy())
    pools = [Pool("elderly", 1, frozenset({E, D})), Pool("general", 3)]
    # Pseudonym order: E 190b… < B 46da… < F 6b15… < D d003… < C e77d… < A fda7…
    assert winners_of(SEED, REGISTRANTS, pools) == {"elderly": [E], "general": [B, F, D]}
    assert winners_of(SEED, REGISTRANTS, [Pool("general", 6)]) == {
        "general": sorted(p for p, _ in CITIZENS.values())
    }


def test_draw_is_deterministic_and_independent_of_list_order() -> None:
    shuffled = REGISTRANTS.copy()
    random.Random(7).shuffle(shuffled)
    pools = [Pool("elderly", 1, frozenset({D, E})), Pool("general", 3)]
    assert draw(SEED, shuffled, pools) == draw(SEED, REGISTRANTS, pools)


def test_another_seed_draws_other_winners() -> None:
    other = winners_of(bytes(32), REGISTRANTS, [Pool("general", 3)])
    assert other == naive_draw(bytes(32), REGISTRANTS, [Pool("general", 3)])
    assert other != {"general": [A, B, C]}


def test_a_bad_first_guess_costs_time_not_correctness(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lottery, "score_bound", lambda k, registrants, leaving: bytes(32))
    registrants = [Registrant(os.urandom(16).hex(), 1 + i % 3) for i in range(500)]
    pools = [Pool("general", 20)]
    assert winners_of(SEED, registrants, pools) == naive_draw(SEED, registrants, pools)


def test_reserved_winners_do_not_force_a_second_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reserved winners hold low scores, so the general pool's first guess must allow for all of
    # them sitting under it; otherwise every draw with reserved pools would scan twice.
    scans: list[int] = []
    scan = lottery._scan

    def counting(*args: Any, **kwargs: Any) -> Any:
        scans.append(1)
        return scan(*args, **kwargs)

    monkeypatch.setattr(lottery, "_scan", counting)
    generator = random.Random(11)
    registrants = [Registrant(generator.randbytes(16).hex(), 1) for _ in range(20_000)]
    reserved = frozenset(r.pseudonym for r in registrants[:5000])
    pools = [Pool("low_income", 2000, reserved), Pool("general", 2000)]
    assert winners_of(SEED, registrants, pools) == naive_draw(SEED, registrants, pools)
    assert len(scans) == 1


def test_many_entrants_under_the_bound_are_pruned_correctly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Accepting everyone with k = 3 makes the kept list overflow (limit 2k + 1024) and be pruned.
    monkeypatch.setattr(lottery, "score_bound", lambda k, registrants, leaving: b"\xff" * 32)
    registrants = [Registrant(os.urandom(16).hex(), 1 + i % 4) for i in range(5000)]
    pools = [Pool("priority", 2, frozenset(r.pseudonym for r in registrants[:50])), Pool("all", 3)]
    assert winners_of(SEED, registrants, pools) == naive_draw(SEED, registrants, pools)


def test_draw_of_100_000_registrants_matches_the_naive_reference() -> None:
    generator = random.Random(2026)
    registrants = [Registrant(generator.randbytes(16).hex(), 1) for _ in range(100_000)]
    registrants[:1000] = [Registrant(r.pseudonym, 3) for r in registrants[:1000]]
    reserved = frozenset(r.pseudonym for r in registrants[500:2500])
    pools = [Pool("priority", 300, reserved), Pool("general", 10_000)]
    result = draw(SEED, registrants, pools)
    assert [len(r.winners) for r in result.pools] == [300, 10_000]
    assert winners_of(SEED, registrants, pools) == naive_draw(SEED, registrants, pools)


# --- refusing malformed input -----------------------------------------------------------------


def test_draw_refuses_negative_pool_size() -> None:
    assert reason_for(lambda: draw(SEED, REGISTRANTS, [Pool("general", -1)])) == "pool_size"


def test_draw_refuses_two_pools_with_one_name() -> None:
    pools = [Pool("x", 1, frozenset({A})), Pool("x", 1)]
    assert reason_for(lambda: draw(SEED, REGISTRANTS, pools)) == "duplicate_pool"


def test_draw_refuses_two_general_pools() -> None:
    pools = [Pool("a", 1), Pool("b", 1)]
    assert reason_for(lambda: draw(SEED, REGISTRANTS, pools)) == "several_general_pools"


def test_draw_refuses_fewer_than_one_ticket() -> None:
    bad = [*REGISTRANTS, Registrant("f" * 32, 0)]
    assert reason_for(lambda: draw(SEED, bad, [Pool("general", 2)])) == "tickets"


def test_draw_refuses_a_pseudonym_that_is_not_ascii() -> None:
    bad = [*REGISTRANTS, Registrant("假名", 1)]
    assert reason_for(lambda: draw(SEED, bad, [Pool("general", 2)])) == "pseudonym"


def test_draw_refuses_a_duplicate_that_would_win_twice() -> None:
    twice = [*REGISTRANTS, Registrant(A, 1)]
    assert reason_for(lambda: draw(SEED, twice, [Pool("general", 3)])) == "duplicate_pseudonym"


def test_draw_refuses_a_duplicate_in_a_reserved_pool() -> None:
    twice = [*REGISTRANTS, Registrant(D, 2)]
    pools = [Pool("elderly", 1, frozenset({D}))]
    assert reason_for(lambda: draw(SEED, twice, pools)) == "duplicate_pseudonym"


# --- verification -----------------------------------------------------------------------------

POOLS = [Pool("elderly", 1, frozenset({D, E})), Pool("general", 2)]
PUBLISHED = {"elderly": [E], "general": [A, B]}
DIGEST = "4f15241e232c5726026e4791a51c2c67c9a386508cd294c203c5caef35e6c167"


def test_honest_publication_verifies() -> None:
    assert verify_draw(commitment(SEED), SEED, REGISTRANTS, POOLS, PUBLISHED, DIGEST) == []


def test_listing_order_of_published_winners_does_not_matter() -> None:
    published = {"elderly": [E], "general": [B, A]}
    assert verify_draw(commitment(SEED), SEED, REGISTRANTS, POOLS, published) == []


def test_seed_that_does_not_match_the_commitment_is_detected() -> None:
    published_commitment = commitment(bytes(32))
    assert verify_draw(published_commitment, SEED, REGISTRANTS, POOLS, PUBLISHED) == [
        Mismatch("commitment", None, commitment(SEED), published_commitment)
    ]


def test_altered_registrant_list_is_detected_by_its_digest() -> None:
    altered = [*REGISTRANTS[:-1], Registrant(F, 2)]
    mismatches = verify_draw(commitment(SEED), SEED, altered, POOLS, PUBLISHED, DIGEST)
    assert [m.what for m in mismatches] == ["registrants_digest"]


def test_swapped_winner_is_detected_both_ways() -> None:
    published = {"elderly": [E], "general": [A, C]}
    assert verify_draw(commitment(SEED), SEED, REGISTRANTS, POOLS, published) == [
        Mismatch("winner", "general", B, None),
        Mismatch("winner", "general", None, C),
    ]


def test_winner_published_twice_is_detected() -> None:
    published = {"elderly": [E], "general": [A, B, A]}
    assert verify_draw(commitment(SEED), SEED, REGISTRANTS, POOLS, published) == [
        Mismatch("duplicate", "general", None, A)
    ]


def test_missing_and_unknown_pools_are_detected() -> None:
    published = {"general": [A, B], "youth": [C]}
    assert verify_draw(commitment(SEED), SEED, REGISTRANTS, POOLS, published) == [
        Mismatch("pool", "elderly", "elderly", None),
        Mismatch("winner", "elderly", E, None),
        Mismatch("pool", "youth", None, "youth"),
    ]


# --- the module against the naive reference ---------------------------------------------------

names = st.text("0123456789abcdef", min_size=1, max_size=6)


@st.composite
def lotteries(draw_: st.DrawFn) -> tuple[list[Registrant], list[Pool]]:
    people = draw_(st.lists(names, unique=True, max_size=25))
    registrants = [Registrant(p, draw_(st.integers(1, 4))) for p in people]
    candidates = [*people, "zz"]  # "zz" never registers
    pools = [
        Pool(
            f"reserved{i}",
            draw_(st.integers(0, 4)),
            frozenset(draw_(st.lists(st.sampled_from(candidates)))),
        )
        for i in range(draw_(st.integers(0, 3)))
    ]
    if draw_(st.booleans()):
        pools.insert(draw_(st.integers(0, len(pools))), Pool("general", draw_(st.integers(0, 30))))
    return registrants, pools


@settings(max_examples=200)
@given(lotteries(), st.binary(min_size=32, max_size=32))
def test_draw_matches_the_naive_reference(
    case: tuple[list[Registrant], list[Pool]], seed: bytes
) -> None:
    registrants, pools = case
    assert winners_of(seed, registrants, pools) == naive_draw(seed, registrants, pools)


def coarse_hash(data: bytes) -> bytes:
    """Only 8 distinct scores: ties everywhere."""
    return bytes([hashlib.sha256(data).digest()[0] & 0b111]) + bytes(31)


class _Coarse:
    def __init__(self, data: bytes = b"") -> None:
        self._data = data

    def digest(self) -> bytes:
        return coarse_hash(self._data)


@settings(max_examples=100)
@given(lotteries(), st.binary(min_size=32, max_size=32))
def test_draw_with_many_ties_matches_the_naive_reference(
    case: tuple[list[Registrant], list[Pool]], seed: bytes
) -> None:
    registrants, pools = case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lottery, "_score_hash", _Coarse)
        drawn = winners_of(seed, registrants, pools)
    assert drawn == naive_draw(seed, registrants, pools, coarse_hash)


def _like_sql(registrants: Sequence[Registrant], calls: list[tuple[int, bytes]]) -> Any:
    """A scorer that answers as the database does: every key computed, those under the bound
    sorted and cut at ``keep`` (ORDER BY score, pseudonym LIMIT keep), members looked up."""

    def scorer(keep: int, bound: bytes, members: frozenset[str]) -> lottery.Scores:
        calls.append((keep, bound))
        keys = {
            r.pseudonym: lottery.score_key(
                score(SEED, r.pseudonym, r.tickets).to_bytes(32, "big"), r.pseudonym
            )
            for r in registrants
        }
        under = sorted(k for k in keys.values() if k[:32] <= bound)[:keep] if bound else []
        return lottery.Scores(under, {p: keys[p] for p in members if p in keys})

    return scorer


@pytest.mark.parametrize("bad_guess", [False, True])
def test_scores_computed_elsewhere_draw_the_same_winners(
    monkeypatch: pytest.MonkeyPatch, bad_guess: bool
) -> None:
    if bad_guess:  # too tight a bound: the scorer is asked again for everyone
        monkeypatch.setattr(lottery, "score_bound", lambda k, registrants, leaving: bytes(32))
    generator = random.Random(7)
    registrants = [
        Registrant(generator.randbytes(16).hex(), 1 + (i % 4 == 0) * (i % 10)) for i in range(3000)
    ]
    pools = [
        Pool("elderly", 40, frozenset(r.pseudonym for r in registrants[::7])),
        Pool("low_income", 30, frozenset(r.pseudonym for r in registrants[::11])),
        Pool("general", 200),
    ]
    calls: list[tuple[int, bytes]] = []
    result = lottery.draw_scored(SEED, len(registrants), pools, _like_sql(registrants, calls))
    assert {r.name: list(r.winners) for r in result.pools} == naive_draw(SEED, registrants, pools)
    assert len(calls) == (2 if bad_guess else 1)
    assert calls[0][0] == 200 + 70  # the general k plus whoever may leave for reserved pools

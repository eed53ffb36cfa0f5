"""quan-lottery-v2's pure rules: the seed's byte layout, the beacon's acceptable form, the
registration leaf's payload and the reserved pools' members digest."""

from __future__ import annotations

import hashlib

import pytest

from quan.domain import lottery_v2 as v2
from quan.domain.errors import QuanError

SECRET = bytes(range(32))
ROOT = bytes(range(32, 64))


def test_the_seed_hashes_the_tag_the_secret_the_close_root_and_the_beacon_in_that_order() -> None:
    beacon = "上证 3456.78"
    seed = v2.derive_seed(SECRET, ROOT, beacon)
    assert seed == hashlib.sha256(b"quan-lottery-v2" + SECRET + ROOT + beacon.encode()).digest()
    # A fixed vector, so that an outside implementation can check its byte layout.
    assert seed.hex() == "35098e0d66ee3f718ccec3d1bd1b5d9b22136b34b47fb77e56bb206a9fc5cb40"
    assert v2.derive_seed(SECRET, ROOT, beacon + " ") != seed


@pytest.mark.parametrize(
    ("secret", "root"), [(SECRET[:31], ROOT), (SECRET, ROOT[:31]), (SECRET + b"\0", ROOT)]
)
def test_the_seed_needs_32_byte_secret_and_root(secret: bytes, root: bytes) -> None:
    with pytest.raises(QuanError):
        v2.derive_seed(secret, root, "x")


@pytest.mark.parametrize(
    "value",
    ["", " x", "x ", "a\tb", "a\nb", "x" * 257, "13812345678", "someone@example.com",
     "11010519491231002X"],
)
def test_a_beacon_the_log_would_alter_or_that_is_ambiguous_is_refused(value: str) -> None:
    with pytest.raises(QuanError) as refused:
        v2.check_beacon(value, "drand quicknet round 1")
    assert refused.value.code == "INVALID_LOTTERY_BEACON"


def test_a_plain_beacon_and_source_are_accepted() -> None:
    v2.check_beacon("a3f1c9e07d5b2468" * 4, "drand quicknet round 1234567")
    v2.check_beacon("3456.78", "上海证券交易所 2026-12-08 上证指数收盘")


def test_a_registration_payload_has_exactly_the_pseudonym_and_the_tickets() -> None:
    payload = v2.registration_payload("ab" * 16, 2)
    assert payload == {"pseudonym": "ab" * 16, "tickets": 2}
    assert v2.registration_of(payload) == ("ab" * 16, 2)
    assert v2.registration_of({**payload, "groups": ["elderly"]}) is None
    assert v2.registration_of({"pseudonym": "ab", "tickets": True}) is None


def test_the_members_digest_is_the_sorted_pool_pseudonym_lines() -> None:
    digest = v2.members_digest({"elderly": ["bb", "aa"], "disabled": ["cc"]})
    assert digest == hashlib.sha256(b"disabled,cc\nelderly,aa\nelderly,bb\n").hexdigest()
    assert v2.members_digest({}) == hashlib.sha256(b"").hexdigest()

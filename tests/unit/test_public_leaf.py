"""I2: no public leaf carries a stable citizen id, a sensitive attribute or a reason.

Every event type the code can emit is enumerated from the source (literal types, the SQL that
writes events in bulk, and the f-string families expanded over their enums); each must be listed
in :data:`quan.domain.public_leaf.DISCLOSED`, and each one's leaf, given a hostile event (a
citizen actor and subject, every disclosed key holding a citizen id, every never-public key
holding a sensitive value), must come out clean.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from quan.domain.funding import Direction, MovementStatus
from quan.domain.log_leaf import LogEvent, Pseudonymizer, encode_leaf
from quan.domain.lottery import pseudonym as lottery_pseudonym
from quan.domain.programs import ProgramStatus
from quan.domain.pseudonyms import citizen_pseudonym, program_key
from quan.domain.public_leaf import DISCLOSED, NEVER_PUBLIC, PublicView, names_a_citizen
from quan.services.merchants.merchants import _PAST
from quan.services.people import pii
from quan.verify.verifier import check_leaf

SRC = Path(__file__).parents[2] / "src" / "quan"
MASTER = b"m" * 32
KEYS = Pseudonymizer(b"k" * 32, master=MASTER)
CITIZEN = "cit_01m9abcdefghjkmnpqrstvwxyz"
SENSITIVE = ["disabled", "elderly", "low_income", "identity_fraud", "legal_request", "张三"]

_LITERAL = re.compile(
    r"""(?:type=|"type":\s*|literal\(|SELECT\s+)["']([a-z_]+\.[a-z_]+)["']"""
)
_FAMILY = re.compile(r'type=f"([^"]+)"')
FAMILIES = {
    "voucher.{what}": {f"voucher.{w}" for w in ("deactivated", "reactivated")},
    "program.{target.value}": {f"program.{s.value}" for s in ProgramStatus},
    "{cmd.direction.value}.{'requested' if pending else 'recorded'}": {
        f"{d.value}.{x}" for d in Direction for x in ("requested", "recorded")
    },
    "{direction.value}.{status.value}": {
        f"{d.value}.{s.value}"
        for d in Direction
        for s in MovementStatus
        if s is not MovementStatus.PENDING_APPROVAL
    },
    "merchant.{_PAST[decision]}": {f"merchant.{p}" for p in _PAST.values()},
    "staff.{kind}": {f"staff.{k}" for k in ("deactivated", "sessions_revoked", "signed_out")},
}


def emitted_types() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if "bench" in path.parts or path.name == "public_leaf.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "events" not in text and "NewEvent" not in text and "record_event" not in text:
            continue
        found |= set(_LITERAL.findall(text))
        for family in _FAMILY.findall(text):
            assert family in FAMILIES, f"{path.name}: expand the event family {family!r} here"
            found |= FAMILIES[family]
    # Not event types: strings the patterns also catch.
    return {t for t in found if not t.startswith(("quan.", "text.", "application."))}


def test_every_event_type_the_code_emits_has_a_disclosure() -> None:
    types = emitted_types()
    assert len(types) >= 50  # the enumeration found them (a broken pattern finds none)
    assert sorted(types - set(DISCLOSED)) == []


def _hostile(type_: str, program_id: str | None) -> LogEvent:
    payload: dict[str, object] = dict.fromkeys(DISCLOSED.get(type_, ()), CITIZEN)
    payload |= {key: SENSITIVE[i % len(SENSITIVE)] for i, key in enumerate(sorted(NEVER_PUBLIC))}
    payload["nested"] = {"holder": f"citizen:{CITIZEN}", "list": [CITIZEN]}
    return LogEvent(
        7, type_, f"citizen:{CITIZEN}", "citizen", CITIZEN, program_id, payload,
        datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip


@pytest.mark.parametrize("type_", sorted(set(DISCLOSED) | {"some.future_event"}))
@pytest.mark.parametrize("program_id", ["prg_01", None])
def test_no_leaf_carries_a_citizen_id_or_a_never_public_key(
    type_: str, program_id: str | None
) -> None:
    data = encode_leaf(_hostile(type_, program_id), KEYS).data
    text = data.decode()
    assert not names_a_citizen(text)
    assert CITIZEN not in text
    payload = json.loads(text)["payload"]
    assert not set(payload) & NEVER_PUBLIC
    for value in SENSITIVE:
        assert value not in text, value
    check_leaf(0, data)  # and the verifier accepts it


def test_a_citizen_is_one_pseudonym_within_a_program_and_another_in_the_next() -> None:
    view = PublicView(MASTER)
    one = view.citizen(CITIZEN, "prg_a", 1)
    assert one == view.citizen(CITIZEN, "prg_a", 99)
    assert one != view.citizen(CITIZEN, "prg_b", 1)
    assert one != view.citizen("cit_other", "prg_a", 1)
    # Events of no program: a pseudonym per event, linking nothing.
    assert view.citizen(CITIZEN, None, 1) != view.citizen(CITIZEN, None, 2)


def test_the_logs_pseudonym_is_the_lotterys() -> None:
    key = pii.derive_key(MASTER, "lottery/pseudonym/prg_a")
    assert program_key(MASTER, "prg_a") == key
    assert PublicView(MASTER).citizen(CITIZEN, "prg_a", 1) == "citizen:" + lottery_pseudonym(
        key, CITIZEN
    )
    assert citizen_pseudonym(key, CITIZEN) == lottery_pseudonym(key, CITIZEN)


def test_what_an_agent_knows_does_not_give_the_pseudonym() -> None:
    """The pseudonym depends on the server's key: every value an agent can learn (the ID number,
    the citizen id the lookup answers, the phone, the program id) leaves it open."""
    import hashlib
    import hmac

    known = [CITIZEN, "330106196611260123", "13812345678", "prg_a"]
    target = PublicView(MASTER).citizen(CITIZEN, "prg_a", 1).removeprefix("citizen:")
    guesses = {hashlib.sha256(k.encode()).hexdigest()[:32] for k in known}
    guesses |= {
        hmac.new(a.encode(), b.encode(), hashlib.sha256).hexdigest()[:32]
        for a in known for b in known
    }  # fmt: skip
    assert target not in guesses
    assert PublicView(b"n" * 32).citizen(CITIZEN, "prg_a", 1) != "citizen:" + target

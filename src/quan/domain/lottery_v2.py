"""The lottery ``quan-lottery-v2`` (摇号, no one can grind it): what v2 adds to v1.

v1 lets whoever holds the seed (the operator, from the batch's creation) add registrants before the
list is fixed at the draw and so choose who wins. v2 (normative text in ``docs/api.md``) fixes the
list in the transparency log before the seed means anything, and mixes in randomness nobody has
before the close:

1. At batch creation: ``commitment = hex(SHA-256(secret))``, ``secret`` = 32 random bytes.
2. Every registration is a log event (:data:`REGISTERED`) whose leaf carries the batch (its
   subject), the pseudonym and the tickets — nothing else (:func:`registration_payload`). The
   close checkpoint is the first signed checkpoint whose tree holds every registration.
3. After the close a second person records the ``beacon`` (:data:`BEACON` event): a public value
   that did not exist before the close, with its source.
4. ``seed = SHA-256("quan-lottery-v2" ‖ secret ‖ close root (32 bytes) ‖ beacon (UTF-8))``
   (:func:`derive_seed`); scores and winners are v1's (:mod:`quan.domain.lottery`) with this seed.

Reserved-pool membership (v1's ``groups``) is a sensitive attribute and stays out of the
registration leaf; the beacon event binds it instead, as ``members_digest``
(:func:`members_digest`), before the seed exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from quan.domain.errors import Kind, QuanError, define
from quan.domain.log_leaf import looks_personal
from quan.domain.lottery import SEED_BYTES

ALGORITHM: Final = "quan-lottery-v2"
V1: Final = "quan-lottery-v1"
ALGORITHMS: Final = frozenset({V1, ALGORITHM})

REGISTERED: Final = "lottery.registered"
BEACON: Final = "lottery.beacon"
COMMITTED: Final = "lottery.committed"

ROOT_BYTES: Final = 32
MAX_BEACON_CHARS: Final = 256
MAX_SOURCE_CHARS: Final = 300

INVALID_BEACON = define(
    "INVALID_LOTTERY_BEACON",
    Kind.INVALID,
    zh="公开随机值或其来源不符合要求：{reason}",
    en="The public value or its source is not acceptable: {reason}",
)


def derive_seed(secret: bytes, close_root: bytes, beacon: str) -> bytes:
    """The draw's seed: SHA-256("quan-lottery-v2" ‖ secret ‖ close root ‖ beacon UTF-8)."""
    if len(secret) != SEED_BYTES:
        raise QuanError(INVALID_BEACON, reason="the secret must have 32 bytes")
    if len(close_root) != ROOT_BYTES:
        raise QuanError(INVALID_BEACON, reason="the close checkpoint's root must have 32 bytes")
    return hashlib.sha256(
        ALGORITHM.encode("ascii") + secret + close_root + beacon.encode("utf-8")
    ).digest()


def registration_payload(pseudonym: str, tickets: int) -> dict[str, Any]:
    """The payload of a v2 registration event: the pseudonym and the tickets, nothing else (the
    batch is the event's subject)."""
    return {"pseudonym": pseudonym, "tickets": tickets}


def registration_of(payload: Mapping[str, Any]) -> tuple[str, int] | None:
    """``(pseudonym, tickets)`` of a registration leaf's payload, or None if it is not one."""
    pseudonym, tickets = payload.get("pseudonym"), payload.get("tickets")
    if set(payload) != {"pseudonym", "tickets"}:
        return None
    if not isinstance(pseudonym, str) or not isinstance(tickets, int) or isinstance(tickets, bool):
        return None
    return pseudonym, tickets


def members_digest(members: Mapping[str, Iterable[str]]) -> str:
    """hex(SHA-256 of the ``pool,pseudonym\\n`` lines of every reserved pool's members, sorted)."""
    lines = sorted(f"{pool},{p}\n" for pool, names in members.items() for p in names)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def check_beacon(value: str, source: str) -> None:
    """A beacon and its source as the log can carry them unchanged.

    The seed hashes the value's exact UTF-8 bytes, so nothing is trimmed or normalised: surrounding
    spaces and control characters are refused instead. A value the log's personal-data guard would
    pseudonymise (it looks like a phone or resident ID number, or an e-mail address) is refused
    too: outsiders could not recompute the seed from the logged event.
    """
    checks = (("value", value, MAX_BEACON_CHARS), ("source", source, MAX_SOURCE_CHARS))
    for what, text, limit in checks:
        if not text or text != text.strip():
            raise QuanError(INVALID_BEACON, reason=f"the {what} is empty or has surrounding spaces")
        if len(text) > limit:
            raise QuanError(INVALID_BEACON, reason=f"the {what} is longer than {limit} characters")
        if not text.isprintable():
            raise QuanError(INVALID_BEACON, reason=f"the {what} has control characters")
        if looks_personal(text):
            raise QuanError(
                INVALID_BEACON, reason=f"the {what} looks like personal data (phone, ID, e-mail)"
            )

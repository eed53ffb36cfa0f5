"""How a citizen is named in public: a keyed pseudonym per program (or per event), never an id.

Everything public about people (transparency-log leaves, the lottery's registrant list, public
pages) names a citizen by :func:`citizen_pseudonym` under :func:`program_key`: the same person is
the same pseudonym within one program, so a program's claims, redemptions and lottery tickets can
be checked against each other, and a different, unlinkable pseudonym in every other program. The
key is derived from the platform's personal-data key (``QUAN_PII_KEY``), which never leaves the
server: someone who knows a person's ID number, citizen id or phone cannot compute the pseudonym,
and pseudonyms cannot be reversed by trying every ID number.

The derivation is HKDF-SHA256 (RFC 5869, no salt) with the info ``quan/pii/lottery/pseudonym/
<program id>``, byte for byte what :func:`quan.services.pii.derive_key` computes, written here with
``hmac`` so that pure code (leaf encoding, the lottery) can use it; the lottery's pseudonyms
(:func:`quan.domain.lottery.pseudonym`) are the same values. Events that belong to no program
(registration, a personal-data reveal, a blacklist entry) name the citizen by
:func:`event_pseudonym`, different for every event: it links nothing at all.

New public records about people must use these functions (the lottery's registration events
included), never a citizen id.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

KEY_BYTES: Final = 32
PSEUDONYM_HEX: Final = 32

PROGRAM_PREFIX: Final = "citizen:"
"""A citizen in a program's public records: ``citizen:`` + 32 hex digits."""
EVENT_PREFIX: Final = "citizen:event:"
"""A citizen in the public record of an event that belongs to no program."""


def hkdf_sha256(master: bytes, info: str, length: int = KEY_BYTES) -> bytes:
    """RFC 5869 HKDF-SHA256 with no salt: what ``pii.derive_key`` computes for ``quan/pii/…``."""
    if len(master) < 16:
        raise ValueError("the master key must hold at least 16 bytes")
    prk = hmac.new(b"\x00" * hashlib.sha256().digest_size, master, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info.encode() + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def program_key(master: bytes, program_id: str) -> bytes:
    """The program's pseudonym key, from the personal-data key (the lottery's key too)."""
    return hkdf_sha256(master, f"quan/pii/lottery/pseudonym/{program_id}")


def event_key(master: bytes) -> bytes:
    """The key of per-event pseudonyms."""
    return hkdf_sha256(master, "quan/pii/log/event-pseudonym")


def citizen_pseudonym(key: bytes, citizen_id: str) -> str:
    """32 hex digits of HMAC-SHA256(``key``, citizen id): the lottery's pseudonym."""
    if len(key) < KEY_BYTES:
        raise ValueError(f"a pseudonym key must have at least {KEY_BYTES} bytes")
    return hmac.new(key, citizen_id.encode("utf-8"), hashlib.sha256).digest()[:16].hex()


def in_program(key: bytes, citizen_id: str) -> str:
    """``citizen:<pseudonym>`` under the program's key (:func:`program_key`)."""
    return PROGRAM_PREFIX + citizen_pseudonym(key, citizen_id)


def event_pseudonym(key: bytes, event_id: int, citizen_id: str) -> str:
    """``citizen:event:<32 hex>``, bound to one event: unlinkable to any other record."""
    return EVENT_PREFIX + citizen_pseudonym(key, f"{int(event_id)}:{citizen_id}")

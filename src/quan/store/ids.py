"""Identifiers: a type prefix and a time-ordered random part, so that ids sort by creation.

The time part makes cursor pagination by id follow creation order and keeps B-tree inserts at
the right edge of the index; the 80 random bits make ids unguessable and collision-free without
asking the database.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_b32(millis, 10)}{_b32(secrets.randbits(80), 16)}"

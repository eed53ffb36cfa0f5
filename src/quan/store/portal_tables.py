"""The merchant portal's tables: owners' sign-in codes, terminal pairing codes, appeals.

Nothing personal is kept in clear: a sign-in code is an HMAC bound to its row, keyed per
purpose; the phone it was sent to is the merchant's keyed phone hash (``merchants.
contact_phone_hash``); a pairing code is a SHA-256 hash of a 256-bit random secret.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, Table, Text

from quan.store.tables import UtcDateTime, metadata

# One-time codes an owner signs in with (sent to the contact phone of the application). Dead
# once consumed, expired or out of attempts.
merchant_otps = Table(
    "merchant_otps",
    metadata,
    Column("id", Text, primary_key=True),
    Column("phone_hash", Text, nullable=False),
    Column("code_hash", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("consumed_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_merchant_otps_phone", "phone_hash", "id"),
)

# A one-time, short-lived code that pairs a device with a terminal (the QR code the owner
# shows). Used once: the conditional UPDATE that sets ``used_at`` is the guarantee.
terminal_pairings = Table(
    "terminal_pairings",
    metadata,
    Column("id", Text, primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("terminal_id", Text, ForeignKey("terminals.id"), nullable=False, index=True),
    Column("code_hash", Text, nullable=False, unique=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("key_id", Text, ForeignKey("api_keys.id"), nullable=True),  # what the device got
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("(used_at IS NULL) = (key_id IS NULL)", name="used"),
)

# A rejected merchant's appeal: one per rejection (the review it contests), which puts the
# application back in the review queue.
merchant_appeals = Table(
    "merchant_appeals",
    metadata,
    Column("id", Text, primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False, index=True),
    Column("review_id", Text, ForeignKey("merchant_reviews.id"), nullable=False, unique=True),
    Column("grounds", Text, nullable=False),
    Column("filed_by", Text, nullable=False),
    Column("filed_at", UtcDateTime, nullable=False),
)

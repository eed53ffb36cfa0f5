"""Tables of share links (R5.3): links citizens share, the per-sharer counter, attribution.

- ``share_links``: one row per link; only the SHA-256 of the token is kept (the token is shown
  once, to its creator), so reading the table does not let anyone claim through a link.
- ``share_sharers``: one row per (batch, sharer) with the cap and the number of claims made
  through that sharer's links. A claim through a link increments it with a conditional
  ``UPDATE … SET claims = claims + 1 WHERE claims < cap`` in the claim's own transaction; the
  ``CHECK (claims <= cap)`` backs it up. So the cap holds under any concurrency.
- ``share_claims``: which voucher came through which link (the attribution), one per voucher.
- ``share_caps``: a batch's own cap per sharer, set by an operator; otherwise the default.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from quan.store.tables import UtcDateTime, metadata

SHARE_CHANNELS = ("wechat", "sms", "qr", "link")
_channels = ", ".join(f"'{c}'" for c in SHARE_CHANNELS)

share_links = Table(
    "share_links",
    metadata,
    Column("id", Text, primary_key=True),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("sharer_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(f"channel IN ({_channels})", name="channel"),
    Index("ix_share_links_batch_sharer", "batch_id", "sharer_id"),
)

share_sharers = Table(
    "share_sharers",
    metadata,
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("sharer_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("cap", Integer, nullable=False),
    Column("claims", Integer, nullable=False),
    PrimaryKeyConstraint("batch_id", "sharer_id", name="pk_share_sharers"),
    CheckConstraint("cap >= 0 AND claims >= 0 AND claims <= cap", name="within_cap"),
)

share_claims = Table(
    "share_claims",
    metadata,
    Column("voucher_id", Text, ForeignKey("vouchers.id"), primary_key=True),
    Column("link_id", Text, ForeignKey("share_links.id"), nullable=False),
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("sharer_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("claimer_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    Index("ix_share_claims_batch_sharer", "batch_id", "sharer_id"),
)

share_caps = Table(
    "share_caps",
    metadata,
    Column("batch_id", Text, ForeignKey("batches.id"), primary_key=True),
    Column("cap", Integer, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
    CheckConstraint("cap >= 0", name="cap"),
)

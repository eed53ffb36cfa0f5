"""Tables of the lottery (摇号): one draw record per lottery batch, and its registrations.

``lottery_draws`` holds the commitment from the first touch of the batch's lottery, the seed
sealed (AES-GCM under a key derived from ``Settings.pii_key``) until the draw reveals it, and the
published outcome. ``lottery_registrations`` holds one row per citizen per batch (UNIQUE), with
the citizen's public pseudonym, tickets and the reserved pools they belong to.
``lottery_winners`` holds one row per winner of a drawn lottery, with the pool won in. Only
winners are written: a registrant of a drawn lottery (``lottery_draws.drawn_at`` set) without a
row there has lost; rewriting millions of registrations to say so would be most of the draw.

quan-lottery-v2 (``algorithm``) adds, per draw: the close checkpoint (the first signed log
checkpoint holding every registration of the batch: ``close_size``, ``close_root``, the signed
note ``close_note``) and the public ``beacon`` with its ``beacon_source``, both fixed when a second
person records the beacon (``beacon_by`` is never the batch's creator); ``seed_sealed`` then seals
the committed secret, which the draw reveals as ``secret`` next to the derived ``seed``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
)

from quan.store.tables import UtcDateTime, metadata

lottery_draws = Table(
    "lottery_draws",
    metadata,
    Column("batch_id", Text, ForeignKey("batches.id"), primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False, index=True),
    Column("commitment", Text, nullable=False),
    Column("seed_sealed", Text, nullable=False),
    Column("seed", Text, nullable=True),  # hex, set when the draw reveals it
    Column("registrants_digest", Text, nullable=True),
    Column("registrants", Integer, nullable=True),
    Column("pools", Text, nullable=True),  # canonical JSON of the published pools
    Column("created_at", UtcDateTime, nullable=False),
    Column("drawn_at", UtcDateTime, nullable=True),
    Column("drawn_by", Text, nullable=True),
    Column("algorithm", Text, nullable=False, server_default="quan-lottery-v1"),
    Column("secret", Text, nullable=True),  # v2: hex, set when the draw reveals it
    Column("close_size", BigInteger, nullable=True),
    Column("close_root", LargeBinary, nullable=True),
    Column("close_note", Text, nullable=True),
    Column("beacon", Text, nullable=True),
    Column("beacon_source", Text, nullable=True),
    Column("beacon_by", Text, nullable=True),
    Column("beacon_at", UtcDateTime, nullable=True),
    CheckConstraint(
        "algorithm IN ('quan-lottery-v1', 'quan-lottery-v2')", name="algorithm"
    ),
    # The beacon fixes the close: both are recorded together, once.
    CheckConstraint(
        "(beacon IS NULL) = (close_size IS NULL) AND (beacon IS NULL) = (close_root IS NULL)",
        name="close_with_beacon",
    ),
)

lottery_registrations = Table(
    "lottery_registrations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("pseudonym", Text, nullable=False),
    Column("tickets", Integer, nullable=False),
    Column("groups", Text, nullable=False),  # comma-separated reserved pools, "" for none
    Column("registered_at", UtcDateTime, nullable=False),
    UniqueConstraint("batch_id", "citizen_id", name="uq_lottery_registrations_batch_citizen"),
    UniqueConstraint("batch_id", "pseudonym", name="uq_lottery_registrations_batch_pseudonym"),
)

Index("ix_lottery_registrations_citizen_id", lottery_registrations.c.citizen_id)
# PostgreSQL: the registrant list in byte order (the digest's order, whatever the database's
# collation) with the tickets, so the draw reads it by an index-only scan instead of sorting.
Index(
    "ix_lottery_registrations_batch_pseudonym_c",
    lottery_registrations.c.batch_id,
    lottery_registrations.c.pseudonym.collate("C"),
    postgresql_include=["tickets"],
).ddl_if(dialect="postgresql")

lottery_winners = Table(
    "lottery_winners",
    metadata,
    # No foreign keys: a draw inserts up to millions of rows in one statement, and a per-row
    # check would cost more than the insert; the draw writes them for its own registrants only.
    Column("batch_id", Text, primary_key=True),
    Column("pseudonym", Text, primary_key=True),
    Column("pool", Text, nullable=False),
)

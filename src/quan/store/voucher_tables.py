"""Tables of issuance: voucher types, batches with their reserved quotas, and vouchers.

The vouchers of a batch are pre-generated when it opens: exactly ``quantity`` rows, each in one
pool, with its code, in status ``unclaimed``. A claim never inserts a voucher; it gives an owner
to a free row with a conditional ``UPDATE`` (on PostgreSQL the row is picked ``FOR UPDATE SKIP
LOCKED``, so concurrent claims take different rows instead of queueing on one). The guarantees
are therefore in this schema:

- no oversell: a batch has exactly the rows opening created, and a row is claimed once
  (``status = 'unclaimed'`` in the ``WHERE``);
- per-citizen limit: ``UNIQUE (batch_id, citizen_id, claim_seq)`` with ``claim_seq`` between 1
  and the limit (the claim computes it from the citizen's count, and two racing claims that
  computed the same number cannot both commit);
- idempotent claims: ``UNIQUE (citizen_id, claim_key)`` stores the Idempotency-Key on the row the
  key produced, in the same statement;
- one owner fact per status: unclaimed and recycled rows have no citizen; the others have one.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from quan.store.tables import UtcDateTime, metadata

DISCOUNT_KINDS = ("fixed", "percent")
ALLOCATIONS = ("fcfs", "lottery", "grant")
BATCH_STATUSES = ("draft", "open", "closed", "recycled")
POOLS = ("general", "elderly", "low_income", "disabled")
PRIORITY_POOLS = ("elderly", "low_income", "disabled")
# ``redeemed`` is written by redemption (the merchants' side); issuance writes the others.
VOUCHER_STATUSES = ("unclaimed", "active", "redeemed", "expired", "recycled")
MAX_QUANTITY = 2_000_000  # quan.domain.batches.MAX_QUANTITY
MAX_PER_CITIZEN = 10  # quan.domain.batches.MAX_PER_CITIZEN


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


voucher_types = Table(
    "voucher_types",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("face_value_fen", BigInteger, nullable=True),
    Column("min_spend_fen", BigInteger, nullable=False),
    Column("percent_off", Integer, nullable=True),
    Column("cap_fen", BigInteger, nullable=True),
    # The most one voucher can cost: face value or cap. What a batch reserves per voucher.
    Column("unit_fen", BigInteger, nullable=False),
    Column("valid_from", UtcDateTime, nullable=True),
    Column("valid_until", UtcDateTime, nullable=True),
    Column("valid_days", Integer, nullable=True),
    # The whole definition as canonical JSON (quan.domain.voucher_type_json.voucher_type_to_json):
    # what redemption enforces and what the transparency log records.
    Column("definition", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    _one_of("kind", DISCOUNT_KINDS, "kind"),
    CheckConstraint("min_spend_fen >= 0", name="min_spend"),
    CheckConstraint(
        "(kind = 'fixed' AND face_value_fen = unit_fen AND percent_off IS NULL AND cap_fen IS NULL)"
        " OR (kind = 'percent' AND cap_fen = unit_fen AND face_value_fen IS NULL"
        " AND percent_off BETWEEN 1 AND 100)",
        name="discount",
    ),
    CheckConstraint("unit_fen > 0", name="unit"),
    CheckConstraint(
        "(valid_days IS NOT NULL AND valid_days > 0 AND valid_from IS NULL AND valid_until IS NULL)"
        " OR (valid_days IS NULL AND valid_from < valid_until)",
        name="validity",
    ),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False, index=True),
    Column("voucher_type_id", Text, ForeignKey("voucher_types.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("allocation", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("per_citizen_limit", Integer, nullable=False),
    Column("unit_fen", BigInteger, nullable=False),  # copied from the type: what one voucher holds
    Column("claim_opens_at", UtcDateTime, nullable=False),
    Column("claim_closes_at", UtcDateTime, nullable=False),
    Column("eligibility", Text, nullable=False),  # canonical JSON (quan.domain.eligibility)
    Column("opened_at", UtcDateTime, nullable=True),
    Column("opened_by", Text, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("recycled_at", UtcDateTime, nullable=True),
    Column("recycled_count", Integer, nullable=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    _one_of("allocation", ALLOCATIONS, "allocation"),
    _one_of("status", BATCH_STATUSES, "status"),
    CheckConstraint(f"quantity BETWEEN 1 AND {MAX_QUANTITY}", name="quantity"),
    CheckConstraint(f"per_citizen_limit BETWEEN 1 AND {MAX_PER_CITIZEN}", name="limit"),
    CheckConstraint("unit_fen > 0", name="unit"),
    CheckConstraint("claim_opens_at < claim_closes_at", name="window"),
    CheckConstraint("(status = 'draft') = (opened_at IS NULL)", name="opened"),
    Index("ix_batches_due", "status", "claim_closes_at"),
)

batch_quotas = Table(
    "batch_quotas",
    metadata,
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("pool", Text, nullable=False),  # a priority group
    Column("quantity", Integer, nullable=False),
    Column("opens_at", UtcDateTime, nullable=True),  # early access for the group's members
    Column("release_at", UtcDateTime, nullable=False),  # from then on, anyone may take from it
    # Lottery batches: tickets each registrant of the group holds in the draw (others hold 1).
    Column("tickets", Integer, nullable=False, server_default="1"),
    PrimaryKeyConstraint("batch_id", "pool", name="pk_batch_quotas"),
    _one_of("pool", PRIORITY_POOLS, "pool"),
    CheckConstraint("quantity > 0", name="quantity"),
    CheckConstraint("tickets BETWEEN 1 AND 10", name="tickets"),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("code", Text, nullable=False, unique=True),  # quan.domain.voucher_code, grouped form
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("voucher_type_id", Text, ForeignKey("voucher_types.id"), nullable=False),
    Column("pool", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=True),
    Column("claim_seq", Integer, nullable=True),  # 1..per_citizen_limit within the batch
    Column("claim_key", Text, nullable=True),  # the Idempotency-Key that claimed it
    Column("channel", Text, nullable=True),  # how it reached the citizen: app, web, partner ...
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("valid_from", UtcDateTime, nullable=True),
    Column("valid_until", UtcDateTime, nullable=True),
    Column("status_changed_at", UtcDateTime, nullable=True),
    # The source id of the journal entry that returned this voucher's money: the batch id for
    # unclaimed vouchers recycled at claim close, the expiry run id for expired ones.
    Column("release_ref", Text, nullable=True),
    _one_of("status", VOUCHER_STATUSES, "status"),
    _one_of("pool", POOLS, "pool"),
    CheckConstraint(
        "(status IN ('unclaimed', 'recycled')) = (citizen_id IS NULL)", name="owner_by_status"
    ),
    CheckConstraint(
        "(citizen_id IS NULL) = (claim_seq IS NULL) AND (citizen_id IS NULL) = (claimed_at IS NULL)"
        " AND (citizen_id IS NULL) = (valid_until IS NULL)",
        name="claim_complete",
    ),
    CheckConstraint(f"claim_seq BETWEEN 1 AND {MAX_PER_CITIZEN}", name="claim_seq"),
    CheckConstraint(
        "(status IN ('expired', 'recycled')) = (release_ref IS NOT NULL)",
        name="released",
    ),
    UniqueConstraint("batch_id", "citizen_id", "claim_seq", name="uq_vouchers_claimant"),
    UniqueConstraint("citizen_id", "claim_key", name="uq_vouchers_claim_key"),
    # The stock: free rows of a pool, in order; claims take the first one not locked.
    Index(
        "ix_vouchers_stock",
        "batch_id",
        "pool",
        "id",
        sqlite_where=text("status = 'unclaimed'"),
        postgresql_where=text("status = 'unclaimed'"),
    ),
    # No index of its own for a citizen's vouchers (the wallet): uq_vouchers_claim_key leads with
    # citizen_id, and one citizen's few vouchers are sorted by id after (migration 0012).
    # Active vouchers by end of validity: what the expiry job walks.
    Index(
        "ix_vouchers_expiry",
        "valid_until",
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)


def status_is(status: str) -> ColumnElement[bool]:
    """``vouchers.status = '<status>'`` with the value inline rather than a bound parameter, so
    that both planners can see the condition implies a partial index's ``WHERE``."""
    if status not in VOUCHER_STATUSES:
        raise ValueError(f"unknown voucher status {status!r}")
    return vouchers.c.status == literal_column(f"'{status}'")

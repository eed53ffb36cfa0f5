"""Tables of abuse detection and supervision (migration 0024): risk features, cases, holds.

The guarantees live here, in the schema:

- **features of a redemption are computed once**: ``risk_redemption_features`` is keyed by the
  redemption (what a feature says of it is fixed when it is recorded: its margin over the minimum
  spend, the seconds since its voucher was claimed, how many times its citizen–merchant pair had
  met by then);
- **one open case per subject and program**: ``uq_risk_cases_open``, so two scans running at
  once cannot open the same case twice;
- **one hold in force per redemption**: ``uq_redemption_holds_active`` over holds not released.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)

from quan.store.tables import UtcDateTime, metadata

RISK_SUBJECTS = ("merchant", "citizen")
RISK_CASE_STATUSES = ("open", "confirmed", "dismissed")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


risk_redemption_features = Table(
    "risk_redemption_features",
    metadata,
    Column("redemption_id", Text, ForeignKey("redemptions.id"), primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("order_amount_fen", BigInteger, nullable=False),
    Column("min_spend_fen", BigInteger, nullable=False),
    Column("near_min_spend", Integer, nullable=False),  # 1: within 5 % above the minimum spend
    Column("round_amount", Integer, nullable=False),  # 1: a whole multiple of ¥10
    Column("claim_seconds", BigInteger, nullable=True),  # from the claim to the redemption
    Column("pair_seq", Integer, nullable=False),  # k-th redemption of this citizen here
    Column("computed_at", UtcDateTime, nullable=False),
    Index("ix_risk_redemption_features_merchant", "program_id", "merchant_id"),
    Index("ix_risk_redemption_features_citizen", "program_id", "citizen_id"),
)

risk_actor_features = Table(
    "risk_actor_features",
    metadata,
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("feature", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint(
        "program_id", "subject_type", "subject_id", "feature", name="pk_risk_actor_features"
    ),
    _one_of("subject_type", RISK_SUBJECTS, "subject_type"),
)

risk_cases = Table(
    "risk_cases",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("rules_version", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: the rules fired, their values, redemptions
    Column("status", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("blacklist_entry_id", Text, nullable=True),
    _one_of("subject_type", RISK_SUBJECTS, "subject_type"),
    _one_of("status", RISK_CASE_STATUSES, "status"),
    CheckConstraint("(status = 'open') = (decided_at IS NULL)", name="decided"),
    Index(
        "uq_risk_cases_open",
        "program_id",
        "subject_type",
        "subject_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
    Index("ix_risk_cases_program", "program_id", "status", "id"),
)

redemption_holds = Table(
    "redemption_holds",
    metadata,
    Column("id", Text, primary_key=True),
    Column("case_id", Text, ForeignKey("risk_cases.id"), nullable=False),
    Column("redemption_id", Text, ForeignKey("redemptions.id"), nullable=False),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("placed_by", Text, nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("released_by", Text, nullable=True),
    Column("released_at", UtcDateTime, nullable=True),
    CheckConstraint("amount_fen > 0", name="amount"),
    CheckConstraint("(released_at IS NULL) = (released_by IS NULL)", name="released"),
    Index(
        "uq_redemption_holds_active",
        "redemption_id",
        unique=True,
        sqlite_where=text("released_at IS NULL"),
        postgresql_where=text("released_at IS NULL"),
    ),
    Index("ix_redemption_holds_merchant", "program_id", "merchant_id", "released_at"),
    Index("ix_redemption_holds_case", "case_id"),
)

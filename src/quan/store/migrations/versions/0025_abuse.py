"""abuse: risk features, cases opened by the rules, holds on the redemptions concerned

Revision ID: 0025_abuse
Revises: 0024_alerts

- ``risk_redemption_features``: what each redemption says (margin over the minimum spend, a
  round amount, seconds from the claim, the k-th visit of its citizen–merchant pair).
- ``risk_actor_features``: per merchant and citizen of a program, the aggregates the rules read.
- ``risk_cases``: opened by the rules with their evidence; one open per subject and program.
- ``redemption_holds``: holds on single redemptions; one in force per redemption.
- ``settlement_statements.hold_reason`` may be ``redemption_hold``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_abuse"
down_revision: str | None = "0024_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_REASONS = ("merchant_suspended", "merchant_blacklisted", "offline_case")


def _reasons(*values: str) -> str:
    return "hold_reason IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "risk_redemption_features",
        sa.Column("redemption_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("min_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("near_min_spend", sa.Integer(), nullable=False),
        sa.Column("round_amount", sa.Integer(), nullable=False),
        sa.Column("claim_seconds", sa.BigInteger(), nullable=True),
        sa.Column("pair_seq", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_risk_redemption_features_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_risk_redemption_features_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_risk_redemption_features_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_risk_redemption_features_citizen_id_citizens"),
        ),
        sa.PrimaryKeyConstraint("redemption_id", name=op.f("pk_risk_redemption_features")),
    )
    op.create_index(
        "ix_risk_redemption_features_merchant",
        "risk_redemption_features",
        ["program_id", "merchant_id"],
        unique=False,
    )
    op.create_index(
        "ix_risk_redemption_features_citizen",
        "risk_redemption_features",
        ["program_id", "citizen_id"],
        unique=False,
    )
    op.create_table(
        "risk_actor_features",
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "subject_type IN ('merchant', 'citizen')",
            name=op.f("ck_risk_actor_features_subject_type"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_risk_actor_features_program_id_programs"),
        ),
        sa.PrimaryKeyConstraint(
            "program_id",
            "subject_type",
            "subject_id",
            "feature",
            name=op.f("pk_risk_actor_features"),
        ),
    )
    op.create_table(
        "risk_cases",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rules_version", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("blacklist_entry_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "subject_type IN ('merchant', 'citizen')", name=op.f("ck_risk_cases_subject_type")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'dismissed')", name=op.f("ck_risk_cases_status")
        ),
        sa.CheckConstraint(
            "(status = 'open') = (decided_at IS NULL)", name=op.f("ck_risk_cases_decided")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_risk_cases_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_cases")),
    )
    op.create_index(
        "uq_risk_cases_open",
        "risk_cases",
        ["program_id", "subject_type", "subject_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_risk_cases_program", "risk_cases", ["program_id", "status", "id"], unique=False
    )
    op.create_table(
        "redemption_holds",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("redemption_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("placed_by", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.Text(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_redemption_holds_amount")),
        sa.CheckConstraint(
            "(released_at IS NULL) = (released_by IS NULL)",
            name=op.f("ck_redemption_holds_released"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["risk_cases.id"], name=op.f("fk_redemption_holds_case_id_risk_cases")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_redemption_holds_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_redemption_holds_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_redemption_holds_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_holds")),
    )
    op.create_index(
        "uq_redemption_holds_active",
        "redemption_holds",
        ["redemption_id"],
        unique=True,
        sqlite_where=sa.text("released_at IS NULL"),
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.create_index(
        "ix_redemption_holds_merchant",
        "redemption_holds",
        ["program_id", "merchant_id", "released_at"],
        unique=False,
    )
    op.create_index("ix_redemption_holds_case", "redemption_holds", ["case_id"], unique=False)
    with op.batch_alter_table("settlement_statements") as table:
        table.drop_constraint(op.f("ck_settlement_statements_hold_reason"), type_="check")
        table.create_check_constraint(
            op.f("ck_settlement_statements_hold_reason"),
            _reasons(*_OLD_REASONS, "redemption_hold"),
        )


def downgrade() -> None:
    op.execute(
        "UPDATE settlement_statements SET hold_reason = 'offline_case'"
        " WHERE hold_reason = 'redemption_hold'"
    )
    with op.batch_alter_table("settlement_statements") as table:
        table.drop_constraint(op.f("ck_settlement_statements_hold_reason"), type_="check")
        table.create_check_constraint(
            op.f("ck_settlement_statements_hold_reason"), _reasons(*_OLD_REASONS)
        )
    op.drop_table("redemption_holds")
    op.drop_table("risk_cases")
    op.drop_table("risk_actor_features")
    op.drop_table("risk_redemption_features")

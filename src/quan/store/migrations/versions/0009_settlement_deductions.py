"""settlement deductions

Revision ID: 0009
Revises: 0008

quan.store.redemption_tables.settlement_deductions: reversals of redemptions already settled,
netted by the next settlement run of their merchant.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settlement_deductions",
        sa.Column("reversal_id", sa.Text(), nullable=False),
        sa.Column("redemption_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settlement_id", sa.Text(), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_settlement_deductions_amount")),
        sa.ForeignKeyConstraint(
            ["reversal_id"],
            ["redemption_reversals.id"],
            name=op.f("fk_settlement_deductions_reversal_id_redemption_reversals"),
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_settlement_deductions_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_settlement_deductions_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_settlement_deductions_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlement_runs.id"],
            name=op.f("fk_settlement_deductions_settlement_id_settlement_runs"),
        ),
        sa.PrimaryKeyConstraint("reversal_id", name=op.f("pk_settlement_deductions")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_settlement_deductions_redemption_id")),
    )
    op.create_index(
        "ix_settlement_deductions_pending",
        "settlement_deductions",
        ["program_id", "merchant_id", "settlement_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_settlement_deductions_pending", table_name="settlement_deductions")
    op.drop_table("settlement_deductions")

"""lottery

Revision ID: 0007
Revises: 0006

Tables of quan.store.lottery_tables: lottery_draws (commitment, sealed seed, published outcome)
and lottery_registrations (one per citizen per batch).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lottery_draws",
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("commitment", sa.Text(), nullable=False),
        sa.Column("seed_sealed", sa.Text(), nullable=False),
        sa.Column("seed", sa.Text(), nullable=True),
        sa.Column("registrants_digest", sa.Text(), nullable=True),
        sa.Column("registrants", sa.Integer(), nullable=True),
        sa.Column("pools", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drawn_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_lottery_draws_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_lottery_draws_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_lottery_draws")),
    )
    op.create_index(
        op.f("ix_lottery_draws_program_id"), "lottery_draws", ["program_id"], unique=False
    )
    op.create_table(
        "lottery_registrations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("pseudonym", sa.Text(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("pool", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_lottery_registrations_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_lottery_registrations_citizen_id_citizens"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_registrations")),
        sa.UniqueConstraint(
            "batch_id", "citizen_id", name="uq_lottery_registrations_batch_citizen"
        ),
        sa.UniqueConstraint(
            "batch_id", "pseudonym", name="uq_lottery_registrations_batch_pseudonym"
        ),
    )
    op.create_index(
        "ix_lottery_registrations_citizen_id",
        "lottery_registrations",
        ["citizen_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_lottery_registrations_citizen_id", table_name="lottery_registrations")
    op.drop_table("lottery_registrations")
    op.drop_index(op.f("ix_lottery_draws_program_id"), table_name="lottery_draws")
    op.drop_table("lottery_draws")

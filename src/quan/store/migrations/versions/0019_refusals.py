"""refusals: refused claims and redemptions tallied per minute

Revision ID: 0019_refusals
Revises: 0018_delivery

``refusal_tallies`` (issue 17): who was refused, where and by which rule, one row per minute and
key, counted by additive upserts from every API process (:mod:`quan.refusals`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_refusals"
down_revision: str | None = "0018_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refusal_tallies",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "minute",
            "action",
            "code",
            "program_id",
            "batch_id",
            "merchant_id",
            "subject",
            name="pk_refusal_tallies",
        ),
    )


def downgrade() -> None:
    op.drop_table("refusal_tallies")

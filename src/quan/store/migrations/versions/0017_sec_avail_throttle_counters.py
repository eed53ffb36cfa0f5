"""throttle counters in the database

Revision ID: 0017_sec_avail
Revises: 0016_sec_money

Attempt counters (failed sign-ins per account and per address, public forms) were kept in each
process's memory when Redis was not configured, so two processes counted apart and a check
followed by an increment let concurrent attempts through. They now live in the database, taken
by conditional upserts (quan.cache.throttle.DatabaseThrottle).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_sec_avail"
down_revision: str | None = "0016_sec_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("throttle_counters")

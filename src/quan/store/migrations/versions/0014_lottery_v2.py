"""quan-lottery-v2: the algorithm of each draw, its close checkpoint, beacon and secret

Revision ID: 0014_lottery_v2
Revises: 0013

quan.store.lottery_tables.lottery_draws gains ``algorithm`` (existing draws are
quan-lottery-v1), the close checkpoint (``close_size``, ``close_root``, ``close_note``), the public
``beacon`` with its source, who recorded it and when, and the revealed ``secret``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_lottery_v2"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lottery_draws") as table:
        table.add_column(
            sa.Column("algorithm", sa.Text(), nullable=False, server_default="quan-lottery-v1")
        )
        table.add_column(sa.Column("secret", sa.Text(), nullable=True))
        table.add_column(sa.Column("close_size", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("close_root", sa.LargeBinary(), nullable=True))
        table.add_column(sa.Column("close_note", sa.Text(), nullable=True))
        table.add_column(sa.Column("beacon", sa.Text(), nullable=True))
        table.add_column(sa.Column("beacon_source", sa.Text(), nullable=True))
        table.add_column(sa.Column("beacon_by", sa.Text(), nullable=True))
        table.add_column(sa.Column("beacon_at", sa.DateTime(timezone=True), nullable=True))
        table.create_check_constraint(
            op.f("ck_lottery_draws_algorithm"),
            "algorithm IN ('quan-lottery-v1', 'quan-lottery-v2')",
        )
        table.create_check_constraint(
            op.f("ck_lottery_draws_close_with_beacon"),
            "(beacon IS NULL) = (close_size IS NULL) AND (beacon IS NULL) = (close_root IS NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("lottery_draws") as table:
        table.drop_constraint(op.f("ck_lottery_draws_close_with_beacon"), type_="check")
        table.drop_constraint(op.f("ck_lottery_draws_algorithm"), type_="check")
        for column in (
            "beacon_at",
            "beacon_by",
            "beacon_source",
            "beacon",
            "close_note",
            "close_root",
            "close_size",
            "secret",
            "algorithm",
        ):
            table.drop_column(column)

"""lottery tickets per reserved group

Revision ID: 0010
Revises: 0009

quan.store.voucher_tables.batch_quotas.tickets: in a lottery batch, how many tickets each
registrant of the group holds (quan-lottery-v1: "tickets ≥ 1, priority groups may get more").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_quotas") as table:
        table.add_column(sa.Column("tickets", sa.Integer(), nullable=False, server_default="1"))
        table.create_check_constraint(op.f("ck_batch_quotas_tickets"), "tickets BETWEEN 1 AND 10")


def downgrade() -> None:
    with op.batch_alter_table("batch_quotas") as table:
        table.drop_constraint(op.f("ck_batch_quotas_tickets"), type_="check")
        table.drop_column("tickets")

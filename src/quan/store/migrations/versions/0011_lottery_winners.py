"""lottery winners recorded alone

Revision ID: 0011
Revises: 0010

quan.store.lottery_tables.lottery_winners: one row per winner of a drawn lottery (with the pool
won in); a registrant of a drawn lottery without one has lost. It replaces
lottery_registrations.outcome and .pool (the winners already recorded move there), so a draw
no longer rewrites every registration. PostgreSQL also gets an index that reads a batch's
registrant list in byte order with its tickets (the registrants digest's order).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lottery_winners",
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("pseudonym", sa.Text(), nullable=False),
        sa.Column("pool", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "pseudonym", name=op.f("pk_lottery_winners")),
    )
    op.execute(
        "INSERT INTO lottery_winners (batch_id, pseudonym, pool)"
        " SELECT batch_id, pseudonym, pool FROM lottery_registrations WHERE outcome = 'won'"
    )
    with op.batch_alter_table("lottery_registrations") as table:
        table.drop_column("outcome")
        table.drop_column("pool")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_lottery_registrations_batch_pseudonym_c ON lottery_registrations"
            ' (batch_id, pseudonym COLLATE "C") INCLUDE (tickets)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_lottery_registrations_batch_pseudonym_c")
    with op.batch_alter_table("lottery_registrations") as table:
        table.add_column(sa.Column("outcome", sa.Text(), nullable=True))
        table.add_column(sa.Column("pool", sa.Text(), nullable=True))
    op.execute(
        "UPDATE lottery_registrations SET outcome = 'won', pool = ("
        "SELECT w.pool FROM lottery_winners w WHERE w.batch_id = lottery_registrations.batch_id"
        " AND w.pseudonym = lottery_registrations.pseudonym)"
        " WHERE EXISTS (SELECT 1 FROM lottery_winners w"
        " WHERE w.batch_id = lottery_registrations.batch_id"
        " AND w.pseudonym = lottery_registrations.pseudonym)"
    )
    op.execute(
        "UPDATE lottery_registrations SET outcome = 'lost' WHERE outcome IS NULL AND batch_id IN"
        " (SELECT batch_id FROM lottery_draws WHERE drawn_at IS NOT NULL)"
    )
    op.drop_table("lottery_winners")

"""the transparency log's key history

Revision ID: 0015
Revises: 0014_lottery_v2

``log_keys`` holds the log's signing keys, oldest first; each after the first carries an
endorsement signed by the key before it and by itself (quan.domain.log_keys), so the signing key
can rotate while every old checkpoint stays verifiable. Append-only like the rest of the log.
The first row is written by the next sequencer run, from the key it signs with.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014_lottery_v2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_keys",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("verifier_key", sa.Text(), nullable=False),
        sa.Column("endorsement", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_log_keys_position")),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_log_keys")),
        sa.UniqueConstraint("verifier_key", name=op.f("uq_log_keys_verifier_key")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for verb in ("UPDATE", "DELETE"):
        name = f"log_keys_no_{verb.lower()}"
        if postgres:  # quan_refuse_change() comes from 0001
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {verb} ON log_keys "
                "FOR EACH ROW EXECUTE FUNCTION quan_refuse_change()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {verb} ON log_keys "
                "BEGIN SELECT RAISE(ABORT, 'quan: log_keys is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("log_keys")  # its triggers go with it

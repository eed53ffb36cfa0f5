"""assisted acts, presence codes, token versions

Revision ID: 0016_sec_money
Revises: 0015

- ``assisted_issues``: the print right of each voucher an agent issued at the desk (who, until
  when, how many prints and reprints), so staff never see a code they did not hand over.
- ``citizen_otps.purpose`` may be ``presence``: the code a citizen reads out to an agent.
- ``staff_users.token_version``: signed into every token; raising it ends every session.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_sec_money"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_TS = sa.DateTime(timezone=True)


def _purposes(*values: str) -> str:
    return "purpose IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "assisted_issues",
        sa.Column("voucher_id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("print_until", _TS, nullable=False),
        sa.Column("prints", sa.Integer(), nullable=False),
        sa.Column("reprints", sa.Integer(), nullable=False),
        sa.CheckConstraint("prints BETWEEN 0 AND 3", name=op.f("ck_assisted_issues_prints")),
        sa.CheckConstraint("reprints BETWEEN 0 AND 2", name=op.f("ck_assisted_issues_reprints")),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_assisted_issues_voucher_id_vouchers")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff_users.id"], name=op.f("fk_assisted_issues_agent_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("voucher_id", name=op.f("pk_assisted_issues")),
    )
    with op.batch_alter_table("citizen_otps") as table:
        table.drop_constraint(op.f("ck_citizen_otps_purpose"), type_="check")
        table.create_check_constraint(
            op.f("ck_citizen_otps_purpose"), _purposes("login", "register", "presence")
        )
    with op.batch_alter_table("staff_users") as table:
        table.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as table:
        table.drop_column("token_version")
    op.execute("DELETE FROM citizen_otps WHERE purpose = 'presence'")
    with op.batch_alter_table("citizen_otps") as table:
        table.drop_constraint(op.f("ck_citizen_otps_purpose"), type_="check")
        table.create_check_constraint(
            op.f("ck_citizen_otps_purpose"), _purposes("login", "register")
        )
    op.drop_table("assisted_issues")

"""merchants

Revision ID: 0004
Revises: 0003

Merchants (applications and review state), their categories, the append-only review history,
and terminals (see quan.store.merchant_tables).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("merchants", "merchant_categories", "merchant_reviews", "terminals")
APPEND_ONLY = ("merchant_reviews",)
LIVE = "status <> 'rejected'"


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("issuer_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("accepts_offline", sa.Boolean(), nullable=False),
        sa.Column("accepts_online", sa.Boolean(), nullable=False),
        sa.Column("bank_name", sa.Text(), nullable=False),
        sa.Column("bank_account_token", sa.Text(), nullable=False),
        sa.Column("bank_account_masked", sa.Text(), nullable=False),
        sa.Column("contact_phone_token", sa.Text(), nullable=False),
        sa.Column("contact_phone_masked", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_review_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'approved', 'rejected', 'suspended')",
            name=op.f("ck_merchants_status"),
        ),
        sa.CheckConstraint("accepts_offline OR accepts_online", name=op.f("ck_merchants_scene")),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_merchants_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
    )
    op.create_index(
        "uq_merchants_issuer_uscc_live",
        "merchants",
        ["issuer_id", "uscc"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_index("ix_merchants_issuer_status", "merchants", ["issuer_id", "status"])
    op.create_index("ix_merchants_review_due", "merchants", ["status", "next_review_due_at"])

    op.create_table(
        "merchant_categories",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_categories_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("merchant_id", "category", name=op.f("pk_merchant_categories")),
    )
    op.create_index("ix_merchant_categories_category", "merchant_categories", ["category"])

    op.create_table(
        "merchant_reviews",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=False),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "decision IN ('approve', 'reject', 'suspend', 'reinstate', 'renew')",
            name=op.f("ck_merchant_reviews_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_reviews_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_reviews")),
    )
    op.create_index(
        op.f("ix_merchant_reviews_merchant_id"), "merchant_reviews", ["merchant_id"], unique=False
    )

    op.create_table(
        "terminals",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_terminals_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_terminals_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
        sa.UniqueConstraint("key_id", name=op.f("uq_terminals_key_id")),
    )
    op.create_index(op.f("ix_terminals_merchant_id"), "terminals", ["merchant_id"], unique=False)
    _append_only_triggers()


def downgrade() -> None:
    # Dropping a table drops its triggers on both databases; quan_refuse_change() belongs to 0001.
    for table in reversed(TABLES):
        op.drop_table(table)


def _append_only_triggers() -> None:
    """Review history is evidence: UPDATE and DELETE are refused, as for events (0001)."""
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"{table}_no_{verb.lower()}"
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION quan_refuse_change()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'quan: {table} is append-only'); END"
                )

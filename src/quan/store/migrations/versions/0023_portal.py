"""portal: merchant owners sign in by SMS code, devices pair by QR code, rejections are appealed

Revision ID: 0023_portal
Revises: 0022_notify

- ``merchants.contact_phone_hash``: a keyed hash of the contact phone, the owner's sign-in
  name. Rows applied before stay ``NULL`` until an owner asks a sign-in code, which fills the
  missing hashes first (the key is the running server's, not the migration's).
- ``merchant_otps``: owners' one-time sign-in codes (HMACs only).
- ``terminal_pairings``: one-time, short-lived pairing codes (SHA-256 hashes only).
- ``merchant_appeals``: one appeal per rejection.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_portal"
down_revision: str | None = "0022_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("merchants", sa.Column("contact_phone_hash", sa.Text(), nullable=True))
    op.create_index(
        "ix_merchants_contact_phone_hash", "merchants", ["contact_phone_hash"], unique=False
    )
    op.create_table(
        "merchant_otps",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_merchant_otps_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_otps")),
    )
    op.create_index("ix_merchant_otps_phone", "merchant_otps", ["phone_hash", "id"], unique=False)
    op.create_table(
        "terminal_pairings",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("terminal_id", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("key_id", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(used_at IS NULL) = (key_id IS NULL)", name=op.f("ck_terminal_pairings_used")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_terminal_pairings_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_terminal_pairings_terminal_id_terminals"),
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_terminal_pairings_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_pairings")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_terminal_pairings_code_hash")),
    )
    op.create_index(
        op.f("ix_terminal_pairings_terminal_id"),
        "terminal_pairings",
        ["terminal_id"],
        unique=False,
    )
    op.create_table(
        "merchant_appeals",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("review_id", sa.Text(), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_appeals_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["merchant_reviews.id"],
            name=op.f("fk_merchant_appeals_review_id_merchant_reviews"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_appeals")),
        sa.UniqueConstraint("review_id", name=op.f("uq_merchant_appeals_review_id")),
    )
    op.create_index(
        op.f("ix_merchant_appeals_merchant_id"),
        "merchant_appeals",
        ["merchant_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("merchant_appeals")
    op.drop_table("terminal_pairings")
    op.drop_table("merchant_otps")
    op.drop_index("ix_merchants_contact_phone_hash", table_name="merchants")
    with op.batch_alter_table("merchants") as table:
        table.drop_column("contact_phone_hash")

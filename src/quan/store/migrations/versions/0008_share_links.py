"""share links

Revision ID: 0008
Revises: 0007

Tables of quan.store.share_tables: share_links (token hashes), share_sharers (the per-sharer
counter the cap is enforced on), share_claims (attribution) and share_caps (per-batch caps).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("sharer_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(
            "channel IN ('wechat', 'sms', 'qr', 'link')", name=op.f("ck_share_links_channel")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_share_links_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["sharer_id"], ["citizens.id"], name=op.f("fk_share_links_sharer_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    op.create_index(
        "ix_share_links_batch_sharer", "share_links", ["batch_id", "sharer_id"], unique=False
    )
    op.create_table(
        "share_sharers",
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("sharer_id", sa.Text(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "cap >= 0 AND claims >= 0 AND claims <= cap",
            name=op.f("ck_share_sharers_within_cap"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_share_sharers_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["sharer_id"], ["citizens.id"], name=op.f("fk_share_sharers_sharer_id_citizens")
        ),
        sa.PrimaryKeyConstraint("batch_id", "sharer_id", name="pk_share_sharers"),
    )
    op.create_table(
        "share_claims",
        sa.Column("voucher_id", sa.Text(), nullable=False),
        sa.Column("link_id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("sharer_id", sa.Text(), nullable=False),
        sa.Column("claimer_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("claimed_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_share_claims_voucher_id_vouchers")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["share_links.id"], name=op.f("fk_share_claims_link_id_share_links")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_share_claims_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["sharer_id"], ["citizens.id"], name=op.f("fk_share_claims_sharer_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["claimer_id"], ["citizens.id"], name=op.f("fk_share_claims_claimer_id_citizens")
        ),
        sa.PrimaryKeyConstraint("voucher_id", name=op.f("pk_share_claims")),
    )
    op.create_index(
        "ix_share_claims_batch_sharer", "share_claims", ["batch_id", "sharer_id"], unique=False
    )
    op.create_table(
        "share_caps",
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", _TS, nullable=False),
        sa.CheckConstraint("cap >= 0", name=op.f("ck_share_caps_cap")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_share_caps_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_share_caps")),
    )


def downgrade() -> None:
    op.drop_table("share_caps")
    op.drop_index("ix_share_claims_batch_sharer", table_name="share_claims")
    op.drop_table("share_claims")
    op.drop_table("share_sharers")
    op.drop_index("ix_share_links_batch_sharer", table_name="share_links")
    op.drop_table("share_links")

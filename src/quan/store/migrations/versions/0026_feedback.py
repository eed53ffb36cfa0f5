"""feedback: complaints as tickets, with their steps (issue 22)

Revision ID: 0026_feedback
Revises: 0025_abuse

- ``complaints``: one row per complaint (category, channel, complainant, links to a merchant,
  voucher or redemption, the next deadline and the escalation level, measured times).
- ``complaint_steps``: filed, assigned, response, merchant_answer, escalated, resolved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_feedback"
down_revision: str | None = "0025_abuse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CATEGORIES = "'merchant_refused', 'overcharge', 'voucher_problem', 'service_quality', 'other'"
_KINDS = "'filed', 'assigned', 'response', 'merchant_answer', 'escalated', 'resolved'"


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=True),
        sa.Column("caller_phone_hash", sa.Text(), nullable=True),
        sa.Column("caller_phone_enc", sa.Text(), nullable=True),
        sa.Column("filing_merchant_id", sa.Text(), nullable=True),
        sa.Column("filed_by", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=True),
        sa.Column("voucher_id", sa.Text(), nullable=True),
        sa.Column("redemption_id", sa.Text(), nullable=True),
        sa.Column("program_id", sa.Text(), nullable=True),
        sa.Column("issuer_id", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("assignee", sa.Text(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"category IN ({_CATEGORIES})", name=op.f("ck_complaints_category")),
        sa.CheckConstraint(
            "channel IN ('wallet', 'portal', 'hotline')", name=op.f("ck_complaints_channel")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'answered', 'resolved')", name=op.f("ck_complaints_status")
        ),
        sa.CheckConstraint("escalation_level BETWEEN 0 AND 3", name=op.f("ck_complaints_level")),
        sa.CheckConstraint(
            "(status = 'resolved') = (resolved_at IS NOT NULL)"
            " AND (status = 'open') = (first_response_at IS NULL)"
            " AND (status = 'resolved') = (due_at IS NULL)",
            name=op.f("ck_complaints_progress"),
        ),
        sa.CheckConstraint(
            "citizen_id IS NOT NULL OR caller_phone_hash IS NOT NULL"
            " OR filing_merchant_id IS NOT NULL",
            name=op.f("ck_complaints_complainant"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_complaints_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["filing_merchant_id"],
            ["merchants.id"],
            name=op.f("fk_complaints_filing_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_complaints_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_complaints_voucher_id_vouchers")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_complaints_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_complaints_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_complaints_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index(op.f("ix_complaints_citizen_id"), "complaints", ["citizen_id"], unique=False)
    op.create_index(op.f("ix_complaints_merchant_id"), "complaints", ["merchant_id"], unique=False)
    op.create_index(
        "ix_complaints_due",
        "complaints",
        ["due_at"],
        unique=False,
        sqlite_where=sa.text("due_at IS NOT NULL"),
        postgresql_where=sa.text("due_at IS NOT NULL"),
    )
    op.create_table(
        "complaint_steps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("complaint_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_complaint_steps_kind")),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_steps_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_steps")),
    )
    op.create_index(
        op.f("ix_complaint_steps_complaint_id"),
        "complaint_steps",
        ["complaint_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("complaint_steps")
    op.drop_index("ix_complaints_due", table_name="complaints")
    op.drop_table("complaints")

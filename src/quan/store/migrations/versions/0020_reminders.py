"""reminders: expiry, claim and redemption reminders, lottery results, opt-outs (issue 25)

Revision ID: 0020_reminders
Revises: 0019_refusals

``reminder_settings`` (a program's offsets, notices and quiet hours), ``reminders`` (one row per
message decided, ``UNIQUE (subject_id, kind, offset_days)`` so none goes twice), ``reminder_sweeps``
(how far each set-based sweep has chosen) and ``notice_opt_outs`` (per citizen and channel).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_reminders"
down_revision: str | None = "0019_refusals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_settings",
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("expiry_offsets", sa.Text(), nullable=False),
        sa.Column("on_claim", sa.Boolean(), nullable=False),
        sa.Column("on_redemption", sa.Boolean(), nullable=False),
        sa.Column("lottery_results", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=False),
        sa.Column("quiet_end", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quiet_start BETWEEN 0 AND 1439 AND quiet_end BETWEEN 0 AND 1439",
            name=op.f("ck_reminder_settings_quiet"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_reminder_settings_program_id_programs"),
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_reminder_settings")),
    )
    op.create_table(
        "reminders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('expiry', 'claimed', 'redeemed', 'lottery_won', 'lottery_lost')",
            name=op.f("ck_reminders_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'skipped')", name=op.f("ck_reminders_status")
        ),
        sa.CheckConstraint(
            "(status = 'sent') = (message_id IS NOT NULL)"
            " AND (status = 'skipped') = (skip_reason IS NOT NULL)"
            " AND (status = 'queued') = (done_at IS NULL)",
            name=op.f("ck_reminders_outcome"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("subject_id", "kind", "offset_days", name="uq_reminders_once"),
    )
    op.create_index(
        "ix_reminders_due",
        "reminders",
        ["due_at"],
        unique=False,
        sqlite_where=sa.text("status = 'queued'"),
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_table(
        "reminder_sweeps",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("swept_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("swept_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reminder_sweeps")),
    )
    op.create_table(
        "notice_opt_outs",
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f("ck_notice_opt_outs_channel")),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_notice_opt_outs_citizen_id_citizens"),
        ),
        sa.PrimaryKeyConstraint("citizen_id", "channel", name="pk_notice_opt_outs"),
    )


def downgrade() -> None:
    op.drop_table("notice_opt_outs")
    op.drop_table("reminder_sweeps")
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.drop_table("reminders")
    op.drop_table("reminder_settings")

"""alerts: alert rules as data, the alerts they raise, their receivers

Revision ID: 0024_alerts
Revises: 0023_portal

``alert_rules``, ``alerts`` and ``alert_receivers`` (issue 17, :mod:`quan.store.alert_tables`),
and two indexes on ``vouchers`` the rules' measures read (claims by program and time; active
vouchers by program, batch and end of validity).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_alerts"
down_revision: str | None = "0023_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("rule_key", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("comparator", sa.Text(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("for_seconds", sa.Integer(), nullable=False),
        sa.Column("keep_firing_seconds", sa.Integer(), nullable=False),
        sa.Column("repeat_seconds", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("annotation_zh", sa.Text(), nullable=False),
        sa.Column("annotation_en", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "comparator IN ('>', '>=', '<', '<=')", name=op.f("ck_alert_rules_comparator")
        ),
        sa.CheckConstraint(
            "severity IN ('info', 'warning', 'critical')", name=op.f("ck_alert_rules_severity")
        ),
        sa.CheckConstraint(
            "for_seconds >= 0 AND keep_firing_seconds >= 0 AND repeat_seconds >= 60",
            name=op.f("ck_alert_rules_durations"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_alert_rules_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("rule_key", name=op.f("uq_alert_rules_rule_key")),
    )
    op.create_index("ix_alert_rules_program_id", "alert_rules", ["program_id"], unique=False)
    op.create_table(
        "alerts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("open_key", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("fired_at", _TS, nullable=True),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("last_notified_at", _TS, nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("acked_at", _TS, nullable=True),
        sa.Column("acked_by", sa.Text(), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'firing', 'resolved')", name=op.f("ck_alerts_state")
        ),
        sa.CheckConstraint(
            "(state = 'resolved') = (open_key IS NULL)", name=op.f("ck_alerts_open_key")
        ),
        sa.CheckConstraint(
            "(state = 'resolved') = (resolved_at IS NOT NULL)", name=op.f("ck_alerts_resolved")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_alerts_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alert_rules.id"], name=op.f("fk_alerts_rule_id_alert_rules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alerts_open_key")),
    )
    op.create_index("ix_alerts_rule_state", "alerts", ["rule_id", "state"], unique=False)
    op.create_index(
        "ix_alerts_program_started", "alerts", ["program_id", "started_at"], unique=False
    )
    op.create_table(
        "alert_receivers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address_enc", sa.Text(), nullable=False),
        sa.Column("address_masked", sa.Text(), nullable=False),
        sa.Column("min_severity", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'email', 'webhook')", name=op.f("ck_alert_receivers_channel")
        ),
        sa.CheckConstraint(
            "min_severity IN ('info', 'warning', 'critical')",
            name=op.f("ck_alert_receivers_min_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_alert_receivers_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_receivers")),
    )
    op.create_index(
        "ix_alert_receivers_program_id", "alert_receivers", ["program_id"], unique=False
    )
    op.create_index(
        "ix_vouchers_program_claimed", "vouchers", ["program_id", "claimed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_vouchers_program_claimed", table_name="vouchers")
    op.drop_index("ix_alert_receivers_program_id", table_name="alert_receivers")
    op.drop_table("alert_receivers")
    op.drop_index("ix_alerts_program_started", table_name="alerts")
    op.drop_index("ix_alerts_rule_state", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_alert_rules_program_id", table_name="alert_rules")
    op.drop_table("alert_rules")

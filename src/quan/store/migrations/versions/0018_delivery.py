"""delivery: the outbox relay's columns, and the jobs' run records

Revision ID: 0018_delivery
Revises: 0017_sec_avail

**Outbox (issue 25).** The relay (``quan.services.delivery.relay``) claims due rows, sends them
and records the outcome per message: ``next_attempt_at`` (due time, or the end of a sending
lease), ``last_error`` (a status code or error class, never personal data) and ``params_enc``
(the template's parameters, sealed like the body). ``pending`` becomes ``queued``; a check
constraint keeps the statuses to the five the relay knows. Rows still sealed are due now.

**Job runs.** ``job_runs``: what each scheduled job of ``quan worker`` did last (last and next
run, failures), for ``GET /api/v1/jobs`` and ``quan jobs status``.

**Purge step.** ``ix_outbox_sealed_created`` (partial: sealed rows only): the bounded purge
step each enqueue runs scanned the whole outbox without it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_delivery"
down_revision: str | None = "0017_sec_avail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("params_enc", sa.Text(), nullable=True))
        table.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.execute(sa.text("UPDATE outbox SET status = 'queued' WHERE status = 'pending'"))
    op.execute(sa.text("UPDATE outbox SET status = 'delivered' WHERE status = 'sent'"))
    op.execute(
        sa.text(
            "UPDATE outbox SET next_attempt_at = created_at "
            "WHERE status IN ('queued', 'failed') AND purged_at IS NULL"
        )
    )
    op.execute(
        sa.text(
            "UPDATE outbox SET status = 'dead', last_error = 'purged before delivery' "
            "WHERE status IN ('queued', 'failed') AND purged_at IS NOT NULL"
        )
    )
    with op.batch_alter_table("outbox") as table:
        table.create_index("ix_outbox_next_attempt_at", ["next_attempt_at"], unique=False)
        table.create_index(
            "ix_outbox_sealed_created",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("purged_at IS NULL"),
            sqlite_where=sa.text("purged_at IS NULL"),
        )
        table.create_check_constraint(
            "status", "status IN ('queued', 'sending', 'delivered', 'failed', 'dead')"
        )
    op.create_table(
        "job_runs",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_holder", sa.Text(), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.execute(
        sa.text("UPDATE outbox SET status = 'pending' WHERE status IN ('queued', 'sending')")
    )
    op.execute(sa.text("UPDATE outbox SET status = 'sent' WHERE status = 'delivered'"))
    with op.batch_alter_table("outbox") as table:
        table.drop_constraint(op.f("ck_outbox_status"), type_="check")
        table.drop_index("ix_outbox_sealed_created")
        table.drop_index("ix_outbox_next_attempt_at")
        table.drop_column("last_error")
        table.drop_column("next_attempt_at")
        table.drop_column("params_enc")

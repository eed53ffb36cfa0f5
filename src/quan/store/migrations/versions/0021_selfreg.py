"""selfreg: citizens' self-registrations (consent, real-name check, submission key)

Revision ID: 0021_selfreg
Revises: 0020_reminders

One row per self-registration attempt whose SMS code was accepted
(``quan.services.people.self_registration``): its status, the consent given (version of the
text, SHA-256, time), the real-name check's outcome and reference, and the account it created.
No personal data: the phone as its keyed hash, the form's submission key as a SHA-256.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0021_selfreg"
down_revision: str | None = "0020_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> "sa.Column[Any]":
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "self_registrations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("submission_hash", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("citizen_id", sa.Text(), nullable=True),
        sa.Column("consent_version", sa.Text(), nullable=False),
        sa.Column("consent_sha256", sa.Text(), nullable=False),
        _at("consented_at"),
        sa.Column("realname_provider", sa.Text(), nullable=True),
        sa.Column("realname_outcome", sa.Text(), nullable=True),
        sa.Column("realname_reference", sa.Text(), nullable=True),
        _at("created_at"),
        _at("finished_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('checking', 'registered', 'refused')",
            name=op.f("ck_self_registrations_status"),
        ),
        sa.CheckConstraint("channel IN ('web', 'api')", name=op.f("ck_self_registrations_channel")),
        sa.CheckConstraint(
            "(status = 'registered') = (citizen_id IS NOT NULL)",
            name=op.f("ck_self_registrations_registered_has_citizen"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_self_registrations_citizen_id_citizens"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_registrations")),
        sa.UniqueConstraint("submission_hash", name=op.f("uq_self_registrations_submission_hash")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_self_registrations_citizen_id")),
    )
    op.create_index(
        op.f("ix_self_registrations_phone_hash"),
        "self_registrations",
        ["phone_hash"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_self_registrations_phone_hash"), table_name="self_registrations")
    op.drop_table("self_registrations")

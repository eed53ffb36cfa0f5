"""sec-privacy: the sealed outbox, and masks without a tail

Revision ID: 0013
Revises: 0012

**Outbox (issue 13, I1).** ``recipient`` and ``body`` held phone numbers and sign-in codes in
clear; they become ``recipient_enc``/``body_enc`` (AES-GCM, see ``quan.channels.outbox``), with
``recipient_hash`` for lookups and ``purged_at``. Existing rows are *erased*, not encrypted:
migrations run without the application's secrets (by design: a migration never reads
``QUAN_PII_KEY``), no delivery worker exists yet, so no existing row would ever be sent, and
a sign-in code in one expired five minutes after it was written. They keep their channel,
kind, status and times and are marked purged at the migration's time. No clear row survives.

**Public leaves (I2).** ``log_formats`` records from which log index leaves are written in
format 2 (the public projection: citizens as per-program pseudonyms, sensitive payload keys
left out): the size the log has now. Entries already appended keep format 1, because their
hashes are signed and held by every verifier; rewriting them would fork the log.

**Reveal requests (I4).** ``reveal_requests``: reveals beyond a person's daily threshold wait
for a second person's approval.

**Masked ID numbers (I3).** ``resident_id_masked`` kept the last two characters, which with
the clear birth date and region narrowed a number to about ten candidates; existing masks are
cut to the first three characters (what ``mask_resident_id`` now writes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_formats",
        sa.Column("version", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("first_index", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("first_index >= 0", name=op.f("ck_log_formats_first_index")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_log_formats")),
    )
    op.execute(
        sa.text(
            "INSERT INTO log_formats (version, first_index) "
            "SELECT 2, COALESCE(MAX(log_index) + 1, 0) FROM log_entries"
        )
    )
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("recipient_hash", sa.Text(), nullable=True))
        table.add_column(sa.Column("recipient_enc", sa.Text(), nullable=True))
        table.add_column(sa.Column("body_enc", sa.Text(), nullable=True))
        table.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE outbox SET purged_at = CURRENT_TIMESTAMP"))
    with op.batch_alter_table("outbox") as table:
        table.drop_column("recipient")
        table.drop_column("body")
        table.create_index("ix_outbox_recipient_hash", ["recipient_hash"], unique=False)
        table.create_check_constraint(
            "sealed_until_purged",
            "(purged_at IS NULL) = (body_enc IS NOT NULL AND recipient_enc IS NOT NULL)",
        )
    op.create_table(
        "reveal_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("issuer_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> requested_by",
            name=op.f("ck_reveal_requests_two_people"),
        ),
        sa.CheckConstraint(
            "used_at IS NULL OR approved_at IS NOT NULL",
            name=op.f("ck_reveal_requests_used_when_approved"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_reveal_requests_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_reveal_requests_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reveal_requests")),
    )
    op.execute(
        sa.text(
            "UPDATE citizens SET resident_id_masked = "
            "substr(resident_id_masked, 1, 3) || '***************' "
            "WHERE length(resident_id_masked) = 18"
        )
    )


def downgrade() -> None:
    op.drop_table("reveal_requests")
    op.drop_table("log_formats")
    # The tails and the clear messages are gone for good; the columns come back, empty.
    with op.batch_alter_table("outbox") as table:
        table.drop_constraint(op.f("ck_outbox_sealed_until_purged"), type_="check")
        table.drop_index("ix_outbox_recipient_hash")
        table.add_column(sa.Column("recipient", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("body", sa.Text(), nullable=False, server_default=""))
        table.drop_column("purged_at")
        table.drop_column("body_enc")
        table.drop_column("recipient_enc")
        table.drop_column("recipient_hash")

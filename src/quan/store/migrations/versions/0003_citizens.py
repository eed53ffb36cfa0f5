"""citizens

Revision ID: 0003
Revises: 0002

Tables of quan.store.citizen_tables: citizens (personal data encrypted, keyed hashes unique),
eligibility-list imports, one-time sign-in codes, blacklist entries and their appeals.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("citizen_imports", "citizens", "citizen_otps", "blacklist_entries", "blacklist_appeals")


def _one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(name))


def _at(name: str, nullable: bool = False) -> "sa.Column[Any]":
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "citizen_imports",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("repeat_of", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["repeat_of"],
            ["citizen_imports.id"],
            name=op.f("fk_citizen_imports_repeat_of_citizen_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_imports")),
    )
    op.create_index(
        op.f("ix_citizen_imports_file_sha256"), "citizen_imports", ["file_sha256"], unique=False
    )

    op.create_table(
        "citizens",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("resident_id_hash", sa.Text(), nullable=False),
        sa.Column("resident_id_enc", sa.Text(), nullable=False),
        sa.Column("resident_id_masked", sa.Text(), nullable=False),
        sa.Column("name_enc", sa.Text(), nullable=False),
        sa.Column("name_masked", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.Text(), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("phone_masked", sa.Text(), nullable=True),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("income_group", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disability_grade", sa.Integer(), nullable=True),
        sa.Column("registered_via", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.Text(), nullable=False),
        sa.Column("import_id", sa.Text(), nullable=True),
        _at("created_at"),
        _one_of(
            "income_group", ("normal", "low_income", "subsistence"), "ck_citizens_income_group"
        ),
        _one_of(
            "registered_via", ("self", "agent", "operator", "import"), "ck_citizens_registered_via"
        ),
        sa.CheckConstraint(
            "disability_grade IS NULL OR (disabled AND disability_grade BETWEEN 1 AND 4)",
            name=op.f("ck_citizens_disability_grade"),
        ),
        sa.CheckConstraint(
            "(phone_hash IS NULL) = (phone_enc IS NULL) AND (phone_hash IS NULL) = "
            "(phone_masked IS NULL)",
            name=op.f("ck_citizens_phone_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["citizen_imports.id"],
            name=op.f("fk_citizens_import_id_citizen_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
        sa.UniqueConstraint("resident_id_hash", name=op.f("uq_citizens_resident_id_hash")),
        sa.UniqueConstraint("phone_hash", name=op.f("uq_citizens_phone_hash")),
    )
    op.create_index(op.f("ix_citizens_region_code"), "citizens", ["region_code"], unique=False)
    op.create_index(op.f("ix_citizens_import_id"), "citizens", ["import_id"], unique=False)

    op.create_table(
        "citizen_otps",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("expires_at"),
        _at("consumed_at", nullable=True),
        _at("created_at"),
        _one_of("purpose", ("login", "register"), "ck_citizen_otps_purpose"),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_citizen_otps_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_otps")),
    )
    op.create_index(
        "ix_citizen_otps_phone", "citizen_otps", ["phone_hash", "purpose", "id"], unique=False
    )

    op.create_table(
        "blacklist_entries",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _at("starts_at"),
        _at("ends_at", nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("issuer_id", sa.Text(), nullable=True),
        _at("created_at"),
        _at("lifted_at", nullable=True),
        sa.Column("lifted_by", sa.Text(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        _one_of("subject_type", ("citizen", "merchant"), "ck_blacklist_entries_subject_type"),
        _one_of(
            "reason_code",
            ("cash_out", "fake_transaction", "identity_fraud", "abuse", "other"),
            "ck_blacklist_entries_reason_code",
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_blacklist_entries_period")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_blacklist_entries_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entries")),
    )
    op.create_index(
        "ix_blacklist_entries_subject",
        "blacklist_entries",
        ["subject_type", "subject_id", "starts_at"],
        unique=False,
    )

    op.create_table(
        "blacklist_appeals",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.Text(), nullable=False),
        _at("filed_at"),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        _at("decided_at", nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('upheld', 'overturned')",
            name=op.f("ck_blacklist_appeals_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["blacklist_entries.id"],
            name=op.f("fk_blacklist_appeals_entry_id_blacklist_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_appeals")),
    )
    op.create_index(
        op.f("ix_blacklist_appeals_entry_id"), "blacklist_appeals", ["entry_id"], unique=False
    )
    op.create_index(
        "uq_blacklist_appeals_pending",
        "blacklist_appeals",
        ["entry_id"],
        unique=True,
        sqlite_where=sa.text("outcome IS NULL"),
        postgresql_where=sa.text("outcome IS NULL"),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)

"""vouchers

Revision ID: 0005
Revises: 0004

Tables of quan.store.voucher_tables: voucher types, batches and their reserved quotas, and the
vouchers themselves (pre-generated when a batch opens; the partial index ``ix_vouchers_stock`` is
the stock that claims take from).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> "sa.Column[Any]":
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = False) -> "sa.Column[Any]":
    return sa.Column(name, sa.Text(), nullable=nullable)


def _check(condition: str, name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(name))


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "voucher_types",
        _text("id"),
        _text("program_id"),
        _text("name"),
        _text("kind"),
        sa.Column("face_value_fen", sa.BigInteger(), nullable=True),
        sa.Column("min_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("unit_fen", sa.BigInteger(), nullable=False),
        _at("valid_from", nullable=True),
        _at("valid_until", nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        _text("definition"),
        _text("created_by"),
        _at("created_at"),
        _check(
            "(kind = 'fixed' AND face_value_fen = unit_fen AND percent_off IS NULL"
            " AND cap_fen IS NULL) OR (kind = 'percent' AND cap_fen = unit_fen"
            " AND face_value_fen IS NULL AND percent_off BETWEEN 1 AND 100)",
            "ck_voucher_types_discount",
        ),
        _check("kind IN ('fixed', 'percent')", "ck_voucher_types_kind"),
        _check(
            "(valid_days IS NOT NULL AND valid_days > 0 AND valid_from IS NULL"
            " AND valid_until IS NULL) OR (valid_days IS NULL AND valid_from < valid_until)",
            "ck_voucher_types_validity",
        ),
        _check("min_spend_fen >= 0", "ck_voucher_types_min_spend"),
        _check("unit_fen > 0", "ck_voucher_types_unit"),
        _fk("voucher_types", "program_id", "programs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_types")),
    )
    op.create_index(
        op.f("ix_voucher_types_program_id"), "voucher_types", ["program_id"], unique=False
    )

    op.create_table(
        "batches",
        _text("id"),
        _text("program_id"),
        _text("voucher_type_id"),
        _text("name"),
        _text("allocation"),
        _text("status"),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("per_citizen_limit", sa.Integer(), nullable=False),
        sa.Column("unit_fen", sa.BigInteger(), nullable=False),
        _at("claim_opens_at"),
        _at("claim_closes_at"),
        _text("eligibility"),
        _at("opened_at", nullable=True),
        _text("opened_by", nullable=True),
        _at("closed_at", nullable=True),
        _at("recycled_at", nullable=True),
        sa.Column("recycled_count", sa.Integer(), nullable=True),
        _text("created_by"),
        _at("created_at"),
        _at("updated_at"),
        _check("(status = 'draft') = (opened_at IS NULL)", "ck_batches_opened"),
        _check("allocation IN ('fcfs', 'lottery', 'grant')", "ck_batches_allocation"),
        _check("status IN ('draft', 'open', 'closed', 'recycled')", "ck_batches_status"),
        _check("claim_opens_at < claim_closes_at", "ck_batches_window"),
        _check("per_citizen_limit BETWEEN 1 AND 10", "ck_batches_limit"),
        _check("quantity BETWEEN 1 AND 2000000", "ck_batches_quantity"),
        _check("unit_fen > 0", "ck_batches_unit"),
        _fk("batches", "program_id", "programs"),
        _fk("batches", "voucher_type_id", "voucher_types"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_index("ix_batches_due", "batches", ["status", "claim_closes_at"], unique=False)
    op.create_index(op.f("ix_batches_program_id"), "batches", ["program_id"], unique=False)

    op.create_table(
        "batch_quotas",
        _text("batch_id"),
        _text("pool"),
        sa.Column("quantity", sa.Integer(), nullable=False),
        _at("opens_at", nullable=True),
        _at("release_at"),
        _check("pool IN ('elderly', 'low_income', 'disabled')", "ck_batch_quotas_pool"),
        _check("quantity > 0", "ck_batch_quotas_quantity"),
        _fk("batch_quotas", "batch_id", "batches"),
        sa.PrimaryKeyConstraint("batch_id", "pool", name="pk_batch_quotas"),
    )

    op.create_table(
        "vouchers",
        _text("id"),
        _text("code"),
        _text("program_id"),
        _text("batch_id"),
        _text("voucher_type_id"),
        _text("pool"),
        _text("status"),
        _text("citizen_id", nullable=True),
        sa.Column("claim_seq", sa.Integer(), nullable=True),
        _text("claim_key", nullable=True),
        _text("channel", nullable=True),
        _at("claimed_at", nullable=True),
        _at("valid_from", nullable=True),
        _at("valid_until", nullable=True),
        _at("status_changed_at", nullable=True),
        _text("release_ref", nullable=True),
        _check(
            "(status IN ('expired', 'recycled')) = (release_ref IS NOT NULL)",
            "ck_vouchers_released",
        ),
        _check(
            "(status IN ('unclaimed', 'recycled')) = (citizen_id IS NULL)",
            "ck_vouchers_owner_by_status",
        ),
        _check("pool IN ('general', 'elderly', 'low_income', 'disabled')", "ck_vouchers_pool"),
        _check(
            "status IN ('unclaimed', 'active', 'redeemed', 'expired', 'recycled')",
            "ck_vouchers_status",
        ),
        _check(
            "(citizen_id IS NULL) = (claim_seq IS NULL) AND (citizen_id IS NULL) = "
            "(claimed_at IS NULL) AND (citizen_id IS NULL) = (valid_until IS NULL)",
            "ck_vouchers_claim_complete",
        ),
        _check("claim_seq BETWEEN 1 AND 10", "ck_vouchers_claim_seq"),
        _fk("vouchers", "batch_id", "batches"),
        _fk("vouchers", "citizen_id", "citizens"),
        _fk("vouchers", "program_id", "programs"),
        _fk("vouchers", "voucher_type_id", "voucher_types"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("batch_id", "citizen_id", "claim_seq", name="uq_vouchers_claimant"),
        sa.UniqueConstraint("citizen_id", "claim_key", name="uq_vouchers_claim_key"),
        sa.UniqueConstraint("code", name=op.f("uq_vouchers_code")),
    )
    active = sa.text("status = 'active'")
    unclaimed = sa.text("status = 'unclaimed'")
    op.create_index(
        "ix_vouchers_expiry",
        "vouchers",
        ["valid_until"],
        unique=False,
        sqlite_where=active,
        postgresql_where=active,
    )
    op.create_index(
        "ix_vouchers_stock",
        "vouchers",
        ["batch_id", "pool", "id"],
        unique=False,
        sqlite_where=unclaimed,
        postgresql_where=unclaimed,
    )
    op.create_index("ix_vouchers_wallet", "vouchers", ["citizen_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_vouchers_wallet", table_name="vouchers")
    op.drop_index("ix_vouchers_stock", table_name="vouchers")
    op.drop_index("ix_vouchers_expiry", table_name="vouchers")
    op.drop_table("vouchers")
    op.drop_table("batch_quotas")
    op.drop_index(op.f("ix_batches_program_id"), table_name="batches")
    op.drop_index("ix_batches_due", table_name="batches")
    op.drop_table("batches")
    op.drop_index(op.f("ix_voucher_types_program_id"), table_name="voucher_types")
    op.drop_table("voucher_types")

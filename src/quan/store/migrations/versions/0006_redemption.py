"""redemption

Revision ID: 0006
Revises: 0005

Tables of quan.store.redemption_tables: redemptions (one live redemption per voucher, by a partial
unique index), reversals, voucher deactivations, the programs' redemption policies, offline syncs,
their records and the double-spend cases they raise, and settlement runs, statements and payouts.
Reversals, offline records and payouts are evidence: UPDATE and DELETE are refused (triggers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("redemption_reversals", "offline_records", "settlement_payouts")


def upgrade() -> None:
    op.create_table(
        "redemption_policies",
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "daily_cap BETWEEN 1 AND 100", name=op.f("ck_redemption_policies_daily_cap")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_redemption_policies_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_redemption_policies")),
    )
    op.create_table(
        "settlement_runs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("cut_off_date", sa.Date(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cut_off", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merchants", sa.Integer(), nullable=False),
        sa.Column("redemption_count", sa.BigInteger(), nullable=False),
        sa.Column("window_fen", sa.BigInteger(), nullable=False),
        sa.Column("carried_fen", sa.BigInteger(), nullable=False),
        sa.Column("held_fen", sa.BigInteger(), nullable=False),
        sa.Column("payout_fen", sa.BigInteger(), nullable=False),
        sa.Column("remainder_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "window_start IS NULL OR window_start < cut_off", name=op.f("ck_settlement_runs_window")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_settlement_runs_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_runs")),
        sa.UniqueConstraint("program_id", "cut_off_date", name="uq_settlement_runs_date"),
        sa.UniqueConstraint("program_id", "seq", name="uq_settlement_runs_seq"),
    )
    op.create_table(
        "offline_syncs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("terminal_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_offline_syncs_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_offline_syncs_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_syncs")),
    )
    op.create_table(
        "settlement_payouts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("settlement_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("statements", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("payment_ref", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.Text(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0 AND statements > 0", name=op.f("ck_settlement_payouts_positive")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_settlement_payouts_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlement_runs.id"],
            name=op.f("fk_settlement_payouts_settlement_id_settlement_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_payouts")),
    )
    op.create_table(
        "settlement_statements",
        sa.Column("settlement_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("redemption_count", sa.BigInteger(), nullable=False),
        sa.Column("window_fen", sa.BigInteger(), nullable=False),
        sa.Column("carried_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("held_fen", sa.BigInteger(), nullable=False),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("payout_fen", sa.BigInteger(), nullable=False),
        sa.Column("payout_status", sa.Text(), nullable=False),
        sa.Column("payout_id", sa.Text(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(payout_status = 'none') = (payout_fen = 0)"
            " AND (payout_status = 'paid') = (payout_id IS NOT NULL)"
            " AND (payout_status = 'paid') = (paid_at IS NOT NULL)",
            name=op.f("ck_settlement_statements_payout"),
        ),
        sa.CheckConstraint(
            "hold_reason IN ('merchant_suspended', 'merchant_blacklisted', 'offline_case')",
            name=op.f("ck_settlement_statements_hold_reason"),
        ),
        sa.CheckConstraint(
            "payout_status IN ('pending', 'paid', 'none')",
            name=op.f("ck_settlement_statements_payout_status"),
        ),
        sa.CheckConstraint(
            "(held_fen > 0) = (hold_reason IS NOT NULL)", name=op.f("ck_settlement_statements_hold")
        ),
        sa.CheckConstraint(
            "window_fen >= 0 AND carried_fen >= 0 AND total_fen = window_fen + carried_fen"
            " AND held_fen BETWEEN 0 AND total_fen AND payout_fen = total_fen - held_fen",
            name=op.f("ck_settlement_statements_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_settlement_statements_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"],
            ["settlement_payouts.id"],
            name=op.f("fk_settlement_statements_payout_id_settlement_payouts"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_settlement_statements_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlement_runs.id"],
            name=op.f("fk_settlement_statements_settlement_id_settlement_runs"),
        ),
        sa.PrimaryKeyConstraint("settlement_id", "merchant_id", name="pk_settlement_statements"),
    )
    op.create_index(
        "ix_settlement_statements_merchant",
        "settlement_statements",
        ["merchant_id", "settlement_id"],
        unique=False,
    )
    op.create_table(
        "redemptions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("voucher_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("terminal_id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("scene", sa.Text(), nullable=False),
        sa.Column("order_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("unit_fen", sa.BigInteger(), nullable=False),
        sa.Column("min_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("max_per_order", sa.Integer(), nullable=False),
        sa.Column("order_ref", sa.Text(), nullable=True),
        sa.Column("order_seq", sa.Integer(), nullable=True),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("day_seq", sa.Integer(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'reversed') = (reversed_at IS NOT NULL)",
            name=op.f("ck_redemptions_reversed"),
        ),
        sa.CheckConstraint("channel IN ('online', 'offline')", name=op.f("ck_redemptions_channel")),
        sa.CheckConstraint("scene IN ('offline', 'online')", name=op.f("ck_redemptions_scene")),
        sa.CheckConstraint(
            "status IN ('redeemed', 'reversed')", name=op.f("ck_redemptions_status")
        ),
        sa.CheckConstraint(
            "(order_ref IS NULL) = (order_seq IS NULL)", name=op.f("ck_redemptions_order")
        ),
        sa.CheckConstraint("day_seq BETWEEN 1 AND 100", name=op.f("ck_redemptions_day_seq")),
        sa.CheckConstraint(
            "order_amount_fen > 0 AND discount_fen > 0 AND discount_fen <= order_amount_fen"
            " AND discount_fen <= unit_fen",
            name=op.f("ck_redemptions_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_redemptions_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_redemptions_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_redemptions_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_redemptions_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_redemptions_terminal_id_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_redemptions_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint(
            "merchant_id", "order_ref", "order_seq", name="uq_redemptions_order_seq"
        ),
    )
    op.create_index("ix_redemptions_merchant", "redemptions", ["merchant_id", "id"], unique=False)
    op.create_index("ix_redemptions_voucher", "redemptions", ["voucher_id"], unique=False)
    op.create_index(
        "ix_redemptions_window", "redemptions", ["program_id", "recorded_at"], unique=False
    )
    op.create_index(
        "uq_redemptions_day_seq",
        "redemptions",
        ["program_id", "citizen_id", "local_day", "day_seq"],
        unique=True,
        sqlite_where=sa.text("status = 'redeemed' AND day_seq IS NOT NULL"),
        postgresql_where=sa.text("status = 'redeemed' AND day_seq IS NOT NULL"),
    )
    op.create_index(
        "uq_redemptions_live_voucher",
        "redemptions",
        ["voucher_id"],
        unique=True,
        sqlite_where=sa.text("status = 'redeemed'"),
        postgresql_where=sa.text("status = 'redeemed'"),
    )
    op.create_table(
        "voucher_deactivations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("voucher_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deactivated_by", sa.Text(), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reactivated_by", sa.Text(), nullable=True),
        sa.Column("reactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reactivation_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(reactivated_at IS NULL) = (reactivated_by IS NULL)"
            " AND (reactivated_at IS NULL) = (reactivation_reason IS NULL)",
            name=op.f("ck_voucher_deactivations_reactivated"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_voucher_deactivations_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["vouchers.id"],
            name=op.f("fk_voucher_deactivations_voucher_id_vouchers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_deactivations")),
    )
    op.create_index(
        "uq_voucher_deactivations_in_force",
        "voucher_deactivations",
        ["voucher_id"],
        unique=True,
        sqlite_where=sa.text("reactivated_at IS NULL"),
        postgresql_where=sa.text("reactivated_at IS NULL"),
    )
    op.create_table(
        "offline_cases",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("voucher_id", sa.Text(), nullable=False),
        sa.Column("redemption_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'resolved') = (resolved_at IS NOT NULL)",
            name=op.f("ck_offline_cases_resolved"),
        ),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_offline_cases_status")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_offline_cases_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_offline_cases_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_offline_cases_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_offline_cases_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_cases")),
    )
    op.create_index(
        "ix_offline_cases_merchant",
        "offline_cases",
        ["program_id", "merchant_id", "status"],
        unique=False,
    )
    op.create_index(
        "uq_offline_cases_open",
        "offline_cases",
        ["voucher_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "redemption_reversals",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("redemption_id", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=False),
        sa.Column("voucher_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reversed_by", sa.Text(), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('restored', 'recycled')", name=op.f("ck_redemption_reversals_outcome")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_redemption_reversals_amount")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_redemption_reversals_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_redemption_reversals_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_redemption_reversals_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["vouchers.id"],
            name=op.f("fk_redemption_reversals_voucher_id_vouchers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_reversals")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_redemption_reversals_redemption_id")),
    )
    op.create_table(
        "offline_records",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("sync_id", sa.Text(), nullable=False),
        sa.Column("terminal_id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("client_record_id", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("voucher_id", sa.Text(), nullable=True),
        sa.Column("order_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("scene", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("refusal_code", sa.Text(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("redemption_id", sa.Text(), nullable=True),
        sa.Column("case_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(outcome = 'accepted') = (redemption_id IS NOT NULL)",
            name=op.f("ck_offline_records_accepted"),
        ),
        sa.CheckConstraint(
            "(outcome = 'duplicate') = (case_id IS NOT NULL)",
            name=op.f("ck_offline_records_duplicate"),
        ),
        sa.CheckConstraint(
            "(outcome = 'rejected') = (refusal_code IS NOT NULL)",
            name=op.f("ck_offline_records_rejected"),
        ),
        sa.CheckConstraint(
            "outcome IN ('accepted', 'duplicate', 'rejected')",
            name=op.f("ck_offline_records_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offline_cases.id"], name=op.f("fk_offline_records_case_id_offline_cases")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_offline_records_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_offline_records_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["sync_id"], ["offline_syncs.id"], name=op.f("fk_offline_records_sync_id_offline_syncs")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_offline_records_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_records")),
        sa.UniqueConstraint("terminal_id", "client_record_id", name="uq_offline_records_client"),
    )
    op.create_index("ix_offline_records_voucher", "offline_records", ["voucher_id"], unique=False)
    _append_only_triggers()


def downgrade() -> None:
    op.drop_index("ix_offline_records_voucher", table_name="offline_records")
    op.drop_table("offline_records")
    op.drop_table("redemption_reversals")
    op.drop_index(
        "uq_offline_cases_open",
        table_name="offline_cases",
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_offline_cases_merchant", table_name="offline_cases")
    op.drop_table("offline_cases")
    op.drop_index(
        "uq_voucher_deactivations_in_force",
        table_name="voucher_deactivations",
        sqlite_where=sa.text("reactivated_at IS NULL"),
        postgresql_where=sa.text("reactivated_at IS NULL"),
    )
    op.drop_table("voucher_deactivations")
    op.drop_index(
        "uq_redemptions_live_voucher",
        table_name="redemptions",
        sqlite_where=sa.text("status = 'redeemed'"),
        postgresql_where=sa.text("status = 'redeemed'"),
    )
    op.drop_index(
        "uq_redemptions_day_seq",
        table_name="redemptions",
        sqlite_where=sa.text("status = 'redeemed' AND day_seq IS NOT NULL"),
        postgresql_where=sa.text("status = 'redeemed' AND day_seq IS NOT NULL"),
    )
    op.drop_index("ix_redemptions_window", table_name="redemptions")
    op.drop_index("ix_redemptions_voucher", table_name="redemptions")
    op.drop_index("ix_redemptions_merchant", table_name="redemptions")
    op.drop_table("redemptions")
    op.drop_index("ix_settlement_statements_merchant", table_name="settlement_statements")
    op.drop_table("settlement_statements")
    op.drop_table("settlement_payouts")
    op.drop_table("offline_syncs")
    op.drop_table("settlement_runs")
    op.drop_table("redemption_policies")


def _append_only_triggers() -> None:
    """Reversals, offline records and payouts are evidence; quan_refuse_change() is from 0001."""
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"{table}_no_{verb.lower()}"
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION quan_refuse_change()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'quan: {table} is append-only'); END"
                )

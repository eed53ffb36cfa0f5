"""Tables of redemption, reversal, offline sync and settlement (migration 0006).

The guarantees live here, in the schema:

- **one live redemption per voucher**: ``uq_redemptions_live_voucher`` is a unique index on
  ``voucher_id`` over rows in status ``redeemed``; the service also takes the voucher with a
  conditional ``UPDATE … WHERE status = 'active'``, so a double spend would have to beat both;
- **a reversal happens once**: ``redemption_reversals.redemption_id`` is unique, and the reversal
  moves its redemption out of ``redeemed`` with a conditional ``UPDATE``;
- **stacking and daily caps cannot be raced past**: the n-th voucher of an order takes
  ``order_seq = n`` (unique per merchant and order), and the holder's k-th redemption of a local day
  takes ``day_seq = k`` (unique among live redemptions, at most the program's cap);
- **an offline record is judged once**: ``(terminal_id, client_record_id)`` is unique;
- **one open case per voucher**, one deactivation in force per voucher;
- **a settlement window is settled once**: ``(program_id, cut_off_date)`` and ``(program_id,
  seq)`` are unique and a statement is ``(settlement_id, merchant_id)``.

Reversals, offline records and payouts are evidence and append-only (database triggers).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from quan.store.tables import UtcDateTime, metadata

REDEMPTION_STATUSES = ("redeemed", "reversed")
CHANNELS = ("online", "offline")
SCENES = ("offline", "online")
REVERSAL_OUTCOMES = ("restored", "recycled")
RECORD_OUTCOMES = ("accepted", "duplicate", "rejected")
CASE_STATUSES = ("open", "resolved")
PAYOUT_STATUSES = ("pending", "paid", "none")
HOLD_REASONS = (
    "merchant_suspended",
    "merchant_blacklisted",
    "offline_case",
    "redemption_hold",
)
MAX_DAILY_CAP = 100


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("voucher_id", Text, ForeignKey("vouchers.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("terminal_id", Text, ForeignKey("terminals.id"), nullable=False),
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=False),  # the holder
    Column("channel", Text, nullable=False),  # online: at the API; offline: synced later
    Column("category", Text, nullable=False),
    Column("scene", Text, nullable=False),
    Column("order_amount_fen", BigInteger, nullable=False),
    Column("discount_fen", BigInteger, nullable=False),
    # Copied from the voucher's type at redemption: what the batch reserved for this voucher, and
    # the stacking facts the next voucher of the same order is judged against.
    Column("unit_fen", BigInteger, nullable=False),
    Column("min_spend_fen", BigInteger, nullable=False),
    Column("max_per_order", Integer, nullable=False),
    Column("order_ref", Text, nullable=True),  # the merchant's order number: vouchers stack on it
    Column("order_seq", Integer, nullable=True),
    Column("local_day", Date, nullable=False),  # the service day in the program's time zone
    Column("day_seq", Integer, nullable=True),  # k-th live redemption of the holder that day
    Column("details", Text, nullable=True),  # branch, cashier, receipt number (JSON, bounded)
    Column("redeemed_at", UtcDateTime, nullable=False),  # when the customer was served
    # When the platform recorded it: what a settlement window is cut on
    # (see services.settlement.settlement).
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("status", Text, nullable=False),
    Column("reversed_at", UtcDateTime, nullable=True),
    _one_of("status", REDEMPTION_STATUSES, "status"),
    _one_of("channel", CHANNELS, "channel"),
    _one_of("scene", SCENES, "scene"),
    CheckConstraint(
        "order_amount_fen > 0 AND discount_fen > 0 AND discount_fen <= order_amount_fen"
        " AND discount_fen <= unit_fen",
        name="amounts",
    ),
    CheckConstraint("(status = 'reversed') = (reversed_at IS NOT NULL)", name="reversed"),
    CheckConstraint("(order_ref IS NULL) = (order_seq IS NULL)", name="order"),
    CheckConstraint(f"day_seq BETWEEN 1 AND {MAX_DAILY_CAP}", name="day_seq"),
    UniqueConstraint("merchant_id", "order_ref", "order_seq", name="uq_redemptions_order_seq"),
    Index(
        "uq_redemptions_live_voucher",
        "voucher_id",
        unique=True,
        sqlite_where=text("status = 'redeemed'"),
        postgresql_where=text("status = 'redeemed'"),
    ),
    Index(
        "uq_redemptions_day_seq",
        "program_id",
        "citizen_id",
        "local_day",
        "day_seq",
        unique=True,
        sqlite_where=text("status = 'redeemed' AND day_seq IS NOT NULL"),
        postgresql_where=text("status = 'redeemed' AND day_seq IS NOT NULL"),
    ),
    # A settlement window: a program's redemptions by the time they were recorded.
    Index("ix_redemptions_window", "program_id", "recorded_at"),
    Index("ix_redemptions_merchant", "merchant_id", "id"),
    Index("ix_redemptions_voucher", "voucher_id"),
)

redemption_reversals = Table(
    "redemption_reversals",
    metadata,
    Column("id", Text, primary_key=True),
    Column("redemption_id", Text, ForeignKey("redemptions.id"), nullable=False, unique=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("voucher_id", Text, ForeignKey("vouchers.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("outcome", Text, nullable=False),  # the voucher went back to its holder, or expired
    Column("reason", Text, nullable=False),
    Column("reversed_by", Text, nullable=False),
    Column("reversed_at", UtcDateTime, nullable=False),
    _one_of("outcome", REVERSAL_OUTCOMES, "outcome"),
    CheckConstraint("amount_fen > 0", name="amount"),
)

voucher_deactivations = Table(
    "voucher_deactivations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("voucher_id", Text, ForeignKey("vouchers.id"), nullable=False),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("deactivated_by", Text, nullable=False),
    Column("deactivated_at", UtcDateTime, nullable=False),
    Column("reactivated_by", Text, nullable=True),
    Column("reactivated_at", UtcDateTime, nullable=True),
    Column("reactivation_reason", Text, nullable=True),
    CheckConstraint(
        "(reactivated_at IS NULL) = (reactivated_by IS NULL)"
        " AND (reactivated_at IS NULL) = (reactivation_reason IS NULL)",
        name="reactivated",
    ),
    Index(
        "uq_voucher_deactivations_in_force",
        "voucher_id",
        unique=True,
        sqlite_where=text("reactivated_at IS NULL"),
        postgresql_where=text("reactivated_at IS NULL"),
    ),
)

# A program's redemption rules that are not part of any voucher type.
redemption_policies = Table(
    "redemption_policies",
    metadata,
    Column("program_id", Text, ForeignKey("programs.id"), primary_key=True),
    Column("daily_cap", Integer, nullable=True),  # live redemptions per holder per local day
    Column("updated_by", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(f"daily_cap BETWEEN 1 AND {MAX_DAILY_CAP}", name="daily_cap"),
)

offline_syncs = Table(
    "offline_syncs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("terminal_id", Text, ForeignKey("terminals.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("records", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("replayed", Integer, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

offline_cases = Table(
    "offline_cases",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("voucher_id", Text, ForeignKey("vouchers.id"), nullable=False),
    # The redemption that won (synced first, or made online); its merchant's money is held.
    Column("redemption_id", Text, ForeignKey("redemptions.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("flagged_at", UtcDateTime, nullable=False),
    Column("resolved_by", Text, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", Text, nullable=True),
    _one_of("status", CASE_STATUSES, "status"),
    CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name="resolved"),
    Index(
        "uq_offline_cases_open",
        "voucher_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
    Index("ix_offline_cases_merchant", "program_id", "merchant_id", "status"),
)

offline_records = Table(
    "offline_records",
    metadata,
    Column("id", Text, primary_key=True),
    Column("sync_id", Text, ForeignKey("offline_syncs.id"), nullable=False),
    Column("terminal_id", Text, ForeignKey("terminals.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("client_record_id", Text, nullable=False),
    Column("token", Text, nullable=False),  # exactly as scanned: the evidence
    Column("voucher_id", Text, nullable=True),  # null when the token could not be read
    Column("order_amount_fen", BigInteger, nullable=False),
    Column("category", Text, nullable=False),
    Column("scene", Text, nullable=False),
    Column("details", Text, nullable=True),
    Column("redeemed_at", UtcDateTime, nullable=False),  # the terminal's clock
    Column("received_at", UtcDateTime, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("refusal_code", Text, nullable=True),
    Column("refusal", Text, nullable=True),  # the refusal's fields (JSON)
    Column("redemption_id", Text, ForeignKey("redemptions.id"), nullable=True),
    Column("case_id", Text, ForeignKey("offline_cases.id"), nullable=True),
    _one_of("outcome", RECORD_OUTCOMES, "outcome"),
    CheckConstraint("(outcome = 'accepted') = (redemption_id IS NOT NULL)", name="accepted"),
    CheckConstraint("(outcome = 'duplicate') = (case_id IS NOT NULL)", name="duplicate"),
    CheckConstraint("(outcome = 'rejected') = (refusal_code IS NOT NULL)", name="rejected"),
    UniqueConstraint("terminal_id", "client_record_id", name="uq_offline_records_client"),
    Index("ix_offline_records_voucher", "voucher_id"),
)

settlement_runs = Table(
    "settlement_runs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("cut_off_date", Date, nullable=False),  # the last local day settled
    Column("window_start", UtcDateTime, nullable=True),  # the previous run's cut-off
    Column("cut_off", UtcDateTime, nullable=False),  # local midnight after cut_off_date
    Column("merchants", Integer, nullable=False),
    Column("redemption_count", BigInteger, nullable=False),
    Column("window_fen", BigInteger, nullable=False),
    Column("carried_fen", BigInteger, nullable=False),
    Column("held_fen", BigInteger, nullable=False),
    Column("payout_fen", BigInteger, nullable=False),
    Column("remainder_fen", BigInteger, nullable=False),  # reserve freed by settled vouchers
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("program_id", "seq", name="uq_settlement_runs_seq"),
    UniqueConstraint("program_id", "cut_off_date", name="uq_settlement_runs_date"),
    CheckConstraint("window_start IS NULL OR window_start < cut_off", name="window"),
)

settlement_payouts = Table(
    "settlement_payouts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("settlement_id", Text, ForeignKey("settlement_runs.id"), nullable=False),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("statements", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("payment_ref", Text, nullable=False),  # the bank's batch or transfer reference
    Column("marked_by", Text, nullable=False),
    Column("marked_at", UtcDateTime, nullable=False),
    CheckConstraint("amount_fen > 0 AND statements > 0", name="positive"),
)

settlement_statements = Table(
    "settlement_statements",
    metadata,
    Column("settlement_id", Text, ForeignKey("settlement_runs.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("redemption_count", BigInteger, nullable=False),
    Column("window_fen", BigInteger, nullable=False),  # redeemed in the window, net of reversals
    Column("carried_fen", BigInteger, nullable=False),  # held in the previous run, owed still
    Column("total_fen", BigInteger, nullable=False),
    Column("held_fen", BigInteger, nullable=False),
    Column("hold_reason", Text, nullable=True),
    Column("payout_fen", BigInteger, nullable=False),
    Column("payout_status", Text, nullable=False),
    Column("payout_id", Text, ForeignKey("settlement_payouts.id"), nullable=True),
    Column("paid_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("settlement_id", "merchant_id", name="pk_settlement_statements"),
    _one_of("payout_status", PAYOUT_STATUSES, "payout_status"),
    _one_of("hold_reason", HOLD_REASONS, "hold_reason"),
    CheckConstraint(
        "window_fen >= 0 AND carried_fen >= 0 AND total_fen = window_fen + carried_fen"
        " AND held_fen BETWEEN 0 AND total_fen AND payout_fen = total_fen - held_fen",
        name="amounts",
    ),
    CheckConstraint("(held_fen > 0) = (hold_reason IS NOT NULL)", name="hold"),
    CheckConstraint(
        "(payout_status = 'none') = (payout_fen = 0)"
        " AND (payout_status = 'paid') = (payout_id IS NOT NULL)"
        " AND (payout_status = 'paid') = (paid_at IS NOT NULL)",
        name="payout",
    ),
    Index("ix_settlement_statements_merchant", "merchant_id", "settlement_id"),
)

APPEND_ONLY = ("redemption_reversals", "offline_records", "settlement_payouts")

# A reversal of a redemption that a settlement had already put on a statement: the refund is
# netted, not paid back at once. The first run after it whose window owes the merchant at least as
# much deducts it (``settlement_id``, set then) and posts the reversal entry; until then the
# merchant's payable still holds it (see quan.services.redemption.reversal and
# quan.services.settlement.settlement).
settlement_deductions = Table(
    "settlement_deductions",
    metadata,
    Column("reversal_id", Text, ForeignKey("redemption_reversals.id"), primary_key=True),
    Column("redemption_id", Text, ForeignKey("redemptions.id"), nullable=False, unique=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("settlement_id", Text, ForeignKey("settlement_runs.id"), nullable=True),
    CheckConstraint("amount_fen > 0", name="amount"),
    Index("ix_settlement_deductions_pending", "program_id", "merchant_id", "settlement_id"),
)

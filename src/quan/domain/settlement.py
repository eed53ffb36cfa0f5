"""Settlement rules (结算): cut-offs, windows, holds, statement arithmetic, payout attribution.

A program is settled in runs, each up to a **cut-off**: local midnight after a calendar day in the
program's time zone (``cut_off_date`` 2026-11-25 in Asia/Shanghai settles everything recorded
before 2026-11-26 00:00 +08:00). Runs follow each other: run k covers the redemptions recorded in
``[cut-off k-1, cut-off k)``, so every redemption falls in exactly one window, and a cut-off is
only accepted once it lies ``SAFETY_MARGIN`` in the past (see ``services.settlement.settlement``
for why the database guarantees that nothing is recorded behind it afterwards).

A merchant's **statement** in a run::

    total  = window (its unreversed redemptions in the window) + carried (held in the last run)
    held   = total                     if the merchant is suspended or blacklisted
           = min(total, open cases)    if offline double-spend cases against it are open
           = 0                         otherwise
    payout = total - held

Held money stays owed (``payable``) and is carried into the next run until the hold ends.
Marking a payout paid moves ``payout`` from ``payable`` to ``paid``; the person who marks it must
not be the one who ran the settlement (a scheduled run, by the system, may be marked by anyone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from quan.domain.csv_export import csv_text
from quan.domain.errors import Kind, QuanError, define
from quan.domain.merchants import MerchantStatus
from quan.domain.money import format_yuan

# A cut-off must be this far in the past: it absorbs clock differences between API processes.
SAFETY_MARGIN = timedelta(minutes=1)

CUT_OFF_NOT_PASSED = define(
    "CUT_OFF_NOT_PASSED",
    Kind.CONFLICT,
    zh="结算截止时间 {cut_off} 尚未到（须在其后至少 1 分钟）",
    en="The cut-off {cut_off} has not passed yet (settle at least a minute after it)",
)
CUT_OFF_NOT_AFTER_LAST = define(
    "CUT_OFF_NOT_AFTER_LAST",
    Kind.CONFLICT,
    zh="截止日期须晚于上一次结算的截止日期 {last_cut_off_date}",
    en="The cut-off date must be after the last settlement's, {last_cut_off_date}",
)
CUT_OFF_BEFORE_START = define(
    "CUT_OFF_BEFORE_START",
    Kind.INVALID,
    zh="截止日期 {cut_off_date} 早于项目开始日期 {starts_on}",
    en="The cut-off date {cut_off_date} is before the program started ({starts_on})",
)
NOTHING_TO_SETTLE = define(
    "NOTHING_TO_SETTLE",
    Kind.CONFLICT,
    zh="截至 {cut_off_date} 没有需要结算的核销、扣减或结余，不记录空的结算",
    en="Nothing to settle up to {cut_off_date} (no redemption, deduction or remainder); "
    "an empty run is not recorded",
)
SETTLEMENT_EXISTS = define(
    "SETTLEMENT_EXISTS",
    Kind.CONFLICT,
    zh="该截止日期已结算（结算单 {settlement_id}）",
    en="This cut-off date is already settled (settlement {settlement_id})",
)
PAYOUT_SAME_PERSON = define(
    "PAYOUT_SAME_PERSON",
    Kind.FORBIDDEN,
    zh="执行结算的人员不能确认同一结算的付款，需由另一名操作员确认",
    en="Whoever ran a settlement cannot mark its payouts paid; another operator must",
)
NOTHING_TO_PAY = define(
    "NOTHING_TO_PAY",
    Kind.CONFLICT,
    zh="没有待付款的结算单（可能已确认付款或金额全部暂扣）",
    en="No statement is waiting for payment (already paid, or all held)",
)
PAYMENT_REF_REQUIRED = define(
    "PAYMENT_REF_REQUIRED",
    Kind.INVALID,
    zh="请填写银行付款凭证号（payment_ref）",
    en="Give the bank's payment reference (payment_ref)",
)


class HoldReason(StrEnum):
    MERCHANT_SUSPENDED = "merchant_suspended"  # or otherwise not approved
    MERCHANT_BLACKLISTED = "merchant_blacklisted"
    OFFLINE_CASE = "offline_case"  # an offline double spend under investigation
    REDEMPTION_HOLD = "redemption_hold"  # single redemptions held by an abuse case


class PayoutStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    NONE = "none"  # nothing to pay this run (all held)


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, cut_off)``; ``start`` is ``None`` for a program's first run (from the start)."""

    start: datetime | None
    cut_off: datetime

    def __contains__(self, recorded_at: datetime) -> bool:
        return (self.start is None or self.start <= recorded_at) and recorded_at < self.cut_off


def cut_off_for(cut_off_date: date, timezone: str) -> datetime:
    """The instant that closes ``cut_off_date``: the next local midnight, in UTC."""
    midnight = datetime.combine(cut_off_date + timedelta(days=1), time(0), ZoneInfo(timezone))
    return midnight.astimezone(UTC)


def default_cut_off_date(now: datetime, timezone: str) -> date:
    """T+1: yesterday in the program's time zone."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def next_window(
    cut_off_date: date,
    timezone: str,
    *,
    now: datetime,
    starts_at: datetime,
    last_cut_off_date: date | None,
    last_cut_off: datetime | None,
) -> Window:
    """The window a new run would settle; refused before the program started, before the
    cut-off has passed, or not after the last. Dates are compared before any instant is
    computed, so no date (``0001-01-01``, ``9999-12-31``) can overflow the arithmetic."""
    if last_cut_off_date is not None and cut_off_date <= last_cut_off_date:
        raise QuanError(CUT_OFF_NOT_AFTER_LAST, last_cut_off_date=last_cut_off_date.isoformat())
    zone = ZoneInfo(timezone)
    starts_on = starts_at.astimezone(zone).date()
    if cut_off_date < starts_on:
        raise QuanError(
            CUT_OFF_BEFORE_START,
            cut_off_date=cut_off_date.isoformat(),
            starts_on=starts_on.isoformat(),
        )
    if cut_off_date > now.astimezone(zone).date():
        # A day still to come (up to 9999-12-31, whose next midnight is out of range).
        shown = cut_off_for(cut_off_date, timezone).isoformat() if cut_off_date < date.max else (
            cut_off_date.isoformat()
        )
        raise QuanError(CUT_OFF_NOT_PASSED, cut_off=shown)
    cut_off = cut_off_for(cut_off_date, timezone)
    if cut_off > now - SAFETY_MARGIN:
        raise QuanError(CUT_OFF_NOT_PASSED, cut_off=cut_off.isoformat())
    return Window(last_cut_off, cut_off)


@dataclass(frozen=True, slots=True)
class StatementAmounts:
    window_fen: int
    carried_fen: int
    held_fen: int
    hold_reason: HoldReason | None

    @property
    def total_fen(self) -> int:
        return self.window_fen + self.carried_fen

    @property
    def payout_fen(self) -> int:
        return self.total_fen - self.held_fen

    @property
    def payout_status(self) -> PayoutStatus:
        return PayoutStatus.PENDING if self.payout_fen > 0 else PayoutStatus.NONE


def hold(
    total_fen: int,
    merchant_status: MerchantStatus,
    blacklisted: bool,
    open_cases_fen: int,
    held_redemptions_fen: int = 0,
) -> tuple[int, HoldReason | None]:
    """How much of a merchant's ``total_fen`` is held, and why (the rule in the docstring).

    An open case holds an amount equal to the disputed redemption even when that redemption
    was paid in an earlier run: the merchant may have to pay it back, so an equal sum waits.
    A redemption held by an abuse case (``held_redemptions_fen``, never a settled one) holds
    exactly its own discount; the rest of the merchant's money is paid.
    """
    if total_fen <= 0:
        return 0, None
    if merchant_status is not MerchantStatus.APPROVED:
        return total_fen, HoldReason.MERCHANT_SUSPENDED
    if blacklisted:
        return total_fen, HoldReason.MERCHANT_BLACKLISTED
    if open_cases_fen > 0:
        return min(total_fen, open_cases_fen + held_redemptions_fen), HoldReason.OFFLINE_CASE
    if held_redemptions_fen > 0:
        return min(total_fen, held_redemptions_fen), HoldReason.REDEMPTION_HOLD
    return 0, None


def statement(
    window_fen: int,
    carried_fen: int,
    merchant_status: MerchantStatus,
    blacklisted: bool,
    open_cases_fen: int,
) -> StatementAmounts:
    held, reason = hold(window_fen + carried_fen, merchant_status, blacklisted, open_cases_fen)
    return StatementAmounts(window_fen, carried_fen, held, reason)


def check_payer(run_created_by: str, payer_label: str) -> None:
    """Maker-checker: the settlement's author does not confirm its payouts."""
    if run_created_by == payer_label and not run_created_by.startswith("system:"):
        raise QuanError(PAYOUT_SAME_PERSON)


# --- files ---------------------------------------------------------------------------------------

STATEMENT_COLUMNS = (
    "settlement_id",
    "merchant_id",
    "redemption_count",
    "window_fen",
    "carried_fen",
    "total_fen",
    "held_fen",
    "hold_reason",
    "payout_fen",
    "payout_status",
    "payout_id",
)
LINE_COLUMNS = (
    "redemption_id",
    "voucher_id",
    "terminal_id",
    "channel",
    "category",
    "redeemed_at",
    "recorded_at",
    "order_amount_fen",
    "discount_fen",
    "order_ref",
    "branch",
    "cashier",
    "receipt_no",
)
PAYOUT_COLUMNS = (
    "settlement_id",
    "merchant_id",
    "merchant_name",
    "bank_name",
    "account_number",
    "amount_fen",
    "amount_yuan",
    "reference",
)


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]], *, header: bool = True) -> str:
    """CSV with a header (``header=False`` gives more rows of the same file, for streaming),
    through the one export writer (:func:`quan.domain.csv_export.csv_text`): receipt numbers
    and cashier names are typed by merchants, so formula-leading cells are defused.
    """
    return csv_text(columns if header else None, ([row.get(c) for c in columns] for row in rows))


def payout_row(
    settlement_id: str,
    merchant_id: str,
    merchant_name: str,
    bank_name: str,
    account_number: str,
    amount_fen: int,
) -> dict[str, Any]:
    return {
        "settlement_id": settlement_id,
        "merchant_id": merchant_id,
        "merchant_name": merchant_name,
        "bank_name": bank_name,
        "account_number": account_number,
        "amount_fen": amount_fen,
        "amount_yuan": format_yuan(amount_fen).removeprefix("¥").replace(",", ""),
        # What the merchant sees on its bank statement: which settlement paid it.
        "reference": f"QUAN {settlement_id}",
    }

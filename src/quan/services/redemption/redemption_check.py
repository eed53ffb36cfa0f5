"""Reconciliation of redemptions and settlements with the ledger (part of ``quan ledger check``).

Proves, over one snapshot, that the records and the money tell the same story:

- every redemption has exactly one ``redemption`` entry moving its discount into ``payable``, and
  a ``reversal`` entry moving it back if and only if it was reversed (a reversal after settlement
  posts it when a settlement nets it: until then, none);
- a voucher is ``redeemed`` exactly when it has a live redemption;
- each batch's reserve is what its vouchers still need: ``unit × (unclaimed + active vouchers)``
  plus, for redemptions not yet settled, the part of their unit the discount did not use;
- every statement equals the redemptions of its window (count and amount; those reversed after
  it count, and the deductions it netted are subtracted), carries exactly what
  the merchant's previous statement held, and its run's totals are the sum of its statements;
  the reserve a run released equals what its settled vouchers did not use;
- ``paid:<merchant>`` is the sum of its paid statements and ``payable:<merchant>`` the sum of its
  live redemptions and of its deductions not yet netted, minus that; each payout's entry pays
  exactly its statements.

Everything is computed with ``GROUP BY`` in the database; Python compares per merchant, batch or
statement, never per redemption.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select

from quan.domain.ledger import Bucket, Violations
from quan.services.redemption.settled_check import (
    MAX_LISTED,
    _check_merchant_accounts,
    _check_payouts,
    _check_runs,
    _check_statements,
    _report,
)
from quan.store.redemption_tables import (
    redemptions,
    settlement_deductions,
    settlement_runs,
)
from quan.store.tables import journal_entries, postings
from quan.store.voucher_tables import batches, vouchers


def check_redemptions(tx: Connection, violations: Violations) -> None:
    _check_entries(tx, violations)
    _check_voucher_status(tx, violations)
    _check_reserves(tx, violations)
    _check_statements(tx, violations)
    _check_runs(tx, violations)
    _check_merchant_accounts(tx, violations)
    _check_payouts(tx, violations)


def _payable_by_source(kind: str) -> Any:
    je, p = journal_entries.c, postings.c
    return (
        select(
            je.source_id.label("redemption_id"),
            func.count(func.distinct(je.id)).label("entries"),
            func.sum(p.amount_fen).label("payable_fen"),
        )
        .select_from(journal_entries.join(postings, p.entry_id == je.id))
        .where(je.kind == kind, je.source_type == "redemption", p.bucket == Bucket.PAYABLE.value)
        .group_by(je.source_id)
        .subquery(kind)
    )


def _check_entries(tx: Connection, violations: Violations) -> None:
    r, d = redemptions.c, settlement_deductions.c
    made, undone = _payable_by_source("redemption"), _payable_by_source("reversal")
    pending = select(d.redemption_id).where(d.settlement_id.is_(None)).subquery("pending_netting")
    waiting = pending.c.redemption_id.is_not(None)  # reversed after settlement, not netted yet
    rows = tx.execute(
        select(
            r.id,
            r.status,
            r.discount_fen,
            made.c.entries,
            made.c.payable_fen,
            undone.c.entries,
            undone.c.payable_fen,
        )
        .select_from(
            redemptions.outerjoin(made, made.c.redemption_id == r.id)
            .outerjoin(undone, undone.c.redemption_id == r.id)
            .outerjoin(pending, pending.c.redemption_id == r.id)
        )
        .where(
            or_(
                func.coalesce(made.c.entries, 0) != 1,
                made.c.payable_fen != r.discount_fen,
                and_(r.status == "reversed", ~waiting, func.coalesce(undone.c.entries, 0) != 1),
                and_(r.status == "reversed", ~waiting, undone.c.payable_fen != -r.discount_fen),
                and_(r.status == "reversed", waiting, func.coalesce(undone.c.entries, 0) != 0),
                and_(r.status == "redeemed", func.coalesce(undone.c.entries, 0) != 0),
            )
        )
        .order_by(r.id)
    ).all()
    _report(
        violations,
        [
            f"redemption {rid} ({status}, {fen} fen): redemption entries {n or 0} of "
            f"{amount} fen, reversal entries {m or 0} of {back} fen"
            for rid, status, fen, n, amount, m, back in rows
        ],
    )
    # NOT EXISTS, not NOT IN: an anti-join, where NOT IN over millions of ids that do not fit
    # in work_mem is a scan of the subquery per row.
    orphans = tx.execute(
        select(journal_entries.c.id)
        .where(
            journal_entries.c.source_type == "redemption",
            ~exists().where(r.id == journal_entries.c.source_id),
        )
        .limit(MAX_LISTED)
    ).scalars()
    _report(
        violations, [f"journal entry {e} names a redemption that does not exist" for e in orphans]
    )


def _check_voucher_status(tx: Connection, violations: Violations) -> None:
    r, v = redemptions.c, vouchers.c
    live = exists().where(r.voucher_id == v.id, r.status == "redeemed")
    stray = tx.execute(
        select(v.id).where(v.status == "redeemed", ~live).limit(MAX_LISTED)
    ).scalars()
    _report(violations, [f"voucher {x} is redeemed without a live redemption" for x in stray])
    spent = tx.execute(
        select(r.id, v.status)
        .select_from(redemptions.join(vouchers, v.id == r.voucher_id))
        .where(r.status == "redeemed", v.status != "redeemed")
        .limit(MAX_LISTED)
    ).all()
    _report(violations, [f"redemption {x} is live but its voucher is {s}" for x, s in spent])


def _last_cut_offs(tx: Connection) -> Any:
    s = settlement_runs.c
    return (
        select(s.program_id, func.max(s.cut_off).label("cut_off"))
        .group_by(s.program_id)
        .subquery("last_cut")
    )


def _check_reserves(tx: Connection, violations: Violations) -> None:
    v, r, b, p = vouchers.c, redemptions.c, batches.c, postings.c
    holding = (
        select(v.batch_id, func.count().label("n"))
        .where(v.status.in_(("unclaimed", "active")))
        .group_by(v.batch_id)
        .subquery("holding")
    )
    last = _last_cut_offs(tx)
    unsettled = (
        select(r.batch_id, func.sum(r.unit_fen - r.discount_fen).label("fen"))
        .select_from(redemptions.outerjoin(last, last.c.program_id == r.program_id))
        .where(
            r.status == "redeemed", or_(last.c.cut_off.is_(None), r.recorded_at >= last.c.cut_off)
        )
        .group_by(r.batch_id)
        .subquery("unsettled")
    )
    reserved = (
        select(p.ref.label("batch_id"), func.sum(p.amount_fen).label("fen"))
        .where(p.bucket == Bucket.RESERVED.value)
        .group_by(p.ref)
        .subquery("reserved")
    )
    rows = tx.execute(
        select(
            b.id,
            b.unit_fen,
            func.coalesce(holding.c.n, 0),
            func.coalesce(unsettled.c.fen, 0),
            func.coalesce(reserved.c.fen, 0),
        )
        .select_from(
            batches.outerjoin(holding, holding.c.batch_id == b.id)
            .outerjoin(unsettled, unsettled.c.batch_id == b.id)
            .outerjoin(reserved, reserved.c.batch_id == b.id)
        )
        .order_by(b.id)
    ).all()
    found = []
    for batch_id, unit, held, leftover, balance in rows:
        needed = int(unit) * int(held) + int(leftover)
        if needed != int(balance):
            found.append(
                f"batch {batch_id}: reserve is {int(balance)} fen, its vouchers need {needed} fen"
            )
    _report(violations, found)

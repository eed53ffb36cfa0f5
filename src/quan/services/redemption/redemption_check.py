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

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select

from quan.domain.ledger import Bucket, Violations
from quan.store.redemption_tables import (
    redemptions,
    settlement_deductions,
    settlement_payouts,
    settlement_runs,
    settlement_statements,
)
from quan.store.tables import journal_entries, postings
from quan.store.voucher_tables import batches, vouchers

MAX_LISTED = 20  # per kind of violation; the count says how many more


def check_redemptions(tx: Connection, violations: Violations) -> None:
    _check_entries(tx, violations)
    _check_voucher_status(tx, violations)
    _check_reserves(tx, violations)
    _check_statements(tx, violations)
    _check_runs(tx, violations)
    _check_merchant_accounts(tx, violations)
    _check_payouts(tx, violations)


def _report(violations: Violations, found: list[str]) -> None:
    for message in found[:MAX_LISTED]:
        violations.add(message)
    if len(found) > MAX_LISTED:
        violations.add(f"... and {len(found) - MAX_LISTED} more like the above")


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


def _window_totals(tx: Connection) -> dict[tuple[str, str], tuple[int, int, int]]:
    """``(run, merchant) → (count, discount, unused reserve)`` recomputed from the redemptions."""
    r, s, d = redemptions.c, settlement_runs.c, settlement_deductions.c
    settled_then_reversed = select(d.redemption_id)
    rows = tx.execute(
        select(
            s.id,
            r.merchant_id,
            func.count(),
            func.sum(r.discount_fen),
            func.sum(r.unit_fen - r.discount_fen),
        )
        .select_from(
            redemptions.join(
                settlement_runs,
                and_(
                    s.program_id == r.program_id,
                    r.recorded_at < s.cut_off,
                    or_(s.window_start.is_(None), r.recorded_at >= s.window_start),
                ),
            )
        )
        .where(or_(r.status == "redeemed", r.id.in_(settled_then_reversed)))
        .group_by(s.id, r.merchant_id)
    ).all()
    totals = {(sid, m): (int(n), int(fen), int(unused)) for sid, m, n, fen, unused in rows}
    for sid, m, fen in tx.execute(
        select(d.settlement_id, d.merchant_id, func.sum(d.amount_fen))
        .where(d.settlement_id.is_not(None))
        .group_by(d.settlement_id, d.merchant_id)
    ):
        n, window, unused = totals.get((sid, m), (0, 0, 0))
        totals[(sid, m)] = (n, window - int(fen), unused)
    return totals


def _check_statements(tx: Connection, violations: Violations) -> None:
    st, s = settlement_statements.c, settlement_runs.c
    recomputed = _window_totals(tx)
    rows = tx.execute(
        select(
            st.settlement_id,
            st.merchant_id,
            st.redemption_count,
            st.window_fen,
            st.carried_fen,
            st.held_fen,
            s.program_id,
            s.seq,
        )
        .select_from(settlement_statements.join(settlement_runs, s.id == st.settlement_id))
        .order_by(s.program_id, s.seq, st.merchant_id)
    ).all()
    found: list[str] = []
    stated: set[tuple[str, str]] = set()
    seq_held: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for sid, merchant, n, fen, carried, held, program, seq in rows:
        stated.add((sid, merchant))
        count, amount, _unused = recomputed.get((sid, merchant), (0, 0, 0))
        if (int(n), int(fen)) != (count, amount):
            found.append(
                f"statement {sid}/{merchant}: {n} redemptions of {fen} fen, the window holds "
                f"{count} of {amount} fen"
            )
        seq_held[(program, int(seq))][merchant] = int(held)
        previous = seq_held.get((program, int(seq) - 1), {}).get(merchant, 0)
        if int(carried) != previous:
            found.append(
                f"statement {sid}/{merchant} carries {carried} fen; the last run held {previous}"
            )
    for (sid, merchant), (_count, amount, _unused) in sorted(recomputed.items()):
        if (sid, merchant) not in stated:
            found.append(f"settlement {sid} has no statement for {merchant} ({amount} fen owed)")
    runs = {(program, int(seq)) for program, seq in tx.execute(select(s.program_id, s.seq))}
    for (program, seq), held in seq_held.items():
        if (program, seq + 1) not in runs:
            continue
        for merchant, fen in held.items():
            if fen and merchant not in seq_held.get((program, seq + 1), {}):
                found.append(f"{fen} fen held for {merchant} in run {seq} of {program} vanished")
    _report(violations, found)


def _check_runs(tx: Connection, violations: Violations) -> None:
    st, s, je, p = settlement_statements.c, settlement_runs.c, journal_entries.c, postings.c
    sums = (
        select(
            st.settlement_id,
            func.count().label("merchants"),
            func.sum(st.redemption_count).label("n"),
            func.sum(st.window_fen).label("window"),
            func.sum(st.carried_fen).label("carried"),
            func.sum(st.held_fen).label("held"),
            func.sum(st.payout_fen).label("payout"),
        )
        .group_by(st.settlement_id)
        .subquery("sums")
    )
    released = (
        select(je.source_id.label("run_id"), func.sum(p.amount_fen).label("fen"))
        .select_from(journal_entries.join(postings, p.entry_id == je.id))
        .where(je.kind == "redemption_remainder", p.bucket == Bucket.AVAILABLE.value)
        .group_by(je.source_id)
        .subquery("released")
    )
    unused: dict[str, int] = defaultdict(int)
    for (sid, _merchant), (_n, _fen, fen) in _window_totals(tx).items():
        unused[sid] += fen
    rows = tx.execute(
        select(
            s.id,
            s.merchants,
            s.redemption_count,
            s.window_fen,
            s.carried_fen,
            s.held_fen,
            s.payout_fen,
            s.remainder_fen,
            func.coalesce(sums.c.merchants, 0),
            func.coalesce(sums.c.n, 0),
            func.coalesce(sums.c.window, 0),
            func.coalesce(sums.c.carried, 0),
            func.coalesce(sums.c.held, 0),
            func.coalesce(sums.c.payout, 0),
            func.coalesce(released.c.fen, 0),
        )
        .select_from(
            settlement_runs.outerjoin(sums, sums.c.settlement_id == s.id).outerjoin(
                released, released.c.run_id == s.id
            )
        )
        .order_by(s.id)
    ).all()
    found = []
    for row in rows:
        sid, stated, summed = row[0], [int(x) for x in row[1:7]], [int(x) for x in row[8:14]]
        remainder, released_fen = int(row[7]), int(row[14])
        if stated != summed:
            found.append(f"settlement {sid}: totals {stated} differ from its statements {summed}")
        if not remainder == released_fen == unused.get(sid, 0):
            found.append(
                f"settlement {sid}: released {released_fen} fen of reserve, recorded {remainder},"
                f" its vouchers left {unused.get(sid, 0)} unused"
            )
    _report(violations, found)


def _check_merchant_accounts(tx: Connection, violations: Violations) -> None:
    r, st, p = redemptions.c, settlement_statements.c, postings.c
    owed: dict[tuple[str, str], int] = defaultdict(int)
    for program, merchant, fen in tx.execute(
        select(r.program_id, r.merchant_id, func.sum(r.discount_fen))
        .where(r.status == "redeemed")
        .group_by(r.program_id, r.merchant_id)
    ):
        owed[(program, merchant)] += int(fen)
    d = settlement_deductions.c
    for program, merchant, fen in tx.execute(
        select(d.program_id, d.merchant_id, func.sum(d.amount_fen))
        .where(d.settlement_id.is_(None))
        .group_by(d.program_id, d.merchant_id)
    ):
        owed[(program, merchant)] += int(fen)  # reversed after settlement, not netted yet
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for program, merchant, fen in tx.execute(
        select(st.program_id, st.merchant_id, func.sum(st.payout_fen))
        .where(st.payout_status == "paid")
        .group_by(st.program_id, st.merchant_id)
    ):
        paid[(program, merchant)] += int(fen)
    ledger: dict[tuple[str, str, str], int] = {}
    for program, bucket, ref, fen in tx.execute(
        select(p.program_id, p.bucket, p.ref, func.sum(p.amount_fen))
        .where(p.bucket.in_((Bucket.PAYABLE.value, Bucket.PAID.value)))
        .group_by(p.program_id, p.bucket, p.ref)
    ):
        ledger[(program, bucket, ref)] = int(fen)
    found = []
    for key in sorted(set(owed) | set(paid) | {(k[0], k[2]) for k in ledger}):
        program, merchant = key
        want_paid, want_payable = paid[key], owed[key] - paid[key]
        has_paid = ledger.get((program, Bucket.PAID.value, merchant), 0)
        has_payable = ledger.get((program, Bucket.PAYABLE.value, merchant), 0)
        if (has_paid, has_payable) != (want_paid, want_payable):
            found.append(
                f"merchant {merchant} in {program}: ledger payable {has_payable} / paid "
                f"{has_paid} fen, redemptions and payouts say {want_payable} / {want_paid}"
            )
    _report(violations, found)


def _check_payouts(tx: Connection, violations: Violations) -> None:
    st, pay, je, p = settlement_statements.c, settlement_payouts.c, journal_entries.c, postings.c
    stated = (
        select(st.payout_id, func.count().label("n"), func.sum(st.payout_fen).label("fen"))
        .where(st.payout_id.is_not(None))
        .group_by(st.payout_id)
        .subquery("stated")
    )
    posted = (
        select(
            je.source_id.label("payout_id"),
            func.sum(p.amount_fen).label("fen"),
            func.count(func.distinct(je.id)).label("entries"),
        )
        .select_from(journal_entries.join(postings, p.entry_id == je.id))
        .where(je.kind == "payout", p.bucket == Bucket.PAID.value)
        .group_by(je.source_id)
        .subquery("posted")
    )
    rows = tx.execute(
        select(
            pay.id,
            pay.statements,
            pay.amount_fen,
            func.coalesce(stated.c.n, 0),
            func.coalesce(stated.c.fen, 0),
            func.coalesce(posted.c.fen, 0),
            func.coalesce(posted.c.entries, 0),
        )
        .select_from(
            settlement_payouts.outerjoin(stated, stated.c.payout_id == pay.id).outerjoin(
                posted, posted.c.payout_id == pay.id
            )
        )
        .order_by(pay.id)
    ).all()
    found = []
    for pid, n, amount, n_stated, fen_stated, fen_posted, entries in rows:
        if (
            (int(n), int(amount)) != (int(n_stated), int(fen_stated))
            or int(entries) != 1
            or (int(fen_posted) != int(amount))
        ):
            found.append(
                f"payout {pid} of {amount} fen for {n} statements: statements say {fen_stated} "
                f"for {n_stated}, {entries} entries paid {fen_posted}"
            )
    _report(violations, found)

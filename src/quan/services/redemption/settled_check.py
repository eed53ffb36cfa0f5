"""The ledger check's part for what redemptions made payable: every settlement window's totals,
the statements, the runs, the merchants' payable accounts and the payouts agree (for
:mod:`quan.services.redemption.redemption_check`)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, and_, func, or_, select

from quan.domain.ledger import Bucket, Violations
from quan.store.redemption_tables import (
    redemptions,
    settlement_deductions,
    settlement_payouts,
    settlement_runs,
    settlement_statements,
)
from quan.store.tables import journal_entries, postings

MAX_LISTED = 20  # per kind of violation; the count says how many more


def _report(violations: Violations, found: list[str]) -> None:
    for message in found[:MAX_LISTED]:
        violations.add(message)
    if len(found) > MAX_LISTED:
        violations.add(f"... and {len(found) - MAX_LISTED} more like the above")


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

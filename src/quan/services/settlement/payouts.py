"""Paying merchants: the bank payout file (bank accounts in clear, every export recorded) and
marking the statements paid once the bank has paid them (never by whoever ran the settlement)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.ledger import Bucket
from quan.domain.settlement import (
    NOTHING_TO_PAY,
    PAYMENT_REF_REQUIRED,
    PayoutStatus,
    check_payer,
    payout_row,
)
from quan.services.merchants import merchants as merchant_service
from quan.services.money.programs import visible_program
from quan.services.people import pii
from quan.services.settlement.settlement import Payout, get_run, visible_run
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import (
    settlement_payouts,
    settlement_statements,
)
from quan.store.tables import journal_entries, postings


def mark_paid(
    tx: Connection,
    now: datetime,
    actor: Actor,
    settlement_id: str,
    *,
    payment_ref: str,
    merchant_ids: list[str] | None = None,
) -> Payout:
    """Record that the bank paid the pending statements (all, or those of ``merchant_ids``)."""
    ref = " ".join(payment_ref.split())
    if not ref or len(ref) > 200:
        raise QuanError(PAYMENT_REF_REQUIRED)
    run = get_run(tx, settlement_id)
    visible_program(tx, actor, run.program_id, for_update=True)
    check_payer(run.created_by, actor.label)
    st = settlement_statements.c
    pending = [st.settlement_id == settlement_id, st.payout_status == PayoutStatus.PENDING.value]
    if merchant_ids is not None:
        pending.append(st.merchant_id.in_(merchant_ids))
    count, amount = tx.execute(
        select(func.count(), func.coalesce(func.sum(st.payout_fen), 0)).where(*pending)
    ).one()
    if not count:
        raise QuanError(NOTHING_TO_PAY)
    payout_id = new_id("pay")
    tx.execute(
        insert(settlement_payouts).values(
            id=payout_id,
            settlement_id=settlement_id,
            program_id=run.program_id,
            statements=int(count),
            amount_fen=int(amount),
            payment_ref=ref,
            marked_by=actor.label,
            marked_at=now,
        )
    )
    marked = tx.execute(
        update(settlement_statements)
        .where(*pending)
        .values(payout_status=PayoutStatus.PAID.value, payout_id=payout_id, paid_at=now)
    ).rowcount
    if marked != count:  # the program lock makes this unreachable
        raise QuanError(NOTHING_TO_PAY)
    _post_payout(tx, now, actor, run.program_id, payout_id, settlement_id)
    record_event(
        tx,
        type="settlement.paid",
        actor=actor,
        subject_type="settlement",
        subject_id=settlement_id,
        program_id=run.program_id,
        at=now,
        payload={"payout_id": payout_id, "statements": int(count), "amount_fen": int(amount)},
    )
    return Payout(
        payout_id, settlement_id, run.program_id, int(count), int(amount), ref, actor.label, now
    )


def _post_payout(
    tx: Connection, now: datetime, actor: Actor, program_id: str, payout_id: str, run_id: str
) -> None:
    """One journal entry; its postings come straight from the statements it pays."""
    entry_id = new_id("je")
    tx.execute(
        insert(journal_entries).values(
            id=entry_id,
            program_id=program_id,
            kind="payout",
            source_type="settlement_payout",
            source_id=payout_id,
            memo=f"payouts of settlement {run_id}",
            created_by=actor.label,
            created_at=now,
        )
    )
    st = settlement_statements.c
    paid = st.payout_id == payout_id

    def leg(bucket: Bucket, sign: int) -> Select[Any]:
        return select(
            literal(entry_id),
            literal(program_id),
            literal(bucket.value),
            st.merchant_id,
            st.payout_fen * sign,
        ).where(paid)

    tx.execute(
        insert(postings).from_select(
            ["entry_id", "program_id", "bucket", "ref", "amount_fen"],
            union_all(leg(Bucket.PAYABLE, -1), leg(Bucket.PAID, 1)),
        )
    )


def payout_file(
    tx: Connection, now: datetime, actor: Actor, key: pii.Key, settlement_id: str
) -> list[dict[str, Any]]:
    """The pending payouts with each merchant's bank account in clear, for the bank.

    Reading the accounts is recorded (``settlement.payout_file_exported``): they are
    confidential, and who took them out, when, is part of the audit trail.
    """
    run = visible_run(tx, actor, settlement_id)
    st = settlement_statements.c
    rows = tx.execute(
        select(st.merchant_id, st.payout_fen, merchants.c.name)
        .select_from(settlement_statements.join(merchants, merchants.c.id == st.merchant_id))
        .where(st.settlement_id == run.id, st.payout_status == PayoutStatus.PENDING.value)
        .order_by(st.merchant_id)
    ).all()
    out = []
    for merchant_id, amount, name in rows:
        account = merchant_service.payout_account(tx, key, merchant_id)
        out.append(
            payout_row(
                run.id, merchant_id, name, account.bank_name, account.account_number, int(amount)
            )
        )
    record_event(
        tx,
        type="settlement.payout_file_exported",
        actor=actor,
        subject_type="settlement",
        subject_id=run.id,
        program_id=run.program_id,
        at=now,
        payload={"rows": len(out), "amount_fen": sum(int(r["amount_fen"]) for r in out)},
    )
    return out

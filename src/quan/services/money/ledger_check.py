"""``quan ledger check``: every ledger invariant over the whole database, in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from quan.domain.funding import MovementStatus
from quan.domain.ledger import Violations, check_account_balances, check_entry_sums
from quan.services.redemption.redemption_check import check_redemptions
from quan.store import ledger
from quan.store.tables import fund_movements, journal_entries, postings, programs


@dataclass(frozen=True, slots=True)
class LedgerReport:
    programs: int
    entries: int
    postings: int
    funded_fen: int
    violations: list[str]

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        head = "ledger ok" if self.ok else f"ledger BROKEN ({len(self.violations)} violations)"
        return (
            f"{head}: {self.programs} programs, {self.entries} journal entries, "
            f"{self.postings} postings, {self.funded_fen} fen funded"
        )


def check_ledger(tx: Connection) -> LedgerReport:
    violations = Violations()
    check_entry_sums(ledger.entry_sums(tx), violations)
    misfiled = ledger.misfiled_postings(tx)
    if misfiled:
        violations.add(f"{misfiled} postings belong to a different program than their entry")

    by_program: dict[str, list[tuple[str, str, int]]] = {}
    for program_id, bucket, ref, balance in ledger.account_balances(tx):
        by_program.setdefault(program_id, []).append((bucket, ref, balance))
    funded = 0
    for program_id, accounts in by_program.items():
        funded += check_account_balances(program_id, accounts, violations).funded_fen

    _check_movements(tx, violations)
    check_redemptions(tx, violations)  # redemptions, reversals, settlements, payouts
    return LedgerReport(
        programs=int(tx.execute(select(func.count()).select_from(programs)).scalar_one()),
        entries=int(tx.execute(select(func.count()).select_from(journal_entries)).scalar_one()),
        postings=int(tx.execute(select(func.count()).select_from(postings)).scalar_one()),
        funded_fen=funded,
        violations=violations.items,
    )


def _check_movements(tx: Connection, violations: Violations) -> None:
    """Approved movements are posted exactly once with their amount; others are not posted."""
    posted = (
        select(
            journal_entries.c.source_id.label("movement_id"),
            func.count(func.distinct(journal_entries.c.id)).label("entries"),
            func.sum(func.abs(postings.c.amount_fen)).label("moved"),
        )
        .select_from(journal_entries.join(postings, postings.c.entry_id == journal_entries.c.id))
        .where(journal_entries.c.source_type == "fund_movement")
        .group_by(journal_entries.c.source_id)
        .subquery()
    )
    rows = tx.execute(
        select(
            fund_movements.c.id,
            fund_movements.c.status,
            fund_movements.c.amount_fen,
            posted.c.entries,
            posted.c.moved,
        ).select_from(
            fund_movements.outerjoin(posted, and_(posted.c.movement_id == fund_movements.c.id))
        )
    )
    for movement_id, status, amount, entries, moved in rows:
        entries = int(entries or 0)
        if status == MovementStatus.APPROVED.value:
            if entries != 1:
                violations.add(f"approved movement {movement_id} has {entries} journal entries")
            elif int(moved) != 2 * int(amount):
                violations.add(
                    f"movement {movement_id} of {amount} fen posted {int(moved) // 2} fen"
                )
        elif entries:
            violations.add(f"{status} movement {movement_id} has money in the ledger")

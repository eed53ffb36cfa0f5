"""Targeted grants (定向发放): vouchers of a ``grant`` batch to a segment or a list of citizens.

* The segment is an eligibility rule over citizens' attributes (the same rule language as a
  batch's eligibility); a list is citizen ids. Either way the batch's own eligibility also
  applies, blacklisted citizens are skipped, and so are unknown ids.
* Once per batch: citizens already holding a voucher of the batch are left out in SQL
  (``NOT EXISTS``), so re-running a grant issues nothing twice; a grant racing another one for
  the same citizen fails on the unique ``(batch_id, citizen_id, claim_seq)`` and rolls back whole.
* Vouchers are taken from the batch's pre-generated rows through :mod:`quan.services.issuing`
  (never more than the batch holds); who is left over is reported as ``unserved``.
* Grants run while the batch is open, without regard to the claim window (an operator act).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, select

from quan.domain.auth import Actor
from quan.domain.batches import Allocation, BatchStatus
from quan.domain.citizens import CitizenProfile, IncomeGroup, local_date
from quan.domain.claims import BATCH_NOT_OPEN, WRONG_ALLOCATION, Channel
from quan.domain.eligibility import Rule, holds, parse_rule
from quan.domain.errors import Kind, QuanError, define
from quan.services import blacklist
from quan.services.batches import visible_batch
from quan.services.issuing import IssueReport, Recipient, issue_many
from quan.store.citizen_tables import blacklist_entries, citizens
from quan.store.events import record_event
from quan.store.tables import programs
from quan.store.voucher_tables import vouchers

INVALID_GRANT = define(
    "INVALID_GRANT",
    Kind.INVALID,
    zh="定向发放须指定人群条件或居民名单（二选一）",
    en="A grant needs exactly one of a segment or a list of citizen ids ({reason})",
)

_CHUNK = 5000
# issue_many reads its issued vouchers back with one IN list: PostgreSQL takes at most 65,535
# parameters per statement, so recipients go to it in slices.
ISSUE_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class GrantReport:
    batch_id: str
    targeted: int
    issued: int
    already_granted: int
    skipped: int
    unserved: int


def _targets(
    tx: Connection, batch_id: str, now: datetime, ids: Sequence[str] | None
) -> Iterable[Sequence[Any]]:
    """Citizen rows not blacklisted and holding no voucher of the batch (in chunks)."""
    c, v, e = citizens.c, vouchers.c, blacklist_entries.c
    base = select(
        c.id, c.birth_date, c.region_code, c.income_group, c.disabled, c.disability_grade
    ).where(
        ~exists().where(v.batch_id == batch_id, v.citizen_id == c.id),
        ~exists().where(
            e.subject_type == "citizen", e.subject_id == c.id, blacklist.in_force_at(now)
        ),
    )
    if ids is None:
        yield tx.execute(base.order_by(c.id)).all()
        return
    for start in range(0, len(ids), _CHUNK):
        yield tx.execute(base.where(c.id.in_(ids[start : start + _CHUNK]))).all()


def grant(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    *,
    segment: Any | None = None,
    citizen_ids: Sequence[str] | None = None,
) -> GrantReport:
    if (segment is None) == (citizen_ids is None):
        raise QuanError(INVALID_GRANT, reason="segment_xor_list")
    rule: Rule | None = parse_rule(segment) if segment is not None else None
    batch = visible_batch(tx, actor, batch_id)
    if batch.allocation is not Allocation.GRANT:
        raise QuanError(WRONG_ALLOCATION, allocation=batch.allocation.value)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    tz = tx.execute(select(programs.c.timezone).where(programs.c.id == batch.program_id)).scalar()
    today = local_date(now, tz) if tz else local_date(now)
    ids = sorted(set(citizen_ids)) if citizen_ids is not None else None
    recipients: list[Recipient] = []
    seen = 0
    for rows in _targets(tx, batch_id, now, ids):
        for row in rows:
            seen += 1
            profile = CitizenProfile(
                birth_date=row.birth_date,
                region_code=row.region_code,
                income_group=IncomeGroup(row.income_group),
                disabled=bool(row.disabled),
                disability_grade=row.disability_grade,
            )
            if rule is not None and not holds(rule, profile, today):
                continue
            if not holds(batch.eligibility, profile, today):
                continue
            recipients.append(Recipient(row.id))
    report = issue_in_chunks(tx, now, actor, batch_id, recipients, channel=Channel.GRANT)
    if ids is not None:
        targeted = len(ids)
        held = _holding(tx, batch_id, ids)
        already = held - len(report.issued)
        skipped = targeted - len(recipients) - already
    else:
        targeted = len(recipients)
        already = 0
        skipped = 0
    result = GrantReport(
        batch_id=batch_id,
        targeted=targeted,
        issued=len(report.issued),
        already_granted=max(already, 0),
        skipped=max(skipped, 0),
        unserved=len(report.unserved) + len(report.at_limit),
    )
    record_event(
        tx,
        type="batch.granted",
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=batch.program_id,
        at=now,
        payload={
            "by": "segment" if rule is not None else "list",
            "targeted": result.targeted,
            "issued": result.issued,
            "already_granted": result.already_granted,
            "skipped": result.skipped,
            "unserved": result.unserved,
        },
    )
    return result


def issue_in_chunks(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    recipients: Sequence[Recipient],
    *,
    channel: Channel,
) -> IssueReport:
    """:func:`issue_many` over slices of ``recipients``, in the caller's one transaction."""
    total = IssueReport([], [], [])
    for start in range(0, max(len(recipients), 1), ISSUE_CHUNK):
        part = issue_many(
            tx, now, actor, batch_id, recipients[start : start + ISSUE_CHUNK], channel=channel
        )
        total.issued.extend(part.issued)
        total.at_limit.extend(part.at_limit)
        total.unserved.extend(part.unserved)
    return total


def _holding(tx: Connection, batch_id: str, ids: Sequence[str]) -> int:
    """How many of ``ids`` hold a voucher of the batch now."""
    v = vouchers.c
    total = 0
    for start in range(0, len(ids), _CHUNK):
        total += len(
            tx.execute(
                select(v.citizen_id)
                .where(v.batch_id == batch_id, v.citizen_id.in_(ids[start : start + _CHUNK]))
                .distinct()
            ).all()
        )
    return total

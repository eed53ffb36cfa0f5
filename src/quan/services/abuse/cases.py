"""Risk cases: opened by the rules with their evidence, reviewed and decided by an operator.

A scan (:func:`scan`, the ``risk-scan`` job of ``quan worker``, or an operator's "scan now")
computes the features of every active program, scores each merchant and citizen with the rules
of :mod:`quan.domain.abuse`, and opens a case for a subject whose score reaches the threshold —
unless a case for it is open, or was decided within the look-back (a dismissed case is not
reopened by the same evidence). The case keeps its findings and the redemptions they concern.

A decision is ``confirmed`` (the case's redemptions not yet settled are held, and the subject
may be blacklisted through the blacklist's own use case) or ``dismissed`` (the case's holds are
released), always with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from quan.domain.abuse import (
    FAST_SECONDS,
    LOOKBACK_DAYS,
    RULES_BY_ID,
    RULES_VERSION,
    Assessment,
    Finding,
    Subject,
    assess,
)
from quan.domain.auth import SYSTEM, Actor, require_issuer
from quan.domain.blacklist import ReasonCode, SubjectType
from quan.domain.blacklist import Subject as Barred
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.abuse import features, holds
from quan.services.money.programs import get_program, visible_program
from quan.services.people import blacklist_decisions
from quan.store.abuse_tables import risk_cases, risk_redemption_features
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import redemptions
from quan.store.tables import programs

CASE_NOT_OPEN = define(
    "RISK_CASE_NOT_OPEN",
    Kind.CONFLICT,
    zh="该风险案件已处理",
    en="This risk case has already been decided",
)
DECISION_REASON_REQUIRED = define(
    "RISK_CASE_REASON_REQUIRED",
    Kind.INVALID,
    zh="处理案件须填写理由（不超过 1000 字）",
    en="Deciding a case needs a reason (at most 1000 characters)",
)
DECISION_REQUIRED = define(
    "RISK_CASE_DECISION_REQUIRED",
    Kind.INVALID,
    zh="请选择处理结果：确认或驳回",
    en="Choose a decision: confirm or dismiss",
)
MAX_EVIDENCE = 500  # redemptions kept as a case's evidence


class Decision(StrEnum):
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class RiskCase:
    id: str
    program_id: str
    subject_type: Subject
    subject_id: str
    score: float
    rules_version: str
    findings: tuple[Finding, ...]
    redemption_ids: tuple[str, ...]
    status: str
    opened_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    blacklist_entry_id: str | None


def _case(row: Any) -> RiskCase:
    evidence = json.loads(row.evidence)
    return RiskCase(
        id=row.id,
        program_id=row.program_id,
        subject_type=Subject(row.subject_type),
        subject_id=row.subject_id,
        score=float(row.score),
        rules_version=row.rules_version,
        findings=tuple(
            Finding(f["rule_id"], f["value"], f["weight"]) for f in evidence["findings"]
        ),
        redemption_ids=tuple(evidence["redemption_ids"]),
        status=row.status,
        opened_at=row.opened_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        blacklist_entry_id=row.blacklist_entry_id,
    )


# --- opening --------------------------------------------------------------------------------------


def flagged_redemptions(tx: Connection, now: datetime, program_id: str, a: Assessment) -> list[str]:
    """The live redemptions the findings point at (the rules about refusals point at none)."""
    f, r = risk_redemption_features.c, redemptions.c
    own = f.merchant_id if a.subject is Subject.MERCHANT else f.citizen_id
    other = f.citizen_id if a.subject is Subject.MERCHANT else f.merchant_id
    wanted: list[Any] = []
    for finding in a.findings:
        rule = RULES_BY_ID[finding.rule_id]
        name = rule.feature.value
        if name == "near_min_share":
            wanted.append(f.near_min_spend == 1)
        elif name == "round_share":
            wanted.append(f.round_amount == 1)
        elif name == "fast_share":
            wanted.append(f.claim_seconds < FAST_SECONDS)
        elif name == "max_pair":
            pairs = (
                select(other)
                .where(f.program_id == program_id, own == a.subject_id)
                .group_by(other)
                .having(func.max(f.pair_seq) >= rule.threshold)
            )
            wanted.append(other.in_(pairs))
    if not wanted:
        return []
    return list(
        tx.execute(
            select(f.redemption_id)
            .select_from(risk_redemption_features.join(redemptions, r.id == f.redemption_id))
            .where(
                f.program_id == program_id,
                own == a.subject_id,
                r.status == "redeemed",
                f.recorded_at >= now - timedelta(days=LOOKBACK_DAYS),
                or_(*wanted),
            )
            .order_by(f.redemption_id)
            .limit(MAX_EVIDENCE)
        ).scalars()
    )


def _reviewed_lately(tx: Connection, now: datetime, program_id: str, a: Assessment) -> bool:
    c = risk_cases.c
    return bool(
        tx.execute(
            select(
                exists().where(
                    c.program_id == program_id,
                    c.subject_type == a.subject.value,
                    c.subject_id == a.subject_id,
                    or_(
                        c.status == "open",
                        c.decided_at >= now - timedelta(days=LOOKBACK_DAYS),
                    ),
                )
            )
        ).scalar()
    )


def _open(tx: Connection, now: datetime, program_id: str, a: Assessment) -> str | None:
    if _reviewed_lately(tx, now, program_id, a):
        return None
    evidence = {
        "findings": [
            {"rule_id": f.rule_id, "value": f.value, "weight": f.weight} for f in a.findings
        ],
        "redemption_ids": flagged_redemptions(tx, now, program_id, a),
    }
    case_id = new_id("rsk")
    try:
        with tx.begin_nested():
            tx.execute(
                insert(risk_cases).values(
                    id=case_id,
                    program_id=program_id,
                    subject_type=a.subject.value,
                    subject_id=a.subject_id,
                    score=a.score,
                    rules_version=RULES_VERSION,
                    evidence=json.dumps(evidence, separators=(",", ":")),
                    status="open",
                    opened_at=now,
                )
            )
    except IntegrityError:
        return None  # another scan opened it first (uq_risk_cases_open)
    record_event(
        tx,
        type="risk_case.opened",
        actor=SYSTEM,
        subject_type="risk_case",
        subject_id=case_id,
        program_id=program_id,
        at=now,
        payload={
            "subject_type": a.subject.value,
            "subject_id": a.subject_id,
            "score": a.score,
            "rules_version": RULES_VERSION,
            "rules": [f.rule_id for f in a.findings],
        },
    )
    return case_id


def scan_program(tx: Connection, now: datetime, program_id: str) -> list[str]:
    """Compute the program's features and open the cases its scores call for."""
    found = features.compute(tx, now, program_id)
    opened: list[str] = []
    for subject in (Subject.MERCHANT, Subject.CITIZEN):
        for subject_id, values in sorted(found[subject].items()):
            a = assess(subject, subject_id, values)
            if a.opens_case:
                case_id = _open(tx, now, program_id, a)
                if case_id is not None:
                    opened.append(case_id)
    return opened


def scan(db: Database, now: datetime, program_ids: list[str] | None = None) -> list[str]:
    """Scan every active program (or the ones given), one transaction each."""
    if program_ids is None:
        with db.read() as tx:
            program_ids = list(
                tx.execute(
                    select(programs.c.id)
                    .where(programs.c.status == "active")
                    .order_by(programs.c.id)
                ).scalars()
            )
    opened: list[str] = []
    for program_id in program_ids:
        with db.write() as tx:
            opened += scan_program(tx, now, program_id)
    return opened


# --- reading --------------------------------------------------------------------------------------


def cases_query(tx: Connection, actor: Actor, program_id: str, status: str | None) -> Select[Any]:
    visible_program(tx, actor, program_id)
    query = select(risk_cases).where(risk_cases.c.program_id == program_id)
    if status is not None:
        query = query.where(risk_cases.c.status == status)
    return query.order_by(risk_cases.c.id.desc())


def load(rows: Sequence[Any]) -> list[RiskCase]:
    return [_case(row) for row in rows]


def get_case(tx: Connection, actor: Actor, case_id: str) -> RiskCase:
    row = tx.execute(select(risk_cases).where(risk_cases.c.id == case_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"case {case_id}")
    require_issuer(actor, get_program(tx, row.program_id).issuer_id)
    return _case(row)


# --- deciding -------------------------------------------------------------------------------------


def decide(
    tx: Connection,
    now: datetime,
    actor: Actor,
    case_id: str,
    decision: Decision,
    reason: str,
    *,
    blacklist: bool = False,
) -> RiskCase:
    """Confirm (hold the case's redemptions not yet settled; blacklist the subject if asked) or
    dismiss (release the case's holds) an open case."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > 1000:
        raise QuanError(DECISION_REASON_REQUIRED)
    case = get_case(tx, actor, case_id)
    get_program(tx, case.program_id, for_update=True)
    c = risk_cases.c
    changed = tx.execute(
        update(risk_cases)
        .where(and_(c.id == case_id, c.status == "open"))
        .values(
            status=decision.value, decided_by=actor.label, decided_at=now, decision_reason=reason
        )
    ).rowcount
    if changed != 1:
        raise QuanError(CASE_NOT_OPEN)
    entry_id: str | None = None
    held: list[str] = []
    if decision is Decision.CONFIRMED:
        held = holds.hold_many(tx, now, actor, case_id, list(case.redemption_ids)).held
        if blacklist:
            listing = blacklist_decisions.add_entry(
                tx, now, actor,
                blacklist_decisions.NewEntry(
                    Barred(SubjectType(case.subject_type.value), case.subject_id),
                    ReasonCode.CASH_OUT, f"{case_id}: {reason}",
                ),
            )  # fmt: skip
            entry_id = listing.entry.id
            tx.execute(
                update(risk_cases).where(c.id == case_id).values(blacklist_entry_id=entry_id)
            )
    else:
        holds.release_case_holds(tx, now, actor, case_id)
    record_event(
        tx,
        type="risk_case.decided",
        actor=actor,
        subject_type="risk_case",
        subject_id=case_id,
        program_id=case.program_id,
        at=now,
        payload={
            "outcome": decision.value,
            "subject_type": case.subject_type.value,
            "held": len(held),
            "blacklist_entry_id": entry_id,
            "decision_reason": reason,
        },
    )
    return get_case(tx, actor, case_id)

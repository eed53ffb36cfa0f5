"""What the reviewer sees of a case's redemptions: each one's amounts and features, and whether
it is held, released, or settled already (then only a clawback could take it back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from quan.services.abuse.cases import RiskCase
from quan.services.settlement.settlement import last_run
from quan.store.abuse_tables import redemption_holds, risk_redemption_features
from quan.store.redemption_tables import redemptions


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    redemption_id: str
    merchant_id: str
    citizen_id: str
    recorded_at: datetime
    order_amount_fen: int
    min_spend_fen: int
    discount_fen: int
    claim_seconds: int | None
    pair_seq: int
    status: str  # the redemption's: redeemed | reversed
    hold: str  # held | released | settled | none


def lines(tx: Connection, case: RiskCase) -> list[EvidenceLine]:
    if not case.redemption_ids:
        return []
    r, f, h = redemptions.c, risk_redemption_features.c, redemption_holds.c
    last = last_run(tx, case.program_id)
    holds: dict[str, str] = {}
    for redemption_id, released_at in tx.execute(
        select(h.redemption_id, h.released_at)
        .where(h.redemption_id.in_(case.redemption_ids))
        .order_by(h.id)
    ):
        if holds.get(redemption_id) != "held":
            holds[redemption_id] = "held" if released_at is None else "released"
    found = []
    for row in tx.execute(
        select(
            r.id,
            r.merchant_id,
            r.citizen_id,
            r.recorded_at,
            r.order_amount_fen,
            r.min_spend_fen,
            r.discount_fen,
            f.claim_seconds,
            f.pair_seq,
            r.status,
        )
        .select_from(redemptions.join(risk_redemption_features, f.redemption_id == r.id))
        .where(r.id.in_(case.redemption_ids))
        .order_by(r.recorded_at, r.id)
    ):
        hold = holds.get(row.id, "none")
        if hold != "held" and last is not None and row.recorded_at < last.cut_off:
            hold = "settled"
        found.append(
            EvidenceLine(
                row.id,
                row.merchant_id,
                row.citizen_id,
                row.recorded_at,
                int(row.order_amount_fen),
                int(row.min_spend_fen),
                int(row.discount_fen),
                None if row.claim_seconds is None else int(row.claim_seconds),
                int(row.pair_seq),
                row.status,
                hold,
            )
        )
    return found

"""The batches a signed-in citizen can see in the wallet, and where they stand with each.

Every open batch of an active program whose claim window has not ended is listed with the
citizen's standing: claimable, already held up to the limit, not eligible (with the rule that
fails, in words), not open yet, sold out, a lottery to enter (or already entered), or allocated
by grant. The claim (or the registration) itself is judged again by its service; this is what
the page says beforehand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, func, select

from quan.domain.batches import Allocation
from quan.domain.citizens import local_date
from quan.domain.eligibility import evaluate
from quan.domain.voucher_types import Discount
from quan.services.issuance import batches as batch_service
from quan.services.issuance import voucher_types
from quan.services.issuance.batches import Batch
from quan.services.people import blacklist, citizens
from quan.store.tables import programs
from quan.store.voucher_tables import batches, vouchers
from quan.web.views.lottery import registered_batches


class Standing(StrEnum):
    CLAIMABLE = "claimable"
    HELD = "held"
    NOT_ELIGIBLE = "not_eligible"
    NOT_YET = "not_yet"
    SOLD_OUT = "sold_out"
    LOTTERY = "lottery"  # a lottery the citizen may enter
    REGISTERED = "registered"  # entered in the lottery, waiting for the draw
    OTHER_ALLOCATION = "other_allocation"  # grant: nothing to claim
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Offer:
    batch: Batch
    program_name: str
    timezone: str
    type_name: str
    discount: Discount
    remaining: int
    held: int
    standing: Standing
    failing_rule: tuple[str, str] | None  # (zh, en) text of the rule that fails


def offers(tx: Connection, citizen_id: str, now: datetime) -> list[Offer]:
    citizen = citizens.get_citizen(tx, citizen_id)
    blocked = blacklist.active_block(tx, "citizen", citizen_id, now) is not None
    rows = tx.execute(
        select(batches.c.id, programs.c.name, programs.c.timezone)
        .join(programs, programs.c.id == batches.c.program_id)
        .where(
            batches.c.status == "open",
            programs.c.status == "active",
            batches.c.claim_closes_at > now,
        )
        .order_by(batches.c.claim_opens_at, batches.c.id)
        .limit(100)
    ).all()
    held_rows = tx.execute(
        select(vouchers.c.batch_id, func.count())
        .where(vouchers.c.citizen_id == citizen_id)
        .group_by(vouchers.c.batch_id)
    ).all()
    held = {bid: int(n) for bid, n in held_rows}
    entered = registered_batches(tx, citizen_id, (row[0] for row in rows))
    out = []
    for batch_id, program_name, zone in rows:
        batch = batch_service.get_batch(tx, batch_id)
        vt = voucher_types.get_voucher_type(tx, batch.voucher_type_id)
        remaining = sum(batch_service.remaining_by_pool(tx, batch_id).values())
        failure = evaluate(batch.eligibility, citizen.profile, local_date(now, zone))
        mine = held.get(batch_id, 0)
        out.append(
            Offer(
                batch=batch,
                program_name=program_name,
                timezone=zone,
                type_name=vt.spec.name,
                discount=vt.spec.discount,
                remaining=remaining,
                held=mine,
                standing=_standing(batch, now, blocked, failure is not None, mine, remaining,
                                   batch_id in entered),
                failing_rule=(failure.text("zh"), failure.text("en")) if failure else None,
            )
        )
    return out


def _standing(
    batch: Batch, now: datetime, blocked: bool, ineligible: bool, held: int, remaining: int,
    registered: bool = False,
) -> Standing:
    if held >= batch.rules.per_citizen_limit:
        return Standing.HELD
    if registered:
        return Standing.REGISTERED
    if blocked:
        return Standing.BLOCKED
    if ineligible:
        return Standing.NOT_ELIGIBLE
    if batch.rules.allocation is Allocation.LOTTERY:
        return Standing.NOT_YET if now < batch.rules.claim_opens_at else Standing.LOTTERY
    if batch.rules.allocation is not Allocation.FCFS:
        return Standing.OTHER_ALLOCATION
    if now < batch.rules.claim_opens_at:
        return Standing.NOT_YET
    if remaining <= 0:
        return Standing.SOLD_OUT
    return Standing.CLAIMABLE

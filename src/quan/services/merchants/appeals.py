"""A rejected merchant's appeal: the owner says why the decision should change, and the
application goes back to the review queue (``rejected`` → ``submitted``), where an operator
approves or rejects it again with the usual review (and its SMS).

One appeal per rejection: ``merchant_appeals.review_id`` (the rejection contested) is unique,
so a double submit or two tabs file one appeal. The status change is a conditional UPDATE on
``rejected``; if the same body has applied again since and that application is live, the
unique index of live applications refuses the appeal (``MERCHANT_EXISTS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from quan.domain.auth import Actor, PartnerRole
from quan.domain.errors import FORBIDDEN, Kind, QuanError, define
from quan.domain.merchants import Decision, MerchantStatus
from quan.services.merchants.merchants import (
    MERCHANT_EXISTS,
    Merchant,
    get_merchant,
    visible_merchant,
)
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchant_reviews, merchants
from quan.store.portal_tables import merchant_appeals

GROUNDS_LENGTH = 1000

APPEAL_NOT_ALLOWED = define(
    "APPEAL_NOT_ALLOWED",
    Kind.CONFLICT,
    zh="只有被驳回的申请可以申诉，每次驳回可申诉一次",
    en="Only a rejected application can be appealed, once per rejection",
)
APPEAL_GROUNDS_REQUIRED = define(
    "APPEAL_GROUNDS_REQUIRED",
    Kind.INVALID,
    zh="请写明申诉理由（1 至 {max} 个字）",
    en="Say why the decision should change (1 to {max} characters)",
)


@dataclass(frozen=True, slots=True)
class Appeal:
    id: str
    merchant_id: str
    review_id: str  # the rejection it contests
    grounds: str
    filed_by: str
    filed_at: datetime


def file_appeal(
    tx: Connection, now: datetime, actor: Actor, merchant_id: str, grounds: str
) -> Merchant:
    """The owner appeals the merchant's latest rejection; the merchant is ``submitted`` again."""
    grounds = grounds.strip()
    if not grounds or len(grounds) > GROUNDS_LENGTH:
        raise QuanError(APPEAL_GROUNDS_REQUIRED, max=GROUNDS_LENGTH)
    merchant = visible_merchant(tx, actor, merchant_id, for_update=True)
    if actor.role != PartnerRole.MERCHANT.value:  # the owner appeals, not a till or the office
        raise QuanError(FORBIDDEN)
    if merchant.status is not MerchantStatus.REJECTED:
        raise QuanError(APPEAL_NOT_ALLOWED)
    rejection = tx.execute(
        select(merchant_reviews.c.id)
        .where(
            merchant_reviews.c.merchant_id == merchant_id,
            merchant_reviews.c.decision == Decision.REJECT.value,
        )
        .order_by(merchant_reviews.c.id.desc())
        .limit(1)
    ).scalar_one()
    appeal_id = new_id("apl")
    try:
        with tx.begin_nested():
            tx.execute(
                insert(merchant_appeals).values(
                    id=appeal_id,
                    merchant_id=merchant_id,
                    review_id=rejection,
                    grounds=grounds,
                    filed_by=actor.label,
                    filed_at=now,
                )
            )
    except IntegrityError as exc:
        raise QuanError(APPEAL_NOT_ALLOWED) from exc
    try:
        with tx.begin_nested():
            changed = tx.execute(
                update(merchants)
                .where(
                    merchants.c.id == merchant_id,
                    merchants.c.status == MerchantStatus.REJECTED.value,
                )
                .values(status=MerchantStatus.SUBMITTED.value, status_reason=None, updated_at=now)
            ).rowcount
    except IntegrityError as exc:
        raise QuanError(MERCHANT_EXISTS) from exc
    if changed != 1:
        raise QuanError(APPEAL_NOT_ALLOWED)
    record_event(
        tx,
        type="merchant.appealed",
        actor=actor,
        subject_type="merchant",
        subject_id=merchant_id,
        at=now,
        # The grounds stay in merchant_appeals: free text may name people.
        payload={
            "appeal_id": appeal_id,
            "review_id": rejection,
            "issuer_id": merchant.issuer_id,
            "from": MerchantStatus.REJECTED.value,
            "to": MerchantStatus.SUBMITTED.value,
        },
    )
    return get_merchant(tx, merchant_id)


def appeals(tx: Connection, merchant_id: str) -> list[Appeal]:
    rows = tx.execute(
        select(merchant_appeals)
        .where(merchant_appeals.c.merchant_id == merchant_id)
        .order_by(merchant_appeals.c.id)
    )
    return [
        Appeal(r.id, r.merchant_id, r.review_id, r.grounds, r.filed_by, r.filed_at) for r in rows
    ]

"""Reviewing merchants: an operator's decision on an application or an approved merchant (approve,
reject, suspend, reinstate, renew), the SMS that tells the merchant, and the history of
decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from quan.channels import outbox
from quan.channels.outbox import OutboxKeys
from quan.domain import merchants as rules
from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.merchants import Decision, MerchantStatus
from quan.services.merchants.merchants import Merchant, Review, _aad, get_merchant, visible_merchant
from quan.services.people import pii
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchant_reviews, merchants

NOTICES = {
    Decision.APPROVE: "【券】您的商户入驻申请已审核通过。",
    Decision.REJECT: "【券】您的商户入驻申请未通过审核，原因：{reason}",
    Decision.SUSPEND: "【券】您的商户已被暂停受理消费券，原因：{reason}",
    Decision.REINSTATE: "【券】您的商户已恢复受理消费券。",
    Decision.RENEW: "【券】您的商户已通过定期复审。",
}


def review(
    tx: Connection,
    now: datetime,
    actor: Actor,
    key: pii.Key,
    merchant_id: str,
    decision: Decision,
    reason: str,
    *,
    outbox_keys: OutboxKeys,
) -> Merchant:
    """A reviewer's decision: attributed, kept in the review history, evented, and told to the
    merchant's contact phone (through the sealed outbox, ``outbox_keys``)."""
    merchant = visible_merchant(tx, actor, merchant_id, for_update=True)
    reason = reason.strip()
    outcome = rules.review(merchant.status, decision, reason, now=now)
    changed = tx.execute(
        update(merchants)
        .where(merchants.c.id == merchant_id, merchants.c.status == merchant.status.value)
        .values(
            status=outcome.status.value,
            status_reason=reason if decision in rules.REASON_REQUIRED_FOR else None,
            reviewed_by=actor.label,
            reviewed_at=now,
            next_review_due_at=outcome.next_review_due_at,
            updated_at=now,
        )
    ).rowcount
    if changed != 1:  # cannot happen under the row lock; refuse rather than record a lost race
        raise QuanError(
            rules.TRANSITION_NOT_ALLOWED,
            merchant_status=merchant.status.value,
            decision=decision.value,
        )
    review_id = new_id("rvw")
    tx.execute(
        insert(merchant_reviews).values(
            id=review_id,
            merchant_id=merchant_id,
            decision=decision.value,
            from_status=merchant.status.value,
            to_status=outcome.status.value,
            reason=reason,
            decided_by=actor.label,
            decided_at=now,
            next_review_due_at=outcome.next_review_due_at,
        )
    )
    due = outcome.next_review_due_at
    record_event(
        tx,
        type=f"merchant.{_PAST[decision]}",
        actor=actor,
        subject_type="merchant",
        subject_id=merchant_id,
        at=now,
        # The reason stays in merchant_reviews: free text may name people.
        payload={
            "review_id": review_id,
            "issuer_id": merchant.issuer_id,
            "decision": decision.value,
            "from": merchant.status.value,
            "to": outcome.status.value,
            "next_review_due_at": due.isoformat() if due else None,
        },
    )
    _notify(tx, now, key, outbox_keys, merchant_id, decision, reason)
    return get_merchant(tx, merchant_id)


_PAST = {
    Decision.APPROVE: "approved",
    Decision.REJECT: "rejected",
    Decision.SUSPEND: "suspended",
    Decision.REINSTATE: "reinstated",
    Decision.RENEW: "renewed",
}


def _notify(
    tx: Connection,
    now: datetime,
    key: pii.Key,
    outbox_keys: OutboxKeys,
    merchant_id: str,
    decision: Decision,
    reason: str,
) -> None:
    token = tx.execute(
        select(merchants.c.contact_phone_token).where(merchants.c.id == merchant_id)
    ).scalar_one()
    outbox.enqueue(
        tx,
        now,
        outbox_keys,
        channel="sms",
        recipient=pii.decrypt(key, token, _aad(merchant_id, "contact_phone")),
        subject=f"merchant.{_PAST[decision]}",
        body=NOTICES[decision].format(reason=reason),
        params={"reason": reason},
    )


def reviews(tx: Connection, merchant_id: str) -> list[Review]:
    rows = tx.execute(
        select(merchant_reviews)
        .where(merchant_reviews.c.merchant_id == merchant_id)
        .order_by(merchant_reviews.c.id)
    )
    return [
        Review(
            id=r.id,
            merchant_id=r.merchant_id,
            decision=Decision(r.decision),
            from_status=MerchantStatus(r.from_status),
            to_status=MerchantStatus(r.to_status),
            reason=r.reason,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            next_review_due_at=r.next_review_due_at,
        )
        for r in rows
    ]

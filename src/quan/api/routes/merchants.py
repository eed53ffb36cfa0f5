"""Merchants: applying (anyone), review decisions (the issuer's operators), reading records back
(staff by issuer; a merchant and its terminals only their own), and the category taxonomy."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.merchants import (
    CategoryPublic,
    KeyIssued,
    MerchantApplied,
    MerchantApply,
    MerchantPublic,
    ReviewCreate,
    ReviewPublic,
)
from quan.channels.outbox import OutboxKeys
from quan.domain.auth import Actor, PartnerRole, Role
from quan.domain.categories import CATEGORIES
from quan.domain.errors import FORBIDDEN, QuanError
from quan.domain.merchants import MerchantStatus
from quan.edge.deps import PUBLIC, Allow, OperatorOrAdmin, RuntimeDep, StaffReader, client_ip
from quan.services.merchants import merchant_reviews, merchants, terminals
from quan.services.merchants.owner_signin import phone_lookup_key
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys
from quan.services.people.rate_limits import RateLimit, spend
from quan.services.runtime import Runtime

router = APIRouter(tags=["merchants"])

STAFF_READERS = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)
MerchantReader = Annotated[
    Actor, Depends(Allow(*STAFF_READERS, PartnerRole.MERCHANT, PartnerRole.TERMINAL))
]
OwnerOrStaffReader = Annotated[Actor, Depends(Allow(*STAFF_READERS, PartnerRole.MERCHANT))]
MerchantSelf = Annotated[Actor, Depends(Allow(PartnerRole.MERCHANT, PartnerRole.TERMINAL))]


def pii_key(rt: Runtime) -> pii.Keyring:
    return merchants.sealing_key(rt.settings)


def outbox_keys(rt: Runtime) -> OutboxKeys:
    return CitizenKeys.from_settings(rt.settings).outbox


@router.get("/categories", response_model=list[CategoryPublic], dependencies=[Depends(PUBLIC)])
def list_categories() -> list[CategoryPublic]:
    """The category taxonomy: codes for applications and voucher scopes, with their names."""
    return [CategoryPublic(code=c.code, zh=c.zh, en=c.en) for c in CATEGORIES.values()]


@router.post(
    "/merchants",
    response_model=MerchantApplied,
    status_code=201,
    dependencies=[Depends(PUBLIC)],
)
def apply(body: MerchantApply, request: Request, rt: RuntimeDep) -> MerchantApplied:
    """Apply to an issuer's voucher scheme. Anyone may apply (``RATE_LIMITED`` past a few
    applications an hour from one address); the answer holds the merchant's owner key, shown
    this once, with which the applicant follows the review."""
    # A shop applies once; a flood from one address fills the review queue.
    limit = RateLimit("merchants.apply.ip", rt.settings.merchant_applications_per_hour, 3600)
    spend(rt.throttle, limit, client_ip(request))
    cmd = merchants.NewMerchant(
        issuer_id=body.issuer_id,
        name=body.name,
        uscc=body.uscc,
        categories=body.categories,
        region_code=body.region_code,
        scenes=body.scenes,
        bank_name=body.bank_account.bank_name,
        account_number=body.bank_account.account_number,
        contact_phone=body.contact_phone,
    )
    now = rt.clock.now()
    with rt.db.write() as tx:
        merchant, applicant = merchants.apply(
            tx, now, pii_key(rt), cmd,
            phone_lookup=phone_lookup_key(rt.settings.secret_bytes("pii_key")),
        )
        issued = terminals.issue_owner_key(tx, now, applicant, merchant.id)
    return MerchantApplied(
        merchant=MerchantPublic.of(merchant),
        owner_key=KeyIssued(key_id=issued.key_id, api_key=issued.api_key),
    )


@router.get("/merchants", response_model=Page[MerchantPublic])
def list_merchants(
    actor: StaffReader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
    status: MerchantStatus | None = None,
    issuer_id: str | None = None,
    category: str | None = None,
) -> Page[MerchantPublic]:
    """Merchants by application order; operators see their issuer's."""
    query = merchants.listing(actor, issuer_id=issuer_id, status=status, category=category)
    with rt.db.read() as tx:
        items, next_cursor = merchants.page_of(tx, query, limit=limit, cursor=cursor)
    return Page(items=[MerchantPublic.of(m) for m in items], next_cursor=next_cursor)


@router.get("/merchants/review-due", response_model=Page[MerchantPublic])
def list_due_for_review(
    actor: StaffReader,
    rt: RuntimeDep,
    within_days: Annotated[int, Query(ge=0, le=366)] = 0,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[MerchantPublic]:
    """Approved merchants whose periodic re-review is due now, or within ``within_days``."""
    by = rt.clock.now() + timedelta(days=within_days)
    query = merchants.due_for_review(actor, by=by)
    with rt.db.read() as tx:
        items, next_cursor = merchants.page_of(tx, query, limit=limit, cursor=cursor)
    return Page(items=[MerchantPublic.of(m) for m in items], next_cursor=next_cursor)


@router.get("/merchants/mine", response_model=MerchantPublic)
def my_merchant(actor: MerchantSelf, rt: RuntimeDep) -> MerchantPublic:
    """The merchant a merchant owner key or a terminal key belongs to."""
    if actor.merchant_id is None:  # every merchant principal is bound (see deps); be sure
        raise QuanError(FORBIDDEN)
    with rt.db.read() as tx:
        return MerchantPublic.of(merchants.visible_merchant(tx, actor, actor.merchant_id))


@router.get("/merchants/{merchant_id}", response_model=MerchantPublic)
def get_merchant(merchant_id: str, actor: MerchantReader, rt: RuntimeDep) -> MerchantPublic:
    with rt.db.read() as tx:
        return MerchantPublic.of(merchants.visible_merchant(tx, actor, merchant_id))


@router.post("/merchants/{merchant_id}/review", response_model=MerchantPublic)
def review(
    merchant_id: str, body: ReviewCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> MerchantPublic:
    """A review decision by an operator of the merchant's issuer (or an admin): approve or
    reject an application; suspend, reinstate, or renew after the periodic re-review. Reject
    and suspend need a reason, which the merchant is told."""
    with rt.db.write() as tx:
        merchant = merchant_reviews.review(
            tx,
            rt.clock.now(),
            actor,
            pii_key(rt),
            merchant_id,
            body.decision,
            body.reason,
            outbox_keys=outbox_keys(rt),
        )
    return MerchantPublic.of(merchant)


@router.get("/merchants/{merchant_id}/reviews", response_model=list[ReviewPublic])
def list_reviews(merchant_id: str, actor: OwnerOrStaffReader, rt: RuntimeDep) -> list[ReviewPublic]:
    """Every decision on the merchant, oldest first, with who took it and why."""
    with rt.db.read() as tx:
        merchants.visible_merchant(tx, actor, merchant_id)
        history = merchant_reviews.reviews(tx, merchant_id)
    return [ReviewPublic(**asdict(r)) for r in history]

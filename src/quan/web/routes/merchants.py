"""The merchant review queue: applications waiting, merchants due for re-review, one merchant's
record and history, and the decision form (approve, reject, suspend, reinstate, renew).

Reads and the decision run the same use cases as the API (the decision as
``POST /merchants/{id}/review``: the reviewer's issuer scope, the reason rules, the SMS to the
merchant and the event all come with it).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Final, Literal

from fastapi import Form, Request, Response
from pydantic import ValidationError

from quan.api.schemas.merchants import MerchantPublic, ReviewCreate, ReviewPublic
from quan.domain.errors import QuanError
from quan.domain.merchants import TRANSITIONS, MerchantStatus
from quan.edge.deps import RuntimeDep
from quan.services.merchants import appeals, merchant_reviews, merchants
from quan.services.people.citizens import CitizenKeys
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import Field, FormErrors, from_refusal, from_validation
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routing import redirect
from quan.web.templating import render

router = console_router()

Queue = Literal["submitted", "due", "approved", "suspended", "rejected"]


@router.get("/ops/merchants")
def review_queue(
    request: Request, actor: StaffPage, rt: RuntimeDep, queue: Queue = "submitted"
) -> Response:
    if queue == "due":
        # Due now or within 30 days, so the re-reviews can be planned.
        query = merchants.due_for_review(actor, by=rt.clock.now() + timedelta(days=30))
    else:
        query = merchants.listing(
            actor, issuer_id=None, status=MerchantStatus(queue), category=None
        )
    with rt.db.read() as tx:
        found, more = merchants.page_of(tx, query, limit=200, cursor=None)
    return render(
        request,
        "ops/merchants.html",
        staff_context(actor, merchants=[MerchantPublic.of(m) for m in found], queue=queue,
                      more=more,
                      queues=["submitted", "due", "approved", "suspended", "rejected"]),
    )


REVIEW_FIELDS: Final = {
    "decision": Field("decision", "merchants.decision"),
    "reason": Field("reason", "merchants.reason"),
}
REVIEW_CODES: Final = {"REVIEW_REASON_REQUIRED": "reason"}


def _merchant_page(request: Request, actor: StaffPage, rt: RuntimeDep, merchant_id: str,
                   errors: FormErrors | None = None, reason: str = "",
                   status_code: int = 200) -> Response:
    with rt.db.read() as tx:
        merchant = MerchantPublic.of(merchants.visible_merchant(tx, actor, merchant_id))
        history = [ReviewPublic(**asdict(r)) for r in merchant_reviews.reviews(tx, merchant_id)]
        filed = appeals.appeals(tx, merchant_id)
    decisions = list(TRANSITIONS[merchant.status]) if can_operate(actor) else []
    return render(
        request,
        "ops/merchant.html",
        staff_context(actor, merchant=merchant, history=history, decisions=decisions,
                      appeals=filed,
                      errors=errors, reason=reason, notice=request.query_params.get("done")),
        status_code=status_code,
    )


@router.get("/ops/merchants/{merchant_id}")
def merchant_page(merchant_id: str, request: Request, actor: StaffPage,
                  rt: RuntimeDep) -> Response:
    return _merchant_page(request, actor, rt, merchant_id)


@router.post("/ops/merchants/{merchant_id}/review")
def review(
    merchant_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        body = ReviewCreate.model_validate({"decision": decision, "reason": reason})
        key = merchants.sealing_key(rt.settings)
        with rt.db.write() as tx:
            merchant_reviews.review(
                tx, rt.clock.now(), actor, key, merchant_id, body.decision, body.reason,
                outbox_keys=CitizenKeys.from_settings(rt.settings).outbox,
            )
    except (ValidationError, QuanError) as exc:
        t = Translator(request_lang(request))
        errors = (
            from_validation(exc, t, REVIEW_FIELDS)
            if isinstance(exc, ValidationError)
            else from_refusal(exc, t, attach=REVIEW_CODES.get(exc.code))
        )
        return _merchant_page(request, actor, rt, merchant_id, errors=errors, reason=reason,
                              status_code=422)
    return redirect(request, f"/ops/merchants/{merchant_id}?done=merchant_{body.decision.value}")

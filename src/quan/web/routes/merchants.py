"""The merchant review queue: applications waiting, merchants due for re-review, one merchant's
record and history, and the decision form (approve, reject, suspend, reinstate, renew).

Reads call the API's route functions; the decision runs the same service as
``POST /merchants/{id}/review`` (the reviewer's issuer scope, the reason rules, the SMS to the
merchant and the event all come with it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form, Request, Response

from quan.api.deps import RuntimeDep
from quan.api.routes import merchants as merchant_api
from quan.api.schemas.merchants import ReviewCreate
from quan.domain.errors import QuanError
from quan.domain.merchants import TRANSITIONS, Decision, MerchantStatus
from quan.web.i18n import request_lang
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
        found = merchant_api.list_due_for_review(actor, rt, within_days=30, limit=200)
    else:
        found = merchant_api.list_merchants(
            actor, rt, limit=200, status=MerchantStatus(queue), issuer_id=None, category=None
        )
    return render(
        request,
        "ops/merchants.html",
        staff_context(actor, merchants=found.items, queue=queue, more=found.next_cursor,
                      queues=["submitted", "due", "approved", "suspended", "rejected"]),
    )


def _merchant_page(request: Request, actor: StaffPage, rt: RuntimeDep, merchant_id: str,
                   error: str | None = None, status_code: int = 200) -> Response:
    merchant = merchant_api.get_merchant(merchant_id, actor, rt)
    history = merchant_api.list_reviews(merchant_id, actor, rt)
    decisions = list(TRANSITIONS[merchant.status]) if can_operate(actor) else []
    return render(
        request,
        "ops/merchant.html",
        staff_context(actor, merchant=merchant, history=history, decisions=decisions,
                      error=error, notice=request.query_params.get("done")),
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
    decision: Annotated[Decision, Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        merchant_api.review(merchant_id, ReviewCreate(decision=decision, reason=reason), actor, rt)
    except QuanError as exc:
        return _merchant_page(request, actor, rt, merchant_id,
                              error=exc.message(request_lang(request)), status_code=422)
    return redirect(request, f"/ops/merchants/{merchant_id}?done=merchant_{decision.value}")

"""The approval queue: every contribution or return waiting for a second person, with who asked,
when (the program's local time) and how much; approve (the box ticked) or reject (with a
reason) for everyone but the requester, who reads that it waits for a second person.

Decisions run :func:`quan.services.money.funding.decide` (which refuses the requester, a decided
movement, a return the budget no longer covers, a contribution to a closed program) under a
form key, so a double click decides once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form, Request, Response

from quan.domain.auth import Actor
from quan.domain.errors import NOT_FOUND, QuanError
from quan.edge.deps import RuntimeDep
from quan.edge.status import STATUS
from quan.services.money import funding, funding_reads
from quan.services.people import reveals, staff
from quan.services.runtime import Runtime
from quan.web.i18n import Translator, request_lang
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routes.office_forms import FieldErrors, create_once, errors_of, new_form_key, refusal
from quan.web.routing import redirect
from quan.web.templating import render

router = console_router()


@router.get("/ops/approvals")
def approvals_page(request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    return _queue(request, actor, rt, FieldErrors(), "", 200)


def _queue(
    request: Request,
    actor: Actor,
    rt: Runtime,
    errors: FieldErrors,
    failed: str,
    status_code: int,
) -> Response:
    with rt.db.read() as tx:
        waiting = funding_reads.approval_queue(tx, actor)
        names = staff.names_of(tx, {w.movement.requested_by for w in waiting})
        # Reveals of personal data beyond a person's daily threshold (issue 13, I4).
        reveal_waiting = reveals.awaiting_approval(tx, rt.clock.now(), actor)
        reveal_names = staff.names_of(tx, {r.requested_by for r in reveal_waiting})
    return render(
        request,
        "office/approvals.html",
        staff_context(
            actor,
            waiting=waiting,
            names=names,
            me=actor.label,
            operate=can_operate(actor),
            field_errors=errors,
            errors=errors,
            failed=failed,
            decide_key=new_form_key(),
            notice=request.query_params.get("done"),
            reveal_waiting=reveal_waiting,
            reveal_names=reveal_names,
        ),
        status_code=status_code,
    )


@router.post("/ops/movements/{movement_id}/{decision}")
def decide(
    movement_id: str,
    decision: Literal["approve", "reject"],
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    form_key: Annotated[str, Form(min_length=8, max_length=64)],
    reason: Annotated[str, Form(max_length=5000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Approve (the box ticked: the money then counts) or reject (with a reason). A double
    click replays the first decision (the form key)."""
    t = Translator(request_lang(request))
    approve = decision == "approve"
    if approve and confirm != "yes":
        errors = errors_of(confirm=t("office.err.confirm"))
        return _queue(request, actor, rt, errors, movement_id, 422)
    with rt.db.read() as tx:
        way = funding_reads.direction_of(movement_id, tx)
    if way is None:
        raise QuanError(NOT_FOUND, what=movement_id)
    try:
        create_once(
            rt,
            actor,
            request,
            form_key,
            {"reason": reason.strip(), "approve": approve},
            lambda tx: (
                funding.decide(
                    tx,
                    rt.clock.now(),
                    actor,
                    movement_id,
                    direction=way,
                    approve=approve,
                    reason=reason.strip(),
                ).id
            ),
        )
    except QuanError as exc:
        if exc.kind.value == "not_found":
            raise
        status = STATUS.get(exc.kind, 422)
        return _queue(request, actor, rt, refusal(request, exc), movement_id, status)
    return redirect(request, f"/ops/approvals?done=movement_{decision}")


@router.post("/ops/reveal-requests/{request_id}/approve")
def approve_reveal(
    request_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    """A second person's approval of a reveal request (same issuer, or an admin; never the
    requester): :func:`quan.services.people.reveals.approve`, as ``POST
    /reveal-requests/{id}/approve`` does."""
    try:
        with rt.db.write() as tx:
            reveals.approve(tx, rt.clock.now(), actor, request_id)
    except QuanError as exc:
        if exc.kind.value == "not_found":
            raise
        status = STATUS.get(exc.kind, 422)
        return _queue(request, actor, rt, refusal(request, exc), request_id, status)
    return redirect(request, "/ops/approvals?done=reveal_approved")

"""Complaints in the staff console (issue 22): the list, most urgent first, with the handling
measures (time to first response and to resolution) and the complaint-spike findings; a
complaint's page with its steps, assignment, answers and resolution; and filing for a hotline
caller. The same use cases as the wallet's and the portal's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from quan.domain.auth import Actor
from quan.domain.citizens import parse_phone
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.services.feedback import complaints as service
from quan.services.feedback import queries
from quan.services.people.citizens import CitizenKeys
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import FormErrors, sentence
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routing import redirect
from quan.web.templating import render
from quan.web.views.complaints import (
    FIELD_OF,
    category_codes,
    file_in_one_transaction,
    refusal,
    view,
)

router = console_router()


def _list(
    request: Request,
    actor: Actor,
    rt: RuntimeDep,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    now = rt.clock.now()
    status = request.query_params.get("status") or None
    if status not in (None, "open", "answered", "resolved"):
        status = None
    with rt.db.read() as tx:
        every = queries.for_staff(tx, actor)
        spikes = queries.spikes(tx, actor, now)
    shown = [view(r, now) for r in every if status is None or r.status == status]
    return render(
        request,
        "ops/complaints.html",
        staff_context(
            actor,
            complaints=shown,
            measures=queries.measures(every, now),
            spikes=spikes,
            status=status,
            categories=category_codes(),
            operate=can_operate(actor),
            errors=errors,
            form=form or {},
        ),
        status_code=422 if errors else 200,
    )


@router.get("/ops/complaints")
def complaints_page(request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    return _list(request, actor, rt)


@router.post("/ops/complaints")
def file_for_caller(
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    phone: Annotated[str, Form(max_length=32)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    voucher_code: Annotated[str, Form(max_length=64)] = "",
    merchant_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """File a complaint for a hotline caller (their phone is sealed, or linked to the citizen)."""
    t = Translator(request_lang(request))
    try:
        filing = service.Filing(
            category=category,
            text=text,
            channel="hotline",
            caller_phone=parse_phone(phone),
            voucher_code=voucher_code.strip() or None,
            merchant_id=merchant_id.strip() or None,
        )
        complaint_id = file_in_one_transaction(rt, actor, filing)
    except QuanError as exc:
        errors = refusal(exc, t, "voucher_code")
        form = {
            "phone": phone,
            "category": category,
            "text": text,
            "voucher_code": voucher_code,
            "merchant_id": merchant_id,
        }
        return _list(request, actor, rt, errors=errors, form=form)
    return redirect(request, f"/ops/complaints/{complaint_id}")


def _detail(
    request: Request,
    actor: Actor,
    rt: RuntimeDep,
    complaint_id: str,
    *,
    errors: FormErrors | None = None,
) -> Response:
    now = rt.clock.now()
    with rt.db.read() as tx:
        found = [r for r in queries.for_staff(tx, actor) if r.id == complaint_id]
        row = found[0] if found else service.load(tx, complaint_id)
        if not found:  # another issuer's: say so as the services do
            service.check_visible(actor, row)
        steps = queries.steps(tx, complaint_id)
        staff = queries.staff_choices(tx, row.issuer_id)
    return render(
        request,
        "ops/complaint.html",
        staff_context(
            actor,
            complaint=view(row, now),
            steps=steps,
            staff=staff,
            operate=can_operate(actor),
            errors=errors,
            answered=request.query_params.get("done") == "answered",
        ),
        status_code=422 if errors else 200,
    )


@router.get("/ops/complaints/{complaint_id}")
def complaint_page(
    complaint_id: str, request: Request, actor: StaffPage, rt: RuntimeDep
) -> Response:
    return _detail(request, actor, rt, complaint_id)


@router.post("/ops/complaints/{complaint_id}/answer")
def answer(
    complaint_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    text: Annotated[str, Form(max_length=4000)] = "",
    resolve: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    """Answer the complainant (``resolve``: and close the complaint with this answer)."""
    try:
        with rt.db.write() as tx:
            service.respond(
                tx,
                rt.clock.now(),
                CitizenKeys.from_settings(rt.settings),
                actor,
                complaint_id,
                text,
                resolve=resolve is not None,
                locale=rt.settings.message_locale,
            )
    except QuanError as exc:
        if exc.code not in FIELD_OF and exc.code != "COMPLAINT_CLOSED":
            raise
        errors = FormErrors()
        errors.add("text", sentence(exc, Translator(request_lang(request))))
        return _detail(request, actor, rt, complaint_id, errors=errors)
    return redirect(request, f"/ops/complaints/{complaint_id}?done=answered")


@router.post("/ops/complaints/{complaint_id}/assign")
def assign(
    complaint_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    with rt.db.write() as tx:
        service.assign(
            tx,
            rt.clock.now(),
            CitizenKeys.from_settings(rt.settings),
            actor,
            complaint_id,
            assignee,
        )
    return redirect(request, f"/ops/complaints/{complaint_id}")

"""Complaints in the merchant portal (issue 22): the complaints about the shop, which its owner
may answer (the complainant is told; the answer counts as the first response), and the shop's
own complaints to the program, filed and followed here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.services.feedback import complaints as service
from quan.services.feedback import queries
from quan.services.people.citizens import CitizenKeys
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import FormErrors, sentence
from quan.web.routes.common import console_router
from quan.web.routes.portal import OwnerPage, mine, portal_context
from quan.web.routing import redirect
from quan.web.templating import render
from quan.web.views.complaints import category_codes, file_in_one_transaction, refusal, view

router = console_router()


def _page(
    request: Request,
    actor: Actor,
    rt: RuntimeDep,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    answering: str | None = None,
) -> Response:
    now = rt.clock.now()
    merchant_id = mine(actor)
    with rt.db.read() as tx:
        rows = queries.for_merchant(tx, merchant_id)
        steps = {r.id: queries.steps(tx, r.id) for r in rows[:50]}
    return render(
        request,
        "portal/complaints.html",
        portal_context(
            actor,
            complaints=[view(r, now) for r in rows],
            steps_of=steps,
            merchant_id=merchant_id,
            categories=category_codes(),
            errors=errors,
            form=form or {},
            answering=answering,
            notice=request.query_params.get("done"),
        ),
        status_code=422 if errors else 200,
    )


@router.get("/merchant/complaints")
def complaints_page(request: Request, actor: OwnerPage, rt: RuntimeDep) -> Response:
    return _page(request, actor, rt)


@router.post("/merchant/complaints")
def file_complaint(
    request: Request,
    actor: OwnerPage,
    rt: RuntimeDep,
    category: Annotated[str, Form(max_length=32)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    voucher_code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The shop raises a problem with the program (a voucher, settlement, the app …)."""
    filing = service.Filing(
        category=category,
        text=text,
        channel="portal",
        filing_merchant_id=mine(actor),
        voucher_code=voucher_code.strip() or None,
    )
    try:
        file_in_one_transaction(rt, actor, filing)
    except QuanError as exc:
        errors = refusal(exc, Translator(request_lang(request)), "voucher_code")
        form = {"category": category, "text": text, "voucher_code": voucher_code}
        return _page(request, actor, rt, errors=errors, form=form)
    return redirect(request, "/merchant/complaints?done=filed")


@router.post("/merchant/complaints/{complaint_id}/answer")
def answer(
    complaint_id: str,
    request: Request,
    actor: OwnerPage,
    rt: RuntimeDep,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The shop's answer to a complaint about it (another shop's complaint answers 404)."""
    try:
        with rt.db.write() as tx:
            service.merchant_answer(
                tx,
                rt.clock.now(),
                CitizenKeys.from_settings(rt.settings),
                actor,
                complaint_id,
                text,
                locale=rt.settings.message_locale,
            )
    except QuanError as exc:
        if exc.code not in ("INVALID_COMPLAINT_TEXT", "COMPLAINT_CLOSED"):
            raise
        errors = FormErrors()
        errors.add(f"answer-{complaint_id}", sentence(exc, Translator(request_lang(request))))
        return _page(request, actor, rt, errors=errors, answering=complaint_id)
    return redirect(request, "/merchant/complaints?done=answered")

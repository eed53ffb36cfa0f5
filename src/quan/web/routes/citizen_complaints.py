"""Complaints in the wallet (issue 22): a signed-in citizen files a complaint — a category, what
happened, optionally one of their vouchers (its redemption and shop are linked with it) — and
follows it: each step, staff's answers and the shop's. The same use cases as the console's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, Response

from quan.domain.auth import Actor, CitizenRole
from quan.domain.errors import NOT_FOUND, QuanError
from quan.edge.deps import RuntimeDep
from quan.services.feedback import complaints as service
from quan.services.feedback import queries
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import FormErrors
from quan.web.routes.common import console_router
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render
from quan.web.views.complaints import (
    category_codes,
    file_in_one_transaction,
    refusal,
    respond_hours,
    view,
)

router = console_router()

CitizenPage = Annotated[Actor, Depends(ConsoleAllow(Area.CITIZEN, CitizenRole.CITIZEN))]


def _context(actor: Actor, **values: object) -> dict[str, object]:
    return {"area": "wallet", "actor": actor, "signout_path": Area.CITIZEN.signout_path, **values}


def _page(
    request: Request,
    actor: Actor,
    rt: RuntimeDep,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    from quan.web.routes.citizen import _vouchers

    now = rt.clock.now()
    with rt.db.read() as tx:
        rows = queries.for_citizen(tx, actor.id)
    filed = request.query_params.get("filed")
    mine = [view(r, now) for r in rows]
    done = next((c for c in mine if c.id == filed), None)
    return render(
        request,
        "citizen/complaints.html",
        _context(
            actor,
            complaints=mine,
            vouchers=_vouchers(actor, rt),
            categories=category_codes(),
            filed=done,
            hours=respond_hours(done.category) if done else None,
            errors=errors,
            form=form or {},
        ),
        status_code=422 if errors else 200,
    )


@router.get("/wallet/complaints")
def complaints_page(request: Request, actor: CitizenPage, rt: RuntimeDep) -> Response:
    return _page(request, actor, rt)


@router.post("/wallet/complaints")
def file_complaint(
    request: Request,
    actor: CitizenPage,
    rt: RuntimeDep,
    category: Annotated[str, Form(max_length=32)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    voucher_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """File a complaint as the signed-in citizen; a refusal is said next to its field."""
    filing = service.Filing(
        category=category,
        text=text,
        channel="wallet",
        citizen_id=actor.id,
        voucher_id=voucher_id or None,
    )
    try:
        complaint_id = file_in_one_transaction(rt, actor, filing)
    except QuanError as exc:
        errors = refusal(exc, Translator(request_lang(request)), "voucher_id")
        form = {"category": category, "text": text, "voucher_id": voucher_id}
        return _page(request, actor, rt, errors=errors, form=form)
    return redirect(request, f"/wallet/complaints?filed={complaint_id}")


@router.get("/wallet/complaints/{complaint_id}")
def complaint_page(
    complaint_id: str, request: Request, actor: CitizenPage, rt: RuntimeDep
) -> Response:
    now = rt.clock.now()
    with rt.db.read() as tx:
        found = [r for r in queries.for_citizen(tx, actor.id) if r.id == complaint_id]
        if not found:
            raise QuanError(NOT_FOUND, what=f"complaint {complaint_id}")
        steps = queries.steps(tx, complaint_id)
    return render(
        request,
        "citizen/complaint.html",
        _context(actor, complaint=view(found[0], now), steps=steps),
    )

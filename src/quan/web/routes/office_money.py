"""The program office's money: funders, contributions and returns, the approval queue, and a
program's budget identity with the ledger's history.

Contributions and returns run :func:`quan.services.money.funding.request_movement` (so the
maker-checker threshold holds on cumulative amounts, as through the API); approving and
rejecting run :func:`~quan.services.money.funding.decide`, which refuses the requester. Forms
are checked by the API's request models (``FunderCreate``, ``ContributionCreate``,
``ReturnCreate``); amounts are typed in yuan and parsed as text.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response
from pydantic import ValidationError

from quan.api.schemas.funding import ContributionCreate, FunderCreate, ReturnCreate
from quan.api.schemas.programs import BudgetPublic, ProgramPublic
from quan.domain.auth import Actor
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.funding import Direction, FunderKind
from quan.edge.deps import RuntimeDep
from quan.services.money import funding, funding_reads, programs
from quan.services.people import staff
from quan.services.people.staff import ISSUER_REQUIRED
from quan.services.runtime import Runtime
from quan.store import ledger
from quan.store.tables import issuers as issuer_table
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import Field
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    parse_yuan,
    staff_context,
)
from quan.web.routes.office_forms import (
    FieldErrors,
    create_once,
    errors_of,
    invalid,
    new_form_key,
    refusal,
)
from quan.web.routing import redirect
from quan.web.templating import render

router = console_router()

MOVEMENT_FIELDS = {
    "funder_id": Field("funder_id", "office.money.funder"),
    "amount_fen": Field("amount", "office.money.amount", money=True),
    "note": Field("note", "office.money.note"),
    "reason": Field("reason", "office.reason"),
}
FUNDER_FIELDS = {
    "name": Field("name", "office.funders.name"),
    "kind": Field("kind", "office.funders.kind"),
    "issuer_id": Field("issuer_id", "office.issuer"),
}


# --- funders ---------------------------------------------------------------------------------


def _funders_page(
    request: Request,
    actor: Actor,
    rt: Runtime,
    values: dict[str, str],
    errors: FieldErrors,
    status_code: int = 200,
) -> Response:
    with rt.db.read() as tx:
        found = funding_reads.list_funders(tx, actor, None)
        choices = (
            []
            if actor.issuer_id
            else list(tx.execute(issuer_table.select().order_by(issuer_table.c.name)))
        )
    names = {i.id: i.name for i in choices}
    t = Translator(request_lang(request))
    kinds = [(k.value, t(f"office.funder_kind.{k.value}")) for k in FunderKind]
    return render(
        request,
        "office/funders.html",
        staff_context(
            actor,
            funders=found,
            kind_options=kinds,
            issuer_options=list(names.items()),
            values=values,
            issuers=choices,
            issuer_names=names,
            field_errors=errors,
            errors=errors,
            operate=can_operate(actor),
            notice=request.query_params.get("done"),
        ),
        status_code=status_code,
    )


@router.get("/ops/funders")
def funders_page(request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    values = {"name": "", "kind": "department", "issuer_id": "", "form_key": new_form_key()}
    return _funders_page(request, actor, rt, values, FieldErrors())


@router.post("/ops/funders")
def create_funder(
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    form_key: Annotated[str, Form(min_length=8, max_length=64)],
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    issuer_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    values = {"name": name, "kind": kind, "issuer_id": issuer_id, "form_key": form_key}
    try:
        model = FunderCreate.model_validate(
            {"name": name, "kind": kind, "issuer_id": issuer_id or None}
        )
        issuer = actor.issuer_id or model.issuer_id
        if issuer is None:
            raise QuanError(ISSUER_REQUIRED)
        create_once(
            rt,
            actor,
            request,
            form_key,
            model.model_dump(mode="json"),
            lambda tx: (
                funding.create_funder(
                    tx, rt.clock.now(), actor, issuer_id=issuer, name=model.name, kind=model.kind
                ).id
            ),
        )
    except ValidationError as exc:
        errors = invalid(request, exc, FUNDER_FIELDS)
        return _funders_page(request, actor, rt, values, errors, 422)
    except QuanError as exc:
        return _funders_page(request, actor, rt, values, refusal(request, exc), 422)
    return redirect(request, "/ops/funders?done=funder_created")


# --- a program's money -----------------------------------------------------------------------


def _money_page(
    request: Request,
    actor: Actor,
    rt: Runtime,
    program_id: str,
    forms: dict[str, dict[str, str]] | None = None,
    errors: dict[str, FieldErrors] | None = None,
    status_code: int = 200,
) -> Response:
    with rt.db.read() as tx:
        program = ProgramPublic.of(programs.visible_program(tx, actor, program_id))
        budget = BudgetPublic.of(
            program_id,
            ledger.budget(tx, program_id),
            programs.pending_contributions_fen(tx, program_id),
        )
        found = funding_reads.list_funders(tx, actor, program.issuer_id)
        movements = funding_reads.program_movements(tx, actor, program_id)
        history = funding_reads.ledger_history(tx, actor, program_id)
        people = (
            {m.requested_by for m in movements}
            | {m.decided_by for m in movements if m.decided_by}
            | {h.created_by for h in history}
        )
        names = staff.names_of(tx, people)
    blank = {"funder_id": "", "amount": "", "note": "", "reason": ""}
    forms = forms or {}
    errors = errors or {}
    return render(
        request,
        "office/money.html",
        staff_context(
            actor,
            program=program,
            budget=budget,
            funders=found,
            funder_names={f.id: f.name for f in found},
            movements=movements,
            history=history,
            names=names,
            me=actor.label,
            operate=can_operate(actor),
            threshold_fen=rt.settings.approval_threshold_fen,
            contribute=forms.get("contribution", {**blank, "form_key": new_form_key()}),
            give_back=forms.get("return", {**blank, "form_key": new_form_key()}),
            contribute_errors=errors.get("contribution", FieldErrors()),
            return_errors=errors.get("return", FieldErrors()),
            notice=request.query_params.get("done"),
        ),
        status_code=status_code,
    )


@router.get("/ops/programs/{program_id}/money")
def money_page(program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    return _money_page(request, actor, rt, program_id)


def _amount(text: str) -> int | str:
    fen = parse_yuan(text)
    return text if fen is None else fen


@router.post("/ops/programs/{program_id}/contributions")
def contribute(
    program_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    form_key: Annotated[str, Form(min_length=8, max_length=64)],
    funder_id: Annotated[str, Form(max_length=64)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    values = {"funder_id": funder_id, "amount": amount, "note": note, "form_key": form_key}
    return request_movement(program_id, Direction.CONTRIBUTION, request, actor, rt, values)


@router.post("/ops/programs/{program_id}/returns")
def give_back(
    program_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    form_key: Annotated[str, Form(min_length=8, max_length=64)],
    funder_id: Annotated[str, Form(max_length=64)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Money back to a funder cannot be undone: the box must be ticked."""
    values = {"funder_id": funder_id, "amount": amount, "reason": reason, "form_key": form_key}
    if confirm != "yes":
        t = Translator(request_lang(request))
        errors = errors_of(confirm=t("office.err.confirm"))
        return _money_page(
            request, actor, rt, program_id, {"return": values}, {"return": errors}, 422
        )
    return request_movement(program_id, Direction.RETURN, request, actor, rt, values)


def request_movement(
    program_id: str,
    way: Direction,
    request: Request,
    actor: Actor,
    rt: Runtime,
    values: dict[str, str],
) -> Response:
    """A contribution or a return; above the day's threshold it waits for a second person."""
    direction = way.value
    funder_id, amount, form_key = values["funder_id"], values["amount"], values["form_key"]
    try:
        if way is Direction.CONTRIBUTION:
            body: Any = ContributionCreate.model_validate(
                {"funder_id": funder_id, "amount_fen": _amount(amount), "note": values["note"]}
            )
            text = body.note
        else:
            body = ReturnCreate.model_validate(
                {"funder_id": funder_id, "amount_fen": _amount(amount), "reason": values["reason"]}
            )
            text = body.reason
        cmd = funding.MovementRequest(program_id, body.funder_id, way, body.amount_fen, text)
        threshold = rt.settings.approval_threshold_fen
        create_once(
            rt,
            actor,
            request,
            form_key,
            body.model_dump(mode="json"),
            lambda tx: (
                funding.request_movement(tx, rt.clock.now(), actor, cmd, threshold_fen=threshold).id
            ),
        )
    except ValidationError as exc:
        errors = invalid(request, exc, MOVEMENT_FIELDS)
        return _money_page(
            request, actor, rt, program_id, {direction: values}, {direction: errors}, 422
        )
    except QuanError as exc:
        if exc.code == NOT_FOUND.code and "program" in str(exc.params.get("what", "")):
            raise
        return _money_page(
            request,
            actor,
            rt,
            program_id,
            {direction: values},
            {direction: refusal(request, exc)},
            422,
        )
    return redirect(request, f"/ops/programs/{program_id}/money?done={direction}_requested")

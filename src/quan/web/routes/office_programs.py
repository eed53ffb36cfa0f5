"""The program office: create a program, edit it while it is a draft, and move it through its
lifecycle — pausing and resuming with one button, activating a draft and closing (which cannot
be undone) only after a page that says what happens to the money and asks for a reason.

Forms are checked by the API's own request model (``ProgramCreate``) and handed to the same use
cases as ``POST /programs`` and its lifecycle routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Form, Request, Response
from pydantic import ValidationError

from quan.api.schemas.programs import BudgetPublic, ProgramCreate, ProgramPublic
from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.programs import Action, ProgramStatus
from quan.edge.deps import RuntimeDep
from quan.services.money import programs
from quan.services.people.staff import ISSUER_REQUIRED
from quan.services.runtime import Runtime
from quan.store import ledger
from quan.store.tables import issuers as issuer_table
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import Field
from quan.web.routes.common import OperatorPage, console_router, staff_context
from quan.web.routes.office_forms import (
    FieldErrors,
    create_once,
    invalid,
    new_form_key,
    refusal,
)
from quan.web.routing import redirect
from quan.web.templating import render

router = console_router()

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
FIELDS = {
    "name": Field("name", "programs.name"),
    "description": Field("description", "office.program.description"),
    "timezone": Field("timezone", "office.program.timezone"),
    "starts_at": Field("starts_at", "office.program.starts_at"),
    "ends_at": Field("ends_at", "office.program.ends_at"),
    "issuer_id": Field("issuer_id", "office.issuer"),
}


def is_irreversible(status: ProgramStatus, action: Action) -> bool:
    """Closing, and activating a draft (it can never be a draft, nor be edited, again)."""
    return action is Action.CLOSE or (action is Action.ACTIVATE and status is ProgramStatus.DRAFT)


def _issuer_choices(rt: Runtime, actor: Actor) -> list[tuple[str, str]]:
    """The issuers an admin of no issuer picks from (others always act for their own)."""
    if actor.issuer_id is not None:
        return []
    with rt.db.read() as tx:
        rows = tx.execute(issuer_table.select().order_by(issuer_table.c.name))
        return [(r.id, r.name) for r in rows]


def _form(
    request: Request,
    actor: Actor,
    rt: Runtime,
    values: dict[str, str],
    errors: FieldErrors,
    *,
    program: ProgramPublic | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "office/program_form.html",
        staff_context(
            actor,
            values=values,
            field_errors=errors,
            errors=errors,
            program=program,
            issuers=_issuer_choices(rt, actor),
        ),
        status_code=status_code,
    )


def _local(text: str, zone: str) -> datetime | str:
    try:
        return datetime.strptime(text.strip(), LOCAL_INPUT).replace(tzinfo=ZoneInfo(zone))
    except (ValueError, KeyError):
        return text


def _model(values: dict[str, str]) -> ProgramCreate:
    zone = values["timezone"].strip() or "Asia/Shanghai"
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        zone = "UTC"  # the window is read somewhere; the service refuses the zone itself
    return ProgramCreate.model_validate(
        {
            "name": values["name"],
            "description": values["description"],
            "timezone": values["timezone"].strip() or "Asia/Shanghai",
            "starts_at": _local(values["starts_at"], zone),
            "ends_at": _local(values["ends_at"], zone),
            "issuer_id": values["issuer_id"] or None,
        }
    )


def _command(model: ProgramCreate, issuer_id: str) -> programs.NewProgram:
    return programs.NewProgram(
        issuer_id=issuer_id,
        name=model.name,
        description=model.description,
        timezone=model.timezone,
        starts_at=model.starts_at,
        ends_at=model.ends_at,
    )


@router.get("/ops/programs/new")
def new_program(request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    zone = ZoneInfo("Asia/Shanghai")
    today = rt.clock.now().astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    values = {
        "name": "",
        "description": "",
        "timezone": "Asia/Shanghai",
        "issuer_id": "",
        "starts_at": today.strftime(LOCAL_INPUT),
        "ends_at": today.replace(year=today.year + 1).strftime(LOCAL_INPUT),
        "form_key": new_form_key(),
    }
    return _form(request, actor, rt, values, FieldErrors())


NameForm = Annotated[str, Form(max_length=200)]


@router.post("/ops/programs")
def create_program(
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    form_key: Annotated[str, Form(min_length=8, max_length=64)],
    name: NameForm = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "Asia/Shanghai",
    starts_at: Annotated[str, Form(max_length=30)] = "",
    ends_at: Annotated[str, Form(max_length=30)] = "",
    issuer_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    values = {
        "name": name,
        "description": description,
        "timezone": timezone,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "issuer_id": issuer_id,
        "form_key": form_key,
    }
    try:
        model = _model(values)
        issuer = actor.issuer_id or model.issuer_id
        if issuer is None:
            raise QuanError(ISSUER_REQUIRED)
        cmd = _command(model, issuer)
        made = create_once(
            rt,
            actor,
            request,
            form_key,
            model.model_dump(mode="json"),
            lambda tx: programs.create_program(tx, rt.clock.now(), actor, cmd).id,
        )
    except ValidationError as exc:
        return _form(request, actor, rt, values, invalid(request, exc, FIELDS), status_code=422)
    except QuanError as exc:
        return _form(request, actor, rt, values, refusal(request, exc), status_code=422)
    return redirect(request, f"/ops/programs/{made}?done=program_created")


def _draft(rt: Runtime, actor: Actor, program_id: str) -> ProgramPublic:
    with rt.db.read() as tx:
        program = ProgramPublic.of(programs.visible_program(tx, actor, program_id))
    if program.status is not ProgramStatus.DRAFT:
        raise QuanError(programs.PROGRAM_NOT_DRAFT)
    return program


@router.get("/ops/programs/{program_id}/edit")
def edit_program_page(
    program_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    program = _draft(rt, actor, program_id)
    zone = ZoneInfo(program.timezone)
    values = {
        "name": program.name,
        "description": program.description,
        "timezone": program.timezone,
        "issuer_id": program.issuer_id,
        "starts_at": program.starts_at.astimezone(zone).strftime(LOCAL_INPUT),
        "ends_at": program.ends_at.astimezone(zone).strftime(LOCAL_INPUT),
        "form_key": "",
    }
    return _form(request, actor, rt, values, FieldErrors(), program=program)


@router.post("/ops/programs/{program_id}/edit")
def edit_program(
    program_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    name: NameForm = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "Asia/Shanghai",
    starts_at: Annotated[str, Form(max_length=30)] = "",
    ends_at: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    program = _draft(rt, actor, program_id)
    values = {
        "name": name,
        "description": description,
        "timezone": timezone,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "issuer_id": program.issuer_id,
        "form_key": "",
    }
    try:
        cmd = _command(_model(values), program.issuer_id)
        with rt.db.write() as tx:
            programs.update_program(tx, rt.clock.now(), actor, program_id, cmd)
    except ValidationError as exc:
        errors = invalid(request, exc, FIELDS)
        return _form(request, actor, rt, values, errors, program=program, status_code=422)
    except QuanError as exc:
        errors = refusal(request, exc)
        return _form(request, actor, rt, values, errors, program=program, status_code=422)
    return redirect(request, f"/ops/programs/{program_id}?done=program_updated")


# --- lifecycle -------------------------------------------------------------------------------

ActionName = Literal["activate", "pause", "close"]


def _confirm_page(
    request: Request,
    actor: Actor,
    rt: Runtime,
    program_id: str,
    action: Action,
    errors: FieldErrors,
    reason: str = "",
    status_code: int = 200,
) -> Response:
    with rt.db.read() as tx:
        program = ProgramPublic.of(programs.visible_program(tx, actor, program_id))
        budget = BudgetPublic.of(
            program_id,
            ledger.budget(tx, program_id),
            programs.pending_contributions_fen(tx, program_id),
        )
    return render(
        request,
        "office/program_confirm.html",
        staff_context(
            actor,
            program=program,
            budget=budget,
            action=action.value,
            # What the page says: resuming a paused program is "activate" to the service.
            kind=_kind(program.status, action),
            irreversible=is_irreversible(program.status, action),
            reason=reason,
            field_errors=errors,
            errors=errors,
        ),
        status_code=status_code,
    )


def _kind(status: ProgramStatus, action: Action) -> str:
    """The texts a confirmation page speaks: ``resume`` for activating a paused program."""
    if action is Action.ACTIVATE and status is ProgramStatus.PAUSED:
        return "resume"
    return action.value


@router.get("/ops/programs/{program_id}/confirm/{action}")
def confirm_page(
    program_id: str, action: ActionName, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    """What an irreversible change does to the program and its money, before it is made."""
    return _confirm_page(request, actor, rt, program_id, Action(action), FieldErrors())


@router.post("/ops/programs/{program_id}/lifecycle/{action}")
def change_program(
    program_id: str,
    action: ActionName,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Pause and resume at once; activating a draft and closing need the confirmation box
    ticked and a reason (the page says why, and what happens to the money)."""
    chosen = Action(action)
    with rt.db.read() as tx:
        status = programs.visible_program(tx, actor, program_id).status
    if is_irreversible(status, chosen):
        errors = _irreversible_errors(request, reason, confirm)
        if errors:
            return _confirm_page(request, actor, rt, program_id, chosen, errors, reason, 422)
    try:
        with rt.db.write() as tx:
            now = rt.clock.now()
            if chosen is Action.CLOSE:
                programs.close_program(tx, now, actor, program_id, reason)
            else:
                programs.change_status(tx, now, actor, program_id, chosen, reason=reason.strip())
    except QuanError as exc:
        if not is_irreversible(status, chosen):
            raise
        errors = refusal(request, exc)
        return _confirm_page(request, actor, rt, program_id, chosen, errors, reason, 409)
    return redirect(request, f"/ops/programs/{program_id}?done=program_{action}")


def _irreversible_errors(request: Request, reason: str, confirm: str) -> FieldErrors:
    t = Translator(request_lang(request))
    errors = FieldErrors()
    if not reason.strip():
        errors.add("reason", t("office.err.reason"))
    if confirm != "yes":
        errors.add("confirm", t("office.err.confirm"))
    return errors

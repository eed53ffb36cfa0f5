"""Reminders in the console: a program's reminder rules (linked from the program page), and the
citizen's switch on the wallet page. Both call the same use cases as ``PUT
/api/v1/programs/{id}/reminders`` and ``PUT /api/v1/me/notifications``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, Response

from quan.api.schemas.programs import ProgramPublic
from quan.api.schemas.reminders import ReminderRulesOut
from quan.domain.auth import Actor, CitizenRole
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.services.delivery import reminder_settings as rules_service
from quan.services.money import programs
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
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render

router = console_router()

CitizenPage = Annotated[Actor, Depends(ConsoleAllow(Area.CITIZEN, CitizenRole.CITIZEN))]


def _minutes(value: str) -> int:
    """``HH:MM`` → minutes after midnight; anything else is refused as the API refuses it."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise QuanError(rules_service.INVALID_REMINDER_SETTINGS)
    total = int(hours) * 60 + int(minutes)
    if int(hours) > 23 or int(minutes) > 59:
        raise QuanError(rules_service.INVALID_REMINDER_SETTINGS)
    return total


def _offsets(value: str) -> list[int]:
    parts = [p for p in value.replace("，", ",").replace(" ", ",").split(",") if p]
    if not all(p.isdigit() for p in parts):
        raise QuanError(rules_service.INVALID_REMINDER_SETTINGS)
    return [int(p) for p in parts]


def _page(
    request: Request,
    actor: Actor,
    rt: RuntimeDep,
    program_id: str,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    with rt.db.read() as tx:
        program = ProgramPublic.of(programs.visible_program(tx, actor, program_id))
        rules = ReminderRulesOut.of(program_id, rules_service.get_rules(tx, actor, program_id))
    context = staff_context(
        actor,
        program=program,
        rules=rules,
        operate=can_operate(actor),
        form=form,
        saved=request.query_params.get("done") == "saved",
        errors=errors,
    )
    return render(request, "ops/reminders.html", context, status_code=422 if errors else 200)


@router.get("/ops/programs/{program_id}/reminders")
def reminders_page(program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    return _page(request, actor, rt, program_id)


@router.post("/ops/programs/{program_id}/reminders")
def save_reminders(
    program_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    offsets: Annotated[str, Form(max_length=64)] = "",
    on_claim: Annotated[str | None, Form(max_length=8)] = None,
    on_redemption: Annotated[str | None, Form(max_length=8)] = None,
    lottery_results: Annotated[str | None, Form(max_length=8)] = None,
    quiet: Annotated[str | None, Form(max_length=8)] = None,
    quiet_start: Annotated[str, Form(max_length=8)] = "21:00",
    quiet_end: Annotated[str, Form(max_length=8)] = "08:00",
) -> Response:
    """Replace the program's reminder rules (the same rules and checks as the API); a refusal
    is said next to the field it concerns."""
    t = Translator(request_lang(request))
    errors = FormErrors()
    days: list[int] = []
    minutes = {"quiet_start": 0, "quiet_end": 0}
    try:
        days = list(
            rules_service.make_rules(
                _offsets(offsets),
                on_claim=True,
                on_redemption=True,
                lottery_results=True,
                quiet_start=0,
                quiet_end=0,
            ).expiry_offsets
        )
    except QuanError as exc:
        errors.add("offsets", sentence(exc, t))
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        try:
            minutes[name] = _minutes(value) if quiet else 0
        except QuanError as exc:
            errors.add(name, sentence(exc, t))
    if errors:
        form = {"offsets": offsets, "quiet_start": quiet_start, "quiet_end": quiet_end}
        return _page(request, actor, rt, program_id, errors=errors, form=form)
    rules = rules_service.make_rules(
        days,
        on_claim=on_claim is not None,
        on_redemption=on_redemption is not None,
        lottery_results=lottery_results is not None,
        quiet_start=minutes["quiet_start"],
        quiet_end=minutes["quiet_end"],
    )
    with rt.db.write() as tx:
        rules_service.set_rules(tx, rt.clock.now(), actor, program_id, rules)
    return redirect(request, f"/ops/programs/{program_id}/reminders?done=saved")


@router.post("/wallet/notifications")
def wallet_notifications(
    request: Request,
    actor: CitizenPage,
    rt: RuntimeDep,
    sms: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    """The wallet's switch: reminders and lottery results by SMS on (``sms`` sent) or off.
    Sign-in codes always go."""
    with rt.db.write() as tx:
        rules_service.set_opt_out(tx, rt.clock.now(), actor.id, "sms", out=sms is None)
    return redirect(request, "/wallet?notices=saved#notices-h")

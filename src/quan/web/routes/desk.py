"""The agent's desk (assisted channel): prove the citizen is present, issue a voucher, print it
within the act's window, reprint with a reason. Calls the same services as the API
(:mod:`quan.services.issuance.assisted`), so every rule and limit holds here too; refusals
render as the console's error page with the code's own message."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Form, Request, Response
from sqlalchemy import select

from quan.domain.auth import Actor, Role
from quan.domain.errors import QuanError
from quan.edge.deps import KeysDep, RuntimeDep
from quan.edge.status import STATUS
from quan.services.issuance import assisted, assisted_acts, assisted_print
from quan.services.issuance.assisted_acts import Presence, ReprintReason
from quan.services.runtime import Runtime
from quan.store.tables import programs
from quan.store.voucher_tables import batches
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import FormErrors, from_refusal
from quan.web.routes.common import console_router, staff_context
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render

router = console_router()

AgentPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, Role.AGENT))]
Text = Annotated[str, Form(max_length=64)]


def _proof(otp_code: str, resident_id: str) -> Presence:
    return Presence(otp_code=otp_code.strip() or None, resident_id=resident_id.strip() or None)


# A refusal → the control it concerns, per form (the same names are in each form).
PROOF_CODES: Final = {
    "PRESENCE_REQUIRED": "otp_code", "PRESENCE_NOT_PROVEN": "otp_code",
    "OTP_INVALID": "otp_code", "OTP_EXPIRED": "otp_code", "OTP_ALREADY_USED": "otp_code",
    "OTP_TOO_MANY_ATTEMPTS": "otp_code", "NO_PHONE_ON_FILE": "citizen_id",
    "NOT_FOUND": "citizen_id",
}
VOUCHER_CODES: Final = {
    **PROOF_CODES, "NOT_FOUND": "voucher_id", "VOUCHER_NOT_ISSUED": "voucher_id",
    "PRINT_NOT_ALLOWED": "voucher_id", "PRINT_WINDOW_OVER": "voucher_id",
    "PRINT_LIMIT_REACHED": "voucher_id", "REPRINT_LIMIT_REACHED": "voucher_id",
}


def _desk(request: Request, actor: Actor, rt: Runtime, *, citizen: str = "",
          form: str = "", refusal: QuanError | None = None) -> Response:
    """The desk; after a refusal, the sentence next to the field of the form (``code``,
    ``issue``, ``reprint``) it concerns."""
    query = (
        select(batches.c.id, batches.c.name, programs.c.name.label("program_name"))
        .join(programs, programs.c.id == batches.c.program_id)
        .where(
            programs.c.issuer_id == actor.issuer_id,
            batches.c.status == "open",
            batches.c.allocation == "fcfs",
        )
        .order_by(batches.c.id)
    )
    with rt.db.read() as tx:
        open_batches = list(tx.execute(query))
    errors: FormErrors | None = None
    if refusal is not None:
        codes = VOUCHER_CODES if form == "reprint" else PROOF_CODES
        field = codes.get(refusal.code)
        found = from_refusal(refusal, Translator(request_lang(request)), attach=field)
        errors = FormErrors({f"{form}-{k}": v for k, v in found.fields.items()}, found.general)
    context = staff_context(
        actor,
        area="desk",
        batches=open_batches,
        citizen=citizen[:64],
        notice=request.query_params.get("done"),
        errors=errors,
        failed=form,
    )
    status = STATUS.get(refusal.kind, 422) if refusal else 200
    return render(request, "desk/index.html", context, status_code=status)


@router.get("/desk")
def desk_page(request: Request, actor: AgentPage, rt: RuntimeDep) -> Response:
    return _desk(request, actor, rt, citizen=request.query_params.get("citizen", ""))


@router.post("/desk/presence-code")
def send_code(
    request: Request, actor: AgentPage, rt: RuntimeDep, keys: KeysDep, citizen_id: Text = ""
) -> Response:
    try:
        with rt.db.write() as tx:
            assisted_acts.send_presence_code(
                tx, rt.clock.now(), keys, rt.throttle, actor, citizen_id
            )
    except QuanError as exc:
        return _desk(request, actor, rt, citizen=citizen_id, form="code", refusal=exc)
    return redirect(request, f"/desk?citizen={citizen_id}&done=presence_sent")


@router.post("/desk/issue")
def issue(
    request: Request,
    actor: AgentPage,
    rt: RuntimeDep,
    keys: KeysDep,
    batch_id: Text = "",
    citizen_id: Text = "",
    otp_code: Text = "",
    resident_id: Text = "",
) -> Response:
    try:
        outcome = assisted.issue_for_citizen(
            rt.db, rt.clock, actor, citizen_id, batch_id,
            keys=keys, throttle=rt.throttle, proof=_proof(otp_code, resident_id),
        )
    except QuanError as exc:
        return _desk(request, actor, rt, citizen=citizen_id, form="issue", refusal=exc)
    window = int(assisted_acts.PRINT_WINDOW.total_seconds() // 60)
    context = staff_context(actor, area="desk", voucher=outcome.voucher, minutes=window)
    return render(request, "desk/issued.html", context)


@router.get("/desk/vouchers/{voucher_id}/print")
def print_voucher(voucher_id: str, actor: AgentPage, rt: RuntimeDep) -> Response:
    with rt.db.write() as tx:
        page = assisted.printable(tx, rt.clock.now(), actor, voucher_id)
    content, media_type = assisted_print.render(page, "pdf")
    return Response(content, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.post("/desk/reprint")
def reprint(
    request: Request,
    actor: AgentPage,
    rt: RuntimeDep,
    keys: KeysDep,
    voucher_id: Text = "",
    reason: Annotated[ReprintReason, Form()] = ReprintReason.LOST,
    otp_code: Text = "",
    resident_id: Text = "",
) -> Response:
    try:
        page = assisted.reprint(
            rt.db, rt.clock, actor, voucher_id,
            keys=keys, throttle=rt.throttle, proof=_proof(otp_code, resident_id), reason=reason,
        )
    except QuanError as exc:
        return _desk(request, actor, rt, form="reprint", refusal=exc)
    content, media_type = assisted_print.render(page, "pdf")
    return Response(content, media_type=media_type, headers={"Cache-Control": "no-store"})

"""The agent's desk (assisted channel): prove the citizen is present, issue a voucher, print it
within the act's window, reprint with a reason. Calls the same services as the API
(:mod:`quan.services.issuance.assisted`), so every rule and limit holds here too; refusals
render as the console's error page with the code's own message."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, Response
from sqlalchemy import select

from quan.domain.auth import Actor, Role
from quan.edge.deps import KeysDep, RuntimeDep
from quan.services.issuance import assisted, assisted_acts, assisted_print
from quan.services.issuance.assisted_acts import Presence, ReprintReason
from quan.store.tables import programs
from quan.store.voucher_tables import batches
from quan.web.routes.common import console_router, staff_context
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render

router = console_router()

AgentPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, Role.AGENT))]
Text = Annotated[str, Form(max_length=64)]


def _proof(otp_code: str, resident_id: str) -> Presence:
    return Presence(otp_code=otp_code.strip() or None, resident_id=resident_id.strip() or None)


@router.get("/desk")
def desk_page(request: Request, actor: AgentPage, rt: RuntimeDep) -> Response:
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
    context = staff_context(
        actor,
        area="desk",
        batches=open_batches,
        citizen=request.query_params.get("citizen", "")[:64],
        notice=request.query_params.get("done"),
    )
    return render(request, "desk/index.html", context)


@router.post("/desk/presence-code")
def send_code(
    request: Request, actor: AgentPage, rt: RuntimeDep, keys: KeysDep, citizen_id: Text = ""
) -> Response:
    with rt.db.write() as tx:
        assisted_acts.send_presence_code(tx, rt.clock.now(), keys, rt.throttle, actor, citizen_id)
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
    outcome = assisted.issue_for_citizen(
        rt.db, rt.clock, actor, citizen_id, batch_id,
        keys=keys, throttle=rt.throttle, proof=_proof(otp_code, resident_id),
    )
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
    actor: AgentPage,
    rt: RuntimeDep,
    keys: KeysDep,
    voucher_id: Text = "",
    reason: Annotated[ReprintReason, Form()] = ReprintReason.LOST,
    otp_code: Text = "",
    resident_id: Text = "",
) -> Response:
    page = assisted.reprint(
        rt.db, rt.clock, actor, voucher_id,
        keys=keys, throttle=rt.throttle, proof=_proof(otp_code, resident_id), reason=reason,
    )
    content, media_type = assisted_print.render(page, "pdf")
    return Response(content, media_type=media_type, headers={"Cache-Control": "no-store"})

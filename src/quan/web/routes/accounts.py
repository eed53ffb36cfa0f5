"""The admins' staff page: the issuer's staff accounts, disable/enable, end sessions.

Writes call :mod:`quan.services.staff` — the same functions as ``POST /users/{id}/…`` — so an
issuer's admin manages that issuer's staff only and every change is an event. Each button asks
for confirmation in the browser (``hx-confirm``) because it ends sessions at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from sqlalchemy import select

from quan.domain.auth import Actor, Role
from quan.edge.deps import RuntimeDep
from quan.services.people import staff
from quan.store.tables import staff_users
from quan.web.routes.common import console_router, staff_context
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render

router = console_router()

AdminPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, Role.ADMIN))]


@router.get("/ops/staff")
def staff_page(request: Request, actor: AdminPage, rt: RuntimeDep) -> Response:
    query = select(staff_users).order_by(staff_users.c.username)
    if actor.issuer_id is not None:
        query = query.where(staff_users.c.issuer_id == actor.issuer_id)
    with rt.db.read() as tx:
        accounts = [staff.user_from_row(r) for r in tx.execute(query)]
    return render(
        request,
        "ops/staff.html",
        staff_context(
            actor, accounts=accounts, me=actor.id, notice=request.query_params.get("done")
        ),
    )


@router.post("/ops/staff/{user_id}/{change}")
def change_account(
    user_id: str,
    change: Literal["disable", "enable", "revoke"],
    request: Request,
    actor: AdminPage,
    rt: RuntimeDep,
) -> Response:
    with rt.db.write() as tx:
        now = rt.clock.now()
        if change == "revoke":
            staff.revoke_sessions(tx, now, actor, user_id)
        else:
            staff.set_active(tx, now, actor, user_id, active=change == "enable")
    return redirect(request, f"/ops/staff?done=staff_{change}")

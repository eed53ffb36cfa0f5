"""Staff sign-in and sign-out (operators, admins, auditors).

The password is checked by the same service as ``POST /auth/token`` (same throttle), and the
token it issues is what the session cookie holds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from quan.domain.auth import Role
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep, client_ip
from quan.services.people import staff
from quan.web.i18n import request_lang
from quan.web.routes.common import console_router, staff_context
from quan.web.routing import redirect, safe_next
from quan.web.session import Area, end_session, optional_actor, start_session
from quan.web.templating import render

router = console_router()

HOME_BY_ROLE = {
    Role.ADMIN: "/ops",
    Role.OPERATOR: "/ops",
    Role.AUDITOR: "/auditor",
    Role.AGENT: "/desk",
}


@router.get("/signin")
def signin_page(request: Request, next: str | None = None) -> Response:
    return render(
        request, "staff/signin.html", staff_context(None, next=safe_next(next, ""), error=None)
    )


@router.post("/signin")
def signin(
    request: Request,
    rt: RuntimeDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        signed = staff.sign_in(
            rt.db,
            rt.clock.now(),
            rt.throttle,
            rt.tokens,
            username=username,
            password=password,
            limits=staff.login_limits(rt.settings),
            ip=client_ip(request),
        )
    except QuanError as exc:
        context = staff_context(
            None, next=safe_next(next, ""), error=exc.message(request_lang(request)),
            username=username,
        )
        return render(request, "staff/signin.html", context, status_code=401)
    home = HOME_BY_ROLE.get(signed.user.role, "/")
    response = redirect(request, safe_next(next, home))
    start_session(response, request, Area.STAFF, signed.access_token)
    return response


@router.post("/signout")
def signout(request: Request, rt: RuntimeDep) -> Response:
    # End the sessions on the server too (token version), not only this browser's cookie: a
    # copied cookie stops working at the same moment.
    actor = optional_actor(request, Area.STAFF, *Role)
    if actor is not None:
        with rt.db.write() as tx:
            staff.sign_out(tx, rt.clock.now(), actor)
    response = redirect(request, "/")
    end_session(response, Area.STAFF)
    return response

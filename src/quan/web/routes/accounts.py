"""The admins' staff page: the issuer's staff accounts — create one (with its role), disable or
enable it, end its sessions, reset its password.

Writes call :mod:`quan.services.people.staff` — the same functions as ``POST /users`` and
``POST /users/{id}/…`` — so an issuer's admin manages (and creates) that issuer's staff only and
every change is an event. Each button that ends sessions asks for confirmation
(``hx-confirm``); a password reset has its own page. The create form carries an idempotency key.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Form, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from quan.api.schemas.staff import StaffCreate
from quan.domain.auth import Actor, Role
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.services.people import staff
from quan.services.runtime import Runtime
from quan.store.tables import issuers, staff_users
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import Field
from quan.web.routes.common import console_router, staff_context
from quan.web.routes.office_forms import (
    FieldErrors,
    create_once,
    invalid,
    new_form_key,
    refusal,
)
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render

router = console_router()

AdminPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, Role.ADMIN))]


STAFF_FIELDS = {
    "username": Field("username", "staff.username"),
    "password": Field("password", "office.staff.password"),
    "role": Field("role", "staff.role"),
    "issuer_id": Field("issuer_id", "office.issuer"),
    "display_name": Field("display_name", "staff.name"),
}


def _staff_page(
    request: Request,
    actor: Actor,
    rt: Runtime,
    values: dict[str, str],
    errors: FieldErrors,
    status_code: int = 200,
) -> Response:
    query = select(staff_users).order_by(staff_users.c.username)
    if actor.issuer_id is not None:
        query = query.where(staff_users.c.issuer_id == actor.issuer_id)
    with rt.db.read() as tx:
        accounts = [staff.user_from_row(r) for r in tx.execute(query)]
        known = list(tx.execute(select(issuers).order_by(issuers.c.name)))
    t = Translator(request_lang(request))
    choices = [(i.id, i.name) for i in known if actor.issuer_id in (None, i.id)]
    if actor.issuer_id is None:
        choices.insert(0, ("", t("office.staff.no_issuer")))
    return render(
        request,
        "ops/staff.html",
        staff_context(
            actor,
            accounts=accounts,
            me=actor.id,
            notice=request.query_params.get("done"),
            values=values,
            field_errors=errors,
            errors=errors,
            role_options=[(r.value, t(f"role.{r.value}")) for r in Role],
            issuer_options=choices,
            issuer_names={i.id: i.name for i in known},
        ),
        status_code=status_code,
    )


@router.get("/ops/staff")
def staff_page(request: Request, actor: AdminPage, rt: RuntimeDep) -> Response:
    values = {
        "username": "",
        "display_name": "",
        "role": "operator",
        "issuer_id": actor.issuer_id or "",
        "form_key": new_form_key(),
    }
    return _staff_page(request, actor, rt, values, FieldErrors())


@router.post("/ops/staff")
def create_account(
    request: Request,
    actor: AdminPage,
    rt: RuntimeDep,
    form_key: Annotated[str, Form(min_length=8, max_length=64)],
    username: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    issuer_id: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new staff account; an issuer's admin creates accounts of that issuer only."""
    values = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "issuer_id": issuer_id,
        "form_key": form_key,
    }
    try:
        if len(password) < staff.MIN_PASSWORD:  # said as the service says it, not "missing"
            raise QuanError(staff.WEAK_PASSWORD)
        model = StaffCreate.model_validate(
            {
                "username": username,
                "password": password,
                "role": role,
                "issuer_id": issuer_id or actor.issuer_id,
                "display_name": display_name or None,
            }
        )
        # The password is not part of what the key is bound to (it is never stored there).
        content = model.model_dump(mode="json", exclude={"password"})
        create_once(
            rt,
            actor,
            request,
            form_key,
            content,
            lambda tx: (
                staff.create_user(
                    tx,
                    rt.clock.now(),
                    username=model.username,
                    password=model.password,
                    role=model.role,
                    issuer_id=model.issuer_id,
                    display_name=model.display_name,
                    actor=actor,
                ).id
            ),
        )
    except ValidationError as exc:
        return _staff_page(request, actor, rt, values, invalid(request, exc, STAFF_FIELDS), 422)
    except QuanError as exc:
        return _staff_page(request, actor, rt, values, refusal(request, exc), 422)
    return redirect(request, "/ops/staff?done=staff_created")


def _password_page(
    request: Request,
    actor: Actor,
    rt: Runtime,
    user_id: str,
    errors: FieldErrors,
    status_code: int = 200,
) -> Response:
    with rt.db.read() as tx:
        account = staff.manageable_user(tx, actor, user_id)
    return render(
        request,
        "office/staff_password.html",
        staff_context(actor, account=account, field_errors=errors, errors=errors),
        status_code=status_code,
    )


@router.get("/ops/staff/{user_id}/password")
def password_page(user_id: str, request: Request, actor: AdminPage, rt: RuntimeDep) -> Response:
    return _password_page(request, actor, rt, user_id, FieldErrors())


@router.post("/ops/staff/{user_id}/password")
def reset_password(
    user_id: str,
    request: Request,
    actor: AdminPage,
    rt: RuntimeDep,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new password: every session of the account ends, and only the new one signs in."""
    try:
        with rt.db.write() as tx:
            staff.reset_password(tx, rt.clock.now(), actor, user_id, password)
    except QuanError as exc:
        if exc.kind.value in ("not_found", "forbidden"):
            raise
        return _password_page(request, actor, rt, user_id, refusal(request, exc), 422)
    return redirect(request, "/ops/staff?done=staff_password")


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

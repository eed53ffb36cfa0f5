"""The admins' partner page: partner API clients (create: the secret is shown once; revoke) and
every webhook subscription with its state (disable, enable again after 410s).

Writes call :mod:`quan.services.delivery.partners` and :mod:`~quan.services.delivery.webhooks`,
as ``POST /partner-clients`` and ``/partner/subscriptions/{id}/enable|disable`` do. The create
form carries an idempotency key drawn when the page was shown; each other button asks first.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import Depends, Form, Request, Response

from quan.domain.auth import Actor, Role
from quan.edge.deps import RuntimeDep
from quan.services.delivery import partners, webhooks
from quan.web.routes.common import console_router, staff_context
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render

router = console_router()

AdminPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, Role.ADMIN))]


def _page(
    request: Request, rt: RuntimeDep, actor: Actor, issued: partners.Issued | None = None
) -> Response:
    with rt.db.read() as tx:
        clients = partners.list_clients(tx)
        subs = webhooks.subscriptions(tx, actor)
    return render(
        request,
        "ops/partners.html",
        staff_context(
            actor,
            clients=clients,
            names={c.id: c.name for c in clients},
            subscriptions=subs,
            issued=issued,
            client_key=secrets.token_urlsafe(16),
        ),
    )


@router.get("/ops/partners")
def partners_page(request: Request, actor: AdminPage, rt: RuntimeDep) -> Response:
    return _page(request, rt, actor)


@router.post("/ops/partners")
def create_client(
    request: Request,
    actor: AdminPage,
    rt: RuntimeDep,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    client_key: Annotated[str, Form(min_length=8, max_length=64)],
) -> Response:
    with rt.db.write() as tx:
        issued = partners.create_client(
            tx, rt.clock.now(), actor, name, idempotency_key=f"console-{client_key}"
        )
    return _page(request, rt, actor, issued)


@router.post("/ops/partners/{client_id}/revoke")
def revoke_client(client_id: str, request: Request, actor: AdminPage, rt: RuntimeDep) -> Response:
    with rt.db.write() as tx:
        partners.revoke_client(tx, rt.clock.now(), actor, client_id)
    return redirect(request, "/ops/partners")


@router.post("/ops/partners/subscriptions/{subscription_id}/{change}")
def change_subscription(
    subscription_id: str,
    change: Literal["enable", "disable"],
    request: Request,
    actor: AdminPage,
    rt: RuntimeDep,
) -> Response:
    with rt.db.write() as tx:
        webhooks.set_active(tx, rt.clock.now(), actor, subscription_id, active=change == "enable")
    return redirect(request, "/ops/partners")

"""The merchant portal's terminals: add, rename, revoke, and pair a device by QR code; and the
device's side, ``/cashier/pair``, which turns a scanned pairing code into a terminal session.

Adding and revoking run the same use cases as ``POST /merchants/{id}/terminals`` and
``…/revoke``; the new terminal's API key is never shown (the device gets a key of its own when
it pairs, :mod:`quan.services.merchants.pairing`).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Form, Request, Response

from quan.api.schemas.merchants import MerchantPublic
from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.edge.status import STATUS
from quan.services import idempotency
from quan.services.merchants import merchants, pairing, terminals
from quan.services.runtime import Runtime
from quan.web.i18n import request_lang
from quan.web.qr import qr_svg
from quan.web.routes.common import console_router
from quan.web.routes.portal import OwnerPage, mine, portal_context
from quan.web.routing import redirect
from quan.web.session import Area, start_session
from quan.web.templating import render

router = console_router()


def _page(
    request: Request,
    actor: Actor,
    rt: Runtime,
    error: QuanError | None = None,
    status_code: int = 200,
) -> Response:
    merchant_id = mine(actor)
    with rt.db.read() as tx:
        merchant = MerchantPublic.of(merchants.visible_merchant(tx, actor, merchant_id))
        found, _ = terminals.list_terminals(tx, actor, merchant_id, limit=200, cursor=None)
    return render(
        request,
        "portal/terminals.html",
        portal_context(
            actor,
            merchant=merchant,
            terminals=found,
            create_key=secrets.token_urlsafe(16),
            notice=request.query_params.get("done"),
            error=error.message(request_lang(request)) if error else None,
        ),
        status_code=status_code,
    )


@router.get("/merchant/terminals")
def terminals_page(request: Request, actor: OwnerPage, rt: RuntimeDep) -> Response:
    return _page(request, actor, rt)


@router.post("/merchant/terminals")
def create(
    request: Request,
    actor: OwnerPage,
    rt: RuntimeDep,
    label: Annotated[str, Form(max_length=200)] = "",
    create_key: Annotated[str, Form(min_length=8, max_length=64)] = "",
) -> Response:
    """Add a terminal (only an approved merchant may); a double submit adds one."""
    merchant_id = mine(actor)
    try:
        checked = pairing.check_label(label)
        key = idempotency.IdempotencyKey.of(
            actor.label,
            f"portal-terminal-{create_key}",
            "POST",
            request.url.path,
            {"label": checked},
        )

        def work(tx: Any) -> str:
            terminal, _ = terminals.create_terminal(tx, rt.clock.now(), actor, merchant_id, checked)
            return terminal.id

        idempotency.run(rt.db, rt.clock, key, work, lambda tid: (201, {"terminal_id": tid}))
    except QuanError as exc:
        return _page(request, actor, rt, exc, status_code=STATUS.get(exc.kind, 422))
    return redirect(request, "/merchant/terminals?done=terminal_created")


@router.post("/merchant/terminals/{terminal_id}/rename")
def rename(
    terminal_id: str,
    request: Request,
    actor: OwnerPage,
    rt: RuntimeDep,
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        with rt.db.write() as tx:
            pairing.rename_terminal(tx, rt.clock.now(), actor, mine(actor), terminal_id, label)
    except QuanError as exc:
        return _page(request, actor, rt, exc, status_code=STATUS.get(exc.kind, 422))
    return redirect(request, "/merchant/terminals?done=terminal_renamed")


@router.post("/merchant/terminals/{terminal_id}/revoke")
def revoke(
    terminal_id: str,
    request: Request,
    actor: OwnerPage,
    rt: RuntimeDep,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Irreversible: the form asks the owner to tick a confirmation first."""
    try:
        if confirm != "yes":
            raise QuanError(pairing.REVOKE_UNCONFIRMED)
        with rt.db.write() as tx:
            terminals.revoke_terminal(tx, rt.clock.now(), actor, mine(actor), terminal_id)
    except QuanError as exc:
        return _page(request, actor, rt, exc, status_code=STATUS.get(exc.kind, 422))
    return redirect(request, "/merchant/terminals?done=terminal_revoked")


@router.post("/merchant/terminals/{terminal_id}/pairing")
def offer_pairing(terminal_id: str, request: Request, actor: OwnerPage, rt: RuntimeDep) -> Response:
    """A new pairing code, shown once as a QR code of the device's pairing URL."""
    try:
        with rt.db.write() as tx:
            offer = pairing.create_pairing(tx, rt.clock.now(), actor, mine(actor), terminal_id)
    except QuanError as exc:
        return _page(request, actor, rt, exc, status_code=STATUS.get(exc.kind, 422))
    url = f"{str(request.base_url).rstrip('/')}/cashier/pair?code={offer.code}"
    return render(
        request,
        "portal/pair.html",
        portal_context(
            actor,
            terminal=offer.terminal,
            url=url,
            expires_at=offer.expires_at,
            minutes=int(pairing.PAIRING_TTL.total_seconds() // 60),
            qr=qr_svg(url, title=offer.terminal.label),
        ),
    )


# --- the device's side ----------------------------------------------------------------------


def _device_context(**values: Any) -> dict[str, Any]:
    return {"area": "cashier", "actor": None, "signout_path": Area.TERMINAL.signout_path, **values}


@router.get("/cashier/pair")
def pair_page(request: Request, rt: RuntimeDep, code: str = "") -> Response:
    """What the scanned code would pair, and a button: opening a link (or a link preview)
    pairs nothing."""
    try:
        with rt.db.read() as tx:
            terminal, merchant_name = pairing.preview(tx, rt.clock.now(), code[:200])
    except QuanError as exc:
        return render(
            request,
            "portal/device_pair.html",
            _device_context(
                code=None,
                error=exc.message(request_lang(request)),
                error_code=exc.code,
            ),
            status_code=STATUS.get(exc.kind, 409),
        )
    return render(
        request,
        "portal/device_pair.html",
        _device_context(
            code=code,
            terminal=terminal,
            merchant_name=merchant_name,
            error=None,
        ),
    )


@router.post("/cashier/pair")
def pair(
    request: Request, rt: RuntimeDep, code: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    try:
        with rt.db.write() as tx:
            paired = pairing.pair(tx, rt.clock.now(), code)
    except QuanError as exc:
        return render(
            request,
            "portal/device_pair.html",
            _device_context(
                code=None,
                error=exc.message(request_lang(request)),
                error_code=exc.code,
            ),
            status_code=STATUS.get(exc.kind, 409),
        )
    response = redirect(request, "/cashier")
    start_session(response, request, Area.TERMINAL, paired.api_key)
    return response

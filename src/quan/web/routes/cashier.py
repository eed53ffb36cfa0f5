"""The cashier screen of a merchant's terminal (a phone or a counter tablet).

The terminal signs in with its API key (issued by the merchant owner or the issuer's operator,
``POST /merchants/{id}/terminals``); the session cookie holds that key, so revoking the
terminal ends the session on the next request, as it does for the API.

The screen scans the citizen's QR code with the device camera where the browser offers the
``BarcodeDetector`` API (``static/cashier.js``) and always lets the cashier type the code.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError

from quan.api.schemas.merchants import MerchantPublic
from quan.api.schemas.redemptions import RedemptionCreate, RedemptionPublic
from quan.domain.auth import Actor, PartnerRole
from quan.domain.errors import FORBIDDEN, VALIDATION_FAILED, QuanError
from quan.domain.merchants import Scene
from quan.edge.deps import Allow, RuntimeDep, idempotency_key
from quan.edge.status import STATUS
from quan.services.merchants import merchants
from quan.services.merchants.offline_keys import offline_key
from quan.services.redemption.redeem import redeem_once
from quan.web.counter_words import refusal_words
from quan.web.i18n import request_lang
from quan.web.routes.common import console_router, parse_yuan
from quan.web.routing import is_htmx, redirect
from quan.web.session import Area, ConsoleAllow, end_session, start_session
from quan.web.templating import render
from quan.web.views.cashier import recent

router = console_router()

TERMINAL_ONLY = (PartnerRole.TERMINAL,)
TerminalPage = Annotated[Actor, Depends(ConsoleAllow(Area.TERMINAL, *TERMINAL_ONLY))]


def _context(actor: Actor | None, **values: object) -> dict[str, object]:
    return {"area": "cashier", "actor": actor, "signout_path": Area.TERMINAL.signout_path,
            **values}


@router.get("/cashier/signin")
def signin_page(request: Request) -> Response:
    return render(request, "cashier/signin.html", _context(None, error=None))


@router.post("/cashier/signin")
def signin(
    request: Request, rt: RuntimeDep, api_key: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    key = api_key.strip()
    try:
        # The API's own check: a live terminal key, bound to its merchant.
        Allow(*TERMINAL_ONLY)(rt, HTTPAuthorizationCredentials(scheme="Bearer", credentials=key))
    except QuanError as exc:
        return render(request, "cashier/signin.html",
                      _context(None, error=exc.message(request_lang(request))), status_code=401)
    response = redirect(request, "/cashier")
    start_session(response, request, Area.TERMINAL, key)
    return response


@router.post("/cashier/signout")
def signout(request: Request) -> Response:
    response = redirect(request, "/cashier/signin")
    end_session(response, Area.TERMINAL)
    return response


SIGNED_QR_PREFIX = "QV1:"  # what the wallet's QR code holds: a signed offline token


def _page(request: Request, actor: Actor, rt: RuntimeDep, *, result: RedemptionPublic | None = None,
          refusal: QuanError | None = None, status_code: int = 200,
          amount: str = "", extra: dict[str, Any] | None = None) -> Response:
    if actor.merchant_id is None:  # every terminal is bound to its merchant; be sure
        raise QuanError(FORBIDDEN)
    with rt.db.read() as tx:
        merchant = MerchantPublic.of(merchants.visible_merchant(tx, actor, actor.merchant_id))
        history = recent(tx, merchant.id)
    context = _context(actor, merchant=merchant, redeem_key=secrets.token_urlsafe(16),
                       history=history, result=result, refusal=refusal, amount=amount,
                       preview=None, **_refusal_text(request, refusal, amount))
    context.update(extra or {})  # a preview: its voucher, rule and figures
    return render(request, "cashier/index.html", context, status_code=status_code)


def _refusal_text(request: Request, refusal: QuanError | None, amount: str) -> dict[str, Any]:
    """The refusal in words (:mod:`quan.web.counter_words`)."""
    return refusal_words(request, refusal, amount)


@router.get("/cashier")
def cashier_page(request: Request, actor: TerminalPage, rt: RuntimeDep) -> Response:
    return _page(request, actor, rt)


def redemption_body(code: str, amount: str, category: str) -> RedemptionCreate:
    """The API request for what the cashier entered: a scanned QR is the signed token, a typed
    code is the voucher code; the amount is yuan as typed, turned into fen without a float."""
    scanned = code.strip()
    fen = parse_yuan(amount)
    if fen is None or fen <= 0:
        raise QuanError(VALIDATION_FAILED)
    is_token = scanned.upper().startswith(SIGNED_QR_PREFIX)
    try:
        return RedemptionCreate(
            voucher_code=None if is_token else scanned,
            token=scanned if is_token else None,
            order_amount_fen=fen,
            category=category,
            scene=Scene.OFFLINE,
        )
    except ValidationError as exc:
        raise QuanError(VALIDATION_FAILED) from exc


@router.post("/cashier/redeem")
def redeem(
    request: Request,
    actor: TerminalPage,
    rt: RuntimeDep,
    code: Annotated[str, Form(max_length=400)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    category: Annotated[str, Form(max_length=64)] = "",
    redeem_key: Annotated[str, Form(min_length=8, max_length=64)] = "",
) -> Response:
    """Redeem as ``POST /redemptions`` does (same rules, same idempotency: the key was drawn
    when the form was shown, so a double tap redeems once and shows the same answer)."""
    try:
        body = redemption_body(code, amount, category)
        outcome = redeem_once(
            rt.db,
            rt.clock,
            actor,
            offline_key(rt.settings).keyring,
            body.request(),
            idempotency_key(
                actor, f"console-{redeem_key}", request, body.model_dump(mode="json")
            ),
            lambda done: (
                201,
                RedemptionPublic.of(done.redemption, done.customer_pays_fen).model_dump(
                    mode="json"
                ),
            ),
        )
        result = RedemptionPublic.model_validate(outcome.body)
    except QuanError as exc:
        status = STATUS.get(exc.kind, 422)
        if is_htmx(request):
            return render(request, "cashier/_result.html",
                          {"result": None, "refusal": exc, "oob_key": secrets.token_urlsafe(16),
                           "amount": amount, **_refusal_text(request, exc, amount)},
                          status_code=status)
        return _page(request, actor, rt, refusal=exc, status_code=status, amount=amount)
    if is_htmx(request):
        with rt.db.read() as tx:
            history = recent(tx, result.merchant_id)
        return render(request, "cashier/_result.html",
                      {"result": result, "refusal": None, "refusal_text": None,
                       "amount_error": False, "amount": "",
                       "history": history, "oob_key": secrets.token_urlsafe(16)})
    return _page(request, actor, rt, result=result)

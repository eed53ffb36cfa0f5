"""The citizen's wallet, phone first: sign in by SMS code, see open batches and whether you may
claim, claim or enter a lottery, see the lotteries entered and their results, and show a
voucher's QR code at the counter.

Sign-in and the code request run the same use cases as the API (the same per-phone and per-IP
limits, the same answers for registered and unregistered phones); the session cookie holds the
citizen token they issue. A claim runs the claim service with an idempotency key drawn when the
page was shown, so a double tap or a retried form gets the same voucher, never a second one.
Entering a lottery runs the registration use case (idempotent by itself: entering twice answers
the first registration).
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import Depends, Form, Request, Response

from quan.api.schemas.citizens import OtpRequest, SessionRequest
from quan.api.schemas.vouchers import WalletVoucher
from quan.domain.auth import Actor, CitizenRole
from quan.domain.citizens import parse_phone
from quan.domain.claims import Channel
from quan.domain.errors import NOT_FOUND, QuanError
from quan.edge.deps import RuntimeDep, citizen_keys, client_ip
from quan.edge.status import STATUS
from quan.services.delivery import reminder_settings
from quan.services.issuance import claims, lottery, wallet
from quan.services.merchants.offline_keys import offline_key
from quan.services.people import otp
from quan.services.people.rate_limits import RATE_LIMITED, spend
from quan.web.i18n import request_lang
from quan.web.qr import qr_svg
from quan.web.routes.common import console_router
from quan.web.routing import redirect, safe_next
from quan.web.session import Area, ConsoleAllow, end_session, start_session
from quan.web.templating import render
from quan.web.views.lottery import my_lotteries
from quan.web.views.offers import offers
from quan.web.views.wallet_cards import cards

router = console_router()

RESEND_SECONDS = otp.RESEND.window_seconds  # one code a minute per phone

CitizenPage = Annotated[Actor, Depends(ConsoleAllow(Area.CITIZEN, CitizenRole.CITIZEN))]


def _context(actor: Actor | None, **values: object) -> dict[str, object]:
    return {"area": "wallet", "actor": actor, "signout_path": Area.CITIZEN.signout_path, **values}


@router.get("/wallet/signin")
def signin_page(request: Request, next: str | None = None) -> Response:
    return _signin(request, step="phone", phone="", next=next or "")


def _signin(request: Request, *, step: str, phone: str, next: str,
            error: QuanError | None = None, sent_at: str = "", too_soon: bool = False,
            status_code: int = 200) -> Response:
    """The sign-in page. The code step shows the code box whatever happened: a resend asked for
    too soon is a notice with the seconds left (the code already sent still works), a refusal
    is an error, and the "code sent" banner shows only when nothing went wrong. The resend
    button counts down the seconds left of the minute since the code was sent."""
    fresh = step == "code" and error is None and not too_soon
    sent = str(int(time.time())) if fresh else sent_at
    wait = _seconds_left(sent) if sent else 0
    if too_soon and wait == 0:
        wait = RESEND_SECONDS  # refused although our page's minute is over: another send
    return render(request, "citizen/signin.html", _context(
        None, step=step, phone=phone, next=safe_next(next, ""),
        error=error.message(request_lang(request)) if error else None,
        error_code=error.code if error else None, fresh=fresh, too_soon=too_soon,
        sent_at=sent, wait=wait,
    ), status_code=status_code)  # fmt: skip


def _seconds_left(sent_at: str) -> int:
    """What is left of the resend wait since the page said the code was sent (only for the
    countdown and the notice: the throttle itself is what refuses)."""
    try:
        left = RESEND_SECONDS - (int(time.time()) - int(sent_at))
    except ValueError:
        left = 0
    return max(0, min(RESEND_SECONDS, left))


@router.post("/wallet/code")
def request_code(
    request: Request,
    rt: RuntimeDep,
    phone: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    resend: Annotated[str, Form(max_length=4)] = "",
    sent_at: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Send a sign-in code; the next step asks for it whatever the phone (no account probing).
    A resend keeps the resident on the code step, also when it is refused."""
    try:
        body = OtpRequest(phone=phone)
        parsed = parse_phone(body.phone)
        spend(rt.throttle, otp.CODE_REQUESTS, client_ip(request))
        with rt.db.write() as tx:
            otp.request_code(
                tx, rt.clock.now(), citizen_keys(rt), rt.throttle, phone=parsed,
                purpose=body.purpose,
            )
    except QuanError as exc:
        if not resend:
            return _signin(request, step="phone", phone=phone, next=next, error=exc,
                           status_code=422)  # fmt: skip
        too_soon = exc.code == RATE_LIMITED.code and int(
            exc.params.get("retry_after_seconds", 0)) <= RESEND_SECONDS  # fmt: skip
        if too_soon:
            return _signin(request, step="code", phone=phone, next=next,
                           sent_at=sent_at or str(int(time.time())), too_soon=True,
                           status_code=429)  # fmt: skip
        return _signin(request, step="code", phone=phone, next=next, error=exc,
                       sent_at=sent_at, status_code=STATUS.get(exc.kind, 422))  # fmt: skip
    return _signin(request, step="code", phone=phone, next=next)


@router.post("/wallet/session")
def sign_in(
    request: Request,
    rt: RuntimeDep,
    phone: Annotated[str, Form(max_length=32)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    sent_at: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        body = SessionRequest(phone=phone, code=code.strip())
        session = otp.sign_in(
            rt.db, rt.clock, citizen_keys(rt), rt.throttle, rt.tokens,
            phone=parse_phone(body.phone), code=body.code, ip=client_ip(request),
        )
    except QuanError as exc:
        return _signin(request, step="code", phone=phone, next=next, error=exc, sent_at=sent_at,
                       status_code=401)  # fmt: skip
    response = redirect(request, safe_next(next, "/wallet"))
    start_session(response, request, Area.CITIZEN, session.access_token)
    return response


@router.post("/wallet/signout")
def signout(request: Request) -> Response:
    response = redirect(request, "/wallet/signin")
    end_session(response, Area.CITIZEN)
    return response


def _vouchers(actor: Actor, rt: RuntimeDep) -> list[WalletVoucher]:
    with rt.db.read() as tx:
        entries, _ = wallet.wallet(
            tx, actor.id, rt.clock.now(), limit=200, cursor=None, offline=offline_key(rt.settings)
        )
    return [WalletVoucher.of(e) for e in entries]


def _wallet(request: Request, actor: Actor, rt: RuntimeDep, *, error: QuanError | None = None,
            error_batch: str | None = None, entered: str | None = None,
            status_code: int = 200) -> Response:
    now = rt.clock.now()
    mine = _vouchers(actor, rt)
    with rt.db.read() as tx:
        found = offers(tx, actor.id, now)
        lotteries = my_lotteries(tx, actor.id, now)
        reminders_by_sms = "sms" not in reminder_settings.opted_out(tx, actor.id)
        shown = cards(tx, actor.id, mine)
    return render(
        request,
        "citizen/wallet.html",
        _context(actor, offers=found, cards=shown, lotteries=lotteries,
                 help_line=rt.settings.help_line,
                 claim_key=secrets.token_urlsafe(16),
                 error=error.message(request_lang(request)) if error else None,
                 error_code=error.code if error else None, error_batch=error_batch,
                 entered=entered, reminders_by_sms=reminders_by_sms,
                 notices_saved=request.query_params.get("notices") == "saved"),
        status_code=status_code,
    )


@router.get("/wallet")
def wallet_page(request: Request, actor: CitizenPage, rt: RuntimeDep,
                entered: str | None = None) -> Response:
    return _wallet(request, actor, rt, entered=entered)


@router.post("/wallet/batches/{batch_id}/claim")
def claim(
    batch_id: str,
    request: Request,
    actor: CitizenPage,
    rt: RuntimeDep,
    claim_key: Annotated[str, Form(min_length=8, max_length=64)],
) -> Response:
    try:
        outcome = claims.claim_first_come(
            rt.db, rt.clock, actor.id, batch_id, key=f"web-{claim_key}", channel=Channel.WEB
        )
    except QuanError as exc:
        return _wallet(request, actor, rt, error=exc, error_batch=batch_id, status_code=409)
    return redirect(request, f"/wallet/vouchers/{outcome.voucher.id}?claimed=1")


@router.post("/wallet/batches/{batch_id}/register")
def enter_lottery(batch_id: str, request: Request, actor: CitizenPage,
                  rt: RuntimeDep) -> Response:
    """Enter a lottery batch (as ``POST /batches/{id}/registrations``); a refusal (not eligible,
    registration closed, already drawn ...) is shown on the batch's card in words."""
    try:
        with rt.db.write() as tx:
            lottery.register(tx, rt.clock.now(), rt.settings, actor.id, batch_id)
    except QuanError as exc:
        return _wallet(request, actor, rt, error=exc, error_batch=batch_id,
                       status_code=STATUS.get(exc.kind, 409))
    return redirect(request, f"/wallet?entered={batch_id}#lotteries-h")


@router.get("/wallet/vouchers/{voucher_id}")
def voucher_page(voucher_id: str, request: Request, actor: CitizenPage,
                 rt: RuntimeDep) -> Response:
    mine = [v for v in _vouchers(actor, rt) if v.id == voucher_id]
    if not mine:
        raise QuanError(NOT_FOUND, what=f"voucher {voucher_id}")
    voucher = mine[0]
    with rt.db.read() as tx:
        (card,) = cards(tx, actor.id, [voucher])
    return render(
        request,
        "citizen/voucher.html",
        _context(actor, voucher=voucher, card=card, help_line=rt.settings.help_line,
                 claimed=request.query_params.get("claimed") == "1",
                 qr=qr_svg(voucher.qr_payload, title=voucher.code) if not card.spent else None),
    )

"""The counter's second look and its day (issue 16, points 8, 9 and 11).

- ``POST /cashier/preview``: what the redemption would do — the voucher's value, its rule, the
  discount and what the customer pays — before the cashier confirms it with ``POST
  /cashier/redeem``. Nothing is written or locked (:mod:`quan.services.redemption.preview`); the
  confirmation carries the idempotency key drawn when the form was shown, so a double tap on
  "confirm" still redeems once.
- ``GET /cashier/redemptions/{id}`` and ``POST …/reverse``: a refund from the counter within the
  reversal window (``Settings.reversal_window_seconds``), as ``POST /redemptions/{id}/reversal``
  does it (:mod:`quan.services.redemption.reversal`: once, however raced).
- ``GET /cashier/shift``: today's redemptions at this terminal (or the whole shop), with totals,
  printable.

Refusals are said as sentences with money in yuan and categories, places and times in words
(:func:`counter_sentence`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form, Request, Response

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.edge.status import STATUS
from quan.services.merchants.offline_keys import offline_key
from quan.services.redemption import preview as previews
from quan.services.redemption import reversal
from quan.services.redemption.redeem import refusal as record_refusal
from quan.services.redemption.redemption import visible_redemption
from quan.web.counter_words import counter_sentence, last_day, refusal_words
from quan.web.i18n import Translator, request_lang
from quan.web.routes.cashier import TerminalPage, _context, _page, redemption_body
from quan.web.routes.common import console_router
from quan.web.routing import is_htmx, redirect
from quan.web.templating import localtime, render, yuan
from quan.web.views.counter_shift import merchant_zone, shift, terminal_label

router = console_router()

REASONS = ("refunded", "wrong_amount", "wrong_voucher", "other")


def _refused(
    request: Request, actor: Actor, rt: RuntimeDep, exc: QuanError, amount: str, key: str
) -> Response:
    status = STATUS.get(exc.kind, 422)
    if is_htmx(request):
        # The form's key stays as it was (a preview takes none); the amount field is marked.
        return render(request, "cashier/_result.html",
                      {"result": None, "refusal": exc, "amount": amount, "oob_key": key,
                       **refusal_words(request, exc, amount)},
                      status_code=status)
    return _page(request, actor, rt, refusal=exc, status_code=status, amount=amount)


@router.post("/cashier/preview")
def preview_page(
    request: Request,
    actor: TerminalPage,
    rt: RuntimeDep,
    code: Annotated[str, Form(max_length=400)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    category: Annotated[str, Form(max_length=64)] = "",
    redeem_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """What redeeming would do, in a read-only transaction: nothing is taken or held."""
    lang = request_lang(request)
    try:
        body = redemption_body(code, amount, category)
        request_ = body.request()
    except QuanError as exc:
        return _refused(request, actor, rt, exc, amount, redeem_key)
    try:
        with rt.db.read() as tx:
            found = previews.preview(
                tx, rt.clock.now(), actor, offline_key(rt.settings).keyring, request_
            )
    except QuanError as exc:
        record_refusal(rt.db, rt.clock, actor, exc)  # a guess through the preview counts too
        return _refused(request, actor, rt, exc, amount, redeem_key)
    shown = {
        "preview": found,
        "rule": found.discount.summary(lang),
        "last_day": last_day(found.valid_until, found.timezone),
        "code": code.strip(),
        "amount": amount,
        "category": category,
        "redeem_key": redeem_key,
    }
    if is_htmx(request):
        # The amount field loses the mark an earlier refusal left on it.
        return render(request, "cashier/_preview.html", {**shown, "oob": True})
    return _page(request, actor, rt, amount=amount, extra=shown)


def _reversal_context(
    actor: Actor, rt: RuntimeDep, redemption_id: str, **values: Any
) -> dict[str, Any]:
    with rt.db.read() as tx:
        red = visible_redemption(tx, actor, redemption_id)
        zone = merchant_zone(tx, red.merchant_id)
        reversed_ = reversal.get_reversal(tx, redemption_id)
        label = terminal_label(tx, red.terminal_id) or red.terminal_id
    window = int(rt.settings.reversal_window_seconds)
    deadline = red.redeemed_at + timedelta(seconds=window)
    return _context(
        actor,
        red=red,
        zone=zone,
        reversal=reversed_,
        terminal=label,
        deadline=deadline,
        reversible=red.status == "redeemed" and rt.clock.now() <= deadline,
        reasons=REASONS,
        **values,
    )


@router.get("/cashier/redemptions/{redemption_id}")
def redemption_page(
    redemption_id: str, request: Request, actor: TerminalPage, rt: RuntimeDep,
    done: str | None = None,
) -> Response:
    context = _reversal_context(actor, rt, redemption_id, done=done == "reversed",
                                refusal_text=None)
    return render(request, "cashier/redemption.html", context)


@router.post("/cashier/redemptions/{redemption_id}/reverse")
def reverse(
    redemption_id: str,
    request: Request,
    actor: TerminalPage,
    rt: RuntimeDep,
    reason: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Refund a redemption at the counter: the voucher goes back to its holder while valid."""
    t = Translator(request_lang(request))
    if reason not in REASONS:
        context = _reversal_context(actor, rt, redemption_id, done=False,
                                    refusal_text=t("refuse.choose",
                                                   label=t("counter.reverse_reason")))
        return render(request, "cashier/redemption.html", context, status_code=422)
    said = t(f"counter.reason.{reason}") + (f" · {note.strip()}" if note.strip() else "")
    try:
        with rt.db.write() as tx:
            reversal.reverse(
                tx, rt.clock, actor, redemption_id, reason=said,
                window_seconds=int(rt.settings.reversal_window_seconds),
            )
    except QuanError as exc:
        if exc.code != "ALREADY_REVERSED":  # a second tap: the first one did it
            with rt.db.read() as tx:
                zone = merchant_zone(tx, actor.merchant_id or "")
            context = _reversal_context(actor, rt, redemption_id, done=False,
                                        refusal_text=counter_sentence(exc, t, zone))
            return render(request, "cashier/redemption.html", context,
                          status_code=STATUS.get(exc.kind, 409))
    return redirect(request, f"/cashier/redemptions/{redemption_id}?done=reversed")


@router.get("/cashier/shift")
def shift_page(
    request: Request, actor: TerminalPage, rt: RuntimeDep, scope: str = "terminal"
) -> Response:
    """Today's redemptions and their totals, at this terminal or (``scope=merchant``) at every
    terminal of the shop; printable (``static/counter.css`` has the print layout)."""
    whole_shop = scope == "merchant"
    with rt.db.read() as tx:
        report = shift(tx, rt.clock.now(), actor.merchant_id or "",
                       None if whole_shop else actor.id)
        label = terminal_label(tx, actor.id) or actor.id
    printed_at = localtime(rt.clock.now(), report.zone, "%Y-%m-%d %H:%M")
    return render(request, "cashier/shift.html",
                  _context(actor, report=report, whole_shop=whole_shop, terminal=label,
                           printed_at=printed_at, yuan=yuan))



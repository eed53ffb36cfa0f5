"""Lottery batches (摇号) in the operator console: the registration, the draw, the public record.

The page reads the lottery's public record through the same use case as
``GET /batches/{id}/lottery`` (commitment, registrants, pools, and after the draw the seed and the
winners), and the draw button runs the draw as ``POST /batches/{id}/lottery/draw`` does, so the
console is refused with the same codes: before registration closes, twice, a batch that is not
open or not a lottery. Auditors see the page without the button. The citizen's side (entering,
the result) is in the wallet (:mod:`quan.web.routes.citizen`).

A quan-lottery-v2 lottery also shows its public random value: after the close, staff other than
whoever created the batch enter it here (the form calls
:func:`quan.services.issuance.lottery.record_beacon`; the creator sees why they cannot), and the
page shows the close checkpoint and who entered it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlalchemy import func, select

from quan.api.schemas.lottery import LotteryPublic
from quan.domain import lottery_v2 as v2
from quan.domain.auth import Actor
from quan.domain.batches import BatchStatus
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.edge.status import STATUS
from quan.services.issuance import lottery, lottery_draw
from quan.services.issuance.batches import visible_batch
from quan.services.issuance.lottery_v2 import makers
from quan.services.money.programs import visible_program
from quan.store.voucher_tables import vouchers
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import FormErrors, from_refusal, sentence
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routing import redirect
from quan.web.templating import render
from quan.web.views.lottery import pools_view, winners_count

router = console_router()


def _page(request: Request, actor: Actor, rt: RuntimeDep, batch_id: str, *,
          error: QuanError | None = None) -> Response:
    with rt.db.read() as tx:
        batch = visible_batch(tx, actor, batch_id)
        issued = tx.execute(
            select(func.count()).select_from(vouchers).where(
                vouchers.c.batch_id == batch_id, vouchers.c.citizen_id.is_not(None)
            )
        ).scalar_one()
        mine = actor.label in makers(tx, batch_id)
        program = visible_program(tx, actor, batch.program_id)
    # WRONG_ALLOCATION unless a lottery batch
    record = LotteryPublic.of(lottery.public_record(rt.db, rt.clock, rt.settings, batch_id))
    now = rt.clock.now()
    drawn = record.drawn_at is not None
    is_v2 = record.algorithm == v2.ALGORITHM
    if drawn:
        blocker = None
    elif batch.status is not BatchStatus.OPEN:
        blocker = "lottery.blocked_not_open"
    elif now < record.registration_closes_at:
        blocker = "lottery.blocked_still_open"
    elif is_v2 and record.beacon is None:
        blocker = "lottery.blocked_no_beacon"
    else:
        blocker = None
    closed = now >= record.registration_closes_at
    base = str(request.base_url).rstrip("/")
    context: dict[str, Any] = staff_context(
        actor,
        program=program,
        batch=batch,
        record=record,
        drawn=drawn,
        pools=pools_view(record.pools),
        winners=winners_count(record.winners),
        issued=int(issued),
        operate=can_operate(actor),
        blocker=blocker,
        base_url=base,
        record_path=f"/api/v1/batches/{batch_id}/lottery",
        registrants_path=f"/api/v1/batches/{batch_id}/lottery/registrants",
        verify_command=f"quan lottery verify --url {base} --batch {batch_id}",
        is_v2=is_v2,
        beacon_state=_beacon_state(is_v2, drawn, record.beacon is not None, closed, mine, actor),
        notice=_notice(request, drawn, record.beacon is not None),
        error=sentence(error, Translator(request_lang(request)), program.timezone)
        if error
        else None,
        error_code=error.code if error else None,
        errors=_beacon_errors(request, error, program.timezone),
    )
    status = STATUS.get(error.kind, 409) if error else 200
    return render(request, "ops/lottery.html", context, status_code=status)


def _beacon_errors(request: Request, error: QuanError | None, zone: str) -> FormErrors | None:
    """A refused public value or source, next to the field it concerns."""
    if error is None or error.spec is not v2.INVALID_BEACON:
        return None
    field = "source" if "source" in str(error.params.get("reason", "")) else "value"
    return from_refusal(error, Translator(request_lang(request)), zone, attach=field)


@router.get("/ops/batches/{batch_id}/lottery")
def lottery_page(batch_id: str, request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    return _page(request, actor, rt, batch_id)


@router.post("/ops/batches/{batch_id}/lottery/draw")
def draw(batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    """Reveal the seed and draw; winners get their vouchers at once. A refusal (too early,
    already drawn, batch not open) is shown on the lottery page in words, with its code."""
    try:
        with rt.db.write() as tx:
            visible_batch(tx, actor, batch_id)
            lottery_draw.draw(tx, rt.clock.now(), rt.settings, actor, batch_id)
    except QuanError as exc:
        return _page(request, actor, rt, batch_id, error=exc)
    return redirect(request, f"/ops/batches/{batch_id}/lottery?done=drawn")


def _beacon_state(
    is_v2: bool, drawn: bool, recorded: bool, closed: bool, mine: bool, actor: Actor
) -> str | None:
    """What the v2 beacon section offers: ``form``, ``not_yet``, ``other_person`` or nothing."""
    if not is_v2 or drawn or recorded or not can_operate(actor):
        return None
    if not closed:
        return "not_yet"
    return "other_person" if mine else "form"


def _notice(request: Request, drawn: bool, recorded: bool) -> str | None:
    done = request.query_params.get("done")
    if done == "drawn" and drawn:
        return "drawn"
    if done == "beacon" and recorded:
        return "beacon"
    return None


@router.post("/ops/batches/{batch_id}/lottery/beacon")
def beacon(
    batch_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    value: Annotated[str, Form(max_length=v2.MAX_BEACON_CHARS)] = "",
    source: Annotated[str, Form(max_length=v2.MAX_SOURCE_CHARS)] = "",
) -> Response:
    """quan-lottery-v2: a second person enters the public value after the close. A refusal
    (the creator, too early, not yet logged, a value the log would alter) is shown in words."""
    try:
        with rt.db.write() as tx:
            visible_batch(tx, actor, batch_id)
            lottery.record_beacon(
                tx, rt.clock.now(), rt.settings, actor, batch_id, value=value, source=source
            )
    except QuanError as exc:
        return _page(request, actor, rt, batch_id, error=exc)
    return redirect(request, f"/ops/batches/{batch_id}/lottery?done=beacon")

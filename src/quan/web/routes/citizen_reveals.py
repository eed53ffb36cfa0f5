"""A citizen's personal data in clear, in the console (issue 13, I4): find a citizen, see the
masked record, state a purpose and see the ID number, name and phone once.

The reveal runs the API's rules (:mod:`quan.services.people.reveals` and
:func:`quan.services.people.citizens.reveal`) in one transaction: operators only reveal
citizens of their issuer's region, at most ``QUAN_REVEAL_PER_MINUTE`` a minute, and beyond
``QUAN_REVEAL_DAILY_THRESHOLD`` a day the reveal files a request that another person approves
on the approvals page (``/ops/approvals``, :mod:`~quan.web.routes.office_approvals`); the
requester then reveals once with that approval from the citizen's page. Every reveal is the
event ``citizen.personal_data_revealed``.

The data in clear is the answer to the POST only: never in an address (an ID number is looked
up by POST too), never kept, and sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Form, Request, Response

from quan.domain.auth import Actor
from quan.domain.citizens import age_on, local_date
from quan.domain.errors import QuanError
from quan.domain.resident_id import parse_resident_id
from quan.edge.deps import KeysDep, RuntimeDep
from quan.edge.status import STATUS
from quan.services.people import citizens, reveals, staff
from quan.services.people.citizens import RevealPurpose
from quan.services.runtime import Runtime
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import NO_ERRORS, FormErrors, from_refusal
from quan.web.routes.common import OperatorPage, console_router, staff_context
from quan.web.routes.office_forms import errors_of
from quan.web.routing import redirect
from quan.web.templating import render

router = console_router()

Text = Annotated[str, Form(max_length=64)]
NOT_KEPT: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _limits(rt: Runtime) -> reveals.RevealLimits:
    return reveals.RevealLimits(rt.settings.reveal_per_minute, rt.settings.reveal_daily_threshold)


def _index(
    request: Request, actor: Actor, rt: Runtime, errors: FormErrors = NO_ERRORS, status: int = 200
) -> Response:
    with rt.db.read() as tx:
        mine = reveals.open_requests(tx, rt.clock.now(), actor)
    context = staff_context(
        actor, requests=mine, limits=_limits(rt), errors=errors, field_errors=errors
    )
    return render(request, "ops/citizens.html", context, status_code=status)


@router.get("/ops/citizens")
def citizens_page(request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    return _index(request, actor, rt)


@router.post("/ops/citizens/find")
def find(
    request: Request, actor: OperatorPage, rt: RuntimeDep, keys: KeysDep, query: Text = ""
) -> Response:
    """A citizen id, or an ID number (checked, then looked up by its keyed hash); the citizen's
    page is addressed by id only."""
    t = Translator(request_lang(request))
    text = query.strip()
    if not text:
        return _index(request, actor, rt, errors_of(query=t("reveal.query_required")), 422)
    with rt.db.read() as tx:
        if text.startswith("cit_"):
            found = citizens.find_citizen(tx, text)
        else:
            try:
                number = parse_resident_id(text, today=local_date(rt.clock.now())).number
            except QuanError as exc:
                return _index(request, actor, rt, from_refusal(exc, t, attach="query"), 422)
            found = citizens.find_by_resident_id(tx, keys, number)
    if found is None:
        return _index(request, actor, rt, errors_of(query=t("reveal.not_found")), 404)
    return redirect(request, f"/ops/citizens/{found.id}")


def _citizen(
    request: Request,
    actor: Actor,
    rt: Runtime,
    citizen_id: str,
    errors: FormErrors = NO_ERRORS,
    status: int = 200,
) -> Response:
    t = Translator(request_lang(request))
    now = rt.clock.now()
    with rt.db.read() as tx:
        citizen = citizens.get_citizen(tx, citizen_id)  # 404 page for an unknown id
        mine = reveals.open_requests(tx, now, actor, citizen_id)
    context = staff_context(
        actor,
        citizen=citizen,
        age=age_on(citizen.birth_date, local_date(now)),
        requests=mine,
        purposes=[("", t("reveal.choose"))]
        + [(p.value, t(f"reveal.purpose.{p.value}")) for p in RevealPurpose],
        limits=_limits(rt),
        errors=errors,
        field_errors=errors,
        notice=request.query_params.get("done"),
    )
    return render(request, "ops/citizen.html", context, status_code=status)


@router.get("/ops/citizens/{citizen_id}")
def citizen_page(
    citizen_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    return _citizen(request, actor, rt, citizen_id)


@router.post("/ops/citizens/{citizen_id}/reveal")
def reveal(
    citizen_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    keys: KeysDep,
    purpose: Text = "",
    approval_id: Text = "",
) -> Response:
    """The data in clear, once, for the stated purpose; beyond the daily threshold a request
    for a second person's approval instead (then back to the citizen's page)."""
    t = Translator(request_lang(request))
    try:
        chosen = RevealPurpose(purpose)
    except ValueError:
        return _citizen(request, actor, rt, citizen_id, errors_of(purpose=t("reveal.err.purpose")),
                        422)  # fmt: skip
    now = rt.clock.now()
    try:
        with rt.db.write() as tx:
            filed = reveals.admit(
                tx, now, actor, rt.throttle, _limits(rt), citizen_id=citizen_id,
                purpose=chosen.value, approval_id=approval_id.strip() or None,
            )  # fmt: skip
            clear = None if filed else citizens.reveal(tx, now, actor, keys, citizen_id, chosen)
            names = staff.names_of(tx, {actor.label})
    except QuanError as exc:
        if exc.kind.value == "not_found":
            raise
        found = from_refusal(exc, t, attach="purpose")
        return _citizen(request, actor, rt, citizen_id, found, STATUS.get(exc.kind, 422))
    if clear is None:
        return redirect(request, f"/ops/citizens/{citizen_id}?done=reveal_requested")
    context = staff_context(
        actor,
        citizen_id=citizen_id,
        clear=clear,
        purpose=chosen.value,
        at=now,
        who=names.get(actor.label, actor.label),
    )
    return render(request, "ops/citizen_revealed.html", context, headers=NOT_KEPT)

"""Abuse cases in the console: a program's cases (open, confirmed, dismissed), one case with its
evidence — the rules that fired, explained, the subject's features, the redemptions concerned —
and the operator's acts: hold the redemptions while investigating, confirm or dismiss with a
reason (confirming may blacklist the subject), and scan the program now.

Every act runs the same use cases as the scheduled ``risk-scan`` job and the services.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Form, Request, Response

from quan.domain.abuse import explain
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.services.abuse import cases, clawback, evidence, features, holds
from quan.services.merchants import merchants
from quan.services.money.programs import visible_program
from quan.services.runtime import Runtime
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import from_refusal
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routing import redirect
from quan.web.templating import render

router = console_router()

STATUSES: Final = ("open", "confirmed", "dismissed")


@router.get("/ops/programs/{program_id}/cases")
def case_list(
    program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep, status: str = "open"
) -> Response:
    status = status if status in STATUSES else "open"
    with rt.db.read() as tx:
        program = visible_program(tx, actor, program_id)
        found = cases.load(tx.execute(cases.cases_query(tx, actor, program_id, status)).all())
        names = _merchant_names(tx, actor, found)
    lang = request_lang(request)
    return render(
        request,
        "ops/cases.html",
        staff_context(
            actor,
            program=program,
            cases=found,
            status=status,
            statuses=STATUSES,
            names=names,
            reasons={c.id: [explain(f.rule_id, f.value, lang) for f in c.findings] for c in found},
            operate=can_operate(actor),
            notice=request.query_params.get("done"),
        ),
    )


def _merchant_names(tx: Any, actor: Any, found: list[cases.RiskCase]) -> dict[str, str]:
    names: dict[str, str] = {}
    for case in found:
        if case.subject_type.value == "merchant" and case.subject_id not in names:
            try:
                names[case.subject_id] = merchants.visible_merchant(tx, actor, case.subject_id).name
            except QuanError:
                names[case.subject_id] = case.subject_id
    return names


@router.post("/ops/programs/{program_id}/cases/scan")
def scan_now(program_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        visible_program(tx, actor, program_id)
    opened = cases.scan(rt.db, rt.clock.now(), [program_id])
    return redirect(request, f"/ops/programs/{program_id}/cases?done={len(opened)}")


def _case_page(
    request: Request, actor: StaffPage, rt: Runtime, case_id: str,
    errors: Any = None, reason: str = "", status_code: int = 200,
) -> Response:  # fmt: skip
    lang = request_lang(request)
    with rt.db.read() as tx:
        case = cases.get_case(tx, actor, case_id)
        program = visible_program(tx, actor, case.program_id)
        names = _merchant_names(tx, actor, [case])
        found = evidence.lines(tx, case)
        values = features.stored(tx, case.program_id, case.subject_type, case.subject_id)
    return render(
        request,
        "ops/case.html",
        staff_context(
            actor,
            case=case,
            program=program,
            names=names,
            lines=found,
            features=values,
            findings=[(f, explain(f.rule_id, f.value, lang)) for f in case.findings],
            holdable=sum(1 for line in found if line.hold == "none" and line.status == "redeemed"),
            settled=[
                line for line in found if line.hold == "settled" and line.status == "redeemed"
            ],
            can_claw_back=can_operate(actor) and case.status == "confirmed",
            operate=can_operate(actor) and case.status == "open",
            errors=errors,
            reason=reason,
            notice=request.query_params.get("done"),
        ),
        status_code=status_code,
    )


@router.get("/ops/cases/{case_id}")
def case_page(case_id: str, request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    return _case_page(request, actor, rt, case_id)


@router.post("/ops/cases/{case_id}/holds")
def hold_case(case_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    with rt.db.write() as tx:
        case = cases.get_case(tx, actor, case_id)
        if case.status != "open":
            raise QuanError(cases.CASE_NOT_OPEN)
        held = holds.hold_many(tx, rt.clock.now(), actor, case_id, list(case.redemption_ids))
    return redirect(request, f"/ops/cases/{case_id}?done=held_{len(held.held)}")


@router.post("/ops/cases/{case_id}/decision")
def decide(
    case_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    blacklist: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        chosen = cases.Decision(decision)
    except ValueError:
        chosen = None
    try:
        if chosen is None:
            raise QuanError(cases.DECISION_REQUIRED)
        with rt.db.write() as tx:
            cases.decide(
                tx, rt.clock.now(), actor, case_id, chosen, reason,
                blacklist=chosen is cases.Decision.CONFIRMED and blacklist == "1",
            )  # fmt: skip
    except QuanError as exc:
        t = Translator(request_lang(request))
        attach = {
            "RISK_CASE_REASON_REQUIRED": "reason",
            "RISK_CASE_DECISION_REQUIRED": "decision",
        }.get(exc.code)
        return _case_page(
            request,
            actor,
            rt,
            case_id,
            errors=from_refusal(exc, t, attach=attach),
            reason=reason,
            status_code=422,
        )
    return redirect(request, f"/ops/cases/{case_id}?done={chosen.value}")


@router.post("/ops/cases/{case_id}/clawback")
def claw_back(case_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    with rt.db.write() as tx:
        done = clawback.claw_back(tx, rt.clock, actor, case_id)
    return redirect(request, f"/ops/cases/{case_id}?done=clawed_{len(done.reversal_ids)}")

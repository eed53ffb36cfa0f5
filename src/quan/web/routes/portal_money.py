"""The merchant portal's money pages: the merchant's redemptions, its settlement statements
with their payouts, and each statement with every redemption it settles (as CSV too).

A statement is read through the same use case as ``GET /settlements/{id}/statements/{own id}``
(another merchant's answers 404) and shown with the cashier's statement page.
"""

from __future__ import annotations

from fastapi import Request, Response

from quan.edge import downloads
from quan.edge.deps import RuntimeDep
from quan.web.routes.common import console_router
from quan.web.routes.portal import OwnerPage, mine, portal_context
from quan.web.routes.settlement import _detail
from quan.web.templating import render
from quan.web.views.cashier import recent
from quan.web.views.portal import own_statements

router = console_router()

REDEMPTIONS_SHOWN = 200


@router.get("/merchant/redemptions")
def redemptions_page(request: Request, actor: OwnerPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        history = recent(tx, mine(actor), limit=REDEMPTIONS_SHOWN)
    return render(
        request,
        "portal/redemptions.html",
        portal_context(actor, history=history, shown=REDEMPTIONS_SHOWN),
    )


@router.get("/merchant/statements")
def statements_page(request: Request, actor: OwnerPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        statements = own_statements(tx, mine(actor))
    return render(request, "portal/statements.html", portal_context(actor, statements=statements))


@router.get("/merchant/statements/{settlement_id}")
def statement_page(
    settlement_id: str, request: Request, actor: OwnerPage, rt: RuntimeDep
) -> Response:
    detail = _detail(rt, actor, settlement_id, mine(actor))
    return render(
        request,
        "cashier/statement.html",
        portal_context(
            actor,
            detail=detail,
            settlement_id=settlement_id,
            statements_base="/merchant/statements",
        ),
    )


@router.get("/merchant/statements/{settlement_id}/download.csv")
def statement_csv(settlement_id: str, actor: OwnerPage, rt: RuntimeDep) -> Response:
    return downloads.statement_lines_csv(rt, actor, settlement_id, mine(actor))

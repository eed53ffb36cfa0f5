"""What a resident reads beside their vouchers: a program's rules in plain words, the shops
where its vouchers can be used (searched by name, category and district, as plain ``GET``
forms: no script), whom to call, and the history of what they used and saved."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from quan.domain.auth import Actor, CitizenRole
from quan.domain.eligibility import region_name
from quan.edge.deps import RuntimeDep
from quan.web.i18n import request_lang
from quan.web.routes.common import console_router
from quan.web.session import Area, ConsoleAllow
from quan.web.templating import render
from quan.web.views.program_guide import MERCHANTS_SHOWN, guide, issuer_of, shops
from quan.web.views.wallet_cards import uses

router = console_router()

CitizenPage = Annotated[Actor, Depends(ConsoleAllow(Area.CITIZEN, CitizenRole.CITIZEN))]
Search = Annotated[str, Query(max_length=40)]


def _context(actor: Actor, **values: object) -> dict[str, object]:
    return {"area": "wallet", "actor": actor, "signout_path": Area.CITIZEN.signout_path, **values}


def _joined(lang: str) -> Callable[[Iterable[str], Callable[[str], str]], str]:
    """Names of codes as one phrase in the page's language ("餐饮、旅游" / "Dining, Tourism")."""
    sep = "、" if lang == "zh" else ", "
    return lambda codes, name: sep.join(name(code) for code in codes)


@router.get("/wallet/programs/{program_id}")
def program_page(
    program_id: str,
    request: Request,
    actor: CitizenPage,
    rt: RuntimeDep,
    q: Search = "",
    category: Search = "",
    district: Search = "",
) -> Response:
    with rt.db.read() as tx:
        found = guide(tx, program_id)
        listed = shops(tx, issuer_of(tx, program_id), found.categories, text=q,
                       category=category, district=district)  # fmt: skip
    return render(request, "citizen/program.html", _context(
        actor, guide=found, shops=listed, q=q, category=category, district=district,
        shown=MERCHANTS_SHOWN, help_line=rt.settings.help_line,
        region_name=lambda code: region_name(code) or code,
        joined=_joined(request_lang(request)),
    ))  # fmt: skip


@router.get("/wallet/history")
def history_page(request: Request, actor: CitizenPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        used = uses(tx, actor.id)
    live = [u for u in used if not u.reversed]
    return render(request, "citizen/history.html", _context(
        actor, uses=used, count=len(live), saved=sum(u.saved_fen for u in live),
        help_line=rt.settings.help_line,
    ))  # fmt: skip

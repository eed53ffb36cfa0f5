"""The console's router and static files, registered by :func:`quan.api.app.create_app`.

``/`` is the front page: what this server is and where each kind of user goes. ``/prefs`` sets
the two display preferences (language, large type) in cookies and returns to the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.staticfiles import StaticFiles

from quan import __version__
from quan.domain.auth import Role
from quan.web.i18n import LANG_COOKIE, parse_lang
from quan.web.routes import (
    abuse,
    accounts,
    auditor,
    cashier,
    cashier_counter,
    citizen,
    citizen_complaints,
    citizen_guide,
    citizen_register,
    citizen_reveals,
    dashboard,
    desk,
    disclosure,
    drafts,
    issuance,
    jobs,
    lottery,
    merchants,
    notices,
    office_approvals,
    office_money,
    office_programs,
    operations_live,
    operator,
    partner_clients,
    portal,
    portal_complaints,
    portal_money,
    portal_terminals,
    settlement,
    staff,
)
from quan.web.routes import complaints as complaint_pages
from quan.web.routes import reminders as reminder_pages
from quan.web.routes.common import console_router
from quan.web.routing import redirect, safe_next
from quan.web.session import LARGE_COOKIE, PREF_MAX_AGE, Area, optional_actor, set_cookie
from quan.web.templating import render

STATIC_DIR: Final = Path(__file__).parent / "static"
STATIC_PATH: Final = "/static"

_front = console_router()


@_front.get("/")
def home(request: Request) -> Response:
    staff_actor = optional_actor(request, Area.STAFF, *Role)
    return render(
        request,
        "home.html",
        {"version": __version__, "actor": staff_actor, "area": "ops" if staff_actor else None},
    )


@_front.get("/prefs")
def prefs(
    request: Request, lang: str | None = None, large: str | None = None, next: str | None = None
) -> Response:
    """Language and large type are preferences, not state changes: a plain link sets them."""
    response = redirect(request, safe_next(next))
    chosen = parse_lang(lang)
    if chosen is not None:
        set_cookie(response, request, LANG_COOKIE, chosen, max_age=PREF_MAX_AGE)
    if large in ("0", "1"):
        set_cookie(response, request, LARGE_COOKIE, large, max_age=PREF_MAX_AGE)
    return response


router = APIRouter(include_in_schema=False)
for module_router in (
    _front,
    staff.router,
    accounts.router,
    desk.router,
    office_programs.router,
    office_money.router,
    office_approvals.router,
    operator.router,
    issuance.router,
    lottery.router,
    merchants.router,
    auditor.router,
    jobs.router,
    disclosure.router,
    notices.router,
    partner_clients.router,
    citizen.router,
    citizen_guide.router,
    citizen_register.router,
    cashier.router,
    cashier_counter.router,
    settlement.router,
    dashboard.router,
    drafts.router,
    reminder_pages.router,  # a program's reminder rules, the wallet's reminder switch
    portal.router,
    portal_terminals.router,
    portal_money.router,
    citizen_reveals.router,  # a citizen's personal data in clear, for a purpose (issue 13, I4)
    operations_live.router,  # the live operations page, acknowledging alerts
    abuse.router,  # abuse cases: list, review, holds, decision
    citizen_complaints.router,  # complaints: the wallet's, the portal's, the console's
    portal_complaints.router,
    complaint_pages.router,
):
    router.include_router(module_router)


def static_files() -> StaticFiles:
    """The console's CSS, scripts and vendored htmx, served from the package."""
    return StaticFiles(directory=STATIC_DIR)

"""The console's route class: CSRF on every POST, and errors answered as pages.

The API answers problems as JSON; a person needs a page. :class:`ConsoleRoute` wraps each console
handler so that

- every POST is checked for its CSRF token before the handler (or its dependencies) run, so no
  console form can forget it;
- a missing or expired session redirects to the area's sign-in page (``HX-Redirect`` for htmx
  requests, which would otherwise swap the sign-in page into a fragment);
- a :class:`QuanError` becomes a page (or, for htmx, a fragment) with the error's own message
  in the page's language and the status the API would give.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from quan.domain.auth import Role
from quan.domain.errors import VALIDATION_FAILED, QuanError
from quan.edge.status import STATUS
from quan.web.i18n import LANG_COOKIE, Translator, parse_lang, request_lang
from quan.web.refusals import sentence
from quan.web.session import (
    PREF_MAX_AGE,
    Area,
    SignInRequiredError,
    check_csrf,
    set_cookie,
)
from quan.web.templating import render


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(value: str | None, default: str = "/") -> str:
    """A path on this site to return to; anything else (another host, a scheme) is ignored."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def redirect(request: Request, path: str) -> Response:
    """See-other to ``path`` (htmx follows ``HX-Redirect`` with a full page load)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": path})
    return RedirectResponse(path, status_code=303)


def signin_redirect(request: Request, exc: SignInRequiredError) -> Response:
    back = request.url.path if request.method == "GET" else request.headers.get("hx-current-url")
    target = exc.area.signin_path
    if back and back.startswith("/"):
        target += "?next=" + quote(back, safe="/")
    return redirect(request, target)


_AREAS: Final = {Area.CITIZEN: "wallet", Area.TERMINAL: "cashier"}


def _session_context(request: Request) -> dict[str, Any]:
    """The signed-in header of the page the error replaces (who, which navigation, sign-out)."""
    found = getattr(request.state, "console_session", None)
    if found is None:
        return {}
    area, actor = found
    name = _AREAS.get(area, "desk" if actor.role == Role.AGENT else "ops")
    return {"area": name, "actor": actor, "signout_path": area.signout_path}


def _back(request: Request) -> str | None:
    """Where the person came from (this site only): the form to correct, the page to return to."""
    came_from = request.headers.get("hx-current-url") or request.headers.get("referer")
    if not came_from:
        return None
    parts = urlsplit(came_from)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    back = safe_next(path, "")
    return back or None


def error_response(request: Request, exc: QuanError) -> Response:
    """The refusal as a sentence in the page's language (amounts in yuan), in a page that keeps
    the signed-in header and leads back to where the person was; htmx gets the fragment."""
    message = sentence(exc, Translator(request_lang(request)))
    status = STATUS.get(exc.kind, 422)
    template = "_error.html" if is_htmx(request) else "error.html"
    context = {"message": message, "code": exc.code, "back": _back(request),
               **_session_context(request)}
    return render(request, template, context, status_code=status)


def remember_lang(request: Request, response: Response) -> None:
    """``?lang=`` on a page is a choice, not a one-off: it is kept like the header switch's, so
    the page's forms, htmx requests and the redirects after them speak the same language."""
    chosen = parse_lang(request.query_params.get("lang"))
    if chosen is not None and chosen != parse_lang(request.cookies.get(LANG_COOKIE)):
        set_cookie(response, request, LANG_COOKIE, chosen, max_age=PREF_MAX_AGE)


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    await check_csrf(request)
                response = await original(request)
            except SignInRequiredError as exc:
                response = signin_redirect(request, exc)
            except QuanError as exc:
                response = error_response(request, exc)
            except RequestValidationError:
                response = error_response(request, QuanError(VALIDATION_FAILED))
            remember_lang(request, response)
            return response

        return handler

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
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from quan.domain.errors import VALIDATION_FAILED, QuanError
from quan.edge.status import STATUS
from quan.web.i18n import request_lang
from quan.web.session import SignInRequiredError, check_csrf
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


def error_response(request: Request, exc: QuanError) -> Response:
    message = exc.message(request_lang(request))
    status = STATUS.get(exc.kind, 422)
    template = "_error.html" if is_htmx(request) else "error.html"
    return render(
        request, template, {"message": message, "code": exc.code}, status_code=status
    )


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    await check_csrf(request)
                return await original(request)
            except SignInRequiredError as exc:
                return signin_redirect(request, exc)
            except QuanError as exc:
                return error_response(request, exc)
            except RequestValidationError:
                return error_response(request, QuanError(VALIDATION_FAILED))

        return handler

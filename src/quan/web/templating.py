"""Rendering pages: the Jinja2 environment, the filters templates use, and the security headers.

Every page gets ``t`` (the translator), ``lang``, ``large`` (large-type mode), ``csrf`` (the
token for forms and htmx) and ``here`` (the path, for the language switch to come back to).
Money is formatted only here, from fen, with :func:`quan.domain.money.format_yuan`; times are
shown in the program's time zone (Asia/Shanghai unless the program says otherwise).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from quan.domain.last_day import last_day
from quan.domain.money import format_yuan
from quan.web.i18n import Translator, category_name, html_lang, request_lang
from quan.web.session import csrf_seed, csrf_token, large_type, remember_csrf

TEMPLATES: Final = Path(__file__).parent / "templates"
DEFAULT_ZONE: Final = "Asia/Shanghai"

# 'self' only: no inline scripts or styles, nothing from another origin. The QR codes and charts
# are inline SVG elements (markup, not style), so they need nothing more.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


def yuan(fen: int | None) -> str:
    """``12345`` → ``¥123.45`` (the only way money reaches a page)."""
    return "—" if fen is None else format_yuan(fen)


def localtime(at: datetime | None, zone: str = DEFAULT_ZONE, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if at is None:
        return "—"
    return at.astimezone(ZoneInfo(zone)).strftime(fmt)


@pass_context
def use_by(context: Context, valid_until: datetime, zone: str = DEFAULT_ZONE) -> str:
    """A voucher's last usable day in words ("最后使用日：2027-03-06（当天可用）"): the one way
    every page says when a voucher ends (:mod:`quan.domain.last_day`)."""
    t: Translator = context["t"]
    last = last_day(valid_until, zone)
    if last.ends is None:
        return t("wallet.last_day", day=last.day.isoformat())
    return t("wallet.last_day_time", day=last.day.isoformat(), time=f"{last.ends:%H:%M}")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a misspelt variable fails the page test, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    env.filters["localtime"] = localtime
    env.filters["use_by"] = use_by
    return env


ENV: Final = _environment()


def _here(request: Request) -> str:
    """This page's path and query without ``lang``, for the language switch to come back to."""
    query = "&".join(
        f"{k}={v}" for k, v in request.query_params.multi_items() if k != "lang"
    )
    return request.url.path + (f"?{query}" if query else "")


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` for this request, with the common page context."""
    lang = request_lang(request)
    t = Translator(lang)
    seed = csrf_seed(request)
    page: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "html_lang": html_lang(lang),
        "t": t,
        "large": large_type(request),
        "csrf": csrf_token(request, seed),
        "here": _here(request),
        "category_name": lambda code: category_name(code, lang),
        "area": None,
        "actor": None,
        "signout_path": "/signout",
    }
    page.update(context or {})
    body = ENV.get_template(template).render(page)
    response = HTMLResponse(body, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if headers:
        response.headers.update(headers)
    remember_csrf(response, request, seed)
    return response

"""Session cookies, CSRF tokens and role checks for the console.

A console session is the API's own credential kept in a cookie: the signed staff or citizen
token (``runtime.tokens``) or a terminal's API key. Each audience has its own cookie, so one
browser can be an operator in one tab and a citizen in another (demos, a service centre). The
cookies are ``HttpOnly`` (scripts never see the token), ``SameSite=Strict`` (no other site can
make the browser send them) and ``Secure`` over HTTPS.

Role checks reuse :class:`quan.edge.deps.Allow` on the cookie's credential, so a page allows
exactly the roles its API route allows, with the same account checks on every request.

CSRF: every POST carries a token (form field ``csrf`` or header ``X-CSRF-Token``) that must be
the HMAC of the browser's random ``quan_csrf`` cookie — a signed double-submit cookie. Another
site can neither read the cookie nor compute the HMAC without the server's key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Final

from fastapi import Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from quan.domain.auth import Actor, Role
from quan.domain.errors import UNAUTHORIZED, Kind, QuanError, define
from quan.edge.deps import Allow, get_runtime

CSRF_COOKIE: Final = "quan_csrf"
CSRF_FIELD: Final = "csrf"
CSRF_HEADER: Final = "x-csrf-token"
LARGE_COOKIE: Final = "quan_large"
PREF_MAX_AGE: Final = 365 * 24 * 3600

CSRF_FAILED = define(
    "CSRF_FAILED",
    Kind.FORBIDDEN,
    zh="页面已过期或来源不明，请刷新页面后重试",
    en="The page has expired or did not come from this site; reload it and try again",
)


class Area(Enum):
    """Who a cookie belongs to: (cookie name, sign-in page, sign-out action)."""

    STAFF = ("quan_staff", "/signin", "/signout")
    CITIZEN = ("quan_citizen", "/wallet/signin", "/wallet/signout")
    TERMINAL = ("quan_terminal", "/cashier/signin", "/cashier/signout")
    OWNER = ("quan_owner", "/merchant/signin", "/merchant/signout")  # a merchant's owner

    @property
    def cookie(self) -> str:
        return self.value[0]

    @property
    def signin_path(self) -> str:
        return self.value[1]

    @property
    def signout_path(self) -> str:
        return self.value[2]


class SignInRequiredError(Exception):
    """No valid session for the area: the route class redirects to its sign-in page."""

    def __init__(self, area: Area) -> None:
        super().__init__(area.name)
        self.area = area


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def start_session(response: Response, request: Request, area: Area, credential: str) -> None:
    # A session cookie (no max-age): it ends with the browser; the token expires by itself.
    set_cookie(response, request, area.cookie, credential, max_age=None)


def end_session(response: Response, area: Area) -> None:
    response.delete_cookie(area.cookie, path="/")


def session_credential(request: Request, area: Area) -> str | None:
    value = request.cookies.get(area.cookie)
    return value or None


class ConsoleAllow:
    """A page dependency: the area's session must belong to one of ``roles``.

    Same semantics as the API's ``Allow`` (it is called with the cookie's credential); no or an
    invalid session sends the browser to the area's sign-in page instead of answering 401.
    """

    def __init__(self, area: Area, *roles: Role | str) -> None:
        self.area = area
        self.allow = Allow(*roles)
        self.roles = self.allow.roles

    def __call__(self, request: Request) -> Actor:
        credential = session_credential(request, self.area)
        if credential is None:
            raise SignInRequiredError(self.area)
        runtime = get_runtime(request)
        try:
            actor = self.allow(runtime, HTTPAuthorizationCredentials(scheme="Bearer",
                                                                      credentials=credential))
        except QuanError as exc:
            if exc.spec is UNAUTHORIZED:
                raise SignInRequiredError(self.area) from exc
            raise
        # An error page of this request keeps the signed-in header (quan.web.routing).
        request.state.console_session = (self.area, actor)
        return actor


def optional_actor(request: Request, area: Area, *roles: Role | str) -> Actor | None:
    """The signed-in actor of the area if any (for pages anyone may see, like the front page)."""
    try:
        return ConsoleAllow(area, *roles)(request)
    except (SignInRequiredError, QuanError):
        return None


# --- CSRF ------------------------------------------------------------------------------------


def _csrf_key(request: Request) -> bytes:
    secret = get_runtime(request).settings.secret_bytes("secret_key")
    # A key of its own, so a CSRF token can never double as anything else signed with the secret.
    return hmac.new(secret, b"quan console csrf v1", hashlib.sha256).digest()


def _sign(key: bytes, seed: str) -> str:
    digest = hmac.new(key, seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class CsrfSeed:
    """The browser's CSRF cookie value, and whether this response must set it."""

    value: str
    new: bool


def csrf_seed(request: Request) -> CsrfSeed:
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return CsrfSeed(existing, new=False)
    return CsrfSeed(secrets.token_urlsafe(32), new=True)


def csrf_token(request: Request, seed: CsrfSeed) -> str:
    return _sign(_csrf_key(request), seed.value)


def remember_csrf(response: Response, request: Request, seed: CsrfSeed) -> None:
    if seed.new:
        set_cookie(response, request, CSRF_COOKIE, seed.value, max_age=None)


async def check_csrf(request: Request) -> None:
    """Refuse a POST whose token is missing or does not match the browser's cookie."""
    seed = request.cookies.get(CSRF_COOKIE)
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()  # starlette caches it: the route reads it again for free
        field = form.get(CSRF_FIELD)
        presented = field if isinstance(field, str) else None
    if not seed or not presented:
        raise QuanError(CSRF_FAILED)
    if not hmac.compare_digest(_sign(_csrf_key(request), seed), presented):
        raise QuanError(CSRF_FAILED)


def large_type(request: Request) -> bool:
    return request.cookies.get(LARGE_COOKIE) == "1"


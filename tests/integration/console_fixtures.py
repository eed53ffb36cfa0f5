"""Helpers for the console tests: sessions in cookies, CSRF tokens read off the page, forms."""

from __future__ import annotations

import re
from typing import Any

from quan.web.session import Area
from tests.conftest import World

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def staff_session(world: World, who: str) -> None:
    """Sign ``who`` in to the console: the cookie holds the same token the API takes."""
    world.client.cookies.set(Area.STAFF.cookie, world.token(who))


def citizen_session(world: World, citizen_id: str) -> None:
    token, _ = world.runtime.tokens.issue("citizen", citizen_id, world.runtime.clock.now())
    world.client.cookies.set(Area.CITIZEN.cookie, token)


def csrf(world: World, page: str = "/") -> str:
    """The CSRF token a page carries (getting it also sets the browser's CSRF cookie)."""
    response = world.client.get(page)
    found = _CSRF.search(response.text) or re.search(r'"X-CSRF-Token": "([^"]+)"', response.text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def submit(world: World, path: str, data: dict[str, Any] | None = None,
           page: str = "/", **headers: str) -> Any:
    """POST a console form as a browser would: with the page's CSRF token, not following the
    redirect (so the test sees where it goes)."""
    form = {"csrf": csrf(world, page), **(data or {})}
    return world.client.post(path, data=form, headers=headers, follow_redirects=False)

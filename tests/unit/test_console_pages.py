"""Every HTML page of the console is in the accessibility sweep's list (tests/e2e/console_pages.py),
so a new page cannot skip axe-core and the 360 px check: add it to ``PAGES`` (docs/console.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from quan.web.pages import router
from tests.e2e.console_pages import NOT_PAGES, NOT_SWEPT, PAGES, ROLES


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps it nested)
            yield from _routes(route.original_router.routes)


def console_get_paths() -> set[str]:
    paths = {route.path for route in _routes(router.routes) if "GET" in route.methods}
    assert len(paths) > 20  # the walk found the console's routes
    return paths


def test_every_console_page_is_swept_or_said_not_to_be_a_page() -> None:
    listed = {page.path for page in PAGES}
    missing = console_get_paths() - listed - NOT_PAGES - NOT_SWEPT
    assert missing == set(), f"add these to tests/e2e/console_pages.py PAGES: {sorted(missing)}"


def test_the_list_names_only_routes_that_exist_and_known_roles() -> None:
    paths = console_get_paths()
    assert {page.path for page in PAGES} - paths == set()
    assert (NOT_PAGES | NOT_SWEPT) - paths == set()
    assert {role for page in PAGES for role in page.roles} <= set(ROLES)

"""docs/security.md lists every route and who may call it; this keeps that list the code's.

On a mismatch the failure message holds the table as the code declares it: paste it over the
appendix of docs/security.md (and update the role summary above it if a role gained a route).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from quan.api.app import API_PREFIX, api_routers
from quan.edge.deps import Allow, Public

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
APPENDIX = "## Appendix: every route and who may call it"
ORDER = (
    "anyone", "citizen", "terminal", "merchant", "partner", "agent", "operator", "admin", "auditor",
)  # fmt: skip


def _roles(route: APIRoute) -> frozenset[str]:
    found: list[frozenset[str]] = []

    def walk(dependant: Any) -> None:
        for dep in dependant.dependencies:
            if isinstance(dep.call, Allow | Public):
                found.append(dep.call.roles)
            walk(dep)

    walk(route.dependant)
    assert len(found) == 1, f"{route.path} declares its callers {len(found)} times"
    return found[0]


def route_table() -> str:
    """The markdown table of every production route and its callers, in a stable order."""
    rows: list[tuple[str, str, str]] = []
    for router in api_routers(production=True):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            roles = _roles(route)
            unknown = roles - set(ORDER)
            assert not unknown, f"{route.path}: roles {unknown} missing from ORDER"
            who = ", ".join(role for role in ORDER if role in roles)
            for method in sorted(route.methods):
                rows.append((route.path, method, who))
    lines = ["| method | path (under `" + API_PREFIX + "`) | who may call it |", "|---|---|---|"]
    lines += [f"| {m} | `{p}` | {w} |" for p, m, w in sorted(rows)]
    return "\n".join(lines) + "\n"


def test_the_security_page_lists_every_route_with_the_callers_the_code_declares() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert APPENDIX in text
    appendix = text.split(APPENDIX, 1)[1]
    expected = route_table()
    assert expected in appendix, "docs/security.md's route table is stale; it should read:\n\n" + (
        expected
    )

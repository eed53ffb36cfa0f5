"""Who may call what: every route declares its roles, and every other role is refused."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from quan.api.app import API_PREFIX, api_routers
from quan.cache.throttle import MemoryThrottle, RedisThrottle
from quan.edge.deps import Allow, Public
from quan.services.runtime import Runtime
from tests.conftest import PASSWORD, World

STAFF_ROLES = ("admin", "operator", "auditor", "agent")


def _declared_roles(route: APIRoute) -> frozenset[str] | None:
    """The roles a route declares through an Allow or Public dependency, if any."""
    found: list[frozenset[str]] = []

    def walk(dependant: Any) -> None:
        for dep in dependant.dependencies:
            if isinstance(dep.call, Allow | Public):
                found.append(dep.call.roles)
            walk(dep)

    walk(route.dependant)
    assert len(found) <= 1, f"{route.path} declares roles more than once"
    return found[0] if found else None


def _api_routes(runtime: Runtime) -> list[APIRoute]:
    routes = []
    for router in api_routers(runtime.settings.env == "production"):
        for route in router.routes:
            assert isinstance(route, APIRoute), f"unexpected nested router {route}"
            routes.append(route)
    assert len(routes) > 15
    return routes


def test_every_route_declares_who_may_call_it(runtime: Runtime) -> None:
    undeclared = [
        f"{sorted(r.methods)} {r.path}" for r in _api_routes(runtime) if _declared_roles(r) is None
    ]
    assert not undeclared, f"routes without Allow(...) or PUBLIC: {undeclared}"


def _fill(path: str) -> str:
    # /programs/{program_id} → /api/v1/programs/program_id
    return API_PREFIX + path.replace("{", "").replace("}", "")


def test_every_role_not_declared_by_a_route_is_refused(world: World) -> None:
    """For each staff route, each staff role it does not allow gets 403 (or 401 unsigned)."""
    checked = 0
    for route in _api_routes(world.runtime):
        roles = _declared_roles(route)
        assert roles is not None
        if "anyone" in roles:
            continue
        for method in route.methods:
            unsigned = world.client.request(method, _fill(route.path), json={})
            assert unsigned.status_code == 401, f"{method} {route.path} without a token"
            assert unsigned.json()["code"] == "UNAUTHORIZED"
            for role in STAFF_ROLES:
                if role in roles:
                    continue
                response = world.client.request(
                    method, _fill(route.path), json={}, headers=world.headers(role)
                )
                assert response.status_code == 403, f"{role} on {method} {route.path}"
                assert response.json()["code"] == "FORBIDDEN"
                checked += 1
    assert checked > 20


def test_auditor_reads_but_cannot_change_anything(world: World) -> None:
    program = world.program()
    assert world.get("auditor", f"/programs/{program['id']}").status_code == 200
    assert world.post("auditor", f"/programs/{program['id']}/activate").status_code == 403
    assert world.post("auditor", "/funders", {"name": "x", "kind": "bank"}).status_code == 403


def test_sign_in_with_password_gives_a_working_token(world: World) -> None:
    response = world.client.post(
        "/api/v1/auth/token", json={"username": "op1", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["role"] == "operator"
    me = world.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.json()["id"] == world.users["operator"].id


def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    wrong = world.client.post("/api/v1/auth/token", json={"username": "op1", "password": "nope"})
    unknown = world.client.post("/api/v1/auth/token", json={"username": "ghost", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "INVALID_CREDENTIALS"


def test_repeated_failed_sign_ins_slow_the_account_down_without_locking_it(world: World) -> None:
    attempts = world.runtime.settings.login_attempts
    for _ in range(attempts + 1):  # the free failures, then one through the account's gate
        wrong = world.client.post("/api/v1/auth/token", json={"username": "op2", "password": "x"})
        assert wrong.status_code == 401
    blocked = world.client.post(
        "/api/v1/auth/token", json={"username": "op2", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "TOO_MANY_ATTEMPTS"
    wait = int(blocked.headers["Retry-After"])
    assert 0 < wait <= world.runtime.settings.login_max_delay_seconds
    world.runtime.clock.advance(timedelta(seconds=wait))  # type: ignore[attr-defined]
    owner = world.client.post("/api/v1/auth/token", json={"username": "op2", "password": PASSWORD})
    assert owner.status_code == 200, owner.text


def test_a_forged_or_expired_token_is_refused(world: World, client: TestClient) -> None:
    token = world.token("admin")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )
    from datetime import timedelta

    world.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_keys_authenticate_until_revoked(world: World) -> None:
    from quan.domain.auth import SYSTEM
    from quan.services.people import api_keys

    now = world.runtime.clock.now()
    with world.runtime.db.write() as tx:
        key_id, key = api_keys.create_key(
            tx, now, SYSTEM, owner_type="auditor", owner_id="ext-audit-firm", label="外部审计"
        )
    headers = {"Authorization": f"Bearer {key}"}
    assert world.client.get("/api/v1/me", headers=headers).json()["id"] == "ext-audit-firm"
    bad = {"Authorization": f"Bearer {key[:-1]}{'1' if key.endswith('0') else '0'}"}
    assert world.client.get("/api/v1/me", headers=bad).status_code == 401
    with world.runtime.db.write() as tx:
        api_keys.revoke_key(tx, now, SYSTEM, key_id)
    assert world.client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_throttle_counts_within_a_window_and_resets(
    kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "redis":
        import redis

        url = request.getfixturevalue("redis_url")
        throttle: MemoryThrottle | RedisThrottle = RedisThrottle(
            redis.Redis.from_url(url), prefix=f"quan:test:{secrets.token_hex(4)}:"
        )
    else:
        throttle = MemoryThrottle()
    assert throttle.count("k") == 0
    assert [throttle.hit("k", 60) for _ in range(3)] == [1, 2, 3]
    assert throttle.count("k") == 3
    throttle.reset("k")
    assert throttle.count("k") == 0

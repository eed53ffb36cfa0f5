"""Staff accounts can be disabled, enabled and have their sessions revoked; staff can sign out.

Every token carries the account's token version: disabling, revoking and signing out raise it,
so tokens issued before stop working at once, and re-enabling an account revives none of them.
Admins act on their own issuer's staff only; every change is an event.
"""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from quan.cli import app
from quan.domain.auth import Role
from quan.services.people import staff
from tests.conftest import PASSWORD, World
from tests.integration.issuance_fixtures import event_count
from tests.integration.test_settlement_end_to_end import cli  # noqa: F401  (fixture)

runner = CliRunner()


def sign_in(world: World, username: str) -> dict[str, str]:
    response = world.client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def me(world: World, headers: dict[str, str]) -> int:
    return int(world.client.get("/api/v1/me", headers=headers).status_code)


def admin_post(world: World, path: str) -> Any:
    return world.post("admin", path)


def test_disabling_ends_every_session_and_enabling_revives_none(world: World) -> None:
    uid = world.users["operator"].id
    first, second = sign_in(world, "op1"), sign_in(world, "op1")
    assert me(world, first) == me(world, second) == 200
    disabled = admin_post(world, f"/users/{uid}/disable")
    assert (disabled.status_code, disabled.json()["active"]) == (200, False)
    assert me(world, first) == me(world, second) == 401
    refused = world.client.post(
        "/api/v1/auth/token", json={"username": "op1", "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert admin_post(world, f"/users/{uid}/enable").json()["active"] is True
    assert me(world, first) == me(world, second) == 401  # old tokens stay dead
    assert me(world, sign_in(world, "op1")) == 200
    assert event_count(world, "staff.deactivated") == event_count(world, "staff.reactivated") == 1


def test_revoking_sessions_and_signing_out_invalidate_existing_tokens_at_once(
    world: World,
) -> None:
    uid = world.users["agent"].id
    token = sign_in(world, "agent")
    assert admin_post(world, f"/users/{uid}/revoke-sessions").status_code == 200
    assert me(world, token) == 401
    fresh = sign_in(world, "agent")
    other_device = sign_in(world, "agent")
    out = world.client.post("/api/v1/auth/signout", headers=fresh)
    assert out.status_code == 204
    assert me(world, fresh) == me(world, other_device) == 401
    assert event_count(world, "staff.sessions_revoked") == 1
    assert event_count(world, "staff.signed_out") == 1


def test_only_admins_manage_accounts_and_only_within_their_issuer(world: World) -> None:
    uid = world.users["agent"].id
    assert world.post("operator", f"/users/{uid}/disable").status_code == 403
    self_disable = admin_post(world, f"/users/{world.users['admin'].id}/disable")
    assert (self_disable.status_code, self_disable.json()["code"]) == (409, "CANNOT_DISABLE_SELF")
    with world.runtime.db.write() as tx:
        now = world.runtime.clock.now()
        local = staff.create_user(
            tx, now, username="issuer-admin", password=PASSWORD, role=Role.ADMIN,
            issuer_id=world.issuer.id,
        )
    headers = sign_in(world, local.username)
    outsider = world.users["outsider"].id  # an operator of another issuer
    refused = world.client.post(f"/api/v1/users/{outsider}/disable", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "OTHER_ISSUER")
    listed = world.client.get("/api/v1/users", headers=headers).json()["items"]
    assert listed
    assert {u["issuer_id"] for u in listed} == {world.issuer.id}
    assert world.client.post(f"/api/v1/users/{uid}/disable", headers=headers).status_code == 200


def test_the_cli_disables_enables_and_revokes(world: World, cli: None) -> None:  # noqa: F811
    token = sign_in(world, "op2")
    result = runner.invoke(app, ["users", "disable", "op2"])
    assert result.exit_code == 0, result.output
    assert me(world, token) == 401
    assert runner.invoke(app, ["users", "enable", "op2"]).exit_code == 0
    assert me(world, token) == 401
    again = sign_in(world, "op2")
    assert runner.invoke(app, ["users", "revoke", "op2"]).exit_code == 0
    assert me(world, again) == 401
    missing = runner.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code != 0

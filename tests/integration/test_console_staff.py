"""The admins' staff page and the console's sign-out end sessions on the server, not only in the
browser: a copied cookie stops working at the same moment."""

from __future__ import annotations

from tests.conftest import World
from tests.integration.console_fixtures import csrf, staff_session


def test_an_admin_disables_and_enables_an_account_from_the_staff_page(world: World) -> None:
    operator_token = world.token("operator")
    staff_session(world, "admin")
    page = world.client.get("/ops/staff")
    assert page.status_code == 200
    assert "op1" in page.text
    assert 'hx-confirm="确定停用 op1？其所有会话将立即失效。"' in page.text
    uid = world.users["operator"].id
    token = csrf(world, "/ops/staff")
    done = world.client.post(
        f"/ops/staff/{uid}/disable", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert done.headers["HX-Redirect"] == "/ops/staff?done=staff_disable"
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {operator_token}"})
    assert me.status_code == 401
    assert "已停用" in world.client.get("/ops/staff").text
    enabled = world.client.post(
        f"/ops/staff/{uid}/enable", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert enabled.status_code == 204
    assert world.get("operator", "/me").status_code == 401  # the old token stays dead


def test_the_staff_page_is_for_admins(world: World) -> None:
    staff_session(world, "operator")
    assert world.client.get("/ops/staff").status_code == 403


def test_signing_out_of_the_console_ends_the_session_on_the_server(world: World) -> None:
    staff_session(world, "operator")
    copied = world.token("operator")
    token = csrf(world, "/ops")
    out = world.client.post("/signout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {copied}"})
    assert me.status_code == 401

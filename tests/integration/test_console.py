"""The console's frame: sign-in, sessions, CSRF, role checks, languages and preferences.

Rendered server-side through the app (no browser), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

from quan.services.people.staff import INVALID_CREDENTIALS
from quan.web.i18n import Translator
from quan.web.messages import MESSAGES
from quan.web.session import Area
from tests.conftest import PASSWORD, World
from tests.integration.console_fixtures import csrf, staff_session, submit
from tests.integration.issuance_fixtures import batch, funded_program, voucher_type

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "quan" / "web" / "templates"
ZH, EN = Translator("zh"), Translator("en")


def test_pages_are_chinese_by_default_and_english_when_chosen(world: World) -> None:
    page = world.client.get("/", headers={"Accept-Language": "en-US"})
    assert page.status_code == 200
    assert '<html lang="zh-CN"' in page.text
    assert ZH("home.citizen_go") in page.text
    switched = world.client.get("/prefs?lang=en&next=/", follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/"
    english = world.client.get("/")
    assert '<html lang="en"' in english.text
    assert EN("home.citizen_go") in english.text


def test_the_language_switch_never_leaves_the_site(world: World) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = world.client.get("/prefs", params={"lang": "en", "next": target},
                                    follow_redirects=False)
        assert response.headers["location"] == "/"


def test_large_type_is_a_remembered_preference(world: World) -> None:
    world.client.get("/prefs?large=1&next=/disclosure")
    assert '<html lang="zh-CN" class="large">' in world.client.get("/disclosure").text
    world.client.get("/prefs?large=0&next=/")
    assert 'class="large"' not in world.client.get("/").text


def test_a_console_page_without_a_session_sends_the_browser_to_sign_in(world: World) -> None:
    for path, signin in (("/ops", "/signin"), ("/wallet", "/wallet/signin"),
                         ("/cashier", "/cashier/signin"), ("/auditor", "/signin")):
        response = world.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"{signin}?next={path}"


def test_staff_sign_in_keeps_the_token_in_an_httponly_strict_cookie(world: World) -> None:
    response = submit(world, "/signin", {"username": "op1", "password": PASSWORD, "next": "/ops"},
                      page="/signin")
    assert response.status_code == 303
    assert response.headers["location"] == "/ops"
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith(Area.STAFF.cookie + "="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert world.client.get("/ops").status_code == 200


def test_a_wrong_password_is_said_on_the_sign_in_page(world: World) -> None:
    response = submit(world, "/signin", {"username": "op1", "password": "wrong"}, page="/signin")
    assert response.status_code == 401
    assert INVALID_CREDENTIALS.zh in response.text
    assert Area.STAFF.cookie not in response.headers.get("set-cookie", "")


def test_a_post_without_the_csrf_token_changes_nothing(world: World) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    world.client.get("/ops")  # the browser has its CSRF cookie
    refused = world.client.post(f"/ops/programs/{pid}/lifecycle/pause", data={},
                                follow_redirects=False)
    assert refused.status_code == 403
    assert 'data-code="CSRF_FAILED"' in refused.text
    forged = world.client.post(f"/ops/programs/{pid}/lifecycle/pause",
                               data={"csrf": "x" * 43}, follow_redirects=False)
    assert forged.status_code == 403
    assert world.get("operator", f"/programs/{pid}").json()["status"] == "active"
    done = submit(world, f"/ops/programs/{pid}/lifecycle/pause", page="/ops")
    assert done.status_code == 303
    assert world.get("operator", f"/programs/{pid}").json()["status"] == "paused"


def test_a_csrf_token_from_another_browser_is_refused(world: World) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    token = csrf(world, "/ops")
    world.client.cookies.delete("quan_csrf")
    world.client.cookies.set("quan_csrf", "another-browsers-random-cookie-value")
    refused = world.client.post(f"/ops/programs/{pid}/lifecycle/pause", data={"csrf": token},
                                follow_redirects=False)
    assert refused.status_code == 403


def test_console_pages_allow_the_roles_the_api_allows(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    draft = batch(world, pid, vt["id"])
    # The auditor reads the program page, without the buttons, and cannot open a batch.
    staff_session(world, "auditor")
    page = world.client.get(f"/ops/programs/{pid}")
    assert page.status_code == 200
    assert "data-test=\"open-batch\"" not in page.text
    refused = submit(world, f"/ops/batches/{draft['id']}/open", page="/auditor")
    assert refused.status_code == 403
    assert 'data-code="FORBIDDEN"' in refused.text
    # An operator of another issuer is told it is not theirs.
    staff_session(world, "outsider")
    assert 'data-code="OTHER_ISSUER"' in world.client.get(f"/ops/programs/{pid}").text
    # An agent has no console pages for programs; an operator has no auditor view.
    staff_session(world, "agent")
    assert world.client.get("/ops").status_code == 403
    staff_session(world, "operator")
    assert world.client.get("/auditor").status_code == 403
    # A token that no longer verifies is a sign-in, not an error.
    world.client.cookies.set(Area.STAFF.cookie, "qt1.forged.token")
    assert world.client.get("/ops", follow_redirects=False).headers["location"].startswith(
        "/signin"
    )


def test_pages_carry_a_strict_content_security_policy(world: World) -> None:
    headers = world.client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_every_message_a_template_uses_is_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_.]+)["']""", template.read_text()))
    missing = sorted(k for k in used if k not in MESSAGES and not k.endswith("."))
    assert not missing, f"messages used by templates but not in the catalogue: {missing}"
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip(), key
        assert en.strip(), key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key


def test_static_files_are_served_from_the_package(world: World) -> None:
    htmx = world.client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text[:200]
    assert world.client.get("/static/console.css").status_code == 200


def test_yuan_typed_on_a_form_becomes_fen_without_a_float() -> None:
    from quan.web.routes.common import parse_yuan

    assert parse_yuan("120") == 12000
    assert parse_yuan("0.1") == 10
    assert parse_yuan("¥1,234.56") == 123456
    assert parse_yuan(".5") == 50
    assert parse_yuan("19.99") == 1999
    for bad in ("", "1.234", "abc", "-5", "1e3", "１２", "1.2.3", "١٢"):
        assert parse_yuan(bad) is None, bad


def test_charts_escape_their_labels() -> None:
    from quan.web import charts

    svg = charts.bar_chart("<t>", [charts.Point("<script>", 3)])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg

"""The program office in the console: programs created (once, whatever the double clicks),
edited while draft, activated and closed only with confirmation and a reason; staff accounts
created, their passwords reset, per issuer and by admins only — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from quan.store.tables import events, programs, staff_users
from quan.web.i18n import Translator
from tests.conftest import PASSWORD, World
from tests.integration.console_fixtures import csrf, staff_session, submit
from tests.integration.issuance_fixtures import funded_program
from tests.race import race

ZH, EN = Translator("zh"), Translator("en")
_KEY = re.compile(r'name="form_key" value="([^"]+)"')
PROGRAM = {
    "name": "2027 文旅消费券",
    "description": "春节档",
    "timezone": "Asia/Shanghai",
    "starts_at": "2026-12-01T00:00",
    "ends_at": "2027-03-01T00:00",
}


def form_key(world: World, page: str) -> str:
    found = _KEY.search(world.client.get(page).text)
    assert found, f"no form key on {page}"
    return found.group(1)


def count(world: World, table: Any) -> int:
    with world.runtime.db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_program_form_posted_twice_with_one_key_creates_one_program(world: World) -> None:
    staff_session(world, "operator")
    key = form_key(world, "/ops/programs/new")
    first = submit(world, "/ops/programs", {**PROGRAM, "form_key": key}, page="/ops")
    again = submit(world, "/ops/programs", {**PROGRAM, "form_key": key}, page="/ops")
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert count(world, programs) == 1
    [made] = world.get("operator", "/programs").json()["items"]
    assert made["status"] == "draft"
    assert made["starts_at"].startswith("2026-11-30T16:00")  # midnight in Asia/Shanghai
    assert made["issuer_id"] == world.issuer.id
    shown = world.client.get(first.headers["location"])
    assert ZH("done.program_created") in shown.text


def test_a_bad_program_form_says_what_is_wrong_next_to_the_field(world: World) -> None:
    staff_session(world, "operator")
    key = form_key(world, "/ops/programs/new")
    wrong = submit(
        world,
        "/ops/programs",
        {**PROGRAM, "ends_at": "2026-11-01T00:00", "form_key": key},
        page="/ops",
    )
    assert wrong.status_code == 422
    assert 'id="e-ends_at"' in wrong.text
    assert 'aria-invalid="true" aria-describedby="e-ends_at"' in wrong.text
    assert "活动开始时间必须早于结束时间" in wrong.text
    assert 'value="2027 文旅消费券"' in wrong.text  # what was typed is kept
    zone = submit(
        world,
        "/ops/programs?lang=en",
        {**PROGRAM, "timezone": "localtime", "form_key": key},
        page="/ops",
    )
    assert zone.status_code == 422
    assert 'data-test="error-timezone"' in zone.text
    assert "Unusable time zone" in zone.text
    nameless = submit(world, "/ops/programs", {**PROGRAM, "name": "", "form_key": key}, page="/ops")
    assert EN("refuse.missing", label=EN("programs.name")) in nameless.text
    assert "string_too_short" not in nameless.text
    assert "VALIDATION" not in nameless.text
    assert count(world, programs) == 0


def test_a_draft_is_edited_and_an_active_program_is_not(world: World) -> None:
    made = world.program()
    pid = made["id"]
    staff_session(world, "operator")
    page = world.client.get(f"/ops/programs/{pid}/edit")
    assert page.status_code == 200
    edited = submit(
        world,
        f"/ops/programs/{pid}/edit",
        {**PROGRAM, "name": "改名后的项目"},
        page=f"/ops/programs/{pid}",
    )
    assert edited.status_code == 303
    assert world.get("operator", f"/programs/{pid}").json()["name"] == "改名后的项目"
    world.post("operator", f"/programs/{pid}/activate")
    refused = submit(world, f"/ops/programs/{pid}/edit", PROGRAM, page=f"/ops/programs/{pid}")
    assert refused.status_code == 409
    assert "只有草稿状态的项目可以修改" in refused.text
    assert world.get("operator", f"/programs/{pid}").json()["name"] == "改名后的项目"


def test_activating_a_draft_and_closing_need_confirmation_and_a_reason(world: World) -> None:
    pid = world.program()["id"]
    staff_session(world, "operator")
    program_page = world.client.get(f"/ops/programs/{pid}").text
    assert f'href="/ops/programs/{pid}/confirm/activate"' in program_page
    confirm = world.client.get(f"/ops/programs/{pid}/confirm/activate")
    assert ZH("office.confirm.activate.what") in confirm.text
    bare = submit(world, f"/ops/programs/{pid}/lifecycle/activate", page=f"/ops/programs/{pid}")
    assert bare.status_code == 422
    assert ZH("office.err.reason") in bare.text
    assert ZH("office.err.confirm") in bare.text
    assert world.get("operator", f"/programs/{pid}").json()["status"] == "draft"
    done = submit(
        world,
        f"/ops/programs/{pid}/lifecycle/activate",
        {"reason": "预算已到位", "confirm": "yes"},
        page=f"/ops/programs/{pid}",
    )
    assert done.status_code == 303
    assert world.get("operator", f"/programs/{pid}").json()["status"] == "active"
    # Pausing is reversible: one button, no reason.
    paused = submit(world, f"/ops/programs/{pid}/lifecycle/pause", page=f"/ops/programs/{pid}")
    assert paused.status_code == 303
    no_reason = submit(
        world,
        f"/ops/programs/{pid}/lifecycle/close",
        {"confirm": "yes"},
        page=f"/ops/programs/{pid}",
    )
    assert no_reason.status_code == 422
    assert 'data-test="error-reason"' in no_reason.text
    assert world.get("operator", f"/programs/{pid}").json()["status"] == "paused"


def test_the_close_page_says_what_happens_to_the_money_and_closing_records_why(
    world: World,
) -> None:
    pid = funded_program(world, amount_fen=500_000)
    funder = world.funder(name="延迟出资方")
    pending = world.post(
        "operator",
        f"/programs/{pid}/contributions",
        {"funder_id": funder["id"], "amount_fen": 2_000_000},
    ).json()
    assert pending["status"] == "pending_approval"
    staff_session(world, "operator")
    page = world.client.get(f"/ops/programs/{pid}/confirm/close?lang=en")
    assert EN("office.confirm.close.available", amount="¥5,000.00") in page.text
    assert EN("office.confirm.close.pending", amount="¥20,000.00") in page.text
    closed = submit(
        world,
        f"/ops/programs/{pid}/lifecycle/close",
        {"reason": "活动提前结束", "confirm": "yes"},
        page=f"/ops/programs/{pid}",
    )
    assert closed.status_code == 303
    assert world.get("operator", f"/programs/{pid}").json()["status"] == "closed"
    with world.runtime.db.read() as tx:
        payload = tx.execute(
            select(events.c.payload).where(events.c.type == "program.closed")
        ).scalar_one()
    assert "活动提前结束" in payload
    # The pending contribution can no longer be approved into a closed program.
    approve = world.post("checker", f"/contributions/{pending['id']}/approve")
    assert approve.status_code == 409
    assert approve.json()["code"] == "PROGRAM_CLOSED"


def test_an_admin_creates_a_staff_account_once_and_it_signs_in(world: World) -> None:
    staff_session(world, "admin")
    key = form_key(world, "/ops/staff")
    form = {
        "username": "op3",
        "display_name": "王三",
        "role": "operator",
        "issuer_id": world.issuer.id,
        "password": "a long enough password",
        "form_key": key,
    }
    before = count(world, staff_users)
    first = submit(world, "/ops/staff", form, page="/ops/staff")
    again = submit(world, "/ops/staff", form, page="/ops/staff")
    assert first.status_code == again.status_code == 303
    assert count(world, staff_users) == before + 1
    signed = world.client.post(
        "/api/v1/auth/token", json={"username": "op3", "password": "a long enough password"}
    )
    assert signed.status_code == 200
    page = world.client.get("/ops/staff")
    assert 'data-test="account-op3"' in page.text
    assert "杭州市商务局" in page.text


def test_a_staff_form_refuses_in_words_next_to_the_field(world: World) -> None:
    staff_session(world, "admin")
    key = form_key(world, "/ops/staff")
    form = {
        "username": "op1",
        "role": "operator",
        "issuer_id": world.issuer.id,
        "password": "a long enough password",
        "form_key": key,
    }
    taken = submit(world, "/ops/staff", form, page="/ops/staff")
    assert taken.status_code == 422
    assert 'data-test="error-username"' in taken.text
    assert "用户名 op1 已存在" in taken.text
    short = submit(
        world,
        "/ops/staff?lang=en",
        {**form, "username": "op9", "password": "short"},
        page="/ops/staff",
    )
    assert 'data-test="error-password"' in short.text
    assert "The password must have at least 12 characters" in short.text


def test_an_admin_resets_a_password_and_the_old_sessions_end(world: World) -> None:
    old_token = world.token("operator")
    uid = world.users["operator"].id
    staff_session(world, "admin")
    weak = submit(
        world,
        f"/ops/staff/{uid}/password",
        {"password": "short"},
        page=f"/ops/staff/{uid}/password",
    )
    assert weak.status_code == 422
    assert 'data-test="error-password"' in weak.text
    done = submit(
        world,
        f"/ops/staff/{uid}/password",
        {"password": "a brand new password"},
        page=f"/ops/staff/{uid}/password",
    )
    assert done.status_code == 303
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status_code == 401
    old = world.client.post("/api/v1/auth/token", json={"username": "op1", "password": PASSWORD})
    assert old.status_code == 401
    new = world.client.post(
        "/api/v1/auth/token", json={"username": "op1", "password": "a brand new password"}
    )
    assert new.status_code == 200


def test_only_admins_manage_staff_and_an_issuers_admin_only_its_own(world: World) -> None:
    staff_session(world, "operator")
    token = csrf(world, "/ops")
    assert world.client.get("/ops/staff").status_code == 403
    refused = world.client.post(
        "/ops/staff",
        data={
            "csrf": token,
            "username": "sneaky",
            "role": "admin",
            "password": "x" * 12,
            "form_key": "k" * 16,
        },
        follow_redirects=False,
    )
    assert refused.status_code == 403
    uid = world.users["checker"].id
    reset = world.client.post(
        f"/ops/staff/{uid}/password", data={"csrf": token, "password": "y" * 12}
    )
    assert reset.status_code == 403
    # An issuer's admin creates accounts of its issuer only.
    from quan.domain.auth import Role
    from quan.services.people import staff

    with world.runtime.db.write() as tx:
        local = staff.create_user(
            tx,
            world.runtime.clock.now(),
            username="hz-admin",
            password=PASSWORD,
            role=Role.ADMIN,
            issuer_id=world.issuer.id,
        )
    world.users["local"] = local
    staff_session(world, "local")
    key = form_key(world, "/ops/staff")
    other = submit(
        world,
        "/ops/staff",
        {
            "username": "nb-op",
            "role": "operator",
            "issuer_id": world.other_issuer.id,
            "password": "x" * 12,
            "form_key": key,
        },
        page="/ops/staff",
    )
    assert other.status_code == 422
    assert 'data-test="error-issuer_id"' in other.text
    assert world.other_issuer.name not in world.client.get("/ops/staff").text
    outsider = world.users["outsider"].id
    assert world.client.get(f"/ops/staff/{outsider}/password").status_code == 403


def test_two_submits_of_one_program_form_racing_create_one_program(world: World) -> None:
    """Both arrive together (two threads, released at once): on PostgreSQL the second finds
    the first still writing and waits for it; both answers lead to the same program."""
    staff_session(world, "operator")
    key = form_key(world, "/ops/programs/new")
    token = csrf(world, "/ops")

    def post() -> Any:
        return world.client.post(
            "/ops/programs",
            data={**PROGRAM, "form_key": key, "csrf": token},
            follow_redirects=False,
        )

    answers = race(post, post)
    assert [a.status_code for a in answers] == [303, 303], answers
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert count(world, programs) == 1


def test_an_issuers_admin_cannot_create_staff_of_another_issuer_through_the_api(
    world: World,
) -> None:
    from quan.domain.auth import Role
    from quan.services.people import staff

    with world.runtime.db.write() as tx:
        world.users["local"] = staff.create_user(
            tx,
            world.runtime.clock.now(),
            username="hz-admin2",
            password=PASSWORD,
            role=Role.ADMIN,
            issuer_id=world.issuer.id,
        )
    body = {"username": "nb-op2", "password": "x" * 12, "role": "operator"}
    other = world.post("local", "/users", {**body, "issuer_id": world.other_issuer.id})
    assert other.status_code == 403
    assert other.json()["code"] == "OTHER_ISSUER"
    global_admin = world.post("local", "/users", {**body, "role": "admin"})
    assert global_admin.status_code == 403
    own = world.post("local", "/users", {**body, "issuer_id": world.issuer.id})
    assert own.status_code == 201
    refused = world.post("operator", "/users", {**body, "username": "x-op"})
    assert refused.status_code == 403

"""The console's announcement pages (write, preview, submit, approve or reject, progress) and the
admins' partner page (create with the secret shown once, revoke), in zh-CN and en."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quan.config import Settings
from quan.store.db import Database
from tests.conftest import World, make_settings
from tests.integration.announcement_fixtures import holders
from tests.integration.console_fixtures import csrf, staff_session, submit
from tests.integration.issuance_fixtures import open_fcfs_batch


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return make_settings(tmp_path, db.url, announcement_approval_threshold=1)


NOTICE = {
    "audience": "program",
    "title_zh": "使用规则调整",
    "title_en": "Rule change",
    "body_zh": "自下周一起，每日限用一张。",
    "body_en": "From Monday, one voucher a day.",
    "public": "on",
}


def test_write_preview_submit_and_a_second_person_approves(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=10)
    holders(world, bid, with_phone=2, without_phone=1)
    staff_session(world, "operator")
    page = world.client.get(f"/ops/programs/{pid}/announcements")
    assert page.status_code == 200
    assert "撰写通知" in page.text
    path = f"/ops/programs/{pid}/announcements"
    previewed = submit(world, f"{path}/preview", NOTICE, page=path)
    assert previewed.status_code == 200, previewed.text
    assert 'data-test="recipients">3<' in previewed.text
    assert "须由另一人审批" in previewed.text
    assert "【Quan 服务消费券】使用规则调整：自下周一起，每日限用一张。" in previewed.text
    key = re.search(r'name="notice_key" value="([^"]+)"', previewed.text)
    assert key
    form = {**NOTICE, "notice_key": key.group(1)}
    made = submit(world, path, form, page=path)
    assert made.status_code == 303
    notice_path = made.headers["location"]
    again = submit(world, path, form, page=path)  # a second click: the same notice
    assert again.headers["location"] == notice_path
    own = world.client.get(notice_path)
    assert 'data-test="own"' in own.text
    assert 'data-test="approve"' not in own.text

    staff_session(world, "checker")
    pending = world.client.get("/ops/announcements?lang=en")
    assert "Rule change" in pending.text
    shown = world.client.get(notice_path)
    assert 'data-test="approve"' in shown.text
    assert "hx-confirm=" in shown.text
    token = csrf(world, notice_path)
    approved = world.client.post(
        f"{notice_path}/approve", data={"csrf": token}, follow_redirects=False
    )
    assert approved.status_code == 303
    progress = world.client.get(notice_path + "?lang=en")
    assert "Sending" in progress.text
    assert 'data-test="progress"' in progress.text


def test_a_rejection_says_why(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=10)
    holders(world, bid, with_phone=2, without_phone=0)
    made = world.post("operator", f"/programs/{pid}/announcements", {
        k: v for k, v in NOTICE.items() if k != "public"}).json()  # fmt: skip
    staff_session(world, "checker")
    path = f"/ops/announcements/{made['id']}"
    refused = submit(world, f"{path}/reject", {"reason": "措辞需修改"}, page=path)
    assert refused.status_code == 303
    shown = world.client.get(path)
    assert "措辞需修改" in shown.text
    assert "已驳回" in shown.text


def test_the_partner_page_shows_a_secret_once_and_revokes(world: World) -> None:
    staff_session(world, "operator")
    assert world.client.get("/ops/partners").status_code == 403
    staff_session(world, "admin")
    page = world.client.get("/ops/partners")
    assert page.status_code == 200
    key = re.search(r'name="client_key" value="([^"]+)"', page.text)
    assert key
    form = {"name": "某银行数字钱包", "client_key": key.group(1)}
    created = submit(world, "/ops/partners", form, page="/ops/partners")
    secret = re.search(r'data-test="client-secret">([^<]+)<', created.text)
    client_id = re.search(r'data-test="client-id">([^<]+)<', created.text)
    assert secret
    assert client_id
    token = world.client.post(
        "/api/v1/partner/token",
        json={"client_id": client_id.group(1), "client_secret": secret.group(1)},
    )
    assert token.status_code == 200
    repeated = submit(world, "/ops/partners", form, page="/ops/partners")
    assert 'data-test="already"' in repeated.text
    assert secret.group(1) not in repeated.text
    assert secret.group(1) not in world.client.get("/ops/partners").text
    assert world.get("admin", "/partner-clients").json()[0]["id"] == client_id.group(1)
    assert len(world.get("admin", "/partner-clients").json()) == 1
    revoke = world.client.post(
        f"/ops/partners/{client_id.group(1)}/revoke",
        headers={"X-CSRF-Token": csrf(world, "/ops/partners"), "HX-Request": "true"},
    )
    assert revoke.headers["HX-Redirect"] == "/ops/partners"
    assert "已停用" in world.client.get("/ops/partners").text

"""Complaints in the console (issue 22), as each user meets them: a citizen files from the
wallet (a refusal said next to its field), the merchant concerned answers in the portal, staff
answer and resolve in the console, and the citizen sees each step; both languages; another
issuer's operator sees nothing of it, an auditor reads without buttons."""

from __future__ import annotations

import re

from quan.jobs.registry import default_jobs
from quan.jobs.worker import run_job
from quan.services.merchants.owner_signin import OWNER_SESSION_KIND
from quan.web.session import Area
from tests.conftest import World
from tests.integration import citizen_fixtures as people
from tests.integration.console_fixtures import citizen_session, staff_session, submit
from tests.integration.redemption_fixtures import open_shop


def _owner_session(world: World, merchant_id: str) -> None:
    token, _ = world.runtime.tokens.issue(
        OWNER_SESSION_KIND, merchant_id, world.runtime.clock.now()
    )
    world.client.cookies.set(Area.OWNER.cookie, token)


def test_a_complaint_goes_from_the_wallet_to_the_shop_and_staff_and_back(world: World) -> None:
    citizen = people.register(world, people.person(80))
    citizen_session(world, citizen["id"])
    page = world.client.get("/wallet/complaints")
    assert page.status_code == 200
    assert "我的投诉" in page.text
    short = submit(
        world, "/wallet/complaints", {"category": "other", "text": "差"}, page="/wallet/complaints"
    )
    assert short.status_code == 422
    assert 'data-field="text"' in short.text
    filed = submit(
        world,
        "/wallet/complaints",
        {"category": "merchant_refused", "text": "店员说不收消费券，态度很差"},
        page="/wallet/complaints",
    )
    assert filed.status_code == 303
    listed = world.client.get(filed.headers["location"])
    assert 'data-test="complaint-filed"' in listed.text
    assert "24 小时内答复" in listed.text
    (complaint_id,) = re.findall(r'href="/wallet/complaints/(cmp_[^"]+)"', listed.text)

    staff_session(world, "operator")
    run_job(world.runtime, next(j for j in default_jobs() if j.name == "feedback-analysis"), "t")
    board = world.client.get("/ops/complaints")
    assert board.status_code == 200
    assert complaint_id in board.text
    assert "负面" in board.text  # analysed: negative
    detail = f"/ops/complaints/{complaint_id}"
    answered = submit(
        world, f"{detail}/answer", {"text": "已联系商户，要求其受理消费券。"}, page=detail
    )
    assert answered.status_code == 303
    resolved = submit(
        world,
        f"{detail}/answer",
        {"text": "商户已道歉，今后按规定受理。", "resolve": "on"},
        page=detail,
    )
    assert resolved.status_code == 303
    closed = world.client.get(detail)
    assert 'data-status="resolved"' in closed.text
    assert 'data-test="answer-form"' not in closed.text
    board = world.client.get("/ops/complaints")
    assert 'data-test="first-response"' in board.text

    citizen_session(world, citizen["id"])
    mine = world.client.get(f"/wallet/complaints/{complaint_id}")
    assert "已联系商户，要求其受理消费券。" in mine.text
    assert "商户已道歉，今后按规定受理。" in mine.text
    assert 'data-status="resolved"' in mine.text
    world.client.cookies.set("quan_lang", "en")
    english = world.client.get(f"/wallet/complaints/{complaint_id}")
    assert "Resolved" in english.text
    assert "Answer from staff" in english.text
    world.client.cookies.delete("quan_lang")

    # An auditor reads it without the buttons.
    staff_session(world, "auditor")
    read = world.client.get(detail)
    assert read.status_code == 200
    assert 'data-test="answer-form"' not in read.text


def test_the_shop_concerned_answers_a_hotline_complaint_in_the_portal(world: World) -> None:
    shop = open_shop(world)
    staff_session(world, "operator")
    filed = submit(
        world,
        "/ops/complaints",
        {
            "phone": "139 0013 9111",
            "category": "overcharge",
            "text": "来电反映：用券前先涨价",
            "merchant_id": shop.merchant_id,
        },
        page="/ops/complaints",
    )
    assert filed.status_code == 303, filed.text
    complaint_id = filed.headers["location"].rsplit("/", 1)[1]
    assert "13900139111" not in world.client.get(filed.headers["location"]).text
    bad_phone = submit(
        world,
        "/ops/complaints",
        {"phone": "12", "category": "other", "text": "来电反映问题"},
        page="/ops/complaints",
    )
    assert bad_phone.status_code == 422
    assert 'data-field="phone"' in bad_phone.text

    _owner_session(world, shop.merchant_id)
    portal = world.client.get("/merchant/complaints")
    assert portal.status_code == 200
    assert "来电反映：用券前先涨价" in portal.text
    answered = submit(
        world,
        f"/merchant/complaints/{complaint_id}/answer",
        {"text": "价格标签未及时更新，已退还差价。"},
        page="/merchant/complaints",
    )
    assert answered.status_code == 303
    other = open_shop(world)
    _owner_session(world, other.merchant_id)
    assert "来电反映：用券前先涨价" not in world.client.get("/merchant/complaints").text
    refused = submit(
        world,
        f"/merchant/complaints/{complaint_id}/answer",
        {"text": "不是我们店的投诉"},
        page="/merchant/complaints",
    )
    assert refused.status_code == 404
    staff_session(world, "operator")
    detail = world.client.get(f"/ops/complaints/{complaint_id}")
    assert 'data-status="answered"' in detail.text
    assert "价格标签未及时更新，已退还差价。" in detail.text
    # Another issuer's operator does not find it.
    staff_session(world, "outsider")
    assert complaint_id not in world.client.get("/ops/complaints").text
    assert world.client.get(f"/ops/complaints/{complaint_id}").status_code == 403

"""Announcements and targeted notices (issue 25, item 7): preview per channel, a second person's
approval for mass notices, rate-limited release into the sealed outbox (one message per
citizen and notice, even when two releases race), and public notices on the disclosure page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.channels import outbox as box
from quan.config import Settings
from quan.services.delivery import announcement_release
from quan.services.people.citizens import CitizenKeys
from quan.store.db import Database
from quan.store.notify_tables import announcement_recipients
from quan.store.tables import outbox
from tests.conftest import World, make_settings
from tests.integration.announcement_fixtures import holders
from tests.integration.citizen_fixtures import person
from tests.integration.citizen_fixtures import register as register_person
from tests.integration.issuance_fixtures import batch, open_batch, open_fcfs_batch, voucher_type
from tests.race import race

THRESHOLD = 3


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return make_settings(tmp_path, db.url, announcement_approval_threshold=THRESHOLD)


def _notice(audience: str = "program", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "audience": audience,
        "title_zh": "使用规则调整",
        "title_en": "Rule change",
        "body_zh": "自下周一起，每日限用一张。",
        "body_en": "From Monday, one voucher a day.",
    }
    body.update(overrides)
    return body


def _release(world: World, rate: int) -> int:
    rt = world.runtime
    keys = CitizenKeys.from_settings(rt.settings)
    return announcement_release.release(rt.db, rt.clock.now(), keys, rate=rate, locale="zh-CN")


def _notices_in_outbox(world: World) -> int:
    with world.runtime.db.read() as tx:
        return int(
            tx.execute(
                select(func.count()).where(outbox.c.subject == announcement_release.KIND)
            ).scalar_one()
        )


def test_preview_counts_each_audience_per_channel(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=20)
    holders(world, bid, with_phone=3, without_phone=1)
    register_person(world, person(5, seed=31))  # registered, holds nothing
    seen = world.post("operator", f"/programs/{pid}/announcements/preview", _notice())
    assert seen.status_code == 200, seen.text
    assert seen.json()["recipients"] == 4
    assert seen.json()["by_channel"] == {"sms": 3, "none": 1}
    assert seen.json()["needs_approval"] is True
    assert seen.json()["text_zh"] == "【Quan 服务消费券】使用规则调整：自下周一起，每日限用一张。"
    assert seen.json()["text_en"] == "[Quan vouchers] Rule change: From Monday, one voucher a day."
    by_batch = world.post(
        "operator", f"/programs/{pid}/announcements/preview", _notice("batch", audience_ref=bid)
    )
    assert by_batch.json()["recipients"] == 4
    other_bid = open_fcfs_batch(world)[1]
    refused = world.post(
        "operator",
        f"/programs/{pid}/announcements/preview",
        _notice("batch", audience_ref=other_bid),
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "AUDIENCE_NOT_IN_PROGRAM"
    missing = world.post("operator", f"/programs/{pid}/announcements/preview", _notice("segment"))
    assert missing.json()["code"] == "AUDIENCE_REF_REQUIRED"
    # A segment: the eligibility rule language, compiled to SQL (everyone registered in 330106).
    segment = world.post(
        "operator",
        f"/programs/{pid}/announcements/preview",
        _notice("segment", segment={"region_in": ["330106"]}),
    )
    assert segment.status_code == 200, segment.text
    with world.runtime.db.read() as tx:
        from quan.store.citizen_tables import citizens

        in_region = tx.execute(
            select(func.count()).where(citizens.c.region_code.like("330106%"))
        ).scalar_one()
    assert segment.json()["recipients"] == in_region
    bad_rule = world.post(
        "operator",
        f"/programs/{pid}/announcements/preview",
        _notice("segment", segment={"shoe_size": 42}),
    )
    assert bad_rule.json()["code"] == "INVALID_ELIGIBILITY_RULE"
    outsider = world.post("outsider", f"/programs/{pid}/announcements/preview", _notice())
    assert outsider.status_code == 403
    assert _notices_in_outbox(world) == 0  # a preview writes nothing


def test_small_notice_goes_at_once_at_the_configured_rate(world: World) -> None:
    pid = open_fcfs_batch(world, quantity=20)[0]
    vt = voucher_type(world, pid, name="另一种券")
    second = batch(world, pid, vt["id"], quantity=5)
    open_batch(world, second["id"])
    holders(world, second["id"], with_phone=2, without_phone=1)
    made = world.post(
        "operator",
        f"/programs/{pid}/announcements",
        _notice("voucher_type", audience_ref=vt["id"]),
        **{"Idempotency-Key": "notice-1"},
    )
    assert made.status_code == 201, made.text
    notice = made.json()
    assert notice["status"] == "sending"
    assert notice["queued"] == 3
    again = world.post(
        "operator",
        f"/programs/{pid}/announcements",
        _notice("voucher_type", audience_ref=vt["id"]),
        **{"Idempotency-Key": "notice-1"},
    )
    assert again.json()["id"] == notice["id"]  # the same notice, not a second one
    # One citizen a run at rate 1: never more than the rate per run.
    assert _release(world, rate=1) == 1
    assert _release(world, rate=1) == 1
    assert _release(world, rate=1) == 1
    assert _release(world, rate=1) == 0
    shown = world.get("auditor", f"/announcements/{notice['id']}").json()
    assert shown["status"] == "sent"
    assert shown["progress"]["released"] == 3
    assert shown["progress"]["waiting"] == 0
    assert shown["progress"]["no_channel"] == 1
    assert shown["progress"]["by_status"]["queued"] == 2
    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    with world.runtime.db.read() as tx:
        sent = [m for m in box.newest(tx, keys, 50) if m.subject == announcement_release.KIND]
    assert len(sent) == 2
    assert {m.recipient for m in sent} == {person(i, seed=31).phone for i in range(2)}
    assert all("使用规则调整" in (m.body or "") for m in sent)


def test_mass_notice_waits_for_a_second_person(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=20)
    holders(world, bid, with_phone=4, without_phone=0)
    made = world.post("operator", f"/programs/{pid}/announcements", _notice())
    assert made.status_code == 201, made.text
    notice = made.json()
    assert notice["status"] == "pending_approval"
    assert notice["recipients"] == 4
    assert _release(world, rate=100) == 0  # nothing is queued before approval
    mine = world.post("operator", f"/announcements/{notice['id']}/approve")
    assert mine.status_code == 403
    assert mine.json()["code"] == "SELF_APPROVAL"
    outsider = world.post("outsider", f"/announcements/{notice['id']}/approve")
    assert outsider.status_code == 403
    pending = world.get("checker", "/announcements/pending").json()
    assert [p["id"] for p in pending] == [notice["id"]]
    assert world.get("outsider", "/announcements/pending").json() == []
    no_reason = world.post("checker", f"/announcements/{notice['id']}/reject", {"reason": " "})
    assert no_reason.status_code == 422
    rejected = world.post(
        "checker", f"/announcements/{notice['id']}/reject", {"reason": "措辞需修改"}
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reject_reason"] == "措辞需修改"
    late = world.post("checker", f"/announcements/{notice['id']}/approve")
    assert late.status_code == 409
    assert late.json()["code"] == "ANNOUNCEMENT_NOT_PENDING"

    second = world.post("operator", f"/programs/{pid}/announcements", _notice()).json()
    approved = world.post("checker", f"/announcements/{second['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "sending"
    assert approved.json()["decided_by"] == f"staff:{world.users['checker'].id}"
    assert _release(world, rate=100) == 4
    assert _notices_in_outbox(world) == 4


def test_two_releases_racing_send_each_citizen_one_message(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=30)
    holders(world, bid, with_phone=12, without_phone=0)
    notice = world.post("operator", f"/programs/{pid}/announcements", _notice()).json()
    world.post("checker", f"/announcements/{notice['id']}/approve")
    # Three runs of 5 race over 12 recipients: a run whose rows another took must not call
    # the notice sent while recipients still wait beyond its budget.
    results = race(*[lambda: _release(world, rate=5)] * 3)
    assert not [r for r in results if isinstance(r, Exception)], results
    shown = world.get("auditor", f"/announcements/{notice['id']}").json()
    assert shown["status"] == ("sent" if sum(results) == 12 else "sending")
    while _release(world, rate=5):
        pass
    assert world.get("auditor", f"/announcements/{notice['id']}").json()["status"] == "sent"
    assert _notices_in_outbox(world) == 12
    with world.runtime.db.read() as tx:
        distinct = tx.execute(
            select(func.count(func.distinct(announcement_recipients.c.message_id)))
        ).scalar_one()
    assert distinct == 12


def test_a_public_notice_shows_on_the_disclosure_page(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=20)
    holders(world, bid, with_phone=1, without_phone=0)
    hidden = world.post("operator", f"/programs/{pid}/announcements", _notice(title_zh="内部通知"))
    assert hidden.json()["status"] == "sending"
    public = world.post(
        "operator", f"/programs/{pid}/announcements", _notice(title_zh="公开公告", public=True)
    )
    assert public.status_code == 201, public.text
    listed = world.client.get(f"/api/v1/public/programs/{pid}/announcements").json()
    assert [a["title_zh"] for a in listed] == ["公开公告"]
    page = world.client.get(f"/disclosure/{pid}?lang=zh-CN")
    assert page.status_code == 200
    assert "公开公告" in page.text
    assert "内部通知" not in page.text
    english = world.client.get(f"/disclosure/{pid}?lang=en")
    assert "Rule change" in english.text
    # The events of a notice say no text and no reason in the public log's projection.
    with world.runtime.db.read() as tx:
        from quan.store.tables import events

        payloads = [
            json.loads(p)
            for p in tx.execute(
                select(events.c.payload).where(events.c.type.like("announcement.%"))
            ).scalars()
        ]
    assert payloads
    assert all("title_zh" not in p for p in payloads)

"""The console's reveal of a citizen's personal data (issue 13, I4): the API's rules, in pages.

An operator finds a citizen (an ID number by POST, never in an address), states a purpose and
sees the data once (``Cache-Control: no-store``), recorded as ``citizen.personal_data_revealed``;
only their issuer's region; throttled; beyond the daily threshold a request that a second
person approves on ``/ops/approvals`` and that opens one reveal.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any

from sqlalchemy import select

from quan.domain.citizens import RegistrationInput, validate_registration
from quan.services.people import citizens
from quan.services.runtime import Runtime
from quan.store.tables import events
from tests.citizen_samples import resident_id
from tests.conftest import World
from tests.integration.console_fixtures import csrf, staff_session, submit

_SERIAL = itertools.count(700)


def _citizen(world: World, region: str = "330106", name: str = "林秀英") -> tuple[str, str, str]:
    """A registered citizen: (id, ID number, phone)."""
    rt = world.runtime
    serial = next(_SERIAL)
    number = resident_id(region, date(1961, 3, 9), serial)
    phone = f"1390000{serial:04d}"
    registration = validate_registration(
        RegistrationInput(resident_id=number, name=name, region_code=region, phone=phone),
        today=rt.clock.now().date(),
    )
    keys = citizens.CitizenKeys.from_settings(rt.settings)
    with rt.db.write() as tx:
        cid = citizens.register(tx, rt.clock.now(), world.users["admin"].actor(), keys,
                                registration).id  # fmt: skip
    return cid, number, phone


def _limits(runtime: Runtime, per_minute: int, daily: int) -> None:
    object.__setattr__(runtime.settings, "reveal_per_minute", per_minute)
    object.__setattr__(runtime.settings, "reveal_daily_threshold", daily)


def _reveals(world: World, cid: str) -> list[dict[str, Any]]:
    with world.runtime.db.read() as tx:
        rows = tx.execute(
            select(events.c.actor, events.c.payload).where(
                events.c.type == "citizen.personal_data_revealed", events.c.subject_id == cid
            )
        ).all()
    return [{"actor": r.actor, **json.loads(r.payload)} for r in rows]


def _reveal(world: World, cid: str, purpose: str = "dispute", **extra: str) -> Any:
    return submit(world, f"/ops/citizens/{cid}/reveal", {"purpose": purpose, **extra},
                  page=f"/ops/citizens/{cid}")  # fmt: skip


def test_an_operator_finds_a_citizen_and_sees_their_data_once_for_a_purpose(
    world: World,
) -> None:
    cid, number, phone = _citizen(world)
    staff_session(world, "operator")
    found = submit(world, "/ops/citizens/find", {"query": number}, page="/ops/citizens")
    assert found.status_code == 303
    assert found.headers["location"] == f"/ops/citizens/{cid}"  # the number is not in it
    page = world.client.get(f"/ops/citizens/{cid}")
    assert page.status_code == 200
    assert "林秀英" not in page.text
    assert number not in page.text
    assert phone not in page.text
    assert "处理投诉或申诉" in page.text  # the purposes, in zh-CN
    assert _reveals(world, cid) == []

    shown = _reveal(world, cid)
    assert shown.status_code == 200, shown.text
    assert "林秀英" in shown.text
    assert number in shown.text
    assert phone in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["pragma"] == "no-cache"
    (recorded,) = _reveals(world, cid)
    assert recorded["actor"] == f"staff:{world.users['operator'].id}"
    assert recorded["purpose"] == "dispute"
    assert sorted(recorded["fields"]) == ["name", "phone", "resident_id"]
    # The citizen's page stays masked: the data was the answer to that POST only.
    assert "林秀英" not in world.client.get(f"/ops/citizens/{cid}").text
    # By citizen id too, and in English.
    world.client.cookies.set("quan_lang", "en")
    assert (
        submit(world, "/ops/citizens/find", {"query": cid}, page="/ops/citizens").headers[
            "location"
        ]
        == f"/ops/citizens/{cid}"
    )
    assert "A complaint or an appeal" in world.client.get(f"/ops/citizens/{cid}").text


def test_a_reveal_needs_a_purpose_and_unknown_numbers_are_said_plainly(world: World) -> None:
    cid, _, _ = _citizen(world)
    staff_session(world, "operator")
    refused = _reveal(world, cid, purpose="")
    assert refused.status_code == 422
    assert "请选择查看用途" in refused.text
    assert _reveals(world, cid) == []
    unknown = resident_id("330106", date(1950, 1, 1), 999)
    missing = submit(world, "/ops/citizens/find", {"query": unknown}, page="/ops/citizens")
    assert missing.status_code == 404
    assert "没有找到该居民" in missing.text
    wrong = submit(world, "/ops/citizens/find", {"query": "12345"}, page="/ops/citizens")
    assert wrong.status_code == 422
    assert world.client.get("/ops/citizens/cit_nobody").status_code == 404


def test_only_the_issuers_region_and_only_so_fast(world: World) -> None:
    _limits(world.runtime, per_minute=2, daily=1000)
    ((ningbo, _, _),) = [_citizen(world, region="330203", name="宁波人")]
    staff_session(world, "operator")
    outside = _reveal(world, ningbo)
    assert outside.status_code == 403
    assert "不在本发放单位辖区内" in outside.text
    assert "宁波人" not in outside.text
    ids = [_citizen(world)[0] for _ in range(2)]
    assert [_reveal(world, cid).status_code for cid in ids] == [200, 200]
    too_fast = _reveal(world, _citizen(world)[0])
    assert too_fast.status_code == 429
    assert "林秀英" not in too_fast.text


def test_beyond_the_daily_threshold_a_second_person_approves_on_the_approvals_page(
    world: World,
) -> None:
    _limits(world.runtime, per_minute=100, daily=1)
    first, _, _ = _citizen(world)
    cid, number, _ = _citizen(world, name="赵桂英")
    staff_session(world, "operator")
    assert _reveal(world, first).status_code == 200
    held = _reveal(world, cid, purpose="identity_check")
    assert held.status_code == 303
    assert held.headers["location"] == f"/ops/citizens/{cid}?done=reveal_requested"
    page = world.client.get(held.headers["location"]).text
    assert "等待另一名工作人员批准" in page
    assert "赵桂英" not in page
    assert _reveals(world, cid) == []
    # The requester sees the request on the approvals page, but cannot approve it.
    mine = world.client.get("/ops/approvals").text
    assert 'data-test="reveal-yours"' in mine
    assert 'data-test="approve-reveal"' not in mine
    request_id = page.split('data-request="')[1].split('"')[0]
    own = submit(world, f"/ops/reveal-requests/{request_id}/approve", page="/ops/approvals")
    assert own.status_code == 403
    assert "不能批准自己的查看申请" in own.text
    # Another issuer's operator does not see it; a colleague approves it.
    staff_session(world, "outsider")
    assert request_id not in world.client.get("/ops/approvals").text
    staff_session(world, "checker")
    queue = world.client.get("/ops/approvals").text
    assert f'data-request="{request_id}"' in queue
    assert "现场核验身份" in queue
    approved = submit(world, f"/ops/reveal-requests/{request_id}/approve", page="/ops/approvals")
    assert approved.status_code == 303
    assert approved.headers["location"] == "/ops/approvals?done=reveal_approved"
    assert request_id not in world.client.get("/ops/approvals").text
    # The requester reveals once with it.
    staff_session(world, "operator")
    page = world.client.get(f"/ops/citizens/{cid}").text
    assert 'data-test="reveal-approved"' in page
    shown = _reveal(world, cid, purpose="identity_check", approval_id=request_id)
    assert shown.status_code == 200
    assert "赵桂英" in shown.text
    assert number in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert [r["purpose"] for r in _reveals(world, cid)] == ["identity_check"]
    again = _reveal(world, cid, purpose="identity_check", approval_id=request_id)
    assert again.status_code == 409
    assert "赵桂英" not in again.text
    assert 'data-test="reveal-approved"' not in world.client.get(f"/ops/citizens/{cid}").text


def test_auditors_and_agents_have_no_reveal_pages(world: World) -> None:
    cid, _, _ = _citizen(world)
    for who in ("auditor", "agent"):
        staff_session(world, who)
        assert world.client.get("/ops/citizens").status_code == 403
        assert world.client.get(f"/ops/citizens/{cid}").status_code == 403
        token = csrf(world, "/")
        answer = world.client.post(
            f"/ops/citizens/{cid}/reveal", data={"csrf": token, "purpose": "dispute"}
        )
        assert answer.status_code == 403
    assert _reveals(world, cid) == []

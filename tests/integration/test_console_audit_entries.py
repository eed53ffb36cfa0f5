"""The auditor's log browser: filters by type, program, subject and local dates; event types
and actors in words; local times; paging; refused filters named at their field — on both
databases."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from quan.domain.public_leaf import DISCLOSED
from quan.web.messages_audit import EVENT_NAMES
from tests.conftest import World
from tests.integration.console_fixtures import staff_session
from tests.integration.issuance_fixtures import funded_program, open_fcfs_batch
from tests.integration.transparency_fixtures import sequence

_ENTRY = re.compile(r'data-index="(\d+)" data-type="([a-z_.]+)"')


def shown(html: str) -> list[tuple[int, str]]:
    return [(int(i), kind) for i, kind in _ENTRY.findall(html)]


def test_every_event_type_of_the_leaf_format_has_a_name() -> None:
    assert set(DISCLOSED) <= set(EVENT_NAMES), set(DISCLOSED) - set(EVENT_NAMES)


def test_a_type_family_shows_only_its_entries_in_words_with_usernames(world: World) -> None:
    open_fcfs_batch(world, quantity=3)
    sequence(world.runtime)
    staff_session(world, "auditor")
    page = world.client.get("/auditor/entries", params={"type": "batch"})
    assert page.status_code == 200
    entries = shown(page.text)
    assert entries
    assert {kind for _, kind in entries} <= {"batch.created", "batch.opened"}
    assert "创建批次" in page.text
    assert "开放批次" in page.text
    # The actor by username, never the account id.
    operator_id = world.users["operator"].id
    assert world.users["operator"].username in page.text
    assert f"staff:{operator_id}" not in page.text
    exact = shown(world.client.get("/auditor/entries", params={"type": "batch.opened"}).text)
    assert [kind for _, kind in exact] == ["batch.opened"]
    english = world.client.get("/auditor/entries", params={"type": "batch", "lang": "en"})
    assert "Batch created" in english.text
    assert "创建批次" not in english.text


def test_program_and_subject_filters_and_the_leaves_are_the_public_ones(world: World) -> None:
    first = funded_program(world)
    second, batch_id = open_fcfs_batch(world, quantity=2)
    sequence(world.runtime)
    staff_session(world, "auditor")
    mine = shown(world.client.get("/auditor/entries", params={"program": first}).text)
    assert mine
    size = int(world.client.get("/api/v1/audit/checkpoint").text.splitlines()[1])
    served = world.client.get("/api/v1/audit/entries", params={"start": 0, "end": size - 1})
    leaves = [base64.b64decode(e["data"]) for e in served.json()]
    for index, _ in mine:
        assert f'"program_id":"{first}"'.encode() in leaves[index]
    subject = shown(world.client.get("/auditor/entries", params={"subject": batch_id}).text)
    assert {kind for _, kind in subject} == {"batch.created", "batch.opened"}
    assert all(batch_id.encode() in leaves[i] for i, _ in subject)
    assert second != first


def test_local_dates_bound_the_entries_in_the_programs_time_zone(world: World) -> None:
    pid = funded_program(world)
    sequence(world.runtime)
    staff_session(world, "auditor")
    now = world.runtime.clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    today, yesterday = now.date().isoformat(), (now.date() - timedelta(days=1)).isoformat()
    same_day = world.client.get(
        "/auditor/entries", params={"program": pid, "from": today, "to": today}
    )
    assert shown(same_day.text)
    # Times are the program's local time, to the second.
    assert now.strftime("%Y-%m-%d %H:") in same_day.text
    before = world.client.get(
        "/auditor/entries", params={"program": pid, "from": yesterday, "to": yesterday}
    )
    assert before.status_code == 200
    assert shown(before.text) == []
    assert "没有符合条件的日志条目" in before.text


def test_bad_filters_are_named_at_their_field_and_nothing_is_searched(world: World) -> None:
    funded_program(world)
    sequence(world.runtime)
    staff_session(world, "auditor")
    for params, field, message in (
        ({"type": "<script>"}, "type", "事件类型只能是小写字母"),
        ({"from": "2026-13-45"}, "since", "请输入 1900 至 2999 年间的日期"),
        ({"from": "0001-01-01"}, "since", "请输入 1900 至 2999 年间的日期"),
        ({"from": "2026-12-07", "to": "2026-12-01"}, "until", "截止日期不能早于起始日期"),
        ({"subject": "x" * 81}, "subject", "编号只能包含"),
    ):
        page = world.client.get("/auditor/entries", params=params)
        assert page.status_code == 400, params
        assert f'id="err-{field}"' in page.text, params
        assert message in page.text, params
        assert 'aria-invalid="true"' in page.text
        assert shown(page.text) == []
        assert "<script>" not in page.text
    # A NUL byte is refused at the edge, before any page, as everywhere else.
    assert world.client.get("/auditor/entries", params={"subject": "a\u0000b"}).status_code == 422
    english = world.client.get("/auditor/entries", params={"from": "2026-02-30", "lang": "en"})
    assert "Enter a date between 1900 and 2999" in english.text


def test_older_pages_follow_without_overlap_and_keep_the_filter(world: World) -> None:
    for _ in range(12):  # 12 programs × (created, activated, funder, contribution…) > 50
        funded_program(world)
    sequence(world.runtime)
    staff_session(world, "auditor")
    first = world.client.get("/auditor/entries")
    entries = shown(first.text)
    assert len(entries) == 50
    assert [i for i, _ in entries] == sorted((i for i, _ in entries), reverse=True)
    older = re.search(r'href="(/auditor/entries\?before=\d+[^"]*)" data-test="older"', first.text)
    assert older is not None
    second = shown(world.client.get(older.group(1).replace("&amp;", "&")).text)
    assert second
    assert max(i for i, _ in second) == min(i for i, _ in entries) - 1
    filtered = world.client.get("/auditor/entries", params={"type": "program"})
    kinds = {kind for _, kind in shown(filtered.text)}
    assert kinds <= {"program.created", "program.active"}
    assert kinds
    jump = shown(world.client.get("/auditor/entries", params={"at": 3}).text)
    assert [i for i, _ in jump] == [3, 2, 1, 0]

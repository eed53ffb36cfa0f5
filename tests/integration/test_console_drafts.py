"""Drafts in the console: a voucher type no batch uses and a draft batch can be changed or
deleted (after a confirmation page); a draft that needs more than the available budget is
flagged; a batch that has issued what it will issue (sold out, a lottery after its draw) is
closed and its unclaimed vouchers' money returned at once, the ledger balanced throughout."""

from __future__ import annotations

from tests.conftest import World
from tests.integration.console_fixtures import citizen_session, staff_session, submit
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    assert_ledger_ok,
    batch,
    claim,
    event_count,
    funded_program,
    open_batch,
    open_fcfs_batch,
    register,
    voucher_type,
)

TYPE_FORM = {"name": "餐饮满100减20", "kind": "fixed", "face_value": "20", "min_spend": "100",
             "categories": ["catering"], "scenes": ["offline"], "validity_preset": "short"}


def _types(world: World, pid: str) -> list[dict[str, object]]:
    return list(world.get("operator", f"/programs/{pid}/voucher-types").json()["items"])


def _batches(world: World, pid: str) -> list[dict[str, object]]:
    return list(world.get("operator", f"/programs/{pid}/batches").json()["items"])


def test_an_unused_voucher_type_is_changed_and_deleted_after_confirmation(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)  # ¥30 off ¥100
    staff_session(world, "operator")
    program = world.client.get(f"/ops/programs/{pid}").text
    assert f'href="/ops/voucher-types/{vt["id"]}/edit"' in program
    page = f"/ops/voucher-types/{vt['id']}/edit"
    form = world.client.get(page)
    assert 'name="face_value" id="f-face_value" inputmode="decimal" value="30"' in form.text
    bad = submit(world, page, {**TYPE_FORM, "face_value": "二十"}, page=page)
    assert bad.status_code == 422
    assert 'id="f-face_value" aria-invalid="true"' in bad.text
    saved = submit(world, page, TYPE_FORM, page=page)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/ops/programs/{pid}?done=type_saved"
    [changed] = _types(world, pid)
    assert (changed["id"], changed["face_value_fen"], changed["name"]) == (
        vt["id"], 2000, "餐饮满100减20"
    )
    assert event_count(world, "voucher_type.updated") == 1
    confirm = world.client.get(f"/ops/voucher-types/{vt['id']}/delete")
    assert 'data-test="confirm"' in confirm.text
    assert "餐饮满100减20" in confirm.text
    assert _types(world, pid)  # showing the confirmation deletes nothing
    deleted = submit(world, f"/ops/voucher-types/{vt['id']}/delete",
                     page=f"/ops/voucher-types/{vt['id']}/delete")
    assert deleted.status_code == 303
    assert _types(world, pid) == []
    assert event_count(world, "voucher_type.deleted") == 1


def test_a_type_a_batch_uses_can_no_longer_change(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    batch(world, pid, vt["id"], quantity=5)
    staff_session(world, "operator")
    assert f'href="/ops/voucher-types/{vt["id"]}/edit"' not in world.client.get(
        f"/ops/programs/{pid}").text
    page = f"/ops/voucher-types/{vt['id']}/edit"
    refused = submit(world, page, TYPE_FORM, page=page)
    assert refused.status_code == 409
    assert "该券种已被批次使用" in refused.text
    gone = submit(world, f"/ops/voucher-types/{vt['id']}/delete", page=f"/ops/programs/{pid}")
    assert gone.status_code == 409
    assert [t["face_value_fen"] for t in _types(world, pid)] == [3000]


def test_a_draft_batch_is_changed_flagged_over_budget_and_deleted(world: World) -> None:
    pid = funded_program(world, amount_fen=100_000)  # ¥1,000
    vt = voucher_type(world, pid)  # ¥30 each
    draft = batch(world, pid, vt["id"], quantity=10, name="第一轮")
    staff_session(world, "operator")
    assert 'data-test="over-budget"' not in world.client.get(f"/ops/programs/{pid}").text
    page = f"/ops/batches/{draft['id']}/edit"
    form = world.client.get(page)
    assert 'value="第一轮"' in form.text
    assert 'data-test="allocation-fixed"' in form.text
    values = {"voucher_type_id": vt["id"], "name": "第一轮（改）", "quantity": "40",
              "allocation": "fcfs", "claim_opens_at": "2026-11-25T10:00",
              "claim_closes_at": "2026-12-01T10:00", "per_citizen_limit": "1"}
    other_allocation = submit(world, page, {**values, "allocation": "lottery"}, page=page)
    assert other_allocation.status_code == 422
    assert 'id="f-allocation"' not in other_allocation.text  # said as a sentence on the form
    assert "草稿的发放方式不能更改" in other_allocation.text
    saved = submit(world, page, values, page=page)
    assert saved.status_code == 303, saved.text
    [changed] = _batches(world, pid)
    assert (changed["id"], changed["quantity"]) == (draft["id"], 40)
    assert changed["name"] == "第一轮（改）"
    # 40 × ¥30 = ¥1,200 > ¥1,000: the draft is flagged before anyone tries to open it.
    program = world.client.get(f"/ops/programs/{pid}").text
    assert "需要 ¥1,200.00，超过可用预算 ¥1,000.00" in program
    assert "¥1,200.00" in world.client.get(page).text
    confirm = world.client.get(f"/ops/batches/{draft['id']}/delete")
    assert 'data-test="confirm"' in confirm.text
    deleted = submit(world, f"/ops/batches/{draft['id']}/delete", page=f"/ops/programs/{pid}")
    assert deleted.status_code == 303
    assert _batches(world, pid) == []
    assert event_count(world, "batch.updated") == 1
    assert event_count(world, "batch.deleted") == 1
    assert_ledger_ok(world)


def test_an_open_batch_is_not_a_draft(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=3)
    staff_session(world, "operator")
    refused = submit(world, f"/ops/batches/{bid}/delete", page=f"/ops/programs/{pid}")
    assert refused.status_code == 409
    assert "只有草稿批次可以修改或删除" in refused.text
    assert world.client.get(f"/ops/batches/{bid}/edit").status_code == 409


def test_closing_and_releasing_returns_the_unclaimed_money_at_once(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=10)  # ¥300 reserved
    claim(world, register(world), bid)
    before = world.budget(pid)
    staff_session(world, "operator")
    confirm = world.client.get(f"/ops/batches/{bid}/release")
    assert "9 张未领取的券作废，预留的 ¥270.00" in confirm.text
    assert world.budget(pid) == before
    released = submit(world, f"/ops/batches/{bid}/release", page=f"/ops/batches/{bid}/release")
    assert released.headers["location"] == f"/ops/programs/{pid}?done=batch_released"
    after = world.budget(pid)
    assert after["reserved_fen"] == before["reserved_fen"] - 27_000 == 3000
    assert after["available_fen"] == before["available_fen"] + 27_000
    [shown] = _batches(world, pid)
    assert (shown["status"], shown["recycled_count"]) == ("recycled", 9)
    again = submit(world, f"/ops/batches/{bid}/release", page=f"/ops/programs/{pid}")
    assert again.status_code == 409  # released once
    assert world.budget(pid) == after
    assert_ledger_ok(world)


def test_a_lottery_is_released_only_after_its_draw(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=3, allocation="lottery", name="摇号")
    open_batch(world, created["id"])
    bid = str(created["id"])
    resident = register(world)
    citizen_session(world, resident)
    assert submit(world, f"/wallet/batches/{bid}/register", page="/wallet").status_code == 303
    staff_session(world, "operator")
    early = submit(world, f"/ops/batches/{bid}/release", page=f"/ops/programs/{pid}")
    assert early.status_code == 409
    assert "摇号尚未开奖" in early.text
    advance(world, DAY)
    staff_session(world, "operator")  # a new day, a new sign-in
    lottery_page = f"/ops/batches/{bid}/lottery"
    drawn = submit(world, f"/ops/batches/{bid}/lottery/draw", page=lottery_page)
    assert drawn.headers["location"] == f"{lottery_page}?done=drawn"
    reserved = world.budget(pid)["reserved_fen"]
    released = submit(world, f"/ops/batches/{bid}/release", page=f"/ops/programs/{pid}")
    assert released.headers["location"] == f"/ops/programs/{pid}?done=batch_released"
    assert world.budget(pid)["reserved_fen"] == reserved - 2 * 3000  # one winner of three
    assert_ledger_ok(world)

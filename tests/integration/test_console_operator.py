"""The operator console: programs, voucher types and batches by form, opening a batch (money
moves), merchant review, and the dashboard — rendered server-side on both databases."""

from __future__ import annotations

from tests.conftest import World
from tests.integration.console_fixtures import staff_session, submit
from tests.integration.issuance_fixtures import (
    assert_ledger_ok,
    batch,
    claim,
    funded_program,
    register,
    voucher_type,
)
from tests.integration.merchant_fixtures import apply


def test_the_program_page_shows_the_budget_in_yuan_and_the_ledger_identity(world: World) -> None:
    pid = funded_program(world, amount_fen=1_234_567)
    staff_session(world, "operator")
    page = world.client.get(f"/ops/programs/{pid}")
    assert page.status_code == 200
    assert "¥12,345.67" in page.text
    assert "账本恒等式成立" in page.text
    listing = world.client.get("/ops")
    assert pid in listing.text


def test_a_voucher_type_form_is_checked_like_the_api_and_creates_the_type(world: World) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/voucher-types/new"
    form = {"name": "餐饮满100减30", "kind": "fixed", "face_value": "30", "min_spend": "100",
            "categories": ["catering"], "scenes": ["offline"], "validity_preset": "short"}
    refused = submit(world, f"/ops/programs/{pid}/voucher-types", {**form, "categories": []},
                     page=page)
    assert refused.status_code == 422
    assert 'data-test="form-errors"' in refused.text
    assert world.get("operator", f"/programs/{pid}/voucher-types").json()["items"] == []
    not_money = submit(world, f"/ops/programs/{pid}/voucher-types",
                       {**form, "face_value": "30.005"}, page=page)
    assert not_money.status_code == 422
    created = submit(world, f"/ops/programs/{pid}/voucher-types", form, page=page)
    assert created.status_code == 303
    types = world.get("operator", f"/programs/{pid}/voucher-types").json()["items"]
    assert [(t["face_value_fen"], t["min_spend_fen"]) for t in types] == [(3000, 10000)]


def test_creating_and_opening_a_batch_by_form_reserves_its_money(world: World) -> None:
    pid = funded_program(world, amount_fen=1_000_000)
    vt = voucher_type(world, pid)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/batches/new"
    assert world.client.get(page).status_code == 200
    form = {"voucher_type_id": vt["id"], "name": "第一轮", "quantity": "20",
            "allocation": "fcfs", "claim_opens_at": "2026-11-25T10:00",
            "claim_closes_at": "2026-12-01T10:00", "per_citizen_limit": "1",
            "regions": "330100", "min_age": "18", "max_age": "", "income_groups": ["normal"]}
    created = submit(world, f"/ops/programs/{pid}/batches", form, page=page)
    assert created.status_code == 303, created.text
    [made] = world.get("operator", f"/programs/{pid}/batches").json()["items"]
    assert made["status"] == "draft"
    assert made["claim_opens_at"].startswith("2026-11-25T02:00")  # 10:00 in Asia/Shanghai
    assert made["eligibility"] == {
        "all": [{"region_in": ["330100"]}, {"age_between": {"min": 18}},
                {"income_group_in": ["normal"]}]
    }
    assert world.budget(pid)["reserved_fen"] == 0
    opened = submit(world, f"/ops/batches/{made['id']}/open", page=f"/ops/programs/{pid}")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/ops/programs/{pid}?done=batch_opened"
    assert world.budget(pid)["reserved_fen"] == 20 * 3000
    shown = world.client.get(opened.headers["location"])
    assert "¥600.00" in shown.text
    assert "批次已开放" in shown.text
    assert_ledger_ok(world)


def test_opening_a_batch_beyond_the_budget_is_refused_in_words(world: World) -> None:
    pid = funded_program(world, amount_fen=10_000)
    vt = voucher_type(world, pid)
    draft = batch(world, pid, vt["id"], quantity=10)  # 10 × ¥30 > ¥100
    staff_session(world, "operator")
    refused = submit(world, f"/ops/batches/{draft['id']}/open", page=f"/ops/programs/{pid}")
    assert refused.status_code == 409
    assert 'data-code="INSUFFICIENT_BUDGET"' in refused.text
    assert world.budget(pid)["reserved_fen"] == 0


def test_a_bad_batch_form_keeps_what_was_typed_and_says_what_is_wrong(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    staff_session(world, "operator")
    refused = submit(world, f"/ops/programs/{pid}/batches",
                     {"voucher_type_id": vt["id"], "name": "坏批次", "quantity": "很多",
                      "allocation": "fcfs", "claim_opens_at": "2026-11-25T10:00",
                      "claim_closes_at": "2026-12-01T10:00"},
                     page=f"/ops/programs/{pid}/batches/new")
    assert refused.status_code == 422
    assert 'value="坏批次"' in refused.text
    assert "quantity" in refused.text
    assert world.get("operator", f"/programs/{pid}/batches").json()["items"] == []


def test_a_lottery_batch_by_form_reserves_places_and_tickets_for_a_priority_group(
    world: World,
) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/batches/new"
    assert 'data-test="reserve-elderly"' in world.client.get(page).text
    groups = ["elderly", "low_income", "disabled"]
    form = {"voucher_type_id": vt["id"], "name": "摇号轮", "quantity": "20",
            "allocation": "lottery", "claim_opens_at": "2026-11-25T10:00",
            "claim_closes_at": "2026-12-01T10:00", "per_citizen_limit": "1",
            "reserve_group": groups, "reserve_quantity": ["5", "", ""],
            "reserve_release": ["2026-11-28T10:00", "", ""], "reserve_tickets": ["3", "1", "1"]}
    refused = submit(world, f"/ops/programs/{pid}/batches",
                     {**form, "reserve_tickets": ["11", "1", "1"]}, page=page)
    assert refused.status_code == 422
    assert 'value="11"' in refused.text  # what was typed is kept
    assert world.get("operator", f"/programs/{pid}/batches").json()["items"] == []
    created = submit(world, f"/ops/programs/{pid}/batches", form, page=page)
    assert created.status_code == 303, created.text
    [made] = world.get("operator", f"/programs/{pid}/batches").json()["items"]
    assert made["reserved"] == [{
        "group": "elderly", "quantity": 5, "opens_at": None,
        "release_at": "2026-11-28T02:00:00Z", "tickets": 3,
    }]


def test_the_review_queue_approves_and_refuses_a_rejection_without_reason(world: World) -> None:
    waiting, _ = apply(world)
    other, _ = apply(world)
    staff_session(world, "operator")
    queue = world.client.get("/ops/merchants")
    assert waiting["id"] in queue.text
    assert other["id"] in queue.text
    no_reason = submit(world, f"/ops/merchants/{other['id']}/review",
                       {"decision": "reject", "reason": " "}, page="/ops/merchants")
    assert no_reason.status_code == 422
    assert "驳回或暂停商户必须填写理由" in no_reason.text
    approved = submit(world, f"/ops/merchants/{waiting['id']}/review",
                      {"decision": "approve"}, page="/ops/merchants")
    assert approved.status_code == 303
    assert world.get("operator", f"/merchants/{waiting['id']}").json()["status"] == "approved"
    record = world.client.get(approved.headers["location"])
    assert "已通过该商户" in record.text
    assert world.users["operator"].id in record.text  # who decided, in the history
    assert waiting["id"] not in world.client.get("/ops/merchants").text


def test_the_dashboard_counts_claims_by_day_region_and_type(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    opened = batch(world, pid, vt["id"], quantity=5)
    world.post("operator", f"/batches/{opened['id']}/open")
    for citizen in (register(world), register(world, region="330102")):
        assert claim(world, citizen, opened["id"]).status_code == 201
    staff_session(world, "auditor")
    page = world.client.get(f"/ops/programs/{pid}/dashboard")
    assert page.status_code == 200
    assert '<div data-test="claimed"><dt>已领取</dt><dd class="money">2</dd></div>' in page.text
    assert "330106" in page.text
    assert "330102" in page.text
    assert "餐饮满100减30" in page.text
    assert page.text.count("<svg") >= 4

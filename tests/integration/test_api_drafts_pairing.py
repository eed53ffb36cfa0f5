"""The API's thin routes over the program office's services (issue 15): draft voucher types and
batches changed and deleted, a batch closed and released, a merchant's appeal decided by an
operator, and a counter device paired by a one-time code. Bad input is a 4xx problem with a
stable code, and each route refuses the roles it does not name. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import World
from tests.integration.issuance_fixtures import (
    FIXED,
    assert_ledger_ok,
    batch,
    batch_body,
    claim,
    funded_program,
    open_batch,
    open_fcfs_batch,
    register,
    voucher_type,
)
from tests.integration.merchant_fixtures import (
    apply,
    approved,
    bearer,
    get_as,
    post_as,
    review,
    terminal,
)


def _put(world: World, who: str, path: str, body: Any) -> Any:
    return world.client.put(f"/api/v1{path}", json=body, headers=world.headers(who))


def _delete(world: World, who: str, path: str) -> Any:
    return world.client.delete(f"/api/v1{path}", headers=world.headers(who))


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text


# --- drafts -----------------------------------------------------------------------------------


def test_an_unused_voucher_type_is_changed_then_deleted(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    changed = _put(world, "operator", f"/voucher-types/{vt['id']}",
                   {**FIXED, "name": "餐饮满100减20", "face_value_fen": 2000})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["id"], changed.json()["face_value_fen"]) == (vt["id"], 2000)
    # Bad input: a problem naming the rule, not a 500; an unknown field is refused.
    _problem(_put(world, "operator", f"/voucher-types/{vt['id']}",
                  {**FIXED, "face_value_fen": -5}), 422, "VALIDATION_FAILED")
    _problem(_put(world, "operator", f"/voucher-types/{vt['id']}", {**FIXED, "bonus": 1}),
             422, "VALIDATION_FAILED")
    _problem(_put(world, "operator", "/voucher-types/vtp_nope", FIXED), 404, "NOT_FOUND")
    # Roles: the auditor reads, changes nothing; another issuer's operator is refused.
    assert _put(world, "auditor", f"/voucher-types/{vt['id']}", FIXED).status_code == 403
    _problem(_delete(world, "outsider", f"/voucher-types/{vt['id']}"), 403, "OTHER_ISSUER")
    assert _delete(world, "operator", f"/voucher-types/{vt['id']}").status_code == 204
    _problem(world.get("operator", f"/voucher-types/{vt['id']}"), 404, "NOT_FOUND")


def test_a_type_a_batch_uses_is_fixed(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    batch(world, pid, vt["id"])
    _problem(_put(world, "operator", f"/voucher-types/{vt['id']}", FIXED), 409,
             "VOUCHER_TYPE_IN_USE")
    _problem(_delete(world, "operator", f"/voucher-types/{vt['id']}"), 409, "VOUCHER_TYPE_IN_USE")


def test_a_draft_batch_is_changed_then_deleted_and_an_open_one_is_not_a_draft(
    world: World,
) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    draft = batch(world, pid, vt["id"], quantity=10)
    changed = _put(world, "operator", f"/batches/{draft['id']}",
                   batch_body(vt["id"], quantity=20, name="第二轮"))
    assert changed.status_code == 200, changed.text
    assert (changed.json()["quantity"], changed.json()["name"]) == (20, "第二轮")
    _problem(_put(world, "operator", f"/batches/{draft['id']}",
                  batch_body(vt["id"], allocation="lottery")), 422, "BATCH_ALLOCATION_FIXED")
    _problem(_put(world, "operator", f"/batches/{draft['id']}",
                  batch_body(vt["id"], quantity="many")), 422, "VALIDATION_FAILED")
    assert _delete(world, "agent", f"/batches/{draft['id']}").status_code == 403
    assert _delete(world, "operator", f"/batches/{draft['id']}").status_code == 204
    _problem(_delete(world, "operator", f"/batches/{draft['id']}"), 404, "NOT_FOUND")
    opened = batch(world, pid, vt["id"], quantity=3)
    open_batch(world, opened["id"])
    _problem(_delete(world, "operator", f"/batches/{opened['id']}"), 409, "BATCH_NOT_DRAFT")
    _problem(_put(world, "operator", f"/batches/{opened['id']}", batch_body(vt["id"])), 409,
             "BATCH_NOT_DRAFT")


def test_closing_and_releasing_a_batch_returns_its_unclaimed_money_now(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=10)  # ¥300 reserved
    assert claim(world, register(world), bid).status_code == 201
    before = world.budget(pid)
    assert world.post("auditor", f"/batches/{bid}/release").status_code == 403
    _problem(world.post("outsider", f"/batches/{bid}/release"), 403, "OTHER_ISSUER")
    released = world.post("operator", f"/batches/{bid}/release")
    assert released.status_code == 200, released.text
    assert released.json() == {
        "batch_id": bid, "status": "recycled", "released_count": 9, "released_fen": 27_000
    }
    after = world.budget(pid)
    assert after["available_fen"] == before["available_fen"] + 27_000
    assert world.post("operator", f"/batches/{bid}/release").status_code == 409  # once
    _problem(world.post("operator", "/batches/bat_nope/release"), 404, "NOT_FOUND")
    assert_ledger_ok(world)


def test_a_lottery_is_not_released_before_its_draw(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=3, allocation="lottery", name="摇号")
    open_batch(world, created["id"])
    _problem(world.post("operator", f"/batches/{created['id']}/release"), 409,
             "LOTTERY_NOT_DRAWN")


# --- appeals ----------------------------------------------------------------------------------


def test_a_rejected_merchant_appeals_and_an_operator_decides(world: World) -> None:
    merchant, owner_key = apply(world)
    mid = merchant["id"]
    _problem(post_as(world, owner_key, f"/merchants/{mid}/appeals", {"grounds": "请复核"}),
             409, "APPEAL_NOT_ALLOWED")  # not rejected (yet)
    assert review(world, mid, "reject", "营业执照照片不清晰").status_code == 200
    _problem(post_as(world, owner_key, f"/merchants/{mid}/appeals", {"grounds": "  "}),
             422, "APPEAL_GROUNDS_REQUIRED")
    _problem(post_as(world, owner_key, f"/merchants/{mid}/appeals", {"reason": "x"}),
             422, "VALIDATION_FAILED")
    # Staff do not appeal for the merchant; the merchant appeals only for itself.
    assert world.post("operator", f"/merchants/{mid}/appeals", {"grounds": "x"}).status_code == 403
    other, other_key = apply(world)
    _problem(post_as(world, other_key, f"/merchants/{mid}/appeals", {"grounds": "x"}),
             404, "NOT_FOUND")
    filed = post_as(world, owner_key, f"/merchants/{mid}/appeals",
                    {"grounds": "已重新上传清晰的营业执照"})
    assert filed.status_code == 201, filed.text
    assert filed.json()["merchant"]["status"] == "submitted"
    assert filed.json()["appeal"]["grounds"] == "已重新上传清晰的营业执照"
    again = post_as(world, owner_key, f"/merchants/{mid}/appeals", {"grounds": "再次申诉"})
    _problem(again, 409, "APPEAL_NOT_ALLOWED")
    listed = world.get("auditor", f"/merchants/{mid}/appeals")
    assert [a["id"] for a in listed.json()] == [filed.json()["appeal"]["id"]]
    assert get_as(world, owner_key, f"/merchants/{mid}/appeals").status_code == 200
    _problem(world.get("outsider", f"/merchants/{mid}/appeals"), 403, "OTHER_ISSUER")
    decided = review(world, mid, "approve")  # the operator decides the appeal by reviewing
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    assert other["id"] != mid


# --- pairing ----------------------------------------------------------------------------------


def test_a_pairing_code_gives_one_device_the_terminals_new_key(world: World) -> None:
    merchant, owner_key = approved(world)
    mid = merchant["id"]
    issued = terminal(world, mid, owner_key)
    tid, old_key = issued["terminal_id"], issued["api_key"]
    path = f"/merchants/{mid}/terminals/{tid}/pairings"
    assert world.post("auditor", path).status_code == 403
    assert post_as(world, old_key, path).status_code == 403  # a till pairs no other device
    _problem(world.post("outsider", path), 403, "OTHER_ISSUER")
    _problem(post_as(world, owner_key, f"/merchants/{mid}/terminals/ter_nope/pairings"),
             404, "NOT_FOUND")
    offered = post_as(world, owner_key, path)
    assert offered.status_code == 201, offered.text
    code = offered.json()["code"]
    assert offered.json()["pair_url"].endswith(f"/cashier/pair?code={code}")
    assert world.post("operator", path).status_code == 201  # the reviewer may offer one too
    # The device: no credentials, only the code.
    _problem(world.client.post("/api/v1/pairings/redeem", json={"code": "not-a-code"}),
             404, "PAIRING_CODE_UNKNOWN")
    _problem(world.client.post("/api/v1/pairings/redeem", json={}), 422, "VALIDATION_FAILED")
    _problem(world.client.post("/api/v1/pairings/redeem", json={"code": "x" * 201}),
             422, "VALIDATION_FAILED")
    paired = world.client.post("/api/v1/pairings/redeem", json={"code": code})
    assert paired.status_code == 200, paired.text
    answer = paired.json()
    assert (answer["terminal_id"], answer["merchant_id"]) == (tid, mid)
    new_key = answer["api_key"]
    assert world.client.get("/api/v1/merchants/mine", headers=bearer(new_key)).status_code == 200
    assert world.client.get("/api/v1/merchants/mine", headers=bearer(old_key)).status_code == 401
    _problem(world.client.post("/api/v1/pairings/redeem", json={"code": code}),
             409, "PAIRING_CODE_USED")
    late = post_as(world, owner_key, path).json()["code"]
    world.runtime.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    _problem(world.client.post("/api/v1/pairings/redeem", json={"code": late}),
             410, "PAIRING_CODE_EXPIRED")

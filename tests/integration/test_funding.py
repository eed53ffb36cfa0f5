"""Programs are funded through contributions; big ones wait for a second person."""

from __future__ import annotations

from typing import Any

from tests.conftest import World

THRESHOLD = 1_000_000  # the test settings' approval threshold


def contribute(world: World, program: dict[str, Any], funder: dict[str, Any], amount: int) -> Any:
    return world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": amount, "note": "第一批资金"},
    )


def test_contribution_at_or_below_threshold_counts_at_once(world: World) -> None:
    program, funder = world.program(), world.funder()
    response = contribute(world, program, funder, THRESHOLD)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "approved"
    budget = world.budget(program["id"])
    assert budget["funded_fen"] == THRESHOLD
    assert budget["available_fen"] == THRESHOLD
    assert budget["identity_holds"] is True


def test_contribution_above_threshold_does_not_count_until_a_second_person_approves(
    world: World,
) -> None:
    program, funder = world.program(), world.funder()
    pending = contribute(world, program, funder, THRESHOLD + 1).json()
    assert pending["status"] == "pending_approval"
    assert world.budget(program["id"])["funded_fen"] == 0
    assert world.budget(program["id"])["pending_contributions_fen"] == THRESHOLD + 1

    approved = world.post("checker", f"/contributions/{pending['id']}/approve", {})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"].startswith("staff:")
    budget = world.budget(program["id"])
    assert budget["funded_fen"] == THRESHOLD + 1
    assert budget["pending_contributions_fen"] == 0


def test_the_maker_cannot_approve_their_own_contribution(world: World) -> None:
    program, funder = world.program(), world.funder()
    pending = contribute(world, program, funder, THRESHOLD * 5).json()
    response = world.post("operator", f"/contributions/{pending['id']}/approve", {})
    assert response.status_code == 403
    assert response.json()["code"] == "MAKER_CHECKER_SAME_PERSON"
    assert world.budget(program["id"])["funded_fen"] == 0


def test_a_rejected_contribution_never_counts_and_cannot_be_approved_later(world: World) -> None:
    program, funder = world.program(), world.funder()
    pending = contribute(world, program, funder, THRESHOLD * 5).json()
    no_reason = world.post("checker", f"/contributions/{pending['id']}/reject", {"reason": " "})
    assert no_reason.json()["code"] == "REASON_REQUIRED"
    rejected = world.post(
        "checker", f"/contributions/{pending['id']}/reject", {"reason": "金额与拨款文件不符"}
    )
    assert rejected.json()["status"] == "rejected"
    again = world.post("admin", f"/contributions/{pending['id']}/approve", {})
    assert again.status_code == 409
    assert again.json()["code"] == "MOVEMENT_NOT_PENDING"
    assert world.budget(program["id"])["funded_fen"] == 0


def test_an_operator_of_another_issuer_cannot_touch_the_program(world: World) -> None:
    program, funder = world.program(), world.funder()
    pending = contribute(world, program, funder, THRESHOLD * 5).json()
    assert world.post("outsider", f"/contributions/{pending['id']}/approve", {}).status_code == 403
    response = world.post(
        "outsider",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": 100},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "OTHER_ISSUER"
    assert world.get("outsider", f"/programs/{program['id']}/budget").status_code == 403


def test_returns_hand_back_at_most_what_a_funder_put_in(world: World) -> None:
    program = world.program()
    city, bank = world.funder("市财政局"), world.funder("合作银行", "bank")
    contribute(world, program, city, 600_000)
    contribute(world, program, bank, 400_000)
    too_much = world.post(
        "operator",
        f"/programs/{program['id']}/returns",
        {"funder_id": bank["id"], "amount_fen": 400_001, "reason": "项目结余退回"},
    )
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "EXCEEDS_FUNDER_CONTRIBUTION"
    assert too_much.json()["returnable_fen"] == 400_000
    ok = world.post(
        "operator",
        f"/programs/{program['id']}/returns",
        {"funder_id": bank["id"], "amount_fen": 150_000, "reason": "项目结余退回"},
    )
    assert ok.status_code == 201, ok.text
    budget = world.budget(program["id"])
    assert budget["funded_fen"] == 1_000_000
    assert budget["available_fen"] == 850_000
    assert budget["returned_fen"] == 150_000
    assert budget["identity_holds"]
    listed = world.get("auditor", f"/programs/{program['id']}/returns").json()
    assert [r["amount_fen"] for r in listed["items"]] == [150_000]


def test_a_closed_program_takes_no_contributions_but_can_return_money(world: World) -> None:
    program, funder = world.program(), world.funder()
    contribute(world, program, funder, 500_000)
    assert world.post("operator", f"/programs/{program['id']}/close").status_code == 200
    refused = contribute(world, program, funder, 100)
    assert refused.status_code == 409
    assert refused.json()["code"] == "PROGRAM_CLOSED"
    back = world.post(
        "operator",
        f"/programs/{program['id']}/returns",
        {"funder_id": funder["id"], "amount_fen": 500_000, "reason": "项目结束，余额退回"},
    )
    assert back.status_code == 201, back.text
    assert world.budget(program["id"])["available_fen"] == 0


def test_a_big_return_waits_for_approval_and_is_checked_again_then(world: World) -> None:
    program, funder = world.program(), world.funder()
    contribute(world, program, funder, THRESHOLD)
    # The day's unchecked allowance is used up, so the second one waits for the checker too.
    second = contribute(world, program, funder, THRESHOLD).json()
    assert second["status"] == "pending_approval"
    assert world.post("checker", f"/contributions/{second['id']}/approve", {}).status_code == 200
    pending = world.post(
        "operator",
        f"/programs/{program['id']}/returns",
        {"funder_id": funder["id"], "amount_fen": THRESHOLD + 500, "reason": "退回"},
    ).json()
    assert pending["status"] == "pending_approval"
    assert world.budget(program["id"])["returned_fen"] == 0
    small = world.post(
        "checker",
        f"/programs/{program['id']}/returns",
        {"funder_id": funder["id"], "amount_fen": THRESHOLD, "reason": "先退一部分"},
    )
    assert small.status_code == 201
    late = world.post("checker", f"/returns/{pending['id']}/approve", {})
    assert late.status_code == 409
    assert late.json()["code"] == "INSUFFICIENT_BUDGET"
    assert world.budget(program["id"])["returned_fen"] == THRESHOLD


def test_contributions_are_listed_page_by_page(world: World) -> None:
    program, funder = world.program(), world.funder()
    for amount in range(1, 6):
        contribute(world, program, funder, amount)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = world.get("auditor", f"/programs/{program['id']}/contributions", **params).json()
        seen += [item["amount_fen"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [1, 2, 3, 4, 5]
    bad = world.get("auditor", f"/programs/{program['id']}/contributions", cursor="%%%")
    assert bad.status_code == 422
    assert bad.json()["code"] == "INVALID_CURSOR"

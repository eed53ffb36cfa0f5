"""The program office's money in the console: funders (once per form), contributions above the
threshold waiting in the approval queue, which shows who asked, when and how much, and lets
anyone but the requester approve or reject (with a reason); returns refused in yuan; the budget
identity and the ledger's history — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from quan.store.tables import fund_movements, funders
from quan.web.i18n import Translator
from tests.conftest import World
from tests.integration.console_fixtures import staff_session, submit
from tests.integration.issuance_fixtures import assert_ledger_ok

ZH, EN = Translator("zh"), Translator("en")
_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def keys(world: World, page: str) -> list[str]:
    return _KEY.findall(world.client.get(page).text)


def rows(world: World, table: object) -> int:
    with world.runtime.db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def active_program(world: World) -> str:
    pid = str(world.program()["id"])
    assert world.post("operator", f"/programs/{pid}/activate").status_code == 200
    return pid


def test_a_funder_form_posted_twice_with_one_key_adds_one_funder(world: World) -> None:
    staff_session(world, "operator")
    [key] = keys(world, "/ops/funders")
    form = {"name": "杭州市财政局", "kind": "department", "form_key": key}
    first = submit(world, "/ops/funders", form, page="/ops/funders")
    again = submit(world, "/ops/funders", form, page="/ops/funders")
    assert first.status_code == again.status_code == 303
    assert rows(world, funders) == 1
    listed = world.client.get("/ops/funders?lang=en")
    assert "杭州市财政局" in listed.text
    assert EN("office.funder_kind.department") in listed.text
    [fresh] = keys(world, "/ops/funders")
    same_name = submit(world, "/ops/funders", {**form, "form_key": fresh}, page="/ops/funders")
    assert same_name.status_code == 422
    assert 'data-test="error-name"' in same_name.text
    assert "already exists" in same_name.text


def test_a_big_contribution_waits_and_a_second_person_approves_it_in_the_queue(
    world: World,
) -> None:
    pid = active_program(world)
    funder = world.funder()
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/money"
    contribute_key, _ = keys(world, page)
    form = {
        "funder_id": funder["id"],
        "amount": "30,000.50",
        "note": "第一笔",
        "form_key": contribute_key,
    }
    first = submit(world, f"/ops/programs/{pid}/contributions", form, page=page)
    again = submit(world, f"/ops/programs/{pid}/contributions", form, page=page)
    assert first.status_code == again.status_code == 303
    assert rows(world, fund_movements) == 1
    assert world.budget(pid)["funded_fen"] == 0
    assert world.budget(pid)["pending_contributions_fen"] == 3_000_050
    # The requester sees it waiting, with no button to decide it.
    mine = world.client.get("/ops/approvals")
    assert "¥30,000.50" in mine.text
    assert ZH("office.approvals.yours") in mine.text
    assert 'data-test="approve"' not in mine.text
    [movement_id] = re.findall(r'data-movement="([^"]+)"', mine.text)
    # ... and is refused if it tries anyway.
    own = submit(
        world,
        f"/ops/movements/{movement_id}/approve",
        {"confirm": "yes", "form_key": "own-try-12345"},
        page="/ops/approvals",
    )
    assert own.status_code == 403
    assert "发起人不能审批自己发起的资金变动" in own.text
    assert "MAKER_CHECKER" not in own.text.replace('data-code="MAKER_CHECKER_SAME_PERSON"', "")
    # The second person sees who asked, when (local time) and how much, and the buttons.
    staff_session(world, "checker")
    queue = world.client.get("/ops/approvals?lang=en")
    assert "op1 (op1)" in queue.text
    assert "2026-11-25 10:00" in queue.text  # 02:00 UTC, in Asia/Shanghai
    assert 'data-test="approve"' in queue.text
    assert 'data-test="reject"' in queue.text
    unticked = submit(
        world,
        f"/ops/movements/{movement_id}/approve",
        {"form_key": "checker-approve-1"},
        page="/ops/approvals",
    )
    assert unticked.status_code == 422
    assert 'data-test="error-confirm"' in unticked.text
    approve = {"confirm": "yes", "form_key": "checker-approve-2"}
    approved = submit(
        world, f"/ops/movements/{movement_id}/approve", approve, page="/ops/approvals"
    )
    twice = submit(world, f"/ops/movements/{movement_id}/approve", approve, page="/ops/approvals")
    assert approved.status_code == twice.status_code == 303
    assert world.budget(pid)["funded_fen"] == 3_000_050
    assert EN("office.approvals.none") in world.client.get("/ops/approvals").text
    money = world.client.get(page)
    assert "¥30,000.50" in money.text
    assert 'data-kind="contribution"' in money.text
    assert "op2 (op2)" in money.text  # who approved
    assert_ledger_ok(world)


def test_a_rejection_needs_a_reason_and_moves_no_money(world: World) -> None:
    pid = active_program(world)
    funder = world.funder()
    big = world.post(
        "operator",
        f"/programs/{pid}/contributions",
        {"funder_id": funder["id"], "amount_fen": 5_000_000},
    ).json()
    staff_session(world, "checker")
    bare = submit(
        world,
        f"/ops/movements/{big['id']}/reject",
        {"reason": " ", "form_key": "reject-no-reason"},
        page="/ops/approvals",
    )
    assert bare.status_code == 422
    assert 'data-test="error-reason"' in bare.text
    assert "请填写理由" in bare.text
    done = submit(
        world,
        f"/ops/movements/{big['id']}/reject",
        {"reason": "金额有误", "form_key": "reject-with-reason"},
        page="/ops/approvals",
    )
    assert done.status_code == 303
    assert world.budget(pid)["funded_fen"] == 0
    money = world.client.get(f"/ops/programs/{pid}/money")
    assert "金额有误" in money.text
    assert 'data-status="rejected"' in money.text


def test_returns_are_confirmed_and_refused_in_yuan_next_to_the_amount(world: World) -> None:
    pid = active_program(world)
    funder = world.funder()
    world.post(
        "operator",
        f"/programs/{pid}/contributions",
        {"funder_id": funder["id"], "amount_fen": 500_000},
    )
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/money"
    _, return_key = keys(world, page)
    form = {
        "funder_id": funder["id"],
        "amount": "6000",
        "reason": "退回多余资金",
        "form_key": return_key,
    }
    unticked = submit(world, f"/ops/programs/{pid}/returns", form, page=page)
    assert unticked.status_code == 422
    assert 'data-test="error-confirm"' in unticked.text
    too_much = submit(
        world, f"/ops/programs/{pid}/returns?lang=en", {**form, "confirm": "yes"}, page=page
    )
    assert too_much.status_code == 422
    assert EN("refuse.INSUFFICIENT_BUDGET", needed_fen="¥6,000.00", available_fen="¥5,000.00") in (
        too_much.text
    )
    assert 'aria-describedby="r-e-amount"' in too_much.text
    assert " fen" not in too_much.text.split("<main")[1].split("</main>")[0]
    not_money = submit(
        world,
        f"/ops/programs/{pid}/returns",
        {**form, "amount": "12.345", "confirm": "yes"},
        page=page,
    )
    assert EN("refuse.amount", label=EN("office.money.amount")) in not_money.text
    done = submit(
        world,
        f"/ops/programs/{pid}/returns",
        {**form, "amount": "1000", "confirm": "yes"},
        page=page,
    )
    assert done.status_code == 303
    assert world.budget(pid)["returned_fen"] == 100_000
    history = world.client.get(page).text
    assert 'data-kind="return"' in history
    assert (
        EN(
            "office.money.identity_sum",
            funded="¥5,000.00",
            available="¥4,000.00",
            reserved="¥0.00",
            payable="¥0.00",
            paid="¥0.00",
            returned="¥1,000.00",
        )
        in history
    )
    assert_ledger_ok(world)


def test_auditors_read_the_money_but_cannot_move_it(world: World) -> None:
    pid = active_program(world)
    funder = world.funder()
    world.post(
        "operator",
        f"/programs/{pid}/contributions",
        {"funder_id": funder["id"], "amount_fen": 5_000_000},
    )
    staff_session(world, "auditor")
    money = world.client.get(f"/ops/programs/{pid}/money")
    assert money.status_code == 200
    assert 'data-test="contribute"' not in money.text
    queue = world.client.get("/ops/approvals")
    assert "¥50,000.00" in queue.text
    assert 'data-test="approve"' not in queue.text
    # Another issuer's operator sees neither the program nor its queue.
    staff_session(world, "outsider")
    assert world.client.get(f"/ops/programs/{pid}/money").status_code == 403
    assert "¥50,000.00" not in world.client.get("/ops/approvals").text

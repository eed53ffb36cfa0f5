"""Settlement follow-through in the console: a second person confirms the payout (whoever ran
the settlement is told someone else must, and is refused), the ledger moves the money from
payable to paid; a run with nothing to settle is refused in words at the date and records
nothing; the CSV downloads speak the page's language with amounts in yuan, formulas defused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from quan.store.redemption_tables import settlement_runs
from tests.conftest import World
from tests.integration.console_fixtures import staff_session, submit
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    assert_ledger_ok,
    claim,
    funded_program,
    open_fcfs_batch,
    register,
)
from tests.integration.merchant_fixtures import approved, terminal


def _settled(world: World, merchant_name: str = "知味小吃") -> tuple[str, str]:
    """A ¥120 order (¥30 off) redeemed yesterday, settled by the operator: (program, run)."""
    pid, bid = open_fcfs_batch(world)
    code = claim(world, register(world), bid).json()["code"]
    merchant, owner_key = approved(world, name=merchant_name)
    issued = terminal(world, merchant["id"], owner_key)
    assert submit(world, "/cashier/signin", {"api_key": issued["api_key"]},
                  page="/cashier/signin").status_code == 303
    assert submit(world, "/cashier/redeem", {"code": code, "amount": "120",
                  "category": "catering", "redeem_key": "payout-test-key"},
                  page="/cashier").status_code == 200
    advance(world, DAY)
    staff_session(world, "operator")
    ran = submit(world, f"/ops/programs/{pid}/settlements", {"run_key": "payout-run-key"},
                 page=f"/ops/programs/{pid}/settlements")
    assert ran.status_code == 303, ran.text
    return pid, ran.headers["location"].rsplit("/", 1)[1]


def _runs(world: World) -> int:
    with world.runtime.db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(settlement_runs)).scalar_one())


def test_a_second_person_confirms_the_payout_and_the_money_moves(world: World) -> None:
    pid, run = _settled(world)
    page = f"/ops/settlements/{run}"
    mine = world.client.get(page).text
    assert 'data-test="payout-other-person"' in mine  # the operator ran it
    assert 'data-test="mark-paid"' not in mine
    refused = submit(world, f"{page}/payouts", {"payment_ref": "B-1", "confirmed": "yes"},
                     page=page)
    assert refused.status_code == 403
    assert "执行结算的人员不能确认同一结算的付款" in refused.text
    staff_session(world, "admin")
    theirs = world.client.get(page).text
    assert 'data-test="mark-paid"' in theirs
    assert "1 家商户的结算单待付款，共 ¥30.00。" in theirs
    unticked = submit(world, f"{page}/payouts", {"payment_ref": "B-1"}, page=page)
    assert unticked.status_code == 422
    assert 'id="f-confirmed" aria-invalid="true"' in unticked.text
    assert 'value="B-1"' in unticked.text  # what was typed is kept
    no_ref = submit(world, f"{page}/payouts", {"payment_ref": " ", "confirmed": "yes"},
                    page=page)
    assert 'id="f-payment_ref" aria-invalid="true"' in no_ref.text
    before = world.budget(pid)
    paid = submit(world, f"{page}/payouts", {"payment_ref": "B-1", "confirmed": "yes"},
                  page=page)
    assert paid.headers["location"] == f"{page}?done=payout_paid"
    after = world.budget(pid)
    assert after["payable_fen"] == before["payable_fen"] - 3000
    assert after["paid_fen"] == before["paid_fen"] + 3000
    done = world.client.get(paid.headers["location"]).text
    assert "已确认付款。" in done
    assert 'data-test="payout-confirm"' not in done  # nothing is pending any more
    assert world.get("admin", f"/settlements/{run}/statements").json()["items"][0][
        "payout_status"] == "paid"
    assert_ledger_ok(world)


def test_nothing_to_settle_is_said_at_the_date_and_records_no_run(world: World) -> None:
    pid = funded_program(world)
    advance(world, DAY)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/settlements"
    empty = submit(world, page, {"run_key": "empty-run-key"}, page=page)
    assert empty.status_code in (409, 422)
    assert 'id="f-cut_off_date" aria-invalid="true"' in empty.text
    assert "不记录空的结算" in empty.text
    assert _runs(world) == 0
    not_a_day = submit(world, page, {"run_key": "bad-day-key", "cut_off_date": "昨天"},
                       page=page)
    assert "截止日期须为日期" in not_a_day.text
    assert _runs(world) == 0


def test_a_settled_day_is_not_offered_again(world: World) -> None:
    pid, _ = _settled(world)
    page = world.client.get(f"/ops/programs/{pid}/settlements").text
    assert 'data-test="nothing-to-settle"' in page
    assert "该截止日期已结算" in page
    assert 'data-test="run-settlement"' not in page  # no button that can only be refused


def _csv(response: Any) -> list[str]:
    assert response.headers["content-type"].startswith("text/csv")
    return [line for line in response.text.lstrip("\ufeff").split("\r\n") if line]


def test_csv_downloads_speak_the_page_language_in_yuan_and_defuse_formulas(world: World) -> None:
    _, run = _settled(world, merchant_name="=HYPERLINK(\"http://x\",\"点此\")")
    staff_session(world, "admin")  # the operator's own export is recorded too; either may
    statements = _csv(world.client.get(f"/ops/settlements/{run}/statements.csv"))
    assert statements[0].startswith("结算单号,商户编号,核销笔数,本期核销金额（元）")
    assert ",30.00," in statements[1]
    assert "待付款" in statements[1]
    english = _csv(world.client.get(f"/ops/settlements/{run}/statements.csv?lang=en"))
    assert english[0].startswith("Settlement,Merchant ID,Redemptions,This period (yuan)")
    assert "Pending" in english[1]
    # ?lang= is remembered like the header switch: back to Chinese for the bank's file.
    payouts = _csv(world.client.get(f"/ops/settlements/{run}/payout-file.csv?lang=zh"))
    assert "付款金额（元）" in payouts[0]
    assert "amount_fen" not in payouts[0]
    assert ",30.00," in payouts[1]
    assert "'=HYPERLINK" in payouts[1]  # a name typed as a formula stays text
    # The API's copy keeps the machine columns (codes, fen).
    api = world.client.get(f"/api/v1/settlements/{run}/statements?format=csv",
                           headers={"Authorization": f"Bearer {world.token('admin')}"})
    assert api.text.lstrip("\ufeff").startswith("settlement_id,merchant_id")

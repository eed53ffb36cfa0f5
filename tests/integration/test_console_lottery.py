"""The lottery in the console, on both databases: the operator's lottery page (registration,
commitment, the draw and its refusals, the revealed seed, the public record and how to verify),
and the wallet's side (entering a lottery, refusals in words, the result: won → the voucher, not
won → said plainly)."""

from __future__ import annotations

from sqlalchemy import select

from quan.services.issuance.lottery import ALREADY_DRAWN, REGISTRATION_STILL_OPEN, registration_of
from quan.store.lottery_tables import lottery_registrations
from quan.web.i18n import Translator
from tests.conftest import World
from tests.integration.console_fixtures import citizen_session, staff_session, submit
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    batch,
    funded_program,
    open_batch,
    register,
    voucher_type,
)

ZH, EN = Translator("zh"), Translator("en")


def _lottery_batch(world: World, quantity: int = 1, **overrides: object) -> tuple[str, str]:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=quantity, allocation="lottery",
                    name="摇号第一轮", **overrides)
    open_batch(world, created["id"])
    return pid, str(created["id"])


def _outcome(world: World, citizen_id: str, bid: str) -> str | None:
    """won / lost (derived: only winners are recorded) / None before the draw."""
    with world.runtime.db.read() as tx:
        found = registration_of(tx, bid, citizen_id)
    assert found is not None
    return found.outcome


def test_a_resident_enters_a_lottery_from_the_wallet_once(world: World) -> None:
    _, bid = _lottery_batch(world)
    resident = register(world)
    citizen_session(world, resident)
    page = world.client.get("/wallet")
    assert f'data-batch="{bid}" data-standing="lottery"' in page.text
    assert ZH("wallet.enter") in page.text
    entered = submit(world, f"/wallet/batches/{bid}/register", page="/wallet")
    assert entered.status_code == 303
    assert entered.headers["location"].startswith(f"/wallet?entered={bid}")
    again = submit(world, f"/wallet/batches/{bid}/register", page="/wallet")
    assert again.status_code == 303  # entering twice answers the first registration
    with world.runtime.db.read() as tx:
        rows = tx.execute(select(lottery_registrations.c.id)
                          .where(lottery_registrations.c.batch_id == bid)).all()
    assert len(rows) == 1
    page = world.client.get(entered.headers["location"])
    assert 'data-test="entered"' in page.text
    assert f'data-batch="{bid}" data-standing="registered"' in page.text
    assert f'data-test="lottery" data-batch="{bid}" data-result="waiting"' in page.text
    assert 'data-test="enter-lottery"' not in page.text
    english = world.client.get("/wallet?lang=en")
    assert EN("standing.registered") in english.text
    assert EN("wallet.lotteries") in english.text


def test_an_ineligible_resident_is_told_why_in_words(world: World) -> None:
    _, bid = _lottery_batch(world, eligibility={"region_in": ["330100"]})
    outsider = register(world, region="330200")
    citizen_session(world, outsider)
    page = world.client.get("/wallet")
    assert f'data-batch="{bid}" data-standing="not_eligible"' in page.text
    refused = submit(world, f"/wallet/batches/{bid}/register", page="/wallet")
    assert refused.status_code == 403
    assert 'data-test="claim-error" data-code="NOT_ELIGIBLE"' in refused.text
    english = submit(world, f"/wallet/batches/{bid}/register?lang=en", page="/wallet")
    assert 'data-code="NOT_ELIGIBLE"' in english.text
    assert "330100" in english.text  # the rule, in words


def test_entering_after_registration_closed_is_refused_in_plain_words(world: World) -> None:
    _, bid = _lottery_batch(world)
    resident = register(world)
    advance(world, 2 * DAY)
    citizen_session(world, resident)
    refused = submit(world, f"/wallet/batches/{bid}/register", page="/wallet")
    assert refused.status_code == 409
    assert 'data-code="LOTTERY_REGISTRATION_CLOSED"' in refused.text
    # The batch is no longer listed, and the page still says why.
    assert "摇号报名已截止" in refused.text


def test_the_operator_sees_the_registration_and_cannot_draw_before_it_closes(
    world: World,
) -> None:
    pid, bid = _lottery_batch(world)
    citizen_session(world, register(world))
    submit(world, f"/wallet/batches/{bid}/register", page="/wallet")
    staff_session(world, "operator")
    program = world.client.get(f"/ops/programs/{pid}")
    assert f'href="/ops/batches/{bid}/lottery"' in program.text
    page = world.client.get(f"/ops/batches/{bid}/lottery")
    assert page.status_code == 200
    assert '<div data-test="registrants"><dt>报名人数</dt><dd>1</dd></div>' in page.text
    commitment = world.client.get(f"/api/v1/batches/{bid}/lottery").json()["commitment"]
    assert f'data-test="commitment">{commitment}<' in page.text
    assert 'data-drawn="no"' in page.text
    assert 'data-test="draw-blocked"' in page.text
    assert 'data-test="seed"' not in page.text
    early = submit(world, f"/ops/batches/{bid}/lottery/draw", page=f"/ops/batches/{bid}/lottery")
    assert early.status_code == 409
    assert f'data-code="{REGISTRATION_STILL_OPEN.code}"' in early.text
    assert ZH("lottery.refused") in early.text
    english = submit(world, f"/ops/batches/{bid}/lottery/draw?lang=en",
                     page=f"/ops/batches/{bid}/lottery")
    assert "cannot be drawn before registration closes" in english.text


def test_the_operator_draws_and_each_resident_sees_the_result(world: World) -> None:
    _, bid = _lottery_batch(world, quantity=1)
    first, second = register(world), register(world)
    for resident in (first, second):
        citizen_session(world, resident)
        assert submit(world, f"/wallet/batches/{bid}/register",
                      page="/wallet").status_code == 303
    advance(world, DAY)  # registration closes
    citizen_session(world, first)
    waiting = world.client.get("/wallet")
    assert f'data-batch="{bid}" data-result="awaiting_draw"' in waiting.text
    staff_session(world, "operator")
    lottery_page = f"/ops/batches/{bid}/lottery"
    assert 'data-test="draw"' in world.client.get(lottery_page).text
    drawn = submit(world, f"/ops/batches/{bid}/lottery/draw", page=lottery_page)
    assert drawn.status_code == 303
    assert drawn.headers["location"] == f"{lottery_page}?done=drawn"
    page = world.client.get(drawn.headers["location"])
    record = world.client.get(f"/api/v1/batches/{bid}/lottery").json()
    assert record["seed"]
    assert f'data-test="seed">{record["seed"]}<' in page.text
    assert '<div data-test="winners"><dt>中签人数</dt><dd>1</dd></div>' in page.text
    assert '<div data-test="issued"><dt>已发券</dt><dd>1</dd></div>' in page.text
    assert ZH("lottery.done_drawn", winners="1", issued="1") in page.text
    assert f'href="/api/v1/batches/{bid}/lottery"' in page.text
    assert f"quan lottery verify --url http://testserver --batch {bid}" in page.text
    assert 'data-test="draw"' not in page.text
    twice = submit(world, f"/ops/batches/{bid}/lottery/draw", page=lottery_page)
    assert twice.status_code == 409
    assert f'data-code="{ALREADY_DRAWN.code}"' in twice.text
    # The residents: the winner reaches the voucher, the other is told plainly.
    results = {resident: _outcome(world, resident, bid) for resident in (first, second)}
    assert sorted(v or "" for v in results.values()) == ["lost", "won"]
    winner = next(r for r, o in results.items() if o == "won")
    loser = next(r for r, o in results.items() if o == "lost")
    citizen_session(world, winner)
    won = world.client.get("/wallet")
    assert f'data-batch="{bid}" data-result="won"' in won.text
    assert ZH("wallet.result.won") in won.text
    voucher_link = won.text.split('data-test="won-voucher"')[0].rsplit('href="', 1)[1]
    voucher_id = voucher_link.split('"')[0].rsplit("/", 1)[1]
    voucher = world.client.get(f"/wallet/vouchers/{voucher_id}")
    assert voucher.status_code == 200
    assert 'data-test="qr"' in voucher.text
    citizen_session(world, loser)
    lost = world.client.get("/wallet?lang=en")
    assert f'data-batch="{bid}" data-result="lost"' in lost.text
    assert EN("wallet.result.lost") in lost.text
    assert 'data-test="won-voucher"' not in lost.text


def test_auditors_read_the_lottery_page_without_the_draw_button(world: World) -> None:
    _, bid = _lottery_batch(world)
    advance(world, DAY)
    staff_session(world, "auditor")
    page = world.client.get(f"/ops/batches/{bid}/lottery")
    assert page.status_code == 200
    assert 'data-test="draw"' not in page.text
    refused = submit(world, f"/ops/batches/{bid}/lottery/draw", page=f"/ops/batches/{bid}/lottery")
    assert refused.status_code == 403
    staff_session(world, "outsider")
    assert world.client.get(f"/ops/batches/{bid}/lottery").status_code in (403, 404)


def test_the_lottery_page_of_a_first_come_batch_says_it_is_not_a_lottery(world: World) -> None:
    from tests.integration.issuance_fixtures import open_fcfs_batch

    _, bid = open_fcfs_batch(world)
    staff_session(world, "operator")
    page = world.client.get(f"/ops/batches/{bid}/lottery")
    assert page.status_code == 409
    assert "WRONG_ALLOCATION" in page.text

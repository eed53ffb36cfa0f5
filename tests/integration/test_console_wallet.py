"""The citizen's wallet and the cashier screen, rendered server-side on both databases: SMS
sign-in, eligibility shown before claiming, a claim that a double submit cannot repeat, the QR
code, and redemption at the counter with its refusals in words."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from quan.store.voucher_tables import vouchers
from quan.web.session import Area
from tests.conftest import World
from tests.integration.console_fixtures import citizen_session, csrf, staff_session, submit
from tests.integration.issuance_fixtures import DAY, advance, claim, open_fcfs_batch, register
from tests.integration.merchant_fixtures import approved, terminal

PHONE = "13700001111"


def _citizen_with_phone(world: World, phone: str = PHONE) -> str:
    from quan.domain.citizens import RegistrationInput, validate_registration
    from quan.services.people import citizens
    from tests.citizen_samples import resident_id

    rt = world.runtime
    keys = citizens.CitizenKeys.from_settings(rt.settings)
    with rt.db.write() as tx:
        registration = validate_registration(
            RegistrationInput(resident_id=resident_id("330106", date(1960, 1, 2), 7),
                              name="王芳", region_code="330106", phone=phone),
            today=rt.clock.now().date(),
        )
        return citizens.register(tx, rt.clock.now(), world.users["operator"].actor(), keys,
                                 registration).id


def _last_code(world: World, phone: str) -> str:
    messages = world.get("admin", "/dev/outbox", limit=50).json()["items"]
    body = next(m["body"] for m in messages if m["recipient"] == phone)
    return next(w for w in "".join(c if c.isdigit() else " " for c in body).split()
                if len(w) == 6)


def test_a_resident_signs_in_with_the_sms_code(world: World) -> None:
    citizen_id = _citizen_with_phone(world)
    asked = submit(world, "/wallet/code", {"phone": "137 0000 1111"}, page="/wallet/signin")
    assert asked.status_code == 200
    assert 'name="code"' in asked.text
    wrong = submit(world, "/wallet/session", {"phone": PHONE, "code": "000000"},
                   page="/wallet/signin")
    assert wrong.status_code == 401
    assert 'data-test="signin-error"' in wrong.text
    signed = submit(world, "/wallet/session", {"phone": PHONE, "code": _last_code(world, PHONE)},
                    page="/wallet/signin")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/wallet"
    page = world.client.get("/wallet")
    assert page.status_code == 200
    assert world.client.cookies.get(Area.CITIZEN.cookie)
    assert citizen_id  # the session is this resident's: the wallet answered for them


def test_an_unregistered_phone_gets_the_same_next_step(world: World) -> None:
    asked = submit(world, "/wallet/code", {"phone": "13700009999"}, page="/wallet/signin")
    assert asked.status_code == 200
    assert 'name="code"' in asked.text


def test_the_wallet_says_who_may_claim_and_a_double_submit_claims_once(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=3, eligibility={"region_in": ["330100"]})
    resident, outsider = register(world, region="330106"), register(world, region="330200")
    citizen_session(world, outsider)
    page = world.client.get("/wallet")
    assert f'data-batch="{bid}" data-standing="not_eligible"' in page.text
    assert "330100" in page.text  # the failing rule, in words
    citizen_session(world, resident)
    page = world.client.get("/wallet")
    assert f'data-batch="{bid}" data-standing="claimable"' in page.text
    key = page.text.split('name="claim_key" value="')[1].split('"')[0]
    token = csrf(world, "/wallet")
    first = world.client.post(f"/wallet/batches/{bid}/claim",
                              data={"csrf": token, "claim_key": key}, follow_redirects=False)
    again = world.client.post(f"/wallet/batches/{bid}/claim",
                              data={"csrf": token, "claim_key": key}, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    with world.runtime.db.read() as tx:
        held = tx.execute(select(func.count()).select_from(vouchers)
                          .where(vouchers.c.citizen_id == resident)).scalar_one()
    assert held == 1
    voucher = world.client.get(first.headers["location"])
    assert voucher.status_code == 200
    assert "<svg" in voucher.text
    assert 'data-test="voucher-code"' in voucher.text
    assert "领取成功" in voucher.text
    refused = submit(world, f"/wallet/batches/{bid}/claim", {"claim_key": "another-key-1"},
                     page="/wallet")
    assert refused.status_code == 409
    assert 'data-test="claim-error"' in refused.text


def test_another_residents_voucher_is_not_found(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    owner, other = register(world), register(world)
    voucher_id = claim(world, owner, bid).json()["id"]
    citizen_session(world, other)
    assert world.client.get(f"/wallet/vouchers/{voucher_id}").status_code == 404


def _cashier(world: World) -> dict[str, Any]:
    """An approved merchant whose terminal is signed in at the cashier screen."""
    merchant, owner_key = approved(world)
    issued = terminal(world, merchant["id"], owner_key)
    signed = submit(world, "/cashier/signin", {"api_key": issued["api_key"]},
                    page="/cashier/signin")
    assert signed.status_code == 303
    return merchant


def test_only_a_terminal_key_opens_the_cashier_screen(world: World) -> None:
    merchant, owner_key = approved(world)
    refused = submit(world, "/cashier/signin", {"api_key": owner_key}, page="/cashier/signin")
    assert refused.status_code == 401
    refused = submit(world, "/cashier/signin", {"api_key": world.token("operator")},
                     page="/cashier/signin")
    assert refused.status_code == 401
    _cashier(world)
    page = world.client.get("/cashier")
    assert page.status_code == 200
    assert merchant["name"] in page.text


def test_the_cashier_redeems_and_is_told_the_discount_and_what_the_customer_pays(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world)
    code = claim(world, register(world), bid).json()["code"]
    _cashier(world)
    form = world.client.get("/cashier").text
    key = form.split('name="redeem_key" id="redeem-key" value="')[1].split('"')[0]
    below = submit(world, "/cashier/redeem",
                   {"code": code, "amount": "50", "category": "catering", "redeem_key": key},
                   page="/cashier", **{"HX-Request": "true"})
    assert below.status_code == 422
    assert 'data-code="BELOW_MIN_SPEND"' in below.text
    done = submit(world, "/cashier/redeem",
                  {"code": code.lower(), "amount": "120.00", "category": "catering",
                   "redeem_key": key},
                  page="/cashier", **{"HX-Request": "true"})
    assert done.status_code == 200, done.text
    assert '<dd class="money" data-test="discount">−¥30.00</dd>' in done.text
    assert '<dd class="money pays" data-test="customer-pays">¥90.00</dd>' in done.text
    assert 'hx-swap-oob="true"' in done.text  # a fresh key for the next customer
    twice = submit(world, "/cashier/redeem",
                   {"code": code, "amount": "120", "category": "catering",
                    "redeem_key": "a-new-key-123"},
                   page="/cashier", **{"HX-Request": "true"})
    assert twice.status_code == 409
    assert 'data-code="ALREADY_REDEEMED"' in twice.text
    assert world.budget(world.get("auditor", f"/batches/{bid}").json()["program_id"])[
        "payable_fen"] == 3000


def test_an_amount_that_is_not_money_is_refused_before_anything_happens(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    code = claim(world, register(world), bid).json()["code"]
    _cashier(world)
    for amount in ("", "abc", "1.234", "-5", "0"):
        refused = submit(world, "/cashier/redeem",
                         {"code": code, "amount": amount, "category": "catering",
                          "redeem_key": "key-for-bad-amounts"}, page="/cashier")
        assert refused.status_code == 422, amount
        assert 'data-code="VALIDATION_FAILED"' in refused.text


def test_settlement_runs_from_the_console_and_each_side_reads_its_statement(world: World) -> None:
    pid, bid = open_fcfs_batch(world)
    code = claim(world, register(world), bid).json()["code"]
    merchant = _cashier(world)
    done = submit(world, "/cashier/redeem",
                  {"code": code, "amount": "120", "category": "catering",
                   "redeem_key": "settle-test-key"}, page="/cashier")
    assert done.status_code == 200, done.text
    assert 'data-test="history"' in world.client.get("/cashier").text
    advance(world, DAY)  # settle the day that is over
    staff_session(world, "operator")
    page = world.client.get(f"/ops/programs/{pid}/settlements")
    key = page.text.split('name="run_key" value="')[1].split('"')[0]
    ran = submit(world, f"/ops/programs/{pid}/settlements", {"run_key": key},
                 page=f"/ops/programs/{pid}/settlements")
    assert ran.status_code == 303, ran.text
    again = submit(world, f"/ops/programs/{pid}/settlements", {"run_key": key},
                   page=f"/ops/programs/{pid}/settlements")
    assert again.headers["location"] == ran.headers["location"]  # replayed, not run twice
    run_page = world.client.get(ran.headers["location"])
    assert '<div data-test="payout"><dt>本次付款</dt><dd class="money">¥30.00</dd></div>' in (
        run_page.text
    )
    named = f'data-test="statement-merchant">{merchant["name"]}<'
    assert named in run_page.text  # the merchant by name, not by id
    settlement_id = ran.headers["location"].rsplit("/", 1)[1]
    link = run_page.text.split('data-test="statement-link"')[0].rsplit('href="', 1)[1]
    link = link.split('"')[0]
    assert link.startswith(f"/ops/settlements/{settlement_id}/statements/")
    statement_page = world.client.get(link)
    assert statement_page.status_code == 200
    assert "¥120.00" in statement_page.text  # the redemption, line by line
    assert named in statement_page.text
    lines = world.client.get(link + "/download.csv")
    assert lines.headers["content-type"].startswith("text/csv")
    assert ",120.00,30.00," in lines.text  # a person's copy: yuan
    statements = world.client.get(f"/ops/settlements/{settlement_id}/statements.csv")
    assert statements.headers["content-type"].startswith("text/csv")
    assert "30.00" in statements.text
    staff_session(world, "auditor")
    assert world.client.get(f"/ops/settlements/{settlement_id}/payout-file.csv").status_code == 403
    mine = world.client.get("/cashier/statements")
    assert f"/cashier/statements/{settlement_id}" in mine.text
    detail = world.client.get(f"/cashier/statements/{settlement_id}")
    assert "¥120.00" in detail.text


def test_a_scanned_qr_code_redeems_like_a_typed_code(world: World) -> None:
    from tests.integration.issuance_fixtures import citizen_headers

    _, bid = open_fcfs_batch(world)
    holder = register(world)
    claim(world, holder, bid)
    [voucher] = world.client.get("/api/v1/me/vouchers",
                                 headers=citizen_headers(world, holder)).json()["items"]
    _cashier(world)
    done = submit(world, "/cashier/redeem",
                  {"code": voucher["qr_payload"], "amount": "100", "category": "catering",
                   "redeem_key": "scanned-qr-key"}, page="/cashier", **{"HX-Request": "true"})
    assert done.status_code == 200, done.text
    assert 'data-test="customer-pays">¥70.00<' in done.text

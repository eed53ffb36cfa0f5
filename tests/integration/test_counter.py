"""The counter's preview, reversal and shift report, and the refusals it says in words (issue 16,
points 8, 9 and 11), on both databases.

The preview is proven to hold nothing: a redemption by another terminal goes through while a
preview's transaction is still open (a lock would make it wait), and after any number of
previews the voucher is still active, with no redemption, no idempotency key and no event.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from quan.domain.auth import Actor, PartnerRole
from quan.domain.merchants import Scene
from quan.services.redemption import preview as previews
from quan.services.redemption.redemption import RedeemRequest
from quan.store.redemption_tables import redemptions
from quan.store.tables import events, idempotency_keys
from quan.store.voucher_tables import vouchers
from tests.conftest import World
from tests.integration.console_fixtures import submit
from tests.integration.issuance_fixtures import claim, open_fcfs_batch, register
from tests.integration.merchant_fixtures import approved, post_as, terminal


def _cashier(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    merchant, owner_key = approved(world)
    issued = terminal(world, merchant["id"], owner_key)
    signed = submit(
        world, "/cashier/signin", {"api_key": issued["api_key"]}, page="/cashier/signin"
    )
    assert signed.status_code == 303
    return merchant, issued


def _key(world: World) -> str:
    form = world.client.get("/cashier").text
    return form.split('name="redeem_key" id="redeem-key" value="')[1].split('"')[0]


def _counts(world: World, voucher_id: str) -> tuple[str, int, int, int]:
    with world.runtime.db.read() as tx:
        status = tx.execute(select(vouchers.c.status).where(vouchers.c.id == voucher_id)).scalar()
        made = tx.execute(select(func.count()).select_from(redemptions)).scalar_one()
        keys = tx.execute(select(func.count()).select_from(idempotency_keys)).scalar_one()
        redeemed = tx.execute(
            select(func.count()).where(events.c.type == "voucher.redeemed")
        ).scalar_one()
    return str(status), int(made), int(keys), int(redeemed)


def test_a_preview_shows_value_rule_and_what_the_customer_pays_and_consumes_nothing(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world)
    receipt = claim(world, register(world), bid).json()
    _cashier(world)
    key = _key(world)
    before = _counts(world, receipt["id"])
    for _ in range(3):  # previewing again and again changes nothing
        shown = submit(
            world,
            "/cashier/preview",
            {"code": receipt["code"], "amount": "120", "category": "catering", "redeem_key": key},
            page="/cashier",
            **{"HX-Request": "true"},
        )
        assert shown.status_code == 200, shown.text
    assert 'data-test="preview-value">¥30.00<' in shown.text
    assert "满 ¥100.00 减 ¥30.00" in shown.text
    assert 'data-test="preview-pays">¥90.00<' in shown.text
    assert f'name="redeem_key" value="{key}"' in shown.text  # the confirmation's own key
    assert _counts(world, receipt["id"]) == before
    assert before[0] == "active"
    done = submit(
        world,
        "/cashier/redeem",
        {"code": receipt["code"], "amount": "120", "category": "catering", "redeem_key": key},
        page="/cashier",
        **{"HX-Request": "true"},
    )
    assert done.status_code == 200
    assert 'data-test="customer-pays">¥90.00<' in done.text


def test_a_refused_preview_says_the_minimum_spend_in_yuan(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    code = claim(world, register(world), bid).json()["code"]
    _cashier(world)
    below = submit(
        world,
        "/cashier/preview",
        {"code": code, "amount": "50", "category": "catering", "redeem_key": "k" * 16},
        page="/cashier",
        **{"HX-Request": "true"},
    )
    assert below.status_code == 422
    assert 'data-code="BELOW_MIN_SPEND"' in below.text
    assert "需满 ¥100.00" in below.text
    assert "分" not in below.text.split('data-code="BELOW_MIN_SPEND"')[1].split("</div>")[0]
    bad = submit(
        world,
        "/cashier/preview",
        {"code": code, "amount": "12.345", "category": "catering", "redeem_key": "k" * 16},
        page="/cashier",
    )
    assert bad.status_code == 422
    assert "“消费金额”须为以元为单位的金额" in bad.text  # the field is named


def test_a_category_refusal_is_a_sentence_naming_the_categories(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    code = claim(world, register(world), bid).json()["code"]
    _cashier(world)
    world.client.cookies.set("quan_lang", "en")
    refused = submit(
        world,
        "/cashier/preview",
        {"code": code, "amount": "120", "category": "tourism", "redeem_key": "k" * 16},
        page="/cashier",
        **{"HX-Request": "true"},
    )
    assert 'data-code="OUT_OF_SCOPE"' in refused.text
    assert "This voucher can only be used for Catering, not for Tourism." in refused.text
    assert "rule: category" not in refused.text


def test_a_preview_holds_no_lock_while_another_terminal_redeems(world: World) -> None:
    """The preview's transaction stays open while a second thread redeems the same voucher: it
    finishes at once (a FOR UPDATE would make it wait for the preview)."""
    _, bid = open_fcfs_batch(world)
    receipt = claim(world, register(world), bid).json()
    merchant, issued = _cashier(world)
    actor = Actor(
        kind="terminal",
        id=issued["terminal_id"],
        role=PartnerRole.TERMINAL.value,
        merchant_id=merchant["id"],
    )
    req = RedeemRequest(
        order_amount_fen=12000,
        category="catering",
        scene=Scene.OFFLINE,
        voucher_code=receipt["code"],
        token=None,
        order_ref=None,
        details=None,
    )
    redeemed = threading.Event()
    outcome: list[int] = []

    def other_terminal() -> None:
        response = post_as(
            world,
            issued["api_key"],
            "/redemptions",
            {"voucher_code": receipt["code"], "order_amount_fen": 12000, "category": "catering"},
        )
        outcome.append(response.status_code)
        redeemed.set()

    with world.runtime.db.read() as tx:
        seen = previews.preview(tx, world.runtime.clock.now(), actor, {}, req)
        assert seen.customer_pays_fen == 9000
        racer = threading.Thread(target=other_terminal)
        racer.start()
        assert redeemed.wait(20), "the redemption waited for the preview's transaction"
    racer.join()
    assert outcome == [201]


def _redeem_at_counter(world: World, code: str, amount: str = "120") -> str:
    done = submit(
        world,
        "/cashier/redeem",
        {"code": code, "amount": amount, "category": "catering", "redeem_key": _key(world)},
        page="/cashier",
    )
    assert done.status_code == 200, done.text
    return done.text.split('href="/cashier/redemptions/')[1].split('"')[0]


def test_the_counter_reverses_a_redemption_once_and_the_voucher_goes_back(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    receipt = claim(world, register(world), bid).json()
    other = claim(world, register(world), bid).json()
    _cashier(world)
    redemption_id = _redeem_at_counter(world, receipt["code"])
    _redeem_at_counter(world, other["code"], amount="200")
    page = world.client.get(f"/cashier/redemptions/{redemption_id}")
    assert page.status_code == 200
    assert 'data-test="reverse"' in page.text
    path = f"/cashier/redemptions/{redemption_id}/reverse"
    for _ in range(2):  # a second tap lands on the same answer, and nothing happens twice
        done = submit(
            world, path, {"reason": "refunded"}, page=f"/cashier/redemptions/{redemption_id}"
        )
        assert done.status_code == 303
        assert done.headers["location"].endswith("?done=reversed")
    assert _counts(world, receipt["id"])[0] == "active"  # back in the holder's wallet
    shown = world.client.get(f"/cashier/redemptions/{redemption_id}?done=reversed").text
    assert 'data-test="reversed"' in shown
    assert "顾客退货退款" in shown
    assert 'data-test="reverse"' not in shown
    report = world.client.get("/cashier/shift").text
    assert 'data-test="shift-count">1<' in report  # the reversed one is left out of the totals
    assert 'data-test="shift-orders">¥200.00<' in report
    assert 'data-test="shift-discount">¥30.00<' in report
    assert 'data-test="shift-paid">¥170.00<' in report
    assert 'data-test="shift-reversed"' in report


def test_a_reversal_after_the_window_is_refused_in_words(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    receipt = claim(world, register(world), bid).json()
    _cashier(world)
    redemption_id = _redeem_at_counter(world, receipt["code"])
    window = world.runtime.settings.reversal_window_seconds
    world.runtime.clock.advance(timedelta(seconds=window + 60))  # type: ignore[attr-defined]
    page = world.client.get(f"/cashier/redemptions/{redemption_id}")
    assert 'data-test="not-reversible"' in page.text
    late = submit(
        world,
        f"/cashier/redemptions/{redemption_id}/reverse",
        {"reason": "refunded"},
        page=f"/cashier/redemptions/{redemption_id}",
    )
    assert late.status_code == 409
    assert "已超过冲正期限" in late.text
    assert _counts(world, receipt["id"])[0] == "redeemed"


def test_another_shops_terminal_does_not_see_the_redemption(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    receipt = claim(world, register(world), bid).json()
    _cashier(world)
    redemption_id = _redeem_at_counter(world, receipt["code"])
    _cashier(world)  # the cookie now holds a terminal of another merchant
    assert world.client.get(f"/cashier/redemptions/{redemption_id}").status_code == 404
    refused = submit(
        world,
        f"/cashier/redemptions/{redemption_id}/reverse",
        {"reason": "refunded"},
        page="/cashier",
    )
    assert refused.status_code == 404
    assert _counts(world, receipt["id"])[0] == "redeemed"

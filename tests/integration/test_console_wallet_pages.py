"""The wallet pages of issue 16, rendered server-side on both databases: a resend too soon keeps
the code box, a used voucher says where, when and what it saved, a suspended or expired one
cannot be taken for a usable one, the last day is said one way, and a program's rules page
lists its shops by name, category and district with the help line."""

from __future__ import annotations

import re
from datetime import timedelta

from quan.web.i18n import Translator
from tests.conftest import World
from tests.integration.console_fixtures import citizen_session, submit
from tests.integration.issuance_fixtures import advance, claim, open_fcfs_batch, register
from tests.integration.merchant_fixtures import approved, post_as, terminal
from tests.integration.test_console_wallet import _citizen_with_phone

ZH = Translator("zh")
PHONE = "13700002222"


def test_a_resend_too_soon_keeps_the_code_box_and_shows_no_error(world: World) -> None:
    _citizen_with_phone(world, PHONE)
    sent = submit(world, "/wallet/code", {"phone": PHONE}, page="/wallet/signin")
    assert 'data-test="code-sent"' in sent.text
    wait = re.search(r'data-test="resend" data-wait="(\d+)"', sent.text)
    assert wait
    assert int(wait.group(1)) == 60
    sent_at = sent.text.split('name="sent_at" value="')[1].split('"')[0]
    again = submit(world, "/wallet/code", {"phone": PHONE, "resend": "1", "sent_at": sent_at},
                   page="/wallet/signin")  # fmt: skip
    assert again.status_code == 429
    assert 'name="code"' in again.text
    assert 'data-test="resend-wait"' in again.text
    assert 'data-test="signin-error"' not in again.text
    assert 'data-test="code-sent"' not in again.text
    wrong = submit(
        world,
        "/wallet/session",
        {"phone": PHONE, "code": "000000", "sent_at": sent_at},
        page="/wallet/signin",
    )
    assert wrong.status_code == 401
    assert 'data-test="signin-error"' in wrong.text
    assert 'data-test="code-sent"' not in wrong.text  # never red and green together


def _used(world: World) -> tuple[str, str, str]:
    """A resident who used a voucher at an approved shop: (program, resident, shop name)."""
    pid, bid = open_fcfs_batch(world)
    resident = register(world)
    code = claim(world, resident, bid).json()["code"]
    merchant, owner_key = approved(world, name="湖畔小馆（测试）")
    issued = terminal(world, merchant["id"], owner_key)
    done = post_as(
        world,
        issued["api_key"],
        "/redemptions",
        {"voucher_code": code, "order_amount_fen": 12000, "category": "catering"},
    )
    assert done.status_code == 201, done.text
    return pid, resident, merchant["name"]


def test_a_used_voucher_says_where_when_and_what_it_saved(world: World) -> None:
    _, resident, shop = _used(world)
    citizen_session(world, resident)
    page = world.client.get("/wallet").text
    assert 'class="voucher spent" data-test="voucher" data-status="redeemed"' in page
    assert ZH("wallet.spent_stamp.redeemed") in page
    said = page.split('data-test="used-at">')[1].split("<")[0]
    assert shop in said
    assert "¥30.00" in said
    assert "¥120.00" in said
    voucher_id = page.split('href="/wallet/vouchers/')[1].split('"')[0]
    voucher = world.client.get(f"/wallet/vouchers/{voucher_id}").text
    assert 'data-test="qr"' not in voucher  # nothing to show a cashier
    assert ZH("wallet.cannot_use") in voucher
    history = world.client.get("/wallet/history").text
    assert ZH("history.total", count=1, saved="¥30.00") in history
    assert shop in history


def test_a_suspended_and_an_expired_voucher_are_told_apart_from_a_usable_one(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world, per_citizen_limit=2)
    resident = register(world)
    first = claim(world, resident, bid).json()
    claim(world, resident, bid, **{"Idempotency-Key": "second-claim-1"})
    stopped = world.post("operator", f"/vouchers/{first['id']}/deactivate",
                         {"reason": "核查中"})  # fmt: skip
    assert stopped.status_code == 200, stopped.text
    citizen_session(world, resident)
    page = world.client.get("/wallet").text
    assert page.count('data-test="voucher" data-status="active"') == 1
    assert 'class="voucher spent" data-test="voucher" data-status="deactivated"' in page
    assert ZH("voucher.status.deactivated") in page
    assert 'data-test="suspended-on"' in page
    # The active voucher's last day, said once; then past it, expired on that day.
    last = page.split('data-test="use-by">')[1].split("<")[0]
    day = re.search(r"\d{4}-\d{2}-\d{2}", last)
    assert day
    assert last == ZH("wallet.last_day", day=day.group())
    advance(world, timedelta(days=120))
    citizen_session(world, resident)
    page = world.client.get("/wallet").text
    assert 'data-test="voucher" data-status="active"' not in page
    assert ZH("wallet.expired_on", day=day.group()) in page


def test_the_rules_page_lists_shops_by_name_category_and_district(world: World) -> None:
    pid, resident, shop = _used(world)
    approved(world, name="西湖边面馆（测试）", region_code="330102")
    citizen_session(world, resident)
    page = world.client.get(f"/wallet/programs/{pid}")
    assert page.status_code == 200, page.text
    assert ZH("guide.help_line", phone="12345") in page.text
    assert ZH("guide.no_change") in page.text
    assert shop in page.text
    assert "西湖边面馆（测试）" in page.text
    found = world.client.get(f"/wallet/programs/{pid}", params={"q": "面馆"}).text
    assert "西湖边面馆（测试）" in found
    assert shop not in found
    found = world.client.get(f"/wallet/programs/{pid}", params={"district": "330106"}).text
    assert shop in found
    assert "西湖边面馆（测试）" not in found
    found = world.client.get(f"/wallet/programs/{pid}", params={"q": "%"}).text
    assert ZH("guide.none_found") in found  # a wildcard is a character, not "everything"
    assert world.client.get("/wallet/programs/no-such-program").status_code == 404


def test_wallet_pages_load_no_htmx_and_are_sent_compressed(world: World) -> None:
    answer = world.client.get("/wallet/signin", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert "htmx.min.js" not in answer.text
    assert "Accept-Encoding" in answer.headers["vary"]
    staff = world.client.get("/signin", headers={"Accept-Encoding": "gzip"})
    assert "htmx.min.js" in staff.text  # the staff console still uses it

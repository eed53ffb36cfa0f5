"""The resident's wallet in a real browser, as a resident uses it on a phone (issue 16, points
1-7), in zh-CN and English: signing in with a resend asked for too soon and a wrong code, a
voucher's last day said one way, the QR code and the code on the first screen at the counter in
large type, a lottery card's registration close and short pseudonym, the program's rules, shops
and help line, a used voucher's savings and the usage history; every page passes axe-core and a
wallet page weighs at most 20 KiB over the wire.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from quan.web.i18n import Translator
from tests.e2e.conftest import Server
from tests.e2e.world import WALLET_LOTTERY_TYPE

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 780}
BUDGET = 20 * 1024  # bytes over the wire for a wallet page and everything it loads
FIXED_TYPE = "餐饮消费券（满100减30）"  # the demo's first-come voucher type (quan demo seed)
LOTTERY_TYPE = WALLET_LOTTERY_TYPE  # its own lottery, open whatever the shared clock says
CATERING_SHOPS = ("知味小笼（湖滨店）", "湖畔小馆（西湖店）")  # the demo's approved restaurants

TRANSFER = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const rest = performance.getEntriesByType("resource");
  return {total: nav.transferSize + rest.reduce((n, r) => n + r.transferSize, 0),
          names: rest.map(r => r.name)};
}"""
GROUPS_ON_ONE_LINE = """() => [...document.querySelectorAll("[data-test=voucher-code] .group")]
  .map(g => g.getClientRects().length)"""


def _accessible(page: Any) -> None:
    found = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


def _in_first_screen(page: Any, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    assert box is not None, selector
    where = f"{selector} on the first screen of {page.viewport_size}: {box}"
    assert box["y"] >= 0, where
    assert box["y"] + box["height"] <= height, where


class Resident:
    def __init__(self, server: Server, browser: Any, lang: str, screens: Path) -> None:
        self.screens = screens
        self.server = server
        self.url = server.url
        self.lang = lang
        self.t = Translator("en" if lang == "en" else "zh")
        self.phone = server.world.wallet_phones[lang]
        self.context = browser.new_context(
            viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US"
        )
        self.context.add_cookies([{"name": "quan_lang", "value": lang, "url": self.url}])
        self.page = self.context.new_page()
        self.terminal = {"Authorization": f"Bearer {server.world.terminal_key}"}

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.screens / f"wallet-{self.lang}-{name}.png"))

    def large_type(self, on: bool) -> None:
        if on:
            self.context.add_cookies([{"name": "quan_large", "value": "1", "url": self.url}])
        else:
            self.context.clear_cookies(name="quan_large")

    # Point 1 -------------------------------------------------------------------------------
    def signs_in_after_a_resend_too_soon_and_a_wrong_code(self) -> None:
        t, page = self.t, self.page
        page.goto(f"{self.url}/wallet/signin")
        assert page.locator("[data-test=register-link]").get_attribute("href") == "/wallet/register"
        page.fill("input[name=phone]", self.phone)
        page.click("[data-test=send-code]")
        page.wait_for_selector("[data-test=code-sent]")
        resend = page.locator("[data-test=resend]")
        # The resend button counts the minute down instead of inviting a refusal.
        page.wait_for_selector("[data-test=resend][data-counting=yes]")
        assert resend.is_disabled()
        counting = resend.inner_text()
        pattern = re.escape(t("wallet.resend_in", seconds="SECONDS")).replace("SECONDS", r"\d+")
        assert re.fullmatch(pattern, counting), counting
        _accessible(page)
        # A resend sent anyway (a second tab, a page without script): the code box stays, with a
        # notice of the seconds left, and no red error and green banner together.
        page.evaluate("document.querySelector('[data-test=resend]').form.submit()")
        page.wait_for_selector("[data-test=resend-wait]")
        assert page.locator("input[name=code]").is_visible()
        assert page.locator("[data-test=signin-error]").count() == 0
        assert page.locator("[data-test=code-sent]").count() == 0
        waited = page.inner_text("[data-test=resend-wait]")
        seconds = int(re.search(r"\d+", waited).group())  # type: ignore[union-attr]
        assert 0 < seconds <= 60
        assert waited == t("wallet.resend_wait", seconds=seconds)
        assert page.locator("[data-test=resend][data-counting=yes]").count() == 1
        self.shot("resend-too-soon")
        _accessible(page)
        # A wrong code: the error alone, the code box kept.
        code = self.server.sms_code(self.phone)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        page.fill("input[name=code]", wrong)
        page.click("[data-test=sign-in]")
        page.wait_for_selector("[data-test=signin-error]")
        assert page.locator("[data-test=code-sent]").count() == 0
        assert page.locator("[data-test=resend-wait]").count() == 0
        assert page.get_attribute("input[name=code]", "aria-invalid") == "true"
        _accessible(page)
        page.fill("input[name=code]", code)
        page.click("[data-test=sign-in]")
        page.wait_for_url("**/wallet")

    # Points 3 and 5 ------------------------------------------------------------------------
    def claims_and_reads_the_last_day(self) -> str:
        t, page = self.t, self.page
        offer = page.locator("[data-test=offer]", has_text=FIXED_TYPE)
        offer.locator("[data-test=claim]").click()
        page.wait_for_url("**/wallet/vouchers/**")
        said = page.inner_text("[data-test=use-by]")
        day = re.search(r"\d{4}-\d{2}-\d{2}", said)
        assert day, said
        assert said == t("wallet.last_day", day=day.group())
        assert "00:00" not in said
        voucher_id = page.url.split("?")[0].rsplit("/", 1)[-1]
        page.goto(f"{self.url}/wallet")
        card = page.locator("[data-test=voucher][data-status=active]")
        assert card.locator("[data-test=use-by]").inner_text() == said  # one way everywhere
        return voucher_id

    def reads_a_lottery_card(self) -> None:
        t, page = self.t, self.page
        offer = page.locator("[data-test=offer]", has_text=LOTTERY_TYPE)
        closes = offer.locator("[data-test=register-by]").inner_text()
        assert closes.startswith(t("wallet.register_by", end="").strip())
        assert t("wallet.window", end="").strip() not in offer.inner_text()
        offer.locator("[data-test=enter-lottery]").click()
        page.wait_for_selector("[data-test=entered]")
        entry = page.locator("[data-test=lottery]", has_text=LOTTERY_TYPE)
        short = entry.locator("[data-test=pseudonym] .mono").inner_text()
        assert re.fullmatch(r"[0-9a-f]{4} [0-9a-f]{4}", short), short
        entry.locator("details summary").click()
        full = entry.locator("[data-test=pseudonym-full]").inner_text()
        assert re.fullmatch(r"([0-9a-f]{4} ){7}[0-9a-f]{4}", full), full
        assert full.startswith(short)
        _accessible(page)

    # Point 4 -------------------------------------------------------------------------------
    def shows_the_qr_and_code_on_the_first_screen(self, voucher_id: str) -> str:
        page = self.page
        self.large_type(True)
        code = ""
        for viewport in (PHONE, SMALL_PHONE):
            page.set_viewport_size(viewport)
            page.goto(f"{self.url}/wallet/vouchers/{voucher_id}")
            assert page.locator("html").get_attribute("class") == "large"
            _in_first_screen(page, "[data-test=qr] svg")
            _in_first_screen(page, "[data-test=voucher-code]")
            assert page.evaluate(GROUPS_ON_ONE_LINE) == [1, 1, 1, 1]
            code = page.inner_text("[data-test=voucher-code]").strip()
            assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code), code
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            self.shot(f"counter-large-{viewport['width']}")
        _accessible(page)
        self.large_type(False)
        page.set_viewport_size(PHONE)
        return code

    # Point 6 -------------------------------------------------------------------------------
    def reads_the_rules_and_finds_a_shop(self) -> None:
        t, page = self.t, self.page
        page.goto(f"{self.url}/wallet")
        page.locator("[data-test=voucher]", has_text=FIXED_TYPE).locator(
            "[data-test=guide-link]"
        ).click()
        page.wait_for_url("**/wallet/programs/**")
        rules = page.inner_text("[data-test=rules]")
        assert t("guide.no_change") in rules
        assert FIXED_TYPE in rules
        assert LOTTERY_TYPE in rules
        assert page.inner_text("[data-test=help-line]") == t("guide.help_line", phone="12345")
        _accessible(page)
        shops = page.locator("[data-test=shop]")
        listed = shops.all_inner_texts()
        assert all(any(name in s for s in listed) for name in CATERING_SHOPS)
        assert any(self.server.world.merchant_name in s for s in listed)
        page.select_option("[data-test=shop-category]", "catering")
        page.fill("[data-test=shop-search]", "知味")
        page.click("[data-test=shop-go]")
        page.wait_for_url("**q=*")
        names = [s.split("\n")[0] for s in shops.all_inner_texts()]
        # Both are found (and sorted); shops other page tests approved may match too.
        assert {"知味小笼（湖滨店）", self.server.world.merchant_name} <= set(names)
        assert names == sorted(names)
        assert all("知味" in name for name in names)
        page.select_option("[data-test=shop-district]", "330102")  # 上城区
        page.click("[data-test=shop-go]")
        page.wait_for_url("**district=330102*")
        assert [s.split("\n")[0] for s in shops.all_inner_texts()] == ["知味小笼（湖滨店）"]
        assert page.inner_text("[data-test=shops-found]") == t("guide.found", count=1)
        self.shot("shops-found")
        page.fill("[data-test=shop-search]", "没有这家店")
        page.click("[data-test=shop-go]")
        page.wait_for_selector(f"[data-test=shops-found]:has-text('{t('guide.none_found')}')")
        _accessible(page)

    # Point 2 -------------------------------------------------------------------------------
    def uses_it_and_sees_what_it_saved(self, code: str) -> str:
        t, page = self.t, self.page
        answer = httpx.post(
            f"{self.url}/api/v1/redemptions",
            json={"voucher_code": code, "order_amount_fen": 12000, "category": "catering"},
            headers=self.terminal,
        )
        assert answer.status_code == 201, answer.text
        shop = self.server.world.merchant_name
        page.goto(f"{self.url}/wallet")
        used = page.locator("[data-test=voucher][data-status=redeemed]")
        assert used.count() == 1
        assert t("wallet.spent_stamp.redeemed") in used.inner_text()
        said = used.locator("[data-test=used-at]").inner_text()
        assert shop in said
        assert "¥30.00" in said
        assert "¥120.00" in said
        # Unmistakable: struck-through grey amount and a solid grey border, not the red dashes.
        looks = used.evaluate(
            """e => [getComputedStyle(e).borderTopStyle,
                     getComputedStyle(e.querySelector('.amount')).textDecorationLine]"""
        )
        assert looks == ["solid", "line-through"]
        assert page.locator("[data-test=voucher][data-status=active]").count() == 0
        self.shot("used-voucher")
        _accessible(page)
        used.locator("a.voucher-name").click()
        page.wait_for_selector("[data-test=stamp]")
        assert page.locator("[data-test=qr]").count() == 0
        assert page.inner_text("[data-test=stamp]") == t("wallet.spent_stamp.redeemed")
        assert shop in page.inner_text("[data-test=used-at]")
        _accessible(page)
        page.goto(f"{self.url}/wallet/history")
        assert page.inner_text("[data-test=history-total]") == t(
            "history.total", count=1, saved="¥30.00"
        )
        use = page.inner_text("[data-test=use]")
        assert shop in use
        assert "¥30.00" in use
        assert "¥120.00" in use
        _accessible(page)
        return str(answer.json()["id"])

    def sees_a_refund_give_the_voucher_back(self, redemption_id: str) -> None:
        """The shop refunds the order (and so this test leaves no redemption behind for the
        settlements other tests of this served world run): the voucher is usable again, and the
        history keeps the use, marked reversed."""
        t, page = self.t, self.page
        answer = httpx.post(
            f"{self.url}/api/v1/redemptions/{redemption_id}/reversal",
            json={"reason": "order refunded"},
            headers=self.terminal,
        )
        assert answer.status_code == 201, answer.text
        page.goto(f"{self.url}/wallet")
        assert page.locator("[data-test=voucher][data-status=active]").count() == 1
        page.goto(f"{self.url}/wallet/history")
        assert page.locator("[data-test=use][data-reversed=yes]").count() == 1
        assert t("history.reversed") in page.inner_text("[data-test=use]")
        assert page.inner_text("[data-test=history-total]") == t(
            "history.total", count=0, saved="¥0.00"
        )

    # Point 7 -------------------------------------------------------------------------------
    def weighs_little_over_the_wire(self, browser: Any, voucher_id: str) -> list[int]:
        """Each page in a fresh context (an empty cache): the page and all it loads."""
        sizes = []
        state = self.context.storage_state()
        for path in ("/wallet", f"/wallet/vouchers/{voucher_id}", "/wallet/history",
                     "/wallet/signin"):  # fmt: skip
            fresh = browser.new_context(viewport=PHONE, storage_state=state)
            page = fresh.new_page()
            answer = page.goto(f"{self.url}{path}", wait_until="load")
            assert answer is not None
            assert answer.status == 200
            assert answer.header_value("content-encoding") == "gzip"
            measured = page.evaluate(TRANSFER)
            assert not [n for n in measured["names"] if "htmx" in n], measured["names"]
            assert 0 < measured["total"] <= BUDGET, (path, measured)
            sizes.append(measured["total"])
            fresh.close()
        return sizes


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_resident_signs_in_claims_finds_shops_uses_a_voucher_and_reads_its_savings(
    server: Server, browser: Any, screens: Path, lang: str
) -> None:
    resident = Resident(server, browser, lang, screens)
    try:
        resident.signs_in_after_a_resend_too_soon_and_a_wrong_code()
        voucher_id = resident.claims_and_reads_the_last_day()
        resident.reads_a_lottery_card()
        code = resident.shows_the_qr_and_code_on_the_first_screen(voucher_id)
        resident.reads_the_rules_and_finds_a_shop()
        redemption_id = resident.uses_it_and_sees_what_it_saved(code)
        resident.sees_a_refund_give_the_voucher_back(redemption_id)
        sizes = resident.weighs_little_over_the_wire(browser, voucher_id)
        print(f"wallet transfer sizes ({lang}): {sizes} bytes")
    finally:
        resident.context.close()

"""The merchant portal in a real browser, in Chinese and in English (issue 15, item 5).

A shop applies through the portal on a phone (360×740); an operator approves it on the existing
``/ops/merchants`` page; the owner signs in with the contact phone and an SMS code, adds a
terminal and asks for a pairing QR code; a second browser (the counter tablet) opens the URL the
QR code carries and, after one tap, is on the cashier page signed in as that terminal. Every
portal page is checked with axe-core (no serious or critical violation) and for sideways
scrolling at 360 px. Screenshots land in ``test-artifacts/screens/``.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

import pytest

from quan.domain.uscc import check_character
from quan.services.demo.program import ISSUER_NAME, REGION_CODE
from quan.web.i18n import Translator
from tests.e2e.conftest import Server

PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
OWNER_PHONES = {"zh": "13711110001", "en": "13711110002"}
_serial = count(1)


DEMO_ISSUER = f"{ISSUER_NAME} ({REGION_CODE})"  # as the apply form lists it


def _uscc(lang: str) -> str:
    first17 = f"91330106MA9{'1' if lang == 'zh' else '2'}{next(_serial):05d}"
    return first17 + check_character(first17)


class Portal:
    def __init__(self, lang: str, server: Server, browser: Any, screens: Path) -> None:
        self.lang = lang
        self.t = Translator("en" if lang == "en" else "zh")
        self.server = server
        self.url = server.url
        self.browser = browser
        self.screens = screens
        self.phone = OWNER_PHONES[lang]
        self.name = "西湖知味小吃（门户）" if lang == "zh" else "West Lake Snacks (portal)"
        self.shots = 0
        self.checked: list[str] = []

    def context(self, viewport: dict[str, int], **options: Any) -> Any:
        context = self.browser.new_context(
            viewport=viewport, locale="zh-CN" if self.lang == "zh" else "en-US", **options
        )
        if self.lang == "en":  # the language is a preference cookie, as the header link sets
            context.add_cookies([{"name": "quan_lang", "value": "en", "url": self.url}])
        return context

    def check(self, page: Any, name: str, *, phone: bool = True) -> None:
        """Screenshot, axe-core (no serious or critical violation), no sideways scroll."""
        from axe_playwright_python.sync_playwright import Axe

        self.shots += 1
        page.screenshot(
            path=str(self.screens / f"portal-{self.lang}-{self.shots:02d}-{name}.png"),
            full_page=True,
        )
        assert page.locator("html").get_attribute("lang") == (
            "en" if self.lang == "en" else "zh-CN"
        )
        violations = Axe().run(page).response["violations"]
        bad = [
            (v["id"], v["impact"], [n["html"][:100] for n in v["nodes"][:3]])
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{name}: {bad}"
        if phone:
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name} scrolls sideways at 360 px ({width}px)"
        self.checked.append(name)

    def shop_applies(self, page: Any) -> None:
        page.goto(self.url + "/merchant")
        assert "/merchant/signin" in page.url
        self.check(page, "sign-in")
        page.click("[data-test=apply-link]")
        page.wait_for_url("**/merchant/apply")
        # The demo's issuer by name: other tests add issuers to the served database.
        page.select_option("select[name=issuer_id]", label=DEMO_ISSUER)
        page.fill("[data-test=apply-name]", self.name)
        page.fill("[data-test=apply-uscc]", "91330106MA00000000")  # a wrong check character
        page.check("[data-test=apply-category-catering]")
        page.fill("[data-test=apply-region]", "330106")
        page.fill("[data-test=apply-bank]", "中国工商银行杭州西湖支行")
        page.fill("[data-test=apply-account]", "6222 0212 3456 7890 123")
        page.fill("[data-test=apply-phone]", self.phone)
        page.click("[data-test=apply-submit]")
        # Refused in words, next to the field, which keeps what was typed.
        error = page.locator("[data-test=field-error]")
        assert error.is_visible()
        assert page.get_attribute("[data-test=apply-uscc]", "aria-invalid") == "true"
        self.check(page, "apply-refused")
        page.fill("[data-test=apply-uscc]", _uscc(self.lang))
        page.click("[data-test=apply-submit]")
        page.wait_for_url("**/merchant?done=applied")
        assert self.t("portal.status_says.submitted") in page.inner_text(
            "[data-test=review-outcome]"
        )
        assert "****0123" in page.inner_text("[data-test=bank-masked]")
        self.check(page, "applied")

    def operator_approves(self) -> None:
        context = self.context(DESK)
        page = context.new_page()
        page.goto(self.url + "/ops/merchants")
        assert "/signin" in page.url
        page.fill("input[name=username]", "demo-operator")
        page.fill("input[name=password]", self.server.world.credentials["operator"])
        page.click("form.stack button[type=submit]")
        page.wait_for_url("**/ops/merchants")
        page.click(f"text={self.name}")
        page.wait_for_url("**/ops/merchants/mch_*")
        page.check("input[name=decision][value=approve]")
        page.click("[data-test=decide]")
        assert page.inner_text("[data-test=notice]") == self.t("done.merchant_approve")
        context.close()

    def owner_signs_in(self, page: Any) -> None:
        page.click("[data-test=sign-out]")
        page.wait_for_url("**/merchant/signin")
        page.fill("[data-test=owner-phone]", self.phone)
        page.click("[data-test=send-code]")
        page.wait_for_selector("[data-test=owner-code]")
        self.check(page, "code")
        page.fill("[data-test=owner-code]", self.server.sms_code(self.phone))
        page.click("[data-test=sign-in]")
        page.wait_for_url("**/merchant")
        assert self.t("portal.status_says.approved") in page.inner_text(
            "[data-test=review-outcome]"
        )
        self.check(page, "approved")

    def owner_offers_a_pairing(self, page: Any) -> tuple[str, str]:
        page.click("[data-test=nav-terminals]")
        page.wait_for_url("**/merchant/terminals")
        label = "前台 1 号" if self.lang == "zh" else "Front desk 1"
        page.fill("[data-test=terminal-label]", label)
        page.click("[data-test=create-terminal]")
        page.wait_for_url("**/merchant/terminals?done=terminal_created")
        terminal = page.locator("[data-test=terminal]").first
        terminal_id = str(terminal.get_attribute("data-terminal"))
        self.check(page, "terminals")
        page.click(f"[data-test=pair-{terminal_id}]")
        page.wait_for_selector("[data-test=pair-qr] svg")
        url = str(page.get_attribute("[data-test=pair-qr]", "data-pair-url"))
        assert "/cashier/pair?code=" in url
        self.check(page, "pairing-qr")
        return terminal_id, url

    def counter_device_pairs(self, url: str, terminal_id: str) -> None:
        device = self.context(TABLET)
        page = device.new_page()
        page.goto(url)
        self.check(page, "device-confirm", phone=False)
        page.click("[data-test=confirm-pair]")
        page.wait_for_url("**/cashier")
        assert terminal_id in page.inner_text("main")
        assert self.name in page.inner_text("main")
        self.check(page, "device-cashier", phone=False)
        # The same QR code pairs no second device.
        other = self.context(TABLET).new_page()
        other.goto(url)
        assert other.locator("[data-test=pair-error]").get_attribute("data-code") == (
            "PAIRING_CODE_USED"
        )
        other.context.close()
        device.close()

    def owner_reads_money(self, page: Any) -> None:
        for path, name in (
            ("/merchant/redemptions", "redemptions"),
            ("/merchant/statements", "statements"),
        ):
            page.goto(self.url + path)
            self.check(page, name)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_shop_applies_is_approved_signs_in_and_pairs_a_device_by_qr(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    portal = Portal(lang, server, browser, screens)
    owner = portal.context(PHONE, is_mobile=True)
    page = owner.new_page()
    portal.shop_applies(page)
    portal.operator_approves()
    portal.owner_signs_in(page)
    terminal_id, url = portal.owner_offers_a_pairing(page)
    portal.counter_device_pairs(url, terminal_id)
    portal.owner_reads_money(page)
    owner.close()
    assert len(portal.checked) == 11

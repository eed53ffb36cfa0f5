"""The accessibility sweep: every console page, as every role that opens it, in zh-CN and English.

Each role signs in as a person would (staff by password, a cashier by the demo terminal's key, a
resident by phone and SMS code, a shop's owner by the contact phone and SMS code; ``public``
does not sign in) in the served demo
(``quan demo seed``), then opens each page of :data:`tests.e2e.console_pages.PAGES` for it:

- axe-core (``axe-playwright-python``, its bundled ``axe.min.js``, nothing downloaded) on a
  360 px phone in large type, the layout that breaks first; any *serious* or *critical*
  violation fails the test. Once per page and role in zh-CN: axe's rules do not depend on the
  words (the page's ``lang`` is checked in both languages), and each run costs about a second,
  which over every page, role and language would cost the suite minutes;
- no message key is shown instead of words (:func:`tests.raw_keys.raw_keys`: a key composed
  in a template escapes the static check of the catalogue);
- the page must not scroll sideways at 360 px, in standard and in large type, in both languages
  (English words are longer) — a wide table scrolls inside its own box, which is allowed; the
  page itself may not.

Every problem of every page is collected before the test fails, so one run lists them all.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server
from tests.e2e.console_pages import OWNER_PHONE, PAGES, ROLES, resolve
from tests.raw_keys import raw_keys

DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
SERIOUS = ("serious", "critical")
WIDE = (
    "[...document.querySelectorAll('body *')]"
    ".filter(e => !e.closest('.table') || e.matches('.table'))"
    ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
    ".slice(-3).map(e => e.outerHTML.slice(0, 100))"
)


class Sweep:
    def __init__(self, lang: str, server: Server, browser: Any) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.lang = lang
        self.server = server
        self.browser = browser
        self.axe = Axe()
        self.ids = resolve(server.world.var_dir, server.world.credentials)  # type: ignore[arg-type]
        self.problems: list[str] = []
        self.visited = 0

    def context(self) -> Any:
        return self.browser.new_context(viewport=DESK)

    def speak(self, context: Any, lang: str) -> None:
        """Switch the signed-in context's language (the language switch's cookie)."""
        self.lang = lang
        context.add_cookies([{"name": "quan_lang", "value": lang, "url": self.server.url}])

    # --- signing in -----------------------------------------------------------------------

    def sign_in(self, context: Any, role: str) -> None:
        page = context.new_page()
        url = self.server.url
        credentials: dict[str, Any] = self.server.world.credentials  # type: ignore[assignment]
        if role in ("admin", "operator", "auditor", "agent"):
            page.goto(f"{url}/signin")
            page.fill("input[name=username]", f"demo-{role}")
            page.fill("input[name=password]", credentials[role])
            page.click("form.stack button[type=submit]")
            page.wait_for_url(lambda u: "/signin" not in u)
        elif role == "cashier":
            page.goto(f"{url}/cashier/signin")
            page.fill("input[name=api_key]", credentials["terminal"]["key"])
            page.click("[data-test=terminal-sign-in]")
            page.wait_for_url("**/cashier")
        elif role == "citizen":
            phone = credentials["citizen_phone"]
            page.goto(f"{url}/wallet/signin")
            page.fill("input[name=phone]", phone)
            page.click("[data-test=send-code]")
            page.wait_for_selector("input[name=code]")
            page.fill("input[name=code]", self.server.sms_code(phone))
            page.click("[data-test=sign-in]")
            page.wait_for_url("**/wallet")
            self.ids["voucher_id"] = self.a_voucher(page)
        elif role == "merchant":
            page.goto(f"{url}/merchant/signin")
            page.fill("[data-test=owner-phone]", OWNER_PHONE)
            page.click("[data-test=send-code]")
            page.wait_for_selector("[data-test=owner-code]")
            page.fill("[data-test=owner-code]", self.server.sms_code(OWNER_PHONE))
            page.click("[data-test=sign-in]")
            page.wait_for_url("**/merchant")
            self.ids["pair_code"] = self.a_pairing_code(page)
        page.close()

    def a_pairing_code(self, page: Any) -> str:
        """The owner asks for a pairing QR code for the shop's first live terminal (the code is
        only looked at by the sweep, never used)."""
        page.goto(f"{self.server.url}/merchant/terminals")
        terminal = page.locator("[data-test=terminal]").first.get_attribute("data-terminal")
        page.click(f"[data-test=pair-{terminal}]")
        page.wait_for_selector("[data-test=pair-qr] svg")
        url = str(page.get_attribute("[data-test=pair-qr]", "data-pair-url"))
        return url.split("code=", 1)[1]

    def a_voucher(self, page: Any) -> str:
        """The resident's first voucher; claimed from the first open batch if there is none."""
        if page.locator("[data-test=voucher]").count() == 0:
            page.locator("[data-test=claim]").first.click()
            page.wait_for_url("**/wallet/vouchers/**")
            page.goto(f"{self.server.url}/wallet")
        link = page.locator("[data-test=voucher] a[href^='/wallet/vouchers/']").first
        href = link.get_attribute("href")
        return str(href).rsplit("/", 1)[-1]

    # --- checking a page --------------------------------------------------------------------

    def axe_check(self, page: Any, where: str) -> None:
        results = self.axe.run(page)
        for v in results.response["violations"]:
            if v["impact"] in SERIOUS:
                targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
                self.problems.append(f"{where}: axe {v['impact']} {v['id']}: {targets}")

    def fits(self, page: Any, where: str) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.problems.append(f"{where}: scrolls sideways ({width}px): {page.evaluate(WIDE)}")

    def visit(self, context: Any, role: str, path: str, expected: int) -> None:
        url = self.server.url + path
        page = context.new_page()
        answer = page.goto(url)
        where = f"[{self.lang} {role}] {path}"
        self.visited += 1
        if answer is None or answer.status != expected:
            self.problems.append(f"{where}: HTTP {answer.status if answer else None}")
            page.close()
            return
        lang = page.locator("html").get_attribute("lang")
        assert lang == ("en" if self.lang == "en" else "zh-CN"), where
        shown = raw_keys(page.content())
        if shown:
            self.problems.append(f"{where}: message keys instead of words: {shown[:5]}")
        page.set_viewport_size(PHONE)
        self.fits(page, where + " @360")
        context.add_cookies([{"name": "quan_large", "value": "1", "url": self.server.url}])
        page.reload()
        assert page.locator("html").get_attribute("class") == "large", where
        self.fits(page, where + " @360 large type")
        if self.lang == "zh":
            self.axe_check(page, where + " @360 large type")
        context.clear_cookies(name="quan_large")
        page.close()

    def run(self, role: str) -> None:
        """Sign ``role`` in once (codes may be sent to a phone once a minute, and sign-ins per
        address are limited), then visit its pages in zh-CN and in English."""
        context = self.context()
        try:
            if role != "public":
                self.sign_in(context, role)
            for lang in ("zh", "en"):
                self.speak(context, lang)
                for page in PAGES:
                    if role in page.roles:
                        self.visit(context, role, page.url(self.ids), page.status)
        finally:
            context.close()


@pytest.mark.parametrize("role", ROLES)
def test_every_console_page_passes_axe_and_fits_a_phone(
    role: str, server: Server, browser: Any
) -> None:
    """One role's pages (a test per role, so that test processes share the sweep)."""
    sweep = Sweep("zh", server, browser)
    sweep.run(role)
    assert sweep.visited == 2 * sum(1 for page in PAGES if role in page.roles)
    assert sweep.problems == [], "\n".join(sweep.problems)


def test_every_console_page_is_swept_by_some_role() -> None:
    assert all(set(page.roles) & set(ROLES) for page in PAGES)

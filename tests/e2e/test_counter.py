"""The counter and the public page in a real browser, in Chinese and in English (issue 16,
points 8–12, 14 and 15).

A cashier on a 360 px phone in large type signs in with a terminal of its own (added for this
test to the story's shop): the code field has the focus; the page says whether the camera can
be used (and says so when it cannot); the vendored QR decoder reads a wallet QR code. The cashier
is refused below the minimum spend in yuan, told which field an amount that is not money is in,
previews a voucher (value, rule, what the customer pays; the voucher is untouched), confirms,
reverses it from the counter, redeems a second one, and prints the shift report. The public
disclosure page shows the merchants taking part, the funders' shares and the leverage; its
rule-change table fits and can be reached with the keyboard. Every page is checked with
axe-core (no serious or critical violation) and must not scroll sideways at 360 px.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from quan.config import load_settings
from quan.store.merchant_tables import merchants
from quan.store.voucher_tables import batches
from quan.web.i18n import Translator
from quan.web.qr import qr_svg
from tests.citizen_samples import resident_id
from tests.e2e.conftest import Server

PHONE = {"width": 360, "height": 740}
SERIALS = {"zh": 71, "en": 72}  # residents of this test (the story's are 10–13)


def _token(server: Server, role: str) -> str:
    answer = httpx.post(
        f"{server.url}/api/v1/auth/token",
        json={"username": f"demo-{role}", "password": server.world.credentials[role]},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _ids(server: Server) -> tuple[str, str]:
    """The story's shop and the demo program's first-come batch, read from the served database."""
    settings = load_settings(var_dir=server.world.var_dir, env="development")
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as tx:
            # The first of that name: the abuse pages' test writes shops of the same name (the
            # integration fixtures') into the served database later.
            shop = (
                tx.execute(
                    select(merchants.c.id)
                    .where(merchants.c.name == server.world.merchant_name)
                    .order_by(merchants.c.id)
                )
                .scalars()
                .first()
            )
            batch = (
                tx.execute(
                    select(batches.c.id)
                    .where(
                        batches.c.program_id == server.world.program_id,
                        batches.c.allocation == "fcfs",
                        batches.c.status == "open",
                    )
                    .order_by(batches.c.id)
                )
                .scalars()
                .first()
            )
    finally:
        engine.dispose()
    assert batch is not None, "the demo has no open first-come batch"
    return str(shop), str(batch)


def _prepare(server: Server, lang: str) -> tuple[str, list[str]]:
    """A terminal of the story's shop for this test, and two vouchers claimed at the desk for
    residents of this test."""
    shop, batch = _ids(server)
    operator = {"Authorization": f"Bearer {_token(server, 'operator')}"}
    agent = {"Authorization": f"Bearer {_token(server, 'agent')}"}
    added = httpx.post(
        f"{server.url}/api/v1/merchants/{shop}/terminals",
        json={"label": f"counter16 {lang}"},
        headers=operator,
    )
    assert added.status_code == 201, added.text
    codes = []
    for n in range(2):
        person = resident_id("330106", date(1971, 6, 1 + n), SERIALS[lang])
        registered = httpx.post(
            f"{server.url}/api/v1/citizens",
            json={"resident_id": person, "name": "赵敏" if n else "钱立", "region_code": "330106"},
            headers=operator,
        )
        assert registered.status_code == 201, registered.text
        claimed = httpx.post(
            f"{server.url}/api/v1/batches/{batch}/assisted-claims",
            json={"citizen_id": registered.json()["id"], "resident_id": person},
            headers=agent,
        )
        assert claimed.status_code == 201, claimed.text
        codes.append(str(claimed.json()["code"]))
    return str(added.json()["api_key"]), codes


class Counter:
    def __init__(self, lang: str, server: Server, browser: Any, screens: Path) -> None:
        self.lang = lang
        self.t = Translator("en" if lang == "en" else "zh")
        self.server = server
        self.url = server.url
        self.browser = browser
        self.screens = screens
        self.shots = 0

    def context(self) -> Any:
        context = self.browser.new_context(
            viewport=PHONE, locale="zh-CN" if self.lang == "zh" else "en-US"
        )
        context.add_cookies([{"name": "quan_large", "value": "1", "url": self.url}])
        if self.lang == "en":
            context.add_cookies([{"name": "quan_lang", "value": "en", "url": self.url}])
        return context

    def check(self, page: Any, name: str) -> None:
        """Screenshot, axe-core (no serious or critical violation), no sideways scroll."""
        from axe_playwright_python.sync_playwright import Axe

        self.shots += 1
        page.screenshot(
            path=str(self.screens / f"counter-{self.lang}-{self.shots:02d}-{name}.png"),
            full_page=True,
        )
        assert page.locator("html").get_attribute("class") == "large"
        violations = Axe().run(page).response["violations"]
        bad = [
            (v["id"], v["impact"], [n["html"][:100] for n in v["nodes"][:3]])
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{name}: {bad}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} scrolls sideways at 360 px ({width}px)"

    def inside(self, page: Any, selector: str) -> None:
        """The element is wholly inside the 360 px viewport (not cut off by a scroll box)."""
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= PHONE["width"], (selector, box)

    def sign_in(self, page: Any, key: str) -> None:
        page.goto(self.url + "/cashier/signin")
        page.fill("input[name=api_key]", key)
        page.click("[data-test=terminal-sign-in]")
        page.wait_for_url("**/cashier")

    def camera(self, page: Any) -> None:
        t = self.t
        # Desktop Chromium has no BarcodeDetector: the vendored decoder makes the camera usable.
        status = page.locator("[data-test=scan-unsupported]")
        assert status.inner_text() == t("counter.camera_ready")
        assert page.locator("[data-test=scan]").is_visible()
        page.click("[data-test=scan]")  # this machine has no camera: the page says so
        page.wait_for_function(
            "text => document.querySelector('[data-test=scan-unsupported]').textContent === text",
            arg=t("counter.camera_denied"),
        )
        assert page.evaluate("document.activeElement.id") in ("scan", "code")
        # The vendored jsQR reads a wallet's QR code (drawn as the wallet draws it).
        page.add_script_tag(url=self.url + "/static/jsQR.js")
        svg = str(qr_svg("QV1:TEST-PAYLOAD-1234", title="QR"))
        read = page.evaluate(
            """svg => new Promise(resolve => {
                const img = new Image();
                img.onload = () => {
                  const c = document.createElement('canvas');
                  c.width = 400; c.height = 400;
                  const g = c.getContext('2d');
                  g.fillStyle = '#fff'; g.fillRect(0, 0, 400, 400);
                  g.drawImage(img, 0, 0, 400, 400);
                  const d = g.getImageData(0, 0, 400, 400);
                  const found = window.jsQR(d.data, d.width, d.height);
                  resolve(found ? found.data : null);
                };
                img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
            })""",
            svg,
        )
        assert read == "QV1:TEST-PAYLOAD-1234"

    def no_camera_api(self, key: str) -> None:
        """Where the browser offers no camera at all, the page says so and shows no button."""
        context = self.context()
        context.add_init_script(
            "Object.defineProperty(navigator, 'mediaDevices', {value: undefined})"
        )
        page = context.new_page()
        self.sign_in(page, key)
        status = page.locator("[data-test=scan-unsupported]")
        assert status.inner_text() == self.t("cashier.scan_unsupported")
        assert not page.locator("[data-test=scan]").is_visible()
        context.close()

    def preview_and_redeem(self, page: Any, code: str) -> str:
        t = self.t
        assert page.evaluate("document.activeElement.id") == "code"  # a USB scanner types here
        terminal = page.locator("[data-test=terminal-id]")
        assert terminal.is_visible()
        self.inside(page, "[data-test=terminal-id]")
        self.check(page, "cashier")
        # Below the minimum spend: refused in yuan, in words.
        page.fill("[data-test=code]", code)
        page.fill("[data-test=amount]", "50")
        page.click("[data-test=preview]")
        refused = page.wait_for_selector("[data-test=refused]")
        assert refused.get_attribute("data-code") == "BELOW_MIN_SPEND"
        assert "¥100.00" in refused.inner_text()
        assert "10000" not in refused.inner_text()
        self.check(page, "refused-min-spend")
        # Not money: the amount field is named and marked.
        page.fill("[data-test=amount]", "12.345")
        page.click("[data-test=preview]")
        page.wait_for_selector("[data-test=field-error]")
        assert t("cashier.amount") in page.inner_text("[data-test=field-error]")
        assert page.get_attribute("[data-test=amount]", "aria-invalid") == "true"
        # The preview: value, rule and what the customer pays; nothing redeemed yet.
        page.fill("[data-test=amount]", "120")
        page.click("[data-test=preview]")
        page.wait_for_selector("[data-test=preview-card]")
        assert page.inner_text("[data-test=preview-value]") == "¥30.00"
        assert page.inner_text("[data-test=preview-pays]") == "¥90.00"
        rule = "满 ¥100.00 减 ¥30.00" if self.lang == "zh" else "¥30.00 off a spend of ¥100.00"
        assert rule in page.inner_text("[data-test=preview-rule]")
        page.wait_for_function("() => document.activeElement.dataset.test === 'confirm'")
        self.check(page, "preview")
        page.click("[data-test=confirm]")
        page.wait_for_selector("[data-test=redeemed]")
        assert page.inner_text("[data-test=customer-pays]") == "¥90.00"
        page.wait_for_function("() => document.activeElement.id === 'code'")  # the next customer
        assert page.input_value("[data-test=code]") == ""
        self.inside(page, "[data-test=history-discount]")  # the discount is not cut off
        self.check(page, "redeemed")
        return str(page.get_attribute("[data-test=open-redemption]", "href"))

    def reverse(self, page: Any, href: str) -> None:
        page.click("[data-test=open-redemption]")
        page.wait_for_url("**" + href)
        self.check(page, "redemption")
        page.check("[data-test=reason-refunded]")
        page.click("[data-test=reverse]")
        page.wait_for_url("**?done=reversed")
        assert page.locator("[data-test=reversed]").is_visible()
        assert page.locator("[data-test=reverse]").count() == 0
        self.check(page, "reversed")

    def shift_report(self, page: Any, code: str) -> None:
        t = self.t
        page.goto(self.url + "/cashier")
        page.fill("[data-test=code]", code)
        page.fill("[data-test=amount]", "200")
        page.click("[data-test=preview]")
        page.wait_for_selector("[data-test=preview-card]")
        page.click("[data-test=confirm]")
        page.wait_for_selector("[data-test=redeemed]")
        page.click("[data-test=shift-link]")
        page.wait_for_url("**/cashier/shift")
        assert page.inner_text("[data-test=shift-count]") == "1"
        assert page.inner_text("[data-test=shift-orders]") == "¥200.00"
        assert page.inner_text("[data-test=shift-discount]") == "¥30.00"
        assert page.inner_text("[data-test=shift-paid]") == "¥170.00"
        assert "1" in page.inner_text("[data-test=shift-reversed]")  # the reversed one, apart
        assert page.locator("[data-test=shift-rows] tbody tr").count() == 2
        self.inside(page, "[data-test=shift-rows] tr td.money:last-child")  # the discount fits
        self.check(page, "shift")
        assert page.locator("[data-test=print]").is_visible()
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()  # printed without the frame
        assert not page.locator("[data-test=print]").is_visible()
        assert page.locator("[data-test=shift-totals]").is_visible()
        page.screenshot(
            path=str(self.screens / f"counter-{self.lang}-shift-print.png"), full_page=True
        )
        page.emulate_media(media="screen")
        page.click("[data-test=shift-shop]")
        page.wait_for_url("**scope=merchant")
        assert t("counter.shift_whole_shop") in page.inner_text("main")

    def public_page(self) -> None:
        context = self.context()
        page = context.new_page()
        page.goto(self.url + "/")
        assert page.locator("a[href='/openapi.json']").count() == 0  # no API links for citizens
        page.goto(f"{self.url}/disclosure/{self.server.world.program_id}")
        merchants_ = page.inner_text("[data-test=merchants]")
        assert self.server.world.merchant_name in merchants_
        place = "330106 西湖区" if self.lang == "zh" else "330106 Xihu District"
        assert place in merchants_
        assert re.fullmatch(r"1 : [\d,]+\.\d\d", page.inner_text("[data-test=leverage]"))
        assert page.locator("[data-test=funder-share]").count() >= 1
        assert page.locator("[data-test=lottery-record]").count() >= 1
        changes = page.locator("[data-test=rule-change]").all_inner_texts()
        assert changes
        assert not any("." in c for c in changes)  # in words, not event codes
        assert self.t("event.lottery.registered") not in changes
        region = page.locator("[data-test=rule-changes]")
        assert region.get_attribute("tabindex") == "0"
        assert region.get_attribute("role") == "region"
        region.focus()
        assert page.evaluate("document.activeElement.dataset.test") == "rule-changes"
        self.inside(page, "[data-test=rule-changes] td.num")  # the log number is not cut off
        self.check(page, "disclosure")
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_cashier_previews_redeems_reverses_and_prints_and_the_public_sees_leverage(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    key, codes = _prepare(server, lang)
    counter = Counter(lang, server, browser, screens)
    context = counter.context()
    page = context.new_page()
    counter.sign_in(page, key)
    counter.camera(page)
    page.goto(server.url + "/cashier")
    href = counter.preview_and_redeem(page, codes[0])
    counter.reverse(page, href)
    counter.shift_report(page, codes[1])
    context.close()
    counter.no_camera_api(key)
    counter.public_page()

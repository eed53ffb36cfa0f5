"""The reminder pages in a real browser, on a phone (360×740): the program's reminder rules (an
operator) and the wallet's reminder switch (a resident) lay out without sideways scrolling and
have no serious or critical axe-core finding, in zh-CN and English."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import Server

PHONE = {"width": 360, "height": 740}


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"


def _accessible(page: Any) -> None:
    found = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_reminder_pages_fit_a_phone_and_pass_axe(
    server: Server, browser: Any, lang: str
) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    path = f"/ops/programs/{server.world.program_id}/reminders"
    page.goto(f"{server.url}{path}?lang={lang}")
    assert "/signin" in page.url
    page.fill("input[name=username]", "demo-operator")
    page.fill("input[name=password]", server.world.credentials["operator"])
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"**{path}*")
    if lang == "en":
        page.goto(f"{server.url}/prefs?lang=en&next={path}")
    page.wait_for_selector("[data-test=reminders-form]")
    _fits(page)
    _accessible(page)
    page.fill("#f-offsets", "7, 0")  # refused next to its field
    page.click("[data-test=save-reminders]")
    page.wait_for_selector("[data-test=field-error][data-field=offsets]")
    _fits(page)
    _accessible(page)

    phone = server.world.other_phones[lang]
    resident = context.new_page()
    resident.goto(f"{server.url}/wallet")
    resident.fill("input[name=phone]", phone)
    resident.click("[data-test=send-code]")
    resident.wait_for_selector("input[name=code]")
    resident.fill("input[name=code]", server.sms_code(phone))
    resident.click("[data-test=sign-in]")
    resident.wait_for_url("**/wallet")
    assert resident.is_checked("[data-test=notices-sms]")
    resident.uncheck("[data-test=notices-sms]")
    resident.click("[data-test=notices-save]")
    resident.wait_for_selector("[data-test=notices-saved]")
    assert not resident.is_checked("[data-test=notices-sms]")
    _fits(resident)
    _accessible(resident)
    resident.check("[data-test=notices-sms]")  # as it was: the story's resident gets reminders
    resident.click("[data-test=notices-save]")
    resident.wait_for_selector("[data-test=notices-saved]")
    assert resident.is_checked("[data-test=notices-sms]")
    context.close()

"""Complaints in a real browser, on a phone (360×740), in zh-CN and English (issue 22): a
resident files a complaint from the wallet, an operator answers it in the console, and the
resident sees the answer; every page lays out without sideways scrolling and has no serious or
critical axe-core finding."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import Server

PHONE = {"width": 360, "height": 740}
TEXT = {
    "zh": ("店员说今天不收消费券，让我改天再来。", "已联系商户核实，商户已道歉并将按规定受理。"),
    "en": (
        "The cashier refused my voucher today.",
        "We called the shop: it apologised and now accepts vouchers.",
    ),
}


def _checked(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"
    found = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_resident_files_staff_answer_and_the_resident_sees_the_answer(
    server: Server, browser: Any, lang: str
) -> None:
    complaint, answer = TEXT[lang]
    context = browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US")
    resident = context.new_page()
    phone = server.world.complaint_phones[lang]
    resident.goto(f"{server.url}/prefs?lang={lang}&next=/wallet")
    resident.fill("input[name=phone]", phone)
    resident.click("[data-test=send-code]")
    resident.wait_for_selector("input[name=code]")
    resident.fill("input[name=code]", server.sms_code(phone))
    resident.click("[data-test=sign-in]")
    resident.wait_for_url("**/wallet")
    resident.click("[data-test=nav-complaints]")
    resident.wait_for_selector("[data-test=complaint-form]")
    _checked(resident)
    resident.select_option("[data-test=complaint-category]", "merchant_refused")
    resident.fill("[data-test=complaint-text]", "差")  # too short: said next to the field
    resident.click("[data-test=complaint-submit]")
    resident.wait_for_selector("[data-test=field-error][data-field=text]")
    _checked(resident)
    resident.fill("[data-test=complaint-text]", complaint)
    resident.click("[data-test=complaint-submit]")
    resident.wait_for_selector("[data-test=complaint-filed]")
    filed = resident.text_content("[data-test=complaint-filed]") or ""
    ref = re.search(r"[0-9A-Z]{8}", filed)
    assert ref, filed
    href = resident.locator("[data-test=complaint]").first.get_attribute("href")
    complaint_id = str(href).rsplit("/", 1)[-1]

    staff = context.new_page()
    staff.goto(f"{server.url}/ops/complaints/{complaint_id}")
    staff.fill("input[name=username]", "demo-operator")
    staff.fill("input[name=password]", server.world.credentials["operator"])
    staff.click("form.stack button[type=submit]")
    staff.wait_for_url(f"**/ops/complaints/{complaint_id}")
    assert complaint in (staff.text_content("[data-test=complaint-body]") or "")
    _checked(staff)
    staff.fill("[data-test=answer-text]", answer)
    staff.click("[data-test=resolve]")
    staff.wait_for_selector("[data-test=notice]")
    assert staff.get_attribute("[data-test=complaint-status]", "data-status") == "resolved"
    staff.goto(f"{server.url}/ops/complaints")
    staff.wait_for_selector("[data-test=complaint-measures]")
    assert ref.group(0) in (staff.text_content("[data-test=complaints]") or "")
    _checked(staff)

    resident.goto(f"{server.url}/wallet/complaints/{complaint_id}")
    resident.wait_for_selector("[data-test=complaint-steps]")
    assert resident.get_attribute("[data-test=complaint-status]", "data-status") == "resolved"
    assert answer in (resident.text_content("[data-test=complaint-steps]") or "")
    _checked(resident)
    context.close()

"""The announcement and partner pages in a real browser, on a phone (360 px) in zh-CN and en:
no sideways scrolling and no serious or critical axe-core finding. An operator writes a notice
to a segment, previews it and submits it (confirming); an admin creates a partner client and
sees its secret once."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import Server

PHONE = {"width": 360, "height": 740}


def _check(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"
    found = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


def _sign_in(page: Any, server: Server, role: str, path: str, lang: str) -> None:
    page.goto(f"{server.url}/prefs?lang={lang}&next=/signin")
    page.goto(f"{server.url}{path}")
    page.fill("input[name=username]", f"demo-{role}")
    page.fill("input[name=password]", server.world.credentials[role])
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"**{path}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_notice_and_partner_pages_on_a_phone(lang: str, server: Server, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    path = f"/ops/programs/{server.world.program_id}/announcements"
    _sign_in(page, server, "operator", path, lang)
    _check(page)
    page.select_option("[data-test=audience]", "segment")
    page.fill("textarea[name=segment]", '{"all": []}')
    page.fill("[data-test=title-zh]", f"测试通知 {lang}")
    page.fill("[data-test=body-zh]", "这是一条测试通知。")
    page.fill("[data-test=title-en]", f"Test notice {lang}")
    page.fill("[data-test=body-en]", "This is a test notice.")
    page.click("[data-test=preview]")
    page.wait_for_selector("[data-test=preview-result]")
    assert int(page.inner_text("[data-test=recipients]").replace(",", "")) > 0
    _check(page)
    page.click("[data-test=submit-notice]")
    page.wait_for_url("**/ops/announcements/ann_*")
    _check(page)
    context.close()

    context = browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    _sign_in(page, server, "admin", "/ops/partners", lang)
    _check(page)
    page.fill("[data-test=client-name]", f"Wallet {lang}")
    page.click("[data-test=create-client]")
    page.wait_for_selector("[data-test=client-secret]")
    assert page.inner_text("[data-test=client-secret]").startswith("pcs_")
    _check(page)
    context.close()

"""An operator reviews abuse cases in a real browser, in zh-CN and in English (issue 18).

A program of its own (a separate issuer and operator ``op1``, written in-process into the served
database) has a merchant that cashes vouchers out: every order exactly at the minimum spend,
redeemed the minute its voucher was claimed. The operator opens the program's risk cases, runs a
scan, opens the case, reads why it was opened and the redemptions concerned, holds them, and
decides — dismissing in Chinese (the holds are released), confirming in English after the form
refuses a decision without a reason. Each page passes axe-core (no serious or critical
violation) and does not scroll sideways at 360 px.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quan.api.app import create_app
from quan.clock import FixedClock
from quan.config import load_settings
from quan.services.runtime import Runtime
from quan.web.i18n import Translator
from tests.conftest import PASSWORD, START, World
from tests.e2e.conftest import Server
from tests.integration.abuse_fixtures import CASHED, CashOut, cash_out

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def cash_outs(server: Server) -> Any:
    """Two cash-out programs (one per language) in the served database, made in-process."""
    settings = load_settings(var_dir=server.world.var_dir, env="development")
    rt = Runtime.build(settings, clock=FixedClock(START))
    try:
        with TestClient(create_app(runtime=rt), raise_server_exceptions=False) as client:
            world = World(rt, client)
            yield {"zh": cash_out(world), "en": cash_out(world)}
    finally:
        rt.db.dispose()


def _check(page: Any, screens: Path, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.screenshot(path=str(screens / f"abuse-{name}.png"), full_page=True)
    bad = [
        (v["id"], v["impact"], [n["html"][:100] for n in v["nodes"][:3]])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways at 360 px ({width}px)"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_operator_reviews_a_case_holds_its_redemptions_and_decides(
    lang: str, server: Server, browser: Any, screens: Path, cash_outs: dict[str, CashOut]
) -> None:
    c = cash_outs[lang]
    t = Translator("en" if lang == "en" else "zh")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if lang == "en":
        context.add_cookies([{"name": "quan_lang", "value": "en", "url": server.url}])
    page = context.new_page()
    page.goto(f"{server.url}/signin")
    page.fill("input[name=username]", "op1")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda u: "/signin" not in u)

    page.goto(f"{server.url}/ops/programs/{c.s.program_id}")
    page.click("[data-test=cases-link]")
    assert page.locator("[data-test=no-cases]").is_visible()
    page.click("[data-test=scan]")
    assert page.inner_text("[data-test=notice]") == t("abuse.scanned", n="1")
    row = page.locator(f"[data-test=case-row][data-subject='{c.s.shop.merchant_id}']")
    assert t("abuse.feature.near_min_share") not in row.inner_text()  # explanations, not names
    assert ("紧贴满减门槛" if lang == "zh" else "hug the minimum spend") in row.inner_text()
    _check(page, screens, f"{lang}-cases")

    row.locator("[data-test=case-link]").click()
    assert page.locator("[data-test=findings] li").count() == 3
    assert page.locator("[data-test=evidence-row]").count() == CASHED
    assert page.locator("[data-test=evidence-row][data-hold=none]").count() == CASHED
    _check(page, screens, f"{lang}-case-open")

    page.click("[data-test=hold]")
    assert page.inner_text("[data-test=notice]") == t("abuse.done.held", n=str(CASHED))
    assert page.locator("[data-test=evidence-row][data-hold=held]").count() == CASHED

    if lang == "zh":
        page.check("[data-test=dismiss]")
        page.fill("[data-test=reason]", "核实为单位团购，订单真实")
        page.click("[data-test=decide]")
        assert page.get_attribute("[data-test=case-status]", "data-status") == "dismissed"
        assert page.locator("[data-test=evidence-row][data-hold=released]").count() == CASHED
    else:
        page.check("[data-test=confirm]")
        page.click("[data-test=decide]")  # no reason: refused, the page says why
        assert page.locator("[data-test=decision-error]").is_visible()
        _check(page, screens, f"{lang}-case-refused")
        page.check("[data-test=confirm]")
        page.fill("[data-test=reason]", "Every order at the threshold, redeemed at once")
        page.click("[data-test=decide]")
        assert page.get_attribute("[data-test=case-status]", "data-status") == "confirmed"
        assert page.locator("[data-test=evidence-row][data-hold=held]").count() == CASHED
    assert page.locator("[data-test=decision]").is_visible()
    _check(page, screens, f"{lang}-case-decided")
    context.close()

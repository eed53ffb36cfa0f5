"""The live operations page in a real browser, as an operator uses it: while the page is open, a
flood of out-of-scope attempts at a merchant is recorded and raises an alert, and both appear
without a reload; the operator acknowledges the alert with a note. In zh-CN and in English."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from quan.config import load_settings
from quan.refusals import TALLIES, refused
from quan.services.operations import alerts
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.store.alert_tables import alert_rules
from tests.e2e.conftest import Server
from tests.e2e.serve import OFFSET_FILE, ShiftedClock


def _flood_and_evaluate(server: Server, merchant_id: str, who: str) -> None:
    settings = load_settings(var_dir=server.world.var_dir, env="development")
    # The served clock (tests/e2e/serve.py), which other tests of this process may have moved.
    rt = Runtime.build(settings, clock=ShiftedClock(server.world.var_dir / OFFSET_FILE))
    try:
        now = rt.clock.now()
        for _ in range(20):
            refused(rt.db, now, "redeem", "OUT_OF_SCOPE", subject=who, merchant_id=merchant_id)
        TALLIES.flush(rt.db)
        keys = CitizenKeys.from_settings(settings).outbox
        alerts.evaluate(rt.db, now, keys)  # writes the program's built-in rules
        with rt.db.write() as tx:  # fire at once rather than after two minutes
            tx.execute(
                update(alert_rules)
                .where(alert_rules.c.name == "out_of_scope_at_merchant")
                .values(for_seconds=0)
            )
        alerts.evaluate(rt.db, now, keys)
    finally:
        rt.db.dispose()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_operations_page_updates_without_reload_and_acknowledges(
    server: Server, browser: Any, lang: str
) -> None:
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    path = f"/ops/programs/{server.world.program_id}/operations"
    page.goto(f"{server.url}{path}?lang={lang}")
    assert "/signin" in page.url
    page.fill("input[name=username]", "demo-operator")
    page.fill("input[name=password]", server.world.credentials["operator"])
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"**{path}*")
    if lang == "en":
        page.goto(f"{server.url}/prefs?lang=en&next={path}")
    page.wait_for_selector("[data-test=live]")
    page.evaluate("window.__notReloaded = true")

    merchant_id = server.world.pending_merchants[lang]  # this language's own merchant
    who = f"terminal:trm_e2e_ops_{lang}"
    _flood_and_evaluate(server, merchant_id, who)

    row = f"tr[data-rule=out_of_scope_at_merchant]:has-text('{merchant_id}')"
    page.wait_for_selector(row, timeout=20_000)
    page.wait_for_selector(f"[data-code=OUT_OF_SCOPE]:has-text('{who}')", timeout=20_000)
    assert page.evaluate("window.__notReloaded === true")  # it came without a reload
    words = "商户频繁超范围核销" if lang == "zh" else "Out-of-scope attempts at a merchant"
    assert words in page.inner_text(row)

    page.click(f"{row} a[data-test^=ack-]")
    page.wait_for_selector("[data-test=ack-note]")
    note = "已电话联系商户" if lang == "zh" else "Called the merchant"
    page.fill("[data-test=ack-note]", note)
    page.click("[data-test=ack-submit]")
    page.wait_for_url(f"**{path}*")
    page.wait_for_selector(f"{row} [data-test=acked]")
    assert note in page.inner_text(f"{row} [data-test=acked]")
    context.close()

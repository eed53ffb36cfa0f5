"""An operator reads the demo program's dashboard and exports it, in a real browser, in zh-CN and
in English: the workbook's sheets and the CSV's headers speak the page's language, and the
subsidy in the workbook is the one on the page, in yuan."""

from __future__ import annotations

import csv
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from quan.web.i18n import Translator
from tests.e2e.conftest import Server
from tests.xlsx_read import read_xlsx


def _download(page: Any, selector: str) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_operator_exports_the_dashboard(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    t = Translator("en" if lang == "en" else "zh")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    if lang == "en":
        context.add_cookies([{"name": "quan_lang", "value": "en", "url": server.url}])
    page = context.new_page()
    page.goto(f"{server.url}/signin")
    page.fill("input[name=username]", "demo-operator")
    page.fill("input[name=password]", server.world.credentials["operator"])
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda u: "/signin" not in u)
    page.goto(f"{server.url}/ops/programs/{server.world.program_id}/dashboard")
    shown = page.inner_text("[data-test=subsidy] dd")  # ¥1,800.00
    subsidy = Decimal(shown.replace("¥", "").replace(",", ""))
    assert subsidy > 0  # the demo redeemed on its settled day
    assert page.inner_text("[data-test=leverage] dd").strip() != t("report.none")
    assert "%" in page.inner_text("[data-test=take-up] dd")
    page.screenshot(path=str(screens / f"{lang}-dashboard-report.png"), full_page=True)

    book = read_xlsx(_download(page, "[data-test=export-xlsx]").read_bytes())
    assert next(iter(book)) == t("report.sheet.summary")
    summary = {row[0]: row[1] for row in book[t("report.sheet.summary")][1:]}
    assert summary[t("report.subsidy")] == Fraction(subsidy)

    rows = list(
        csv.reader(_download(page, "[data-test=export-csv-merchants]").open(encoding="utf-8-sig"))
    )
    assert rows[0][:2] == [t("report.col.rank"), t("report.col.merchant")]
    assert sum(Decimal(r[4]) for r in rows[1:]) == subsidy  # every merchant that redeemed

    page.click("[data-test=scale-switch]")
    page.wait_for_url("**scale=log")
    assert page.locator("svg.chart line.grid").count() >= 1
    context.close()

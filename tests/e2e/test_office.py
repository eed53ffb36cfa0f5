"""The program office in a real browser, in Chinese and in English, using only the console.

An operator creates a program (double-clicking the button: one program is made), activates it
after the confirmation page (a reason, the box ticked), adds a funder and contributes above the
maker-checker threshold; the queue tells the operator it waits for a second person, and the
second person approves it there, after which the money counts. An admin then creates a staff
account. Every page of the office is checked with axe-core (no serious or critical violation)
and at 360 px (no sideways scrolling); screenshots land in ``test-artifacts/screens/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quan.web.i18n import Translator
from tests.e2e.conftest import Server

DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# Above the demo's maker-checker threshold (QUAN_APPROVAL_THRESHOLD_FEN, ¥1,000,000 by default).
BIG = "1500000"


class Office:
    def __init__(self, lang: str, server: Server, browser: Any, screens: Path) -> None:
        self.lang = lang
        self.t = Translator("en" if lang == "en" else "zh")
        self.server = server
        self.browser = browser
        self.screens = screens
        self.count = 0
        self.program = "2027 文旅消费券（中文）" if lang == "zh" else "2027 Culture vouchers (en)"
        self.funder = "西湖区财政局" if lang == "zh" else "Xihu District Finance"

    def signed_in(self, role: str, start: str) -> Any:
        context = self.browser.new_context(
            viewport=DESK, locale="zh-CN" if self.lang == "zh" else "en-US"
        )
        page = context.new_page()
        page.goto(self.server.url + start)
        assert "/signin" in page.url
        if self.lang == "en":
            page.click("[data-test=lang-switch]")
            page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == (
            "en" if self.lang == "en" else "zh-CN"
        )
        page.fill("input[name=username]", f"demo-{role}")
        page.fill("input[name=password]", self.server.world.credentials[role])
        page.click("form.stack button[type=submit]")
        page.wait_for_url(f"**{start}")
        return page

    def check(self, page: Any, name: str) -> None:
        """axe-core finds nothing serious; at 360 px nothing scrolls sideways."""
        from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

        results = Axe().run(page)
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{name} ({page.url}): {bad}"
        self.count += 1
        page.screenshot(
            path=str(self.screens / f"office-{self.lang}-{self.count:02d}-{name}.png"),
            full_page=True,
        )
        page.set_viewport_size(PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} ({page.url}) scrolls sideways at 360 px: {width}"
        page.screenshot(
            path=str(self.screens / f"office-{self.lang}-{self.count:02d}-{name}-phone.png"),
            full_page=True,
        )
        page.set_viewport_size(DESK)

    def operator_creates_and_activates_a_program(self, page: Any) -> str:
        t = self.t
        self.check(page, "programs")
        page.click("[data-test=new-program]")
        page.wait_for_url("**/ops/programs/new")
        page.fill("input[name=name]", self.program)
        self.check(page, "program-new")
        page.dblclick("[data-test=save-program]")  # a double click makes one program
        page.wait_for_url("**/ops/programs/prg_*")
        page.wait_for_load_state()
        assert t("done.program_created") in page.inner_text("[data-test=notice]")
        program_url = str(page.url).split("?")[0]
        page.goto(self.server.url + "/ops")
        assert page.locator("[data-test=program-link]", has_text=self.program).count() == 1
        page.goto(program_url)
        page.click("[data-test=activate-program]")
        page.wait_for_url("**/confirm/activate")
        page.click("[data-test=confirm-activate]")  # no reason, box not ticked: refused
        assert page.locator("[data-test=error-reason]").inner_text() == t("office.err.reason")
        self.check(page, "program-activate-refused")
        page.fill("textarea[name=reason]", "预算已到位" if self.lang == "zh" else "Budget is in")
        page.check("input[name=confirm]")
        page.click("[data-test=confirm-activate]")
        page.wait_for_url("**/ops/programs/prg_*")
        assert page.locator("h1 [data-status=active]").count() == 1
        self.check(page, "program-active")
        return program_url

    def operator_adds_a_funder_and_contributes(self, page: Any, program_url: str) -> None:
        t = self.t
        page.goto(self.server.url + "/ops/funders")
        page.fill("input[name=name]", self.funder)
        page.select_option("select[name=kind]", "department")
        page.click("[data-test=create-funder]")
        page.wait_for_url("**/ops/funders?done=funder_created")
        assert page.locator("[data-test=funder-row]", has_text=self.funder).count() == 1
        self.check(page, "funders")
        page.goto(program_url + "/money")
        page.select_option("#c-f-funder_id", label=self.funder)
        page.fill("#c-f-amount", "12.345")
        page.click("[data-test=contribute]")  # not an amount: said next to the field
        said = t("refuse.amount", label=t("office.money.amount"))
        assert page.locator("#c-e-amount").inner_text() == said
        assert page.evaluate("document.activeElement.id") == "c-f-amount"
        page.fill("#c-f-amount", BIG)
        page.click("[data-test=contribute]")
        page.wait_for_url("**/money?done=contribution_requested")
        row = page.locator("[data-test=movement-row]").first
        assert row.get_attribute("data-status") == "pending_approval"
        assert "¥1,500,000.00" in row.inner_text()
        self.check(page, "money-pending")
        page.goto(self.server.url + "/ops/approvals")
        mine = page.locator("[data-test=waiting]", has_text=self.program)
        assert t("office.approvals.yours") in mine.inner_text()
        assert mine.locator("[data-test=approve]").count() == 0
        self.check(page, "approvals-requester")

    def second_person_approves(self, program_url: str) -> None:
        t = self.t
        page = self.signed_in("checker", "/ops/approvals")
        waiting = page.locator("[data-test=waiting]", has_text=self.program)
        assert "¥1,500,000.00" in waiting.inner_text()
        assert "demo-operator" in waiting.locator("[data-test=asked-by]").inner_text()
        self.check(page, "approvals-checker")
        waiting = page.locator("[data-test=waiting]", has_text=self.program)
        waiting.locator("input[name=confirm]").check()
        waiting.locator("[data-test=approve]").click()
        page.wait_for_url("**/ops/approvals?done=movement_approve")
        assert t("done.movement_approve") in page.inner_text("[data-test=notice]")
        page.goto(program_url + "/money")
        assert page.inner_text("[data-test=funded] dd") == "¥1,500,000.00"
        assert page.locator("[data-test=history-row][data-kind=contribution]").count() == 1
        self.check(page, "money-approved")
        page.context.close()

    def admin_creates_a_staff_account(self) -> None:
        page = self.signed_in("admin", "/ops/staff")
        username = f"office-{self.lang}-op"
        page.fill("input[name=username]", username)
        page.fill("input[name=display_name]", "新操作员" if self.lang == "zh" else "New operator")
        page.select_option("select[name=role]", "operator")
        page.select_option("select[name=issuer_id]", index=1)
        page.fill("input[name=password]", "a long enough password")
        page.click("[data-test=create-staff]")
        page.wait_for_url("**/ops/staff?done=staff_created")
        assert page.locator(f"[data-test=account-{username}]").count() == 1
        self.check(page, "staff")
        page.click(f"[data-test=password-{username}]")
        page.wait_for_url("**/password")
        self.check(page, "staff-password")
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_office_runs_a_program_from_the_console(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    office = Office(lang, server, browser, screens)
    page = office.signed_in("operator", "/ops")
    program_url = office.operator_creates_and_activates_a_program(page)
    office.operator_adds_a_funder_and_contributes(page, program_url)
    page.context.close()
    office.second_person_approves(program_url)
    office.admin_creates_a_staff_account()

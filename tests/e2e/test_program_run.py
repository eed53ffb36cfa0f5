"""A whole program run from the console only, in a real browser, in zh-CN and in English (issue 15).

The operator creates a program and activates it (the confirmation page: a reason, the box
ticked), adds a funder and contributes above the maker-checker threshold; a second person (the
checker) approves it in the approval queue, after which the money counts. The operator defines a
voucher type and a batch and opens it. A shop applies through the merchant portal on a phone and
the operator approves it; the owner signs in by SMS code, adds a terminal and pairs the counter
tablet by the QR code's URL (no key typed). A resident claims on a phone; the paired tablet
redeems; the dashboard shows the claim and the redemption. The next day (the server's clock moves
forward) the operator runs the settlement, the checker confirms the payout as paid, and the
operator downloads the dashboard's workbook, whose subsidy is the redemption's.

Only the browser talks to the server, apart from reading the SMS codes a phone would receive
(the development outbox). The program, funder, shop, phones and names are this test's own; it
never picks "the first" of a shared list.
"""

from __future__ import annotations

import time
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from quan.domain.uscc import check_character
from quan.services.demo.program import ISSUER_NAME, REGION_CODE
from quan.web.i18n import Translator
from tests.e2e.conftest import Server
from tests.e2e.world import PROGRAM_PHONES
from tests.xlsx_read import read_xlsx

DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 768, "height": 1024}
BIG = "1500000"  # yuan: above the demo's maker-checker threshold (¥1,000,000)
OWNER_PHONES = {"zh": "13711110005", "en": "13711110006"}
NEXT_DAY = timedelta(days=1, minutes=2).total_seconds()  # the redemption's day is over


DEMO_ISSUER = f"{ISSUER_NAME} ({REGION_CODE})"  # as the apply form lists it


def _uscc(lang: str) -> str:
    first17 = f"91330106MA8{'1' if lang == 'zh' else '2'}00001"
    return first17 + check_character(first17)


class Run:
    def __init__(self, lang: str, server: Server, browser: Any, screens: Path) -> None:
        self.lang = lang
        self.t = Translator("en" if lang == "en" else "zh")
        self.server = server
        self.url = server.url
        self.browser = browser
        self.screens = screens
        self.shots = 0
        zh = lang == "zh"
        self.program = "2027 全流程消费券（中文）" if zh else "2027 Whole-run vouchers (en)"
        self.funder = "全流程区财政局（中文）" if zh else "Whole-run District Finance (en)"
        self.type_name = "全流程满100减30（中文）" if zh else "Whole run: ¥30 off ¥100 (en)"
        self.batch_name = "全流程第一轮（中文）" if zh else "Whole run, round one (en)"
        self.shop = "全流程小吃店（中文）" if zh else "Whole-run Snacks (en)"
        self.owner_phone = OWNER_PHONES[lang]

    # --- helpers ----------------------------------------------------------------------------

    def context(self, viewport: dict[str, int], **options: Any) -> Any:
        context = self.browser.new_context(
            viewport=viewport, locale="zh-CN" if self.lang == "zh" else "en-US", **options
        )
        if self.lang == "en":  # the language switch's cookie
            context.add_cookies([{"name": "quan_lang", "value": "en", "url": self.url}])
        return context

    def shot(self, page: Any, name: str) -> None:
        self.shots += 1
        path = self.screens / f"run-{self.lang}-{self.shots:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)

    def staff(self, role: str, path: str) -> Any:
        """A desk browser of ``role``, signed in on the way to ``path``."""
        page = self.context(DESK, accept_downloads=True).new_page()
        self.sign_in_again(page, role, path)
        return page

    def sign_in_again(self, page: Any, role: str, path: str) -> None:
        """Open ``path``; when the staff session has ended, sign in on the way."""
        page.goto(self.url + path)
        if "/signin" in page.url:
            assert page.locator("html").get_attribute("lang") == (
                "en" if self.lang == "en" else "zh-CN"
            )
            page.fill("input[name=username]", f"demo-{role}")
            page.fill("input[name=password]", self.server.world.credentials[role])
            page.click("form.stack button[type=submit]")
            page.wait_for_url(f"**{path}")

    def sms_sign_in(self, page: Any, phone: str, phone_field: str, code_field: str) -> None:
        page.fill(phone_field, phone)
        page.click("[data-test=send-code]")
        page.wait_for_selector(code_field)
        page.fill(code_field, self.server.sms_code(phone))
        page.click("[data-test=sign-in]")

    # --- the program and its money ----------------------------------------------------------

    def operator_creates_and_activates_the_program(self, page: Any) -> str:
        t = self.t
        page.click("[data-test=new-program]")
        page.wait_for_url("**/ops/programs/new")
        page.fill("input[name=name]", self.program)
        page.click("[data-test=save-program]")
        page.wait_for_url("**/ops/programs/prg_*")
        assert t("done.program_created") in page.inner_text("[data-test=notice]")
        program_url = str(page.url).split("?")[0]
        page.click("[data-test=activate-program]")
        page.wait_for_url("**/confirm/activate")
        page.fill("textarea[name=reason]", "预算已到位" if self.lang == "zh" else "Budget is in")
        page.check("input[name=confirm]")
        page.click("[data-test=confirm-activate]")
        page.wait_for_url("**/ops/programs/prg_*")
        assert page.locator("h1 [data-status=active]").count() == 1
        self.shot(page, "program-active")
        return program_url

    def operator_funds_it(self, page: Any, program_url: str) -> None:
        t = self.t
        page.goto(self.url + "/ops/funders")
        page.fill("input[name=name]", self.funder)
        page.select_option("select[name=kind]", "department")
        page.click("[data-test=create-funder]")
        page.wait_for_url("**/ops/funders?done=funder_created")
        page.goto(program_url + "/money")
        page.select_option("#c-f-funder_id", label=self.funder)
        page.fill("#c-f-amount", BIG)
        page.click("[data-test=contribute]")
        page.wait_for_url("**/money?done=contribution_requested")
        row = page.locator("[data-test=movement-row]").first
        assert row.get_attribute("data-status") == "pending_approval"
        page.goto(self.url + "/ops/approvals")
        mine = page.locator("[data-test=waiting]", has_text=self.program)
        assert t("office.approvals.yours") in mine.inner_text()
        assert mine.locator("[data-test=approve]").count() == 0  # not the requester's to approve

    def checker_approves(self, checker: Any, program_url: str) -> None:
        t = self.t
        self.sign_in_again(checker, "checker", "/ops/approvals")
        waiting = checker.locator("[data-test=waiting]", has_text=self.program)
        assert "¥1,500,000.00" in waiting.inner_text()
        waiting.locator("input[name=confirm]").check()
        waiting.locator("[data-test=approve]").click()
        checker.wait_for_url("**/ops/approvals?done=movement_approve")
        assert t("done.movement_approve") in checker.inner_text("[data-test=notice]")
        checker.goto(program_url + "/money")
        assert checker.inner_text("[data-test=funded] dd") == "¥1,500,000.00"
        self.shot(checker, "money-approved")

    def operator_opens_a_batch(self, page: Any, program_url: str) -> str:
        t = self.t
        page.goto(program_url)
        page.click("[data-test=new-type]")
        page.fill("input[name=name]", self.type_name)
        page.fill("input[name=face_value]", "30")
        page.fill("input[name=min_spend]", "100")
        page.check("input[name=categories][value=catering]")
        page.click("[data-test=create-type]")
        assert page.inner_text("[data-test=notice]") == t("done.type_created")
        page.click("[data-test=new-batch]")
        option = page.locator("select[name=voucher_type_id] option", has_text=self.type_name)
        page.select_option("select[name=voucher_type_id]", option.get_attribute("value"))
        page.fill("input[name=name]", self.batch_name)
        page.fill("input[name=quantity]", "20")
        page.fill("input[name=regions]", "330100")
        page.click("[data-test=create-batch]")
        assert page.inner_text("[data-test=notice]") == t("done.batch_created")
        row = page.locator("[data-test=batch-row]", has_text=self.batch_name)
        batch_id = str(row.get_attribute("data-batch"))
        row.locator("[data-test=open-batch]").click()
        assert page.inner_text("[data-test=notice]") == t("done.batch_opened")
        row = page.locator(f"[data-test=batch-row][data-batch={batch_id}]")
        assert row.locator("[data-status]").get_attribute("data-status") == "open"
        assert "¥600.00" in row.inner_text()  # 20 vouchers × ¥30 reserved from the budget
        self.shot(page, "batch-opened")
        return batch_id

    # --- the shop ---------------------------------------------------------------------------

    def shop_applies(self, owner: Any) -> None:
        owner.goto(self.url + "/merchant/apply")
        # The demo's issuer by name: other tests add issuers to the served database.
        owner.select_option("select[name=issuer_id]", label=DEMO_ISSUER)
        owner.fill("[data-test=apply-name]", self.shop)
        owner.fill("[data-test=apply-uscc]", _uscc(self.lang))
        owner.check("[data-test=apply-category-catering]")
        owner.fill("[data-test=apply-region]", "330106")
        owner.fill("[data-test=apply-bank]", "中国工商银行杭州西湖支行")
        owner.fill("[data-test=apply-account]", "6222 0212 3456 7890 123")
        owner.fill("[data-test=apply-phone]", self.owner_phone)
        owner.click("[data-test=apply-submit]")
        owner.wait_for_url("**/merchant?done=applied")

    def operator_approves_the_shop(self, page: Any) -> None:
        page.goto(self.url + "/ops/merchants")
        page.click(f"text={self.shop}")
        page.wait_for_url("**/ops/merchants/mch_*")
        page.check("input[name=decision][value=approve]")
        page.click("[data-test=decide]")
        assert page.inner_text("[data-test=notice]") == self.t("done.merchant_approve")

    def owner_pairs_the_counter_tablet(self, owner: Any) -> Any:
        owner.click("[data-test=sign-out]")
        owner.wait_for_url("**/merchant/signin")
        self.sms_sign_in(
            owner, self.owner_phone, "[data-test=owner-phone]", "[data-test=owner-code]"
        )
        owner.wait_for_url("**/merchant")
        assert self.t("portal.status_says.approved") in owner.inner_text(
            "[data-test=review-outcome]"
        )
        owner.click("[data-test=nav-terminals]")
        owner.wait_for_url("**/merchant/terminals")
        owner.fill("[data-test=terminal-label]", "前台 1 号" if self.lang == "zh" else "Till 1")
        owner.click("[data-test=create-terminal]")
        owner.wait_for_url("**/merchant/terminals?done=terminal_created")
        terminal_id = owner.locator("[data-test=terminal]").first.get_attribute("data-terminal")
        owner.click(f"[data-test=pair-{terminal_id}]")
        owner.wait_for_selector("[data-test=pair-qr] svg")
        url = str(owner.get_attribute("[data-test=pair-qr]", "data-pair-url"))
        self.shot(owner, "pairing-qr")
        tablet = self.context(TABLET).new_page()
        tablet.goto(url)  # what the tablet's camera opens
        tablet.click("[data-test=confirm-pair]")
        tablet.wait_for_url("**/cashier")
        assert self.shop in tablet.inner_text("main")
        return tablet

    # --- residents and the counter ----------------------------------------------------------

    def resident_claims(self, batch_id: str) -> str:
        t = self.t
        phone = self.context(PHONE, is_mobile=True, has_touch=True).new_page()
        phone.goto(self.url + "/wallet/signin")
        self.sms_sign_in(phone, PROGRAM_PHONES[self.lang], "input[name=phone]", "input[name=code]")
        phone.wait_for_url("**/wallet")
        offer = phone.locator(f"[data-test=offer][data-batch={batch_id}]")
        assert offer.get_attribute("data-standing") == "claimable"
        offer.locator("[data-test=claim]").click()
        phone.wait_for_url("**/wallet/vouchers/**")
        assert phone.inner_text("[data-test=claimed]") == t("wallet.claimed")
        code = phone.inner_text("[data-test=voucher-code]").strip()
        self.shot(phone, "voucher")
        phone.context.close()
        return str(code)

    def tablet_redeems(self, tablet: Any, code: str) -> None:
        tablet.fill("input[name=code]", code)
        tablet.fill("[data-test=amount]", "120")
        tablet.click("[data-test=preview]")  # the voucher and what the customer pays, first
        tablet.click("[data-test=confirm]")
        tablet.wait_for_selector("[data-test=redeemed]")
        assert tablet.inner_text("[data-test=discount]") == "−¥30.00"
        assert tablet.inner_text("[data-test=customer-pays]") == "¥90.00"
        self.shot(tablet, "redeemed")
        tablet.context.close()

    def operator_watches_the_dashboard(self, page: Any, program_url: str) -> None:
        page.goto(program_url + "/dashboard")
        assert page.inner_text("[data-test=claimed] dd").strip() == "1"
        assert page.inner_text("[data-test=redeemed] dd").strip() == "1"
        self.shot(page, "dashboard")

    # --- settling and paying ----------------------------------------------------------------

    def operator_settles(self, page: Any, program_url: str) -> str:
        path = program_url.removeprefix(self.url) + "/settlements"
        self.sign_in_again(page, "operator", path)
        page.click("[data-test=run-settlement]")
        page.wait_for_url("**/ops/settlements/**")
        assert page.inner_text("[data-test=payout] dd") == "¥30.00"
        assert page.locator("[data-test=statement-row]").count() == 1
        assert self.shop in page.inner_text("[data-test=statements]")
        # The one who ran it does not confirm its payout.
        assert page.locator("[data-test=payout-other-person]").is_visible()
        assert page.locator("[data-test=mark-paid]").count() == 0
        self.shot(page, "settled")
        return str(page.url).removeprefix(self.url).split("?")[0]

    def checker_confirms_the_payout(self, checker: Any, settlement_path: str) -> None:
        t = self.t
        self.sign_in_again(checker, "checker", settlement_path)
        checker.fill("input[name=payment_ref]", f"BANK-RUN-{self.lang.upper()}-0001")
        checker.check("input[name=confirmed]")
        checker.click("[data-test=mark-paid]")
        checker.wait_for_selector("[data-test=notice]")
        assert checker.inner_text("[data-test=notice]") == t("done.payout_paid")
        assert t("payout.paid") in checker.inner_text("[data-test=statement-row]")
        self.shot(checker, "payout-paid")

    def operator_exports_the_dashboard(self, page: Any, program_url: str) -> None:
        t = self.t
        self.sign_in_again(page, "operator", program_url.removeprefix(self.url) + "/dashboard")
        assert page.inner_text("[data-test=subsidy] dd").strip() == "¥30.00"
        with page.expect_download() as info:
            page.click("[data-test=export-xlsx]")
        book = read_xlsx(Path(info.value.path()).read_bytes())
        summary = {row[0]: row[1] for row in book[t("report.sheet.summary")][1:]}
        assert summary[t("report.subsidy")] == Fraction(30)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_office_runs_a_whole_program_from_the_console(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    started = time.monotonic()
    run = Run(lang, server, browser, screens)
    operator = run.staff("operator", "/ops")
    program_url = run.operator_creates_and_activates_the_program(operator)
    run.operator_funds_it(operator, program_url)
    checker = run.context(DESK).new_page()
    run.checker_approves(checker, program_url)
    batch_id = run.operator_opens_a_batch(operator, program_url)
    owner = run.context(PHONE, is_mobile=True).new_page()
    run.shop_applies(owner)
    run.operator_approves_the_shop(operator)
    tablet = run.owner_pairs_the_counter_tablet(owner)
    owner.context.close()
    code = run.resident_claims(batch_id)
    run.tablet_redeems(tablet, code)
    run.operator_watches_the_dashboard(operator, program_url)
    server.advance(NEXT_DAY)  # the day is over: it can be settled; everyone signs in again
    settlement = run.operator_settles(operator, program_url)
    run.checker_confirms_the_payout(checker, settlement)
    run.operator_exports_the_dashboard(operator, program_url)
    checker.context.close()
    operator.context.close()
    print(f"\n[{lang}] the whole program ran in {time.monotonic() - started:.1f} s")

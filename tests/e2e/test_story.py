"""The console's whole story in a real browser, in Chinese and in English.

An operator creates a voucher type and a batch and opens it, opens a lottery batch too, and
approves a merchant waiting for review; a resident signs in by SMS code on a phone (360×740),
claims, and enters the lottery; a cashier redeems at the counter; the operator sees it on the
dashboard. The next day (the server's clock moves forward) the operator runs settlement and
downloads the merchant's statement, which holds the redemption, and draws the lottery
(quan-lottery-v2: after registration closes the operator, who created it, is told a second
person must enter the public random value; the admin enters it; the draw reveals the secret and
the seed, one winner, how to verify it, and ``quan lottery verify`` agrees from outside, from the
log); the resident signs in again and finds the voucher the draw gave. The auditor's
verification of the transparency log is green; anyone reads the disclosure page. Every screen is
saved under ``test-artifacts/screens/`` (git-ignored).

The cashier refuses an order below the minimum spend, redeems ¥120 (¥30 off, the customer pays
¥90), and is refused the same voucher twice; the dashboard shows the redemption and its spend.
"""

from __future__ import annotations

import csv
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from quan.cli.lottery import verify_with
from quan.web.i18n import Translator, category_name
from tests.e2e.conftest import Server

PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
# The server's clock moves forward twice: past the lottery's one-hour registration window (staff
# and resident sessions last 12 hours, so everyone stays signed in), then a day and two minutes,
# so the redemption's day is over (settlement cuts at midnight, plus a minute's margin).
AN_HOUR = timedelta(minutes=61).total_seconds()
NEXT_DAY = timedelta(days=1, minutes=2).total_seconds()


class Story:
    def __init__(self, lang: str, server: Server, browser: Any, screens: Path) -> None:
        self.lang = lang
        self.t = Translator("en" if lang == "en" else "zh")
        self.server = server
        self.url = server.url
        self.browser = browser
        self.screens = screens
        self.count = 0
        self.phone: Any = None  # the resident's phone, signed in from the claim to the result
        self.type_name = "餐饮满100减30" if lang == "zh" else "Dining: ¥30 off ¥100"
        self.batch_name = "第一轮（中文）" if lang == "zh" else "Round one (English)"
        self.lottery_name = "摇号轮（中文）" if lang == "zh" else "Lottery round (English)"
        self.beacon = "8d4f0b2c6e1a3957" if lang == "zh" else "2b7e151628aed2a6"

    # --- helpers ------------------------------------------------------------------------------

    def context(self, viewport: dict[str, int], **options: Any) -> Any:
        return self.browser.new_context(
            viewport=viewport, locale="zh-CN" if self.lang == "zh" else "en-US", **options
        )

    def shot(self, page: Any, name: str) -> None:
        self.count += 1
        path = self.screens / f"{self.lang}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)

    def choose_language(self, page: Any) -> None:
        """Chinese is the default; the English run switches with the header link."""
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        if self.lang == "en":
            page.click("[data-test=lang-switch]")
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == "en"

    def fits_phone(self, page: Any) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')]"
                ".filter(e => !e.closest('.table') || e.matches('.table'))"
                ".filter(e => e.getBoundingClientRect().right > window.innerWidth)"
                ".slice(0, 5).map(e => e.outerHTML.slice(0, 120))"
            )
            raise AssertionError(f"{page.url} scrolls sideways on a phone ({width}px): {wide}")

    def staff_sign_in(self, page: Any, role: str, start: str) -> None:
        page.goto(self.url + start)
        assert "/signin" in page.url
        self.choose_language(page)
        self.shot(page, f"{role}-sign-in")
        page.fill("input[name=username]", f"demo-{role}")
        page.fill("input[name=password]", self.server.world.credentials[role])
        page.click("form.stack button[type=submit]")
        page.wait_for_url(f"**{start}")

    def sign_in_again(self, page: Any, role: str, path: str) -> None:
        """Open ``path``; when the staff session has expired, sign in again on the way."""
        page.goto(self.url + path)
        if "/signin" in page.url:
            page.fill("input[name=username]", f"demo-{role}")
            page.fill("input[name=password]", self.server.world.credentials[role])
            page.click("form.stack button[type=submit]")
            page.wait_for_url(f"**{path}")

    def citizen_signs_in(self, context: Any) -> Any:
        page = context.new_page()
        page.goto(self.url + "/wallet")
        assert "/wallet/signin" in page.url
        self.choose_language(page)
        phone = self.server.world.phones[self.lang]
        page.fill("input[name=phone]", phone)
        page.click("[data-test=send-code]")
        page.wait_for_selector("input[name=code]")
        self.fits_phone(page)
        self.shot(page, "citizen-code")
        page.fill("input[name=code]", self.server.sms_code(phone))
        page.click("[data-test=sign-in]")
        page.wait_for_url("**/wallet")
        return page

    def download(self, page: Any, selector: str) -> Path:
        with page.expect_download() as info:
            page.click(selector)
        return Path(info.value.path())

    # --- the story ----------------------------------------------------------------------------

    def operator_opens_a_batch(self, page: Any) -> str:
        t = self.t
        self.staff_sign_in(page, "operator", "/ops")
        self.shot(page, "programs")
        page.click("[data-test=program-link]")
        page.click("[data-test=new-type]")
        page.fill("input[name=name]", self.type_name)
        page.fill("input[name=face_value]", "30")
        page.fill("input[name=min_spend]", "100")
        page.check("input[name=categories][value=catering]")
        self.shot(page, "new-voucher-type")
        page.click("[data-test=create-type]")
        assert page.inner_text("[data-test=notice]") == t("done.type_created")

        page.click("[data-test=new-batch]")
        option = page.locator("select[name=voucher_type_id] option", has_text=self.type_name)
        page.select_option("select[name=voucher_type_id]", option.get_attribute("value"))
        page.fill("input[name=name]", self.batch_name)
        page.fill("input[name=quantity]", "50")
        page.fill("input[name=regions]", "330100")
        self.shot(page, "new-batch")
        page.click("[data-test=create-batch]")
        assert page.inner_text("[data-test=notice]") == t("done.batch_created")

        row = page.locator("[data-test=batch-row]", has_text=self.batch_name)
        batch_id = row.get_attribute("data-batch")
        assert batch_id
        row.locator("[data-test=open-batch]").click()
        assert page.inner_text("[data-test=notice]") == t("done.batch_opened")
        row = page.locator(f"[data-test=batch-row][data-batch={batch_id}]")
        assert row.locator("[data-status]").get_attribute("data-status") == "open"
        assert "¥1,500.00" in row.inner_text()  # 50 vouchers × ¥30 reserved from the budget
        assert page.locator("[data-test=identity] .badge.ok").count() == 1
        self.shot(page, "batch-opened")
        return str(batch_id)

    def operator_approves_a_merchant(self, page: Any) -> None:
        t = self.t
        pending = self.server.world.pending_merchants[self.lang]
        page.goto(self.url + "/ops/merchants")
        self.shot(page, "review-queue")
        page.click(f"a[href='/ops/merchants/{pending}']")
        page.check("input[name=decision][value=approve]")
        self.shot(page, "merchant-review")
        page.click("[data-test=decide]")
        assert page.inner_text("[data-test=notice]") == t("done.merchant_approve")
        self.shot(page, "merchant-approved")

    def citizen_claims_on_a_phone(self, batch_id: str, lottery_id: str) -> str:
        t = self.t
        context = self.context(PHONE, is_mobile=True, has_touch=True)
        page = self.citizen_signs_in(context)
        offer = page.locator(f"[data-test=offer][data-batch={batch_id}]")
        assert offer.get_attribute("data-standing") == "claimable"
        assert t("wallet.eligible") in offer.inner_text()
        self.fits_phone(page)
        self.shot(page, "wallet")
        offer.locator("[data-test=claim]").click()
        page.wait_for_url("**/wallet/vouchers/**")
        assert page.inner_text("[data-test=claimed]") == t("wallet.claimed")
        assert page.locator("[data-test=qr] svg").is_visible()
        code = page.inner_text("[data-test=voucher-code]").strip()
        self.fits_phone(page)
        self.shot(page, "voucher-qr")
        page.click("[data-test=large-switch]")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("class") == "large"
        self.fits_phone(page)
        self.shot(page, "voucher-large-type")
        page.goto(self.url + "/wallet")
        assert page.locator("[data-test=voucher][data-status=active]").count() == 1
        self.shot(page, "wallet-large-type")
        # The lottery batch: enter it (still in large type), and the wallet says so.
        lottery = page.locator(f"[data-test=offer][data-batch={lottery_id}]")
        assert lottery.get_attribute("data-standing") == "lottery"
        lottery.locator("[data-test=enter-lottery]").click()
        page.wait_for_selector("[data-test=entered]")
        assert page.inner_text("[data-test=entered]") == t("wallet.entered")
        entry = page.locator(f"[data-test=lottery][data-batch={lottery_id}]")
        assert entry.get_attribute("data-result") == "waiting"
        self.fits_phone(page)
        self.shot(page, "wallet-lottery-entered")
        self.phone = context  # kept: the resident comes back for the draw's result
        return str(code)

    def operator_opens_a_lottery(self, page: Any) -> str:
        """A lottery batch of the same voucher type: one place, registration open for an hour."""
        t = self.t
        page.goto(f"{self.url}/ops/programs/{self.server.world.program_id}")
        page.click("[data-test=new-batch]")
        option = page.locator("select[name=voucher_type_id] option", has_text=self.type_name)
        page.select_option("select[name=voucher_type_id]", option.get_attribute("value"))
        page.fill("input[name=name]", self.lottery_name)
        page.fill("input[name=quantity]", "1")
        page.select_option("select[name=allocation]", "lottery")
        opens = datetime.strptime(page.input_value("input[name=claim_opens_at]"), LOCAL_INPUT)
        page.fill("input[name=claim_closes_at]", (opens + timedelta(hours=1)).strftime(LOCAL_INPUT))
        page.click("[data-test=create-batch]")
        assert page.inner_text("[data-test=notice]") == t("done.batch_created")
        row = page.locator("[data-test=batch-row]", has_text=self.lottery_name)
        lottery_id = row.get_attribute("data-batch")
        assert lottery_id
        row.locator("[data-test=open-batch]").click()
        assert page.inner_text("[data-test=notice]") == t("done.batch_opened")
        row = page.locator(f"[data-test=batch-row][data-batch={lottery_id}]")
        row.locator("[data-test=lottery-link]").click()
        page.wait_for_url(f"**/ops/batches/{lottery_id}/lottery")
        assert page.get_attribute("[data-test=lottery-state]", "data-drawn") == "no"
        assert len(page.inner_text("[data-test=commitment]").strip()) == 64
        assert page.locator("[data-test=draw-blocked]").is_visible()  # registration is open
        self.shot(page, "lottery-registration")
        return str(lottery_id)

    def operator_settles(self, page: Any) -> None:
        """The day after: settle it, read the merchant's statement, download it."""
        t = self.t
        path = f"/ops/programs/{self.server.world.program_id}/settlements"
        self.sign_in_again(page, "operator", path)
        self.shot(page, "settlements")
        page.click("[data-test=run-settlement]")
        page.wait_for_url("**/ops/settlements/**")
        # Other page tests of this served world may have redeemed at this shop too (the counter
        # and wallet tests): the run pays the statement's lines, the story's ¥30 among them.
        payout = page.inner_text("[data-test=payout] dd")
        assert page.locator("[data-test=statement-row]").count() == 1
        self.shot(page, "settlement-run")
        summary = list(csv.DictReader(
            self.download(page, "[data-test=statements-csv]").open(encoding="utf-8-sig")
        ))
        # A person's copy: headers in the page's language, amounts in yuan.
        paid = [row[t("csv.payout_fen")] for row in summary]
        assert len(paid) == 1
        page.click("[data-test=statement-link]")
        page.wait_for_selector("[data-test=statement-lines]")
        assert t("cashier.statement") in page.inner_text("h1")
        lines = page.inner_text("[data-test=statement-lines]")
        assert "¥120.00" in lines
        assert "¥30.00" in lines
        self.shot(page, "statement")
        rows = list(csv.DictReader(
            self.download(page, "[data-test=statement-csv]").open(encoding="utf-8-sig")
        ))
        columns = (t("csv.category"), t("csv.order_amount_fen"), t("csv.discount_fen"))
        lines_seen = [tuple(r[c] for c in columns) for r in rows]
        assert (category_name("catering", t.lang), "120.00", "30.00") in lines_seen
        total = sum(round(float(r[t("csv.discount_fen")]) * 100) for r in rows)
        assert paid == [f"{total / 100:.2f}"]
        assert payout == f"¥{total / 100:,.2f}"

    def operator_waits_for_the_second_person(self, page: Any, lottery_id: str) -> None:
        """Registration has closed: the operator who created the lottery cannot enter its
        public value, and the draw waits for it."""
        t = self.t
        self.sign_in_again(page, "operator", f"/ops/batches/{lottery_id}/lottery")
        told = page.inner_text("[data-test=beacon-other-person]")
        assert t("lottery.beacon_other_person") in told
        assert page.locator("[data-test=beacon-form]").count() == 0
        assert t("lottery.blocked_no_beacon") in page.inner_text("[data-test=draw-blocked]")
        self.shot(page, "lottery-waiting-for-the-beacon")

    def admin_enters_the_beacon(self, lottery_id: str) -> None:
        """The second person (the admin) enters the public value and its source."""
        t = self.t
        context = self.context(DESK)
        page = context.new_page()
        self.staff_sign_in(page, "admin", f"/ops/batches/{lottery_id}/lottery")
        source = (
            "drand quicknet 第 1234567 轮" if self.lang == "zh" else "drand quicknet round 1234567"
        )
        page.fill("[data-test=beacon-form] input[name=value]", self.beacon)
        page.fill("[data-test=beacon-form] input[name=source]", source)
        self.shot(page, "lottery-beacon-form")
        page.click("[data-test=enter-beacon]")
        page.wait_for_selector("[data-test=beacon-value]")
        assert page.inner_text("[data-test=notice]") == t("lottery.done_beacon")
        assert page.inner_text("[data-test=beacon-value]").strip() == self.beacon
        assert page.inner_text("[data-test=beacon-source]").strip() == source
        assert page.inner_text("[data-test=beacon-by]").startswith("staff:")
        assert page.locator("[data-test=close-root]").inner_text().strip().endswith("=")
        self.shot(page, "lottery-beacon-entered")
        context.close()

    def operator_draws(self, page: Any, lottery_id: str) -> None:
        t = self.t
        path = f"/ops/batches/{lottery_id}/lottery"
        self.sign_in_again(page, "operator", path)
        assert page.inner_text("[data-test=registrants] dd") == "1"
        commitment = page.inner_text("[data-test=commitment]").strip()
        assert page.inner_text("[data-test=beacon-value]").strip() == self.beacon
        page.click("[data-test=draw]")
        page.wait_for_selector("[data-test=seed]")
        assert page.inner_text("[data-test=notice]") == t(
            "lottery.done_drawn", winners="1", issued="1"
        )
        assert page.get_attribute("[data-test=lottery-state]", "data-drawn") == "yes"
        assert page.inner_text("[data-test=winners] dd") == "1"
        seed = page.inner_text("[data-test=seed]").strip()
        assert len(seed) == 64
        assert len(page.inner_text("[data-test=secret]").strip()) == 64
        assert page.inner_text("[data-test=commitment]").strip() == commitment
        command = page.inner_text("[data-test=verify-command]")
        assert command.strip() == f"quan lottery verify --url {self.url} --batch {lottery_id}"
        self.shot(page, "lottery-drawn")
        # The same page on a phone in large type: nothing scrolls sideways.
        page.set_viewport_size(PHONE)
        page.click("[data-test=large-switch]")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("class") == "large"
        self.fits_phone(page)
        self.shot(page, "lottery-drawn-phone-large-type")
        page.click("[data-test=large-switch]")
        page.wait_for_load_state()
        page.set_viewport_size(DESK)
        record = page.get_attribute("[data-test=public-record]", "href")
        assert record == f"/api/v1/batches/{lottery_id}/lottery"
        # The outsider's verifier, from the log: the development server sequences it every
        # second, so the draw's events may need a moment to be logged.
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for _ in range(40):
                problems = verify_with(client, lottery_id)
                if not problems:
                    break
                time.sleep(0.25)
        assert problems == []

    def citizen_sees_the_lottery_result(self, lottery_id: str) -> None:
        """Back on the phone (the session is hours old, not a day): the result, and the voucher."""
        t = self.t
        page = self.phone.pages[0]
        page.goto(self.url + "/wallet")
        entry = page.locator(f"[data-test=lottery][data-batch={lottery_id}]")
        assert entry.get_attribute("data-result") == "won"
        assert t("wallet.result.won") in entry.inner_text()
        self.fits_phone(page)
        self.shot(page, "wallet-lottery-won")
        entry.locator("[data-test=won-voucher]").click()
        page.wait_for_url("**/wallet/vouchers/**")
        assert page.locator("[data-test=qr] svg").is_visible()
        self.fits_phone(page)
        self.shot(page, "lottery-voucher")
        self.phone.close()

    def cashier_at_the_counter(self, code: str) -> None:
        t = self.t
        context = self.context(TABLET)
        page = context.new_page()
        page.goto(self.url + "/cashier")
        assert "/cashier/signin" in page.url
        self.choose_language(page)
        page.fill("input[name=api_key]", self.server.world.terminal_key)
        page.click("[data-test=terminal-sign-in]")
        page.wait_for_url("**/cashier")
        assert self.server.world.merchant_name in page.inner_text("main")
        # Desktop Linux Chromium has no barcode detector: the vendored QR decoder offers the
        # camera all the same, and the page says it can be used (typing always works).
        assert page.locator("[data-test=scan]").is_visible()
        assert page.inner_text("[data-test=scan-unsupported]") == t("counter.camera_ready")
        # Below the minimum spend: refused in plain words, nothing redeemed.
        page.fill("input[name=code]", code)
        page.fill("[data-test=amount]", "50")
        page.click("[data-test=preview]")
        refused = page.wait_for_selector("[data-test=refused]")
        assert refused.get_attribute("data-code") == "BELOW_MIN_SPEND"
        self.shot(page, "cashier-refused")
        # ¥120 meets the ¥100 minimum: ¥30 off, the customer pays ¥90.
        page.fill("[data-test=amount]", "120")
        page.click("[data-test=preview]")  # the voucher and what the customer pays, first
        page.click("[data-test=confirm]")
        page.wait_for_selector("[data-test=redeemed]")
        assert page.inner_text("[data-test=discount]") == "−¥30.00"
        assert page.inner_text("[data-test=customer-pays]") == "¥90.00"
        assert t("cashier.redeemed") in page.inner_text("[data-test=redeemed]")
        assert page.input_value("input[name=code]") == ""  # ready for the next customer
        assert page.locator("[data-test=history] tbody tr").count() >= 1
        self.shot(page, "cashier-redeemed")
        # The same voucher again: refused, and the screen says why.
        page.fill("input[name=code]", code)
        page.fill("[data-test=amount]", "120")
        page.click("[data-test=preview]")
        page.wait_for_selector("[data-test=refused]")
        assert page.get_attribute("[data-test=refused]", "data-code") == "ALREADY_REDEEMED"
        self.shot(page, "cashier-already-redeemed")
        context.close()

    def operator_sees_the_dashboard(self, page: Any) -> None:
        page.goto(f"{self.url}/ops/programs/{self.server.world.program_id}/dashboard")
        claimed = int(page.inner_text("[data-test=claimed] dd").replace(",", ""))
        redeemed = int(page.inner_text("[data-test=redeemed] dd").replace(",", ""))
        assert claimed >= 1
        assert redeemed >= 1
        spend = page.inner_text("[data-test=spend]")
        assert category_name("catering", self.lang) in spend  # the redeemed order's category
        assert page.locator("svg.chart").count() >= 4
        self.shot(page, "dashboard")

    def auditor_verifies(self) -> None:
        t = self.t
        context = self.context(DESK)
        page = context.new_page()
        self.staff_sign_in(page, "auditor", "/auditor")
        page.click("[data-test=verify]")
        page.wait_for_selector("[data-test=verification-ok], [data-test=verification-failed]")
        assert page.locator("[data-test=verification-failed]").count() == 0
        assert t("audit.verified_ok") in page.inner_text("[data-test=verification-ok]")
        self.shot(page, "auditor-verified")
        page.click("[data-test=entries-link]")
        assert page.locator("[data-test=entries] li").count() > 0
        # The auditor narrows the log to one family of events, read in words.
        page.select_option("[data-test=entry-filter] select[name=type]", "batch")
        page.click("[data-test=entry-filter] button[type=submit]")
        page.wait_for_url("**/auditor/entries?*type=batch*")
        kinds = page.locator("[data-test=entries] li").evaluate_all(
            "items => items.map(i => i.dataset.type)"
        )
        assert kinds, "no batch events in the log"
        assert all(kind.startswith("batch.") for kind in kinds), kinds
        assert t("event.batch.opened") in page.inner_text("[data-test=entries]")
        self.shot(page, "log-entries")
        context.close()

    def admin_disables_and_enables_an_account(self) -> None:
        """The admin's staff page: disable the operator (confirmed in a dialog), whose sessions
        end at once, enable it again, and sign out (which ends the admin's session too)."""
        t = self.t
        context = self.context(DESK)
        page = context.new_page()
        self.staff_sign_in(page, "admin", "/ops/staff")
        questions: list[str] = []

        def accept(dialog: Any) -> None:
            questions.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        row = "[data-test=account-demo-operator]"
        assert t("staff.active") in page.inner_text(row)
        self.shot(page, "staff")
        page.click("[data-test=disable-demo-operator]")
        page.wait_for_selector("[data-test=notice]")
        assert questions == [t("staff.confirm_disable", username="demo-operator")]
        assert t("staff.disabled") in page.inner_text(row)
        page.click("[data-test=enable-demo-operator]")
        page.wait_for_selector("[data-test=enable-demo-operator]", state="detached")
        assert t("staff.active") in page.inner_text(row)
        page.click("[data-test=sign-out]")
        page.goto(self.url + "/ops/staff")
        assert "/signin" in page.url
        context.close()

    def public_reads_the_disclosure(self, batch_id: str) -> None:
        context = self.context(PHONE, is_mobile=True)
        page = context.new_page()
        page.goto(self.url + "/disclosure")
        self.choose_language(page)
        # The story's own program (other page tests of this server add programs of their own).
        program_id = self.server.world.program_id
        page.click(f"[data-test=disclosure-link][href*='{program_id}']")
        assert self.batch_name in page.inner_text("main")
        self.fits_phone(page)
        self.shot(page, "disclosure")
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_whole_story_in_a_real_browser(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    story = Story(lang, server, browser, screens)
    operator = story.context(DESK)
    page = operator.new_page()
    batch_id = story.operator_opens_a_batch(page)
    lottery_id = story.operator_opens_a_lottery(page)
    story.operator_approves_a_merchant(page)
    code = story.citizen_claims_on_a_phone(batch_id, lottery_id)
    story.cashier_at_the_counter(code)
    story.operator_sees_the_dashboard(page)
    server.advance(AN_HOUR)  # the lottery's registration closes; sessions are still valid
    story.operator_waits_for_the_second_person(page, lottery_id)
    story.admin_enters_the_beacon(lottery_id)
    story.operator_draws(page, lottery_id)
    story.citizen_sees_the_lottery_result(lottery_id)
    server.advance(NEXT_DAY)  # the redemption's day is over; the operator signs in again
    story.operator_settles(page)
    operator.close()
    story.auditor_verifies()
    story.admin_disables_and_enables_an_account()
    story.public_reads_the_disclosure(batch_id)

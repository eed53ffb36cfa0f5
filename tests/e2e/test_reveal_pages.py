"""Revealing a citizen's personal data in a real browser, in Chinese and in English (issue 13, I4).

An operator finds a citizen by ID number, states a purpose and sees the name, ID number and phone
once (the answer is ``Cache-Control: no-store``; going back shows the masked record again). Past
the daily threshold the next reveal files a request; a second operator approves it on the
approvals page, and the first reveals once with it. Both reveals are events. The revealed page,
which the accessibility sweep cannot reach (it is the answer to a POST), is checked with
axe-core here, at desk width and at 360 px.

Own accounts and citizen (``reveal-*-{lang}``), made through the services like the world's own;
"the operator already revealed 20 people today" is the day counter the service keeps, raised
where the served process keeps it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from quan.config import load_settings
from quan.domain.auth import Role
from quan.domain.citizens import RegistrationInput, validate_registration
from quan.services.people import citizens, staff
from quan.services.runtime import Runtime
from quan.store.tables import events, staff_users
from quan.web.i18n import Translator
from tests.citizen_samples import resident_id
from tests.e2e.conftest import Server
from tests.e2e.serve import OFFSET_FILE, ShiftedClock
from tests.e2e.world import LANGS

DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
PASSWORD = "reveal pages, two people"
PEOPLE = {"zh": ("孙丽娟", "13900000081"), "en": ("周敏", "13900000082")}


def _runtime(server: Server) -> Runtime:
    """The served world's database and counters, on the served process's clock."""
    var_dir = server.world.var_dir
    settings = load_settings(var_dir=var_dir, env="development")
    return Runtime.build(settings, clock=ShiftedClock(var_dir / OFFSET_FILE))


def _prepare(rt: Runtime, lang: str) -> tuple[str, str, str]:
    """Two operators of the demo issuer and one citizen of its region: (operator id, citizen id,
    ID number)."""
    now = rt.clock.now()
    name, phone = PEOPLE[lang]
    number = resident_id("330106", date(1972, 6, 1), 80 + LANGS.index(lang))
    keys = citizens.CitizenKeys.from_settings(rt.settings)
    with rt.db.write() as tx:
        issuer_id = tx.execute(
            select(staff_users.c.issuer_id).where(staff_users.c.username == "demo-operator")
        ).scalar_one()
        users = [
            staff.create_user(
                tx,
                now,
                username=f"reveal-{who}-{lang}",
                password=PASSWORD,
                role=Role.OPERATOR,
                issuer_id=issuer_id,
            )
            for who in ("op", "ok")
        ]
        registration = validate_registration(
            RegistrationInput(resident_id=number, name=name, region_code="330106", phone=phone),
            today=now.date(),
        )
        citizen = citizens.register(tx, now, users[0].actor(), keys, registration)
    return users[0].id, citizen.id, number


def _revealed(rt: Runtime, citizen_id: str) -> list[tuple[str, str]]:
    with rt.db.read() as tx:
        rows = tx.execute(
            select(events.c.actor, events.c.payload)
            .where(
                events.c.type == "citizen.personal_data_revealed",
                events.c.subject_id == citizen_id,
            )
            .order_by(events.c.id)
        ).all()
    return [(r.actor, json.loads(r.payload)["purpose"]) for r in rows]


class Desk:
    def __init__(self, lang: str, server: Server, browser: Any, screens: Path) -> None:
        self.lang = lang
        self.t = Translator(lang)
        self.server = server
        self.browser = browser
        self.screens = screens
        self.count = 0

    def signed_in(self, username: str, start: str) -> Any:
        context = self.browser.new_context(
            viewport=DESK, locale="zh-CN" if self.lang == "zh" else "en-US"
        )
        page = context.new_page()
        page.goto(self.server.url + start)
        assert "/signin" in page.url
        if self.lang == "en":
            page.click("[data-test=lang-switch]")
            page.wait_for_load_state()
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
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
        shot = self.screens / f"reveal-{self.lang}-{self.count:02d}-{name}"
        page.screenshot(path=f"{shot}.png", full_page=True)
        page.set_viewport_size(PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} ({page.url}) scrolls sideways at 360 px: {width}"
        page.set_viewport_size(DESK)

    def reveal(self, page: Any, button: str) -> Any:
        """Click a reveal button; the answer of its POST."""
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/reveal")
        ) as answer:
            page.click(f"[data-test={button}]")
        page.wait_for_load_state()
        return answer.value


@pytest.mark.parametrize("lang", LANGS)
def test_an_operator_reveals_once_and_a_second_person_approves_beyond_the_threshold(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    rt = _runtime(server)
    try:
        operator_id, citizen_id, number = _prepare(rt, lang)
        name, phone = PEOPLE[lang]
        desk = Desk(lang, server, browser, screens)
        t = desk.t
        page = desk.signed_in(f"reveal-op-{lang}", "/ops/citizens")
        page.fill("input[name=query]", number)
        page.click("[data-test=find-citizen]")
        page.wait_for_url(f"**/ops/citizens/{citizen_id}")
        assert number not in page.url
        assert name not in page.inner_text("main")
        page.select_option("select[name=purpose]", "dispute")
        answer = desk.reveal(page, "reveal")
        assert answer.headers["cache-control"] == "no-store"
        shown = page.inner_text("[data-test=revealed]")
        assert name in shown
        assert number in shown
        assert phone in shown
        assert t("reveal.purpose.dispute") in page.inner_text("[data-test=recorded]")
        desk.check(page, "revealed")
        page.click("[data-test=back]")
        page.wait_for_url(f"**/ops/citizens/{citizen_id}")
        assert name not in page.inner_text("main")

        # "Already 20 people today": the next reveal needs a second person.
        key = f"reveal-day:staff:{operator_id}"
        while rt.throttle.count(key) < rt.settings.reveal_daily_threshold:
            rt.throttle.hit(key, 24 * 3600)
        page.select_option("select[name=purpose]", "identity_check")
        page.click("[data-test=reveal]")
        page.wait_for_url("**done=reveal_requested")
        assert t("done.reveal_requested") in page.inner_text("[data-test=notice]")
        request = page.locator("[data-test=request]")
        assert request.get_attribute("data-status") == "waiting"
        request_id = request.get_attribute("data-request")
        assert name not in page.inner_text("main")
        desk.check(page, "requested")

        second = desk.signed_in(f"reveal-ok-{lang}", "/ops/approvals")
        waiting = second.locator(f"[data-test=reveal-waiting][data-request={request_id}]")
        assert t("reveal.purpose.identity_check") in waiting.inner_text()
        desk.check(second, "approvals")
        waiting.locator("[data-test=approve-reveal]").click()
        second.wait_for_url("**/ops/approvals?done=reveal_approved")
        assert t("done.reveal_approved") in second.inner_text("[data-test=notice]")
        assert second.locator(f"[data-request={request_id}]").count() == 0
        second.context.close()

        page.reload()
        assert page.locator("[data-test=request]").get_attribute("data-status") == "approved"
        answer = desk.reveal(page, "reveal-approved")
        assert answer.headers["cache-control"] == "no-store"
        assert name in page.inner_text("[data-test=revealed]")
        assert _revealed(rt, citizen_id) == [
            (f"staff:{operator_id}", "dispute"),
            (f"staff:{operator_id}", "identity_check"),
        ]
        page.context.close()
    finally:
        rt.db.dispose()

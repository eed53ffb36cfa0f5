"""Console forms in a real browser, in Chinese and in English: a bad amount is refused with a
sentence next to its field, which is marked invalid and gets the focus (and axe-core finds no
serious or critical issue on the refused form); a double click on a slow connection (the answer
held back 1.5 s, the second click 0.9 s after the first) creates one voucher type, not two; and
the batch form lays out on a 360 px phone, in large type too, without a label squeezed to a
character per line."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from quan.web.i18n import Translator
from tests.e2e.conftest import Server

DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def _no_serious_issue(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, f"{page.url}: {serious}"


def _fits_a_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth)"
        ".slice(0, 5).map(e => e.outerHTML.slice(0, 120))"
    )
    assert width <= PHONE["width"], f"{page.url} scrolls sideways ({width}px): {wide}"
    # A label's own text (before its field) must not be squeezed into a column of characters.
    narrow = page.evaluate(
        "[...document.querySelectorAll('form label')].map(l => {"
        " const text = [...l.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());"
        " if (!text) return null;"
        " const r = document.createRange(); r.selectNodeContents(text);"
        " return r.getClientRects().length > 3 ? text.textContent.trim() : null;"
        "}).filter(Boolean)"
    )
    assert not narrow, f"labels squeezed on {page.url}: {narrow}"


def _sign_in(page: Any, server: Server, lang: str) -> None:
    page.goto(server.url + "/ops" + ("?lang=en" if lang == "en" else ""))
    assert "/signin" in page.url
    page.fill("input[name=username]", "demo-operator")
    page.fill("input[name=password]", server.world.credentials["operator"])
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/ops")


def _fill_type(page: Any, name: str, face_value: str) -> None:
    page.fill("input[name=name]", name)
    page.fill("input[name=face_value]", face_value)
    page.fill("input[name=min_spend]", "100")
    page.check("input[name=categories][value=catering]")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_bad_amount_is_said_at_its_field_and_a_double_click_creates_one_type(
    lang: str, server: Server, browser: Any, screens: Path
) -> None:
    t = Translator("en" if lang == "en" else "zh")
    context = browser.new_context(viewport=DESK, locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    try:
        _sign_in(page, server, lang)
        html_lang = "zh-CN" if lang == "zh" else "en"
        form = f"{server.url}/ops/programs/{server.world.program_id}/voucher-types/new"
        page.goto(form)
        assert page.locator("html").get_attribute("lang") == html_lang  # ?lang= was kept
        name = "双击测试" if lang == "zh" else "Double click test"
        _fill_type(page, name, "30.005")
        page.click("[data-test=create-type]")
        page.wait_for_selector("[data-test=form-errors]")
        assert page.locator("html").get_attribute("lang") == html_lang  # also after the post
        field = page.locator("#f-face_value")
        assert field.get_attribute("aria-invalid") == "true"
        assert field.get_attribute("aria-describedby") == "err-face_value"
        assert page.inner_text("#err-face_value").strip() == t(
            "refuse.amount", label=t("types.face_value")
        )
        assert page.evaluate("document.activeElement.id") == "f-face_value"
        assert "VALIDATION_FAILED" not in page.inner_text("main")
        _no_serious_issue(page)
        page.screenshot(path=str(screens / f"{lang}-form-refused.png"), full_page=True)

        # A slow connection: the server's answer reaches the browser 1.5 s late, and the
        # operator clicks again 0.9 s after the first click.
        posts: list[str] = []

        def slow(route: Any) -> None:
            if route.request.method != "POST":
                route.continue_()
                return
            posts.append(route.request.url)
            answer = route.fetch(max_redirects=0)
            page.wait_for_timeout(1500)
            # The second click's navigation may have replaced this one already.
            with contextlib.suppress(Exception):
                route.fulfill(response=answer)

        page.route("**/voucher-types", slow)
        page.fill("input[name=face_value]", "30")
        page.evaluate(
            "() => { const b = document.querySelector('[data-test=create-type]');"
            " b.click(); setTimeout(() => b.click(), 900); }"
        )
        # The first navigation is aborted by the second: wait for where the second one lands.
        page.locator("[data-test=notice]").wait_for(timeout=15000)
        assert page.url.endswith("?done=type_created")
        assert len(posts) == 2  # both clicks reached the server
        assert page.inner_text("[data-test=notice]") == t("done.type_created")
        rows = page.locator("section[aria-labelledby=types-h] tbody tr", has_text=name)
        assert rows.count() == 1

        # The batch form on a phone, in standard and in large type.
        page.unroute_all(behavior="ignoreErrors")
        page.set_viewport_size(PHONE)
        batch_form = f"{server.url}/ops/programs/{server.world.program_id}/batches/new"
        page.goto(batch_form)
        _fits_a_phone(page)
        _no_serious_issue(page)
        page.click("[data-test=large-switch]")
        page.wait_for_load_state()
        assert page.url == batch_form
        _fits_a_phone(page)
        page.screenshot(path=str(screens / f"{lang}-batch-form-phone-large.png"), full_page=True)
        page.click("[data-test=large-switch]")  # back to standard type for the next run
        page.wait_for_load_state()
    finally:
        page.unroute_all(behavior="ignoreErrors")
        context.close()

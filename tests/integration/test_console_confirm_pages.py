"""A program's lifecycle confirmation pages speak words for every action, in both languages:
pausing and resuming (reversible: no box to tick, the reason optional, nothing styled as
dangerous) as well as activating a draft and closing (irreversible). The texts are looked up by
a key composed in the template, which the static check of the catalogue cannot see, so the
rendered pages are read for raw keys (:func:`tests.raw_keys.raw_keys`)."""

from __future__ import annotations

import pytest

from quan.web.i18n import Translator
from tests.conftest import World
from tests.integration.console_fixtures import staff_session, submit
from tests.integration.issuance_fixtures import funded_program
from tests.raw_keys import raw_keys


def _page(world: World, pid: str, action: str, lang: str) -> str:
    page = world.client.get(f"/ops/programs/{pid}/confirm/{action}?lang={lang}")
    assert page.status_code == 200, page.text
    assert raw_keys(page.text) == [], f"{action} ({lang}): {raw_keys(page.text)}"
    return page.text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_confirmation_page_is_in_words(world: World, lang: str) -> None:
    t = Translator("en" if lang == "en" else "zh")
    draft = world.program()["id"]
    pid = funded_program(world)
    staff_session(world, "operator")
    first = _page(world, draft, "activate", lang)
    assert t("office.confirm.activate.title") in first
    assert 'data-test="irreversible"' in first
    assert 'name="confirm"' in first
    pause = _page(world, pid, "pause", lang)
    assert t("office.confirm.pause.title") in pause
    assert 'data-test="reversible"' in pause
    assert 'name="confirm"' not in pause  # nothing to tick: it can be undone
    assert 'class="danger"' not in pause
    assert t("office.confirm.close.title") in _page(world, pid, "close", lang)
    paused = submit(world, f"/ops/programs/{pid}/lifecycle/pause", {"reason": ""},
                    page=f"/ops/programs/{pid}/confirm/pause")
    assert paused.status_code == 303, paused.text
    resume = _page(world, pid, "activate", lang)
    assert t("office.confirm.resume.title") in resume
    assert 'data-test="reversible"' in resume


def test_the_raw_key_reader_finds_keys_in_words_not_in_code() -> None:
    page = (
        "<title>office.confirm.pause.title · 2027</title><p>Pause office.confirm.pause.what</p>"
        "<code>batch.opened</code><a href='/ops/done.x' aria-label='nav.programs'>x</a>"
        "<p>mail ops@office.example or see 3.5 ¥1,000.00 program</p>"
        "<dd class='mono wrap'>batch.opened <br> <b>x</b></dd><p>done.type_saved</p>"
    )
    assert raw_keys(page) == [
        "office.confirm.pause.title", "office.confirm.pause.what", "nav.programs",
        "done.type_saved",
    ]

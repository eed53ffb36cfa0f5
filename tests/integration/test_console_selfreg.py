"""The wallet's register pages, rendered server-side on both databases: the link from sign-in,
the two steps, the outcome with eligibility, refusals in words (zh-CN and English), a double
submit that registers once and signs in the same resident, and the assisted channel named."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from quan.domain.consent import SELF_REGISTRATION as CONSENT
from quan.store.citizen_tables import citizens
from quan.store.selfreg_tables import self_registrations
from quan.web.session import Area
from tests.conftest import World
from tests.integration.citizen_fixtures import last_code
from tests.integration.console_fixtures import csrf, submit
from tests.integration.issuance_fixtures import open_fcfs_batch
from tests.integration.test_self_registration import MATCHES, MISMATCH

_KEY = re.compile(r'name="submission_key" value="([^"]+)"')


def _details(world: World, phone: str) -> Any:
    """Step 1: ask for a code; the answer is step 2's page."""
    page = submit(world, "/wallet/register/code", {"phone": phone}, page="/wallet/register")
    assert page.status_code == 200, page.text
    assert 'data-test="register-form"' in page.text
    return page


def _form(world: World, page: Any, who: Any, **overrides: str) -> dict[str, str]:
    values = {
        "csrf": csrf(world, "/wallet/register"),
        "phone": who.phone,
        "code": last_code(world, who.phone),
        "name": who.name,
        "resident_id": who.resident_id,
        "region": "",
        "consent": "yes",
        "consent_version": CONSENT.version,
        "submission_key": _KEY.search(page.text).group(1),  # type: ignore[union-attr]
    }
    values.update(overrides)
    return values


def _count(world: World, table: Any) -> int:
    with world.runtime.db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_sign_in_page_leads_to_registration_which_names_the_assisted_channel(
    world: World,
) -> None:
    signin = world.client.get("/wallet/signin")
    assert 'href="/wallet/register"' in signin.text
    page = world.client.get("/wallet/register")
    assert page.status_code == 200
    assert "社区服务中心" in page.text  # no phone: the assisted channel
    english = world.client.get("/wallet/register?lang=en")
    assert "service centre" in english.text
    assert "Register as a resident" in english.text


def test_a_resident_registers_is_signed_in_and_sees_what_they_may_claim(world: World) -> None:
    _, open_to_all = open_fcfs_batch(world, quantity=3)
    page = _details(world, MATCHES.phone)
    assert CONSENT.zh[0] in page.text
    assert '<option value="330106"' in page.text  # districts of the issuer's city
    done = world.client.post(
        "/wallet/register",
        data=_form(world, page, MATCHES, region="330106"),
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/wallet/registered"
    assert world.client.cookies.get(Area.CITIZEN.cookie)
    outcome = world.client.get("/wallet/registered")
    assert outcome.status_code == 200
    assert 'data-test="registered"' in outcome.text
    assert MATCHES.name in outcome.text
    assert f'data-batch="{open_to_all}" data-standing="claimable"' in outcome.text
    with world.runtime.db.read() as tx:
        row = tx.execute(select(self_registrations)).one()
        via = tx.execute(select(citizens.c.registered_via)).scalar_one()
    assert (row.channel, row.status, via) == ("web", "registered", "self")


def test_a_double_submit_registers_once_and_signs_in_the_same_resident(world: World) -> None:
    page = _details(world, MATCHES.phone)
    form = _form(world, page, MATCHES)
    first = world.client.post("/wallet/register", data=form, follow_redirects=False)
    cookie = world.client.cookies.get(Area.CITIZEN.cookie)
    world.client.cookies.delete(Area.CITIZEN.cookie)
    again = world.client.post("/wallet/register", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    replayed = world.client.cookies.get(Area.CITIZEN.cookie)
    now = world.runtime.clock.now()
    sessions = [world.runtime.tokens.verify(c or "", now) for c in (cookie, replayed)]
    assert sessions[0] is not None
    assert sessions[1] is not None
    assert sessions[0].subject_id == sessions[1].subject_id  # the same resident, signed in
    assert _count(world, citizens) == 1
    assert _count(world, self_registrations) == 1


def test_a_refusal_is_explained_keeps_what_was_typed_and_asks_for_a_new_code(
    world: World,
) -> None:
    page = _details(world, MISMATCH.phone)
    refused = world.client.post("/wallet/register", data=_form(world, page, MISMATCH))
    assert refused.status_code == 422
    assert 'data-code="REALNAME_MISMATCH"' in refused.text
    assert "实名核验未通过" in refused.text
    assert "请重新获取" in refused.text or "重新获取验证码" in refused.text
    assert f'value="{MISMATCH.name}"' in refused.text  # kept for the next try
    keys = [_KEY.search(p.text).group(1) for p in (refused, page)]  # type: ignore[union-attr]
    assert keys[0] != keys[1]  # the next try is a new attempt
    assert _count(world, citizens) == 0


def test_without_consent_the_form_says_so(world: World) -> None:
    page = _details(world, MATCHES.phone)
    refused = world.client.post("/wallet/register", data=_form(world, page, MATCHES, consent=""))
    assert refused.status_code == 422
    assert 'data-code="CONSENT_REQUIRED"' in refused.text
    assert _count(world, citizens) == 0


def test_a_bad_id_number_is_refused_before_the_code_is_spent(world: World) -> None:
    page = _details(world, MATCHES.phone)
    bad = MATCHES.resident_id[:-1] + ("0" if MATCHES.resident_id[-1] != "0" else "1")
    refused = world.client.post(
        "/wallet/register", data=_form(world, page, MATCHES, resident_id=bad)
    )
    assert refused.status_code == 422
    assert 'data-code="INVALID_RESIDENT_ID"' in refused.text
    assert bad not in refused.text.replace(f'value="{bad}"', "")  # only echoed in its field
    accepted = world.client.post(
        "/wallet/register", data=_form(world, refused, MATCHES), follow_redirects=False
    )
    assert accepted.status_code == 303  # the same code still works

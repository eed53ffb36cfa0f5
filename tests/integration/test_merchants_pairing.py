"""Pairing a counter device by QR code, and the owner's money pages. A pairing code is one-time
(database-enforced, raced), short-lived and stored hashed; the device that uses it gets the
terminal's session without a key being typed. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from quan.domain.errors import QuanError
from quan.services.merchants import pairing
from quan.store.merchant_tables import terminals
from quan.store.portal_tables import terminal_pairings
from quan.store.tables import api_keys
from quan.web.session import Area
from tests.conftest import World
from tests.integration.console_fixtures import submit
from tests.integration.issuance_fixtures import advance
from tests.integration.merchant_fixtures import get_as
from tests.integration.portal_fixtures import (
    apply_by_form,
    approve,
    new_phone,
    owner_sign_in,
    sign_out_owner,
    token_on,
)
from tests.integration.redemption_fixtures import open_shop, redeem, scene
from tests.race import race

_URL = re.compile(r'data-pair-url="([^"]+)"')


def _shop_with_terminal(world: World) -> tuple[str, str]:
    merchant_id, _ = apply_by_form(world)
    approve(world, merchant_id)
    key = token_on(world.client.get("/merchant/terminals").text)
    submit(
        world,
        "/merchant/terminals",
        {"label": "前台 1 号", "create_key": key},
        page="/merchant/terminals",
    )
    with world.runtime.db.read() as tx:
        terminal_id = tx.execute(
            select(terminals.c.id).where(terminals.c.merchant_id == merchant_id)
        ).scalar_one()
    return merchant_id, terminal_id


def _offer(world: World, terminal_id: str) -> str:
    """The owner asks for a pairing QR code; the code the QR carries."""
    page = submit(world, f"/merchant/terminals/{terminal_id}/pairing", page="/merchant/terminals")
    assert page.status_code == 200, page.text
    assert "<svg" in page.text
    url = _URL.search(page.text)
    assert url, "no pairing URL on the page"
    assert "/cashier/pair?code=" in url.group(1)
    return url.group(1).split("code=", 1)[1]


def test_a_device_opening_the_qr_url_gets_the_terminals_session(world: World) -> None:
    merchant_id, terminal_id = _shop_with_terminal(world)
    with world.runtime.db.read() as tx:
        old_key = tx.execute(
            select(terminals.c.key_id).where(terminals.c.id == terminal_id)
        ).scalar_one()
    code = _offer(world, terminal_id)
    with world.runtime.db.read() as tx:
        stored = tx.execute(select(terminal_pairings.c.code_hash)).scalars().all()
    assert stored
    assert code not in stored[0]
    # The device: another browser, no session of any kind.
    world.client.cookies.clear()
    preview = world.client.get(f"/cashier/pair?code={code}")
    assert preview.status_code == 200
    assert "前台 1 号" in preview.text
    assert world.client.cookies.get(Area.TERMINAL.cookie) is None  # opening pairs nothing
    paired = submit(world, "/cashier/pair", {"code": code}, page=f"/cashier/pair?code={code}")
    assert (paired.status_code, paired.headers["location"]) == (303, "/cashier")
    key = world.client.cookies.get(Area.TERMINAL.cookie)
    assert key
    assert key.startswith("qk_")
    cashier = world.client.get("/cashier")
    assert cashier.status_code == 200
    assert terminal_id in cashier.text
    assert get_as(world, key, "/merchants/mine").json()["id"] == merchant_id
    with world.runtime.db.read() as tx:
        row = tx.execute(select(terminals).where(terminals.c.id == terminal_id)).one()
        revoked = tx.execute(
            select(api_keys.c.revoked_at).where(api_keys.c.id == old_key)
        ).scalar_one()
    assert row.key_id != old_key
    assert revoked is not None


def test_a_used_pairing_code_is_refused(world: World) -> None:
    _, terminal_id = _shop_with_terminal(world)
    code = _offer(world, terminal_id)
    world.client.cookies.clear()
    assert submit(world, "/cashier/pair", {"code": code}).status_code == 303
    world.client.cookies.clear()
    looked = world.client.get(f"/cashier/pair?code={code}")
    assert looked.status_code == 409
    assert 'data-code="PAIRING_CODE_USED"' in looked.text
    again = submit(world, "/cashier/pair", {"code": code})
    assert again.status_code == 409
    assert 'data-code="PAIRING_CODE_USED"' in again.text
    assert world.client.cookies.get(Area.TERMINAL.cookie) is None
    unknown = world.client.get("/cashier/pair?code=not-a-code")
    assert unknown.status_code == 404
    assert 'data-code="PAIRING_CODE_UNKNOWN"' in unknown.text


def test_an_expired_pairing_code_is_refused(world: World) -> None:
    _, terminal_id = _shop_with_terminal(world)
    code = _offer(world, terminal_id)
    advance(world, pairing.PAIRING_TTL + timedelta(seconds=1))
    world.client.cookies.clear()
    late = submit(world, "/cashier/pair", {"code": code})
    assert late.status_code == 410
    assert 'data-code="PAIRING_CODE_EXPIRED"' in late.text
    assert world.client.cookies.get(Area.TERMINAL.cookie) is None


def test_a_revoked_terminals_code_pairs_nothing(world: World) -> None:
    _, terminal_id = _shop_with_terminal(world)
    code = _offer(world, terminal_id)
    submit(
        world,
        f"/merchant/terminals/{terminal_id}/revoke",
        {"confirm": "yes"},
        page="/merchant/terminals",
    )
    world.client.cookies.clear()
    assert submit(world, "/cashier/pair", {"code": code}).status_code == 404


def test_two_devices_racing_one_code_pair_exactly_one(world: World) -> None:
    _, terminal_id = _shop_with_terminal(world)
    code = _offer(world, terminal_id)
    rt = world.runtime

    def use() -> pairing.Paired:
        with rt.db.write() as tx:
            return pairing.pair(tx, rt.clock.now(), code)

    results = race(use, use, use)
    won = [r for r in results if isinstance(r, pairing.Paired)]
    lost = [r for r in results if isinstance(r, QuanError)]
    assert len(won) == 1, results
    assert len(lost) == 2
    assert {e.code for e in lost} == {"PAIRING_CODE_USED"}
    with rt.db.read() as tx:
        live = (
            tx.execute(
                select(api_keys.c.id).where(
                    api_keys.c.owner_id == terminal_id, api_keys.c.revoked_at.is_(None)
                )
            )
            .scalars()
            .all()
        )
        used = tx.execute(select(terminal_pairings.c.key_id)).scalars().all()
    assert live == used == [won[0].terminal.key_id]  # one live key: the winner's


def test_the_owner_reads_its_redemptions_statements_and_payouts_and_no_one_elses(
    world: World,
) -> None:
    phone = new_phone()
    s = scene(world, shop=open_shop(world, contact_phone=phone, scenes=["offline"]))
    redeemed = redeem(world, s.shop, code=s.codes[0])
    assert redeemed.status_code == 201, redeemed.text
    advance(world, timedelta(hours=14, minutes=2))
    run = world.post(
        "operator", f"/programs/{s.program_id}/settlements", {"cut_off_date": "2026-11-25"}
    )
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    paid = world.post(
        "checker", f"/settlements/{run_id}/payouts", {"payment_ref": "ICBC-20261126-001"}
    )
    assert paid.status_code == 201, paid.text
    assert owner_sign_in(world, phone).headers["location"] == "/merchant"
    redemptions = world.client.get("/merchant/redemptions")
    assert "¥120.00" in redemptions.text
    assert "¥30.00" in redemptions.text
    statements = world.client.get("/merchant/statements")
    assert f"/merchant/statements/{run_id}" in statements.text
    assert "ICBC-20261126-001" in statements.text
    assert "¥30.00" in statements.text
    detail = world.client.get(f"/merchant/statements/{run_id}")
    assert detail.status_code == 200
    assert "¥120.00" in detail.text
    assert f"/merchant/statements/{run_id}/download.csv" in detail.text
    csv = world.client.get(f"/merchant/statements/{run_id}/download.csv")
    assert csv.status_code == 200
    assert redeemed.json()["id"] in csv.text
    # Another merchant sees none of it.
    other_phone = new_phone()
    open_shop(world, contact_phone=other_phone)
    sign_out_owner(world)
    assert owner_sign_in(world, other_phone).headers["location"] == "/merchant"
    assert run_id not in world.client.get("/merchant/statements").text
    assert "¥120.00" not in world.client.get("/merchant/redemptions").text
    assert world.client.get(f"/merchant/statements/{run_id}").status_code == 404
    assert world.client.get(f"/merchant/statements/{run_id}/download.csv").status_code == 404


@pytest.mark.parametrize(
    "path", ["/merchant/terminals", "/merchant/statements", "/merchant/redemptions"]
)
def test_portal_pages_need_an_owner_session_not_a_terminals(world: World, path: str) -> None:
    shop = open_shop(world, contact_phone=new_phone())
    world.client.cookies.set(Area.TERMINAL.cookie, shop.terminal_key)
    response = world.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/merchant/signin")
    world.client.cookies.set(Area.OWNER.cookie, shop.terminal_key)  # a till key as an owner
    assert world.client.get(path).status_code == 403

"""The whole path on SQLite and PostgreSQL: a voucher claimed in the issuance flow is redeemed at
an approved merchant through the API, refunded, redeemed offline and synced, and settled with
``quan settle``; the payout is confirmed and ``quan ledger check`` passes after every step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quan.cli import app
from quan.domain.merchants import Scene
from quan.terminal import TerminalProfile, Till, load_keyring
from tests.conftest import World
from tests.integration import citizen_fixtures as people
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import (
    CATERING_100_30,
    assert_books_ok,
    open_shop,
    redeem,
    reverse,
    scene,
)

runner = CliRunner()


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``quan`` pointed at the test database (and its PostgreSQL schema), with the same secrets."""
    settings = world.runtime.settings
    db = world.runtime.db
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "test")
    for name in ("secret_key", "pii_key", "log_signing_key"):
        monkeypatch.setenv(f"QUAN_{name.upper()}", getattr(settings, name).get_secret_value())
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")


def ledger_check_passes() -> None:
    result = runner.invoke(app, ["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "ledger ok" in result.output


def test_claim_redeem_refund_redeem_offline_sync_settle_and_pay(world: World, cli: None) -> None:
    # Issuance: a funded program, a voucher type, an open first-come batch.
    pid = issuance.funded_program(world)
    vt = issuance.voucher_type(world, pid, **CATERING_100_30)
    created = issuance.batch(world, pid, vt["id"], quantity=5)
    issuance.open_batch(world, created["id"])
    # A citizen registers, signs in by SMS code, claims, and opens the wallet.
    person = people.person(3)
    people.register(world, person)
    citizen = people.sign_in(world, person.phone)
    claimed = world.client.post(f"/api/v1/batches/{created['id']}/claims", headers=citizen)
    assert claimed.status_code == 201, claimed.text
    voucher = claimed.json()
    wallet = world.client.get("/api/v1/me/vouchers", headers=citizen).json()["items"]
    token = next(v["qr_payload"] for v in wallet if v["id"] == voucher["id"])
    # A merchant applies, is approved, and registers a terminal.
    shop = open_shop(world)
    ledger_check_passes()

    # Online redemption, then a refund: the voucher comes back.
    made = redeem(world, shop, code=voucher["code"], amount_fen=12800, metadata={"cashier": "一号"})
    assert made.status_code == 201, made.text
    assert made.json()["customer_pays_fen"] == 9800
    ledger_check_passes()
    refunded = reverse(world, shop.headers(), made.json()["id"], reason="顾客退菜")
    assert (refunded.status_code, refunded.json()["outcome"]) == (201, "restored")
    ledger_check_passes()

    # The network is down: the terminal verifies the wallet's token itself and records the sale.
    mine = world.client.get("/api/v1/merchants/mine", headers=shop.headers()).json()
    till = Till(
        TerminalProfile(
            merchant_id=mine["id"],
            issuer_id=mine["issuer_id"],
            region_code=mine["region_code"],
            categories=frozenset(mine["categories"]),
            scenes=frozenset(Scene(x) for x in mine["scenes"]),
        ),
        load_keyring(world.client.get("/api/v1/offline/keys").text),
    )
    issuance.advance(world, timedelta(hours=2))
    decision = till.redeem(
        token, amount_fen=15000, category="catering", now=world.runtime.clock.now()
    )
    assert (decision.accepted, decision.discount_fen) == (True, 3000)
    issuance.advance(world, timedelta(hours=1))
    synced = world.client.post(
        "/api/v1/offline-redemptions", json=till.sync_body(), headers=shop.headers()
    )
    assert synced.json()["accepted"] == 1, synced.text
    ledger_check_passes()

    # Settlement of the day (the clock of `quan` is the real one, long past this test's day).
    settled = runner.invoke(app, ["settle", "--program", pid, "--cut-off", "2026-11-25"])
    assert settled.exit_code == 0, settled.output
    assert "¥30.00" in settled.output
    runs = world.get("operator", f"/programs/{pid}/settlements").json()["items"]
    assert (runs[0]["redemption_count"], runs[0]["payout_fen"]) == (1, 3000)
    ledger_check_passes()

    # The operator confirms the bank paid: payable → paid.
    paid = world.post(
        "operator", f"/settlements/{runs[0]['id']}/payouts", {"payment_ref": "ICBC-1"}
    )
    assert paid.status_code == 201, paid.text
    budget = world.budget(pid)
    assert (budget["payable_fen"], budget["paid_fen"]) == (0, 3000)
    assert budget["identity_holds"]
    ledger_check_passes()
    assert_books_ok(world)


def test_quan_settle_all_skips_programs_already_settled(world: World, cli: None) -> None:
    s = scene(world)
    pid = s.program_id
    idle = issuance.funded_program(world)  # nothing redeemed: skipped, no empty run recorded
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201
    issuance.advance(world, timedelta(hours=14, minutes=2))
    first = runner.invoke(app, ["settle", "--all", "--cut-off", "2026-11-25"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["settle", "--all", "--cut-off", "2026-11-25"])
    assert again.exit_code == 0, again.output
    assert len(world.get("operator", f"/programs/{pid}/settlements").json()["items"]) == 1
    assert world.get("operator", f"/programs/{idle}/settlements").json()["items"] == []
    both = runner.invoke(app, ["settle", "--program", pid, "--all"])
    assert both.exit_code == 2

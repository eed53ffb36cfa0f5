"""Offline redemption on SQLite and PostgreSQL: a terminal verifies the wallet's token with no
network, records the sale, and syncs later; double spends are found at sync, the first synced
wins, every record is kept, and a replayed batch changes nothing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from quan.cli import app
from quan.domain.merchants import Scene as SceneKind
from quan.jobs import recycling as recycling_job
from quan.terminal import TerminalProfile, Till, load_keyring
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import (
    Scene,
    Shop,
    another_terminal,
    assert_books_ok,
    forged_token,
    race,
    redeem,
    rows,
    scene,
    voucher_status,
    wallet_tokens,
)

runner = CliRunner()


def till_for(world: World, shop: Shop) -> Till:
    """A terminal's offline state, filled while it was online: its profile and the keys."""
    mine = world.client.get("/api/v1/merchants/mine", headers=shop.headers()).json()
    keys = world.client.get("/api/v1/offline/keys").text
    profile = TerminalProfile(
        merchant_id=mine["id"],
        issuer_id=mine["issuer_id"],
        region_code=mine["region_code"],
        categories=frozenset(mine["categories"]),
        scenes=frozenset(SceneKind(x) for x in mine["scenes"]),
    )
    return Till(profile, load_keyring(keys))


def sync(world: World, shop: Shop, body: dict[str, Any], key: str | None = None) -> Any:
    headers = shop.headers(**({"Idempotency-Key": key} if key else {}))
    return world.client.post("/api/v1/offline-redemptions", json=body, headers=headers)


def record(token: str, record_id: str, at: datetime, **changes: Any) -> dict[str, Any]:
    body = {
        "record_id": record_id,
        "token": token,
        "order_amount_fen": 12000,
        "category": "catering",
        "redeemed_at": at.isoformat(),
    }
    body.update(changes)
    return body


def token_of(world: World, s: Scene, i: int = 0) -> str:
    return wallet_tokens(world, s.citizen_ids[i])[s.vouchers[i]["id"]]


def test_a_sale_recorded_offline_by_the_terminal_library_is_accepted_at_sync(
    world: World,
) -> None:
    s = scene(world)
    till = till_for(world, s.shop)
    sold_at = world.runtime.clock.now()
    decision = till.redeem(
        token_of(world, s),
        amount_fen=12000,
        category="catering",
        now=sold_at,
        metadata={"cashier": "李四"},
    )
    assert decision.accepted
    assert decision.discount_fen == 3000
    issuance.advance(world, timedelta(hours=5))  # the network comes back later
    response = sync(world, s.shop, till.sync_body())
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert (result["outcome"], result["discount_fen"]) == ("accepted", 3000)
    made = world.client.get(
        f"/api/v1/redemptions/{result['redemption_id']}", headers=s.shop.headers()
    ).json()
    assert made["channel"] == "offline"
    assert made["metadata"] == {"cashier": "李四"}
    assert datetime.fromisoformat(made["redeemed_at"]) == sold_at
    assert datetime.fromisoformat(made["recorded_at"]) == sold_at + timedelta(hours=5)
    assert voucher_status(world, s.vouchers[0]["id"]) == "redeemed"
    assert_books_ok(world)


def test_a_voucher_spent_offline_at_two_terminals_is_caught_at_sync_and_the_first_wins(
    world: World,
) -> None:
    s = scene(world)
    other = another_terminal(world, s.shop)
    first, second = till_for(world, s.shop), till_for(world, other)
    token, now = token_of(world, s), world.runtime.clock.now()
    assert first.redeem(token, amount_fen=12000, category="catering", now=now).accepted
    assert second.redeem(token, amount_fen=15000, category="catering", now=now).accepted
    won = sync(world, s.shop, first.sync_body()).json()["results"][0]
    lost = sync(world, other, second.sync_body()).json()["results"][0]
    assert won["outcome"] == "accepted"
    assert lost["outcome"] == "duplicate"
    assert lost["case_id"] is not None
    assert rows(world, "offline_records") == 2  # both kept as evidence
    assert rows(world, "redemptions") == 1
    assert rows(world, "offline_cases", status="open") == 1
    assert rows(world, "events", type="offline_case.flagged") == 1
    cases = world.get("operator", f"/programs/{s.program_id}/offline-cases", status="open").json()
    case = cases["items"][0]
    assert (case["redemption_id"], case["amount_fen"]) == (won["redemption_id"], 3000)
    assert len(case["record_ids"]) == 1
    assert_books_ok(world)


def test_an_offline_record_of_a_voucher_already_redeemed_online_is_a_duplicate(
    world: World,
) -> None:
    s = scene(world)
    token = token_of(world, s)
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201
    late = sync(
        world,
        another_terminal(world, s.shop),
        {"records": [record(token, "r1", world.runtime.clock.now())]},
    )
    assert late.json()["results"][0]["outcome"] == "duplicate"
    assert rows(world, "offline_cases") == 1
    assert_books_ok(world)


def test_a_replayed_sync_batch_changes_nothing_and_answers_the_same(world: World) -> None:
    s = scene(world, holders=2)
    now = world.runtime.clock.now()
    body = {"records": [record(token_of(world, s, i), f"r{i}", now) for i in range(2)]}
    first = sync(world, s.shop, body)
    again = sync(world, s.shop, body)
    assert [r["outcome"] for r in first.json()["results"]] == ["accepted", "accepted"]
    assert [r["outcome"] for r in again.json()["results"]] == ["accepted", "accepted"]
    assert all(r["replayed"] for r in again.json()["results"])
    assert [r["redemption_id"] for r in again.json()["results"]] == [
        r["redemption_id"] for r in first.json()["results"]
    ]
    assert (rows(world, "offline_records"), rows(world, "redemptions")) == (2, 2)
    assert rows(world, "offline_cases") == 0  # a replay is not a double spend
    keyed = sync(world, s.shop, body, key="sync-9")
    replay = sync(world, s.shop, body, key="sync-9")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == keyed.json()
    assert_books_ok(world)


def test_forged_tampered_and_unreadable_tokens_are_kept_as_rejected_records(
    world: World,
) -> None:
    s = scene(world)
    now = world.runtime.clock.now()
    genuine = token_of(world, s)
    tampered = genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")
    body = {
        "records": [
            record(forged_token(s.vouchers[0]["id"]), "forged", now),
            record(tampered, "tampered", now),
            record("not a token", "junk", now),
        ]
    }
    results = sync(world, s.shop, body).json()["results"]
    assert [r["outcome"] for r in results] == ["rejected"] * 3
    assert {r["code"] for r in results} == {"INVALID_OFFLINE_TOKEN"}
    assert results[0]["refusal"]["reason"] == "unknown_key"
    assert rows(world, "offline_records", outcome="rejected") == 3
    assert rows(world, "redemptions") == 0
    assert voucher_status(world, s.vouchers[0]["id"]) == "active"
    assert_books_ok(world)


def test_implausible_offline_times_are_rejected(world: World) -> None:
    s = scene(world, holders=2)
    now = world.runtime.clock.now()
    body = {
        "records": [
            record(token_of(world, s, 0), "future", now + timedelta(hours=1)),
            record(token_of(world, s, 1), "before", now - timedelta(days=2)),
        ]
    }
    results = sync(world, s.shop, body).json()["results"]
    assert [(r["code"], r["refusal"]["reason"]) for r in results] == [
        ("OFFLINE_TIME_IMPLAUSIBLE", "in_the_future"),
        ("OFFLINE_TIME_IMPLAUSIBLE", "before_token"),
    ]
    assert rows(world, "redemptions") == 0


def test_offline_records_are_judged_by_every_rule_and_refusals_kept(world: World) -> None:
    s = scene(world)
    now = world.runtime.clock.now()
    body = {"records": [record(token_of(world, s), "small", now, order_amount_fen=5000)]}
    result = sync(world, s.shop, body).json()["results"][0]
    assert (result["outcome"], result["code"]) == ("rejected", "BELOW_MIN_SPEND")
    assert result["refusal"]["min_spend_fen"] == 10000
    assert voucher_status(world, s.vouchers[0]["id"]) == "active"
    assert_books_ok(world)


def test_validity_is_judged_at_the_time_of_the_sale_not_of_the_sync(world: World) -> None:
    validity = {
        "validity_preset": None,
        "valid_from": world.runtime.clock.now().isoformat(),
        "valid_until": (world.runtime.clock.now() + timedelta(hours=2)).isoformat(),
    }
    s = scene(world, voucher=validity)
    sold_at = world.runtime.clock.now() + timedelta(hours=1)
    token = token_of(world, s)
    issuance.advance(world, timedelta(hours=3))  # synced after the voucher's end
    result = sync(world, s.shop, {"records": [record(token, "r", sold_at)]}).json()["results"][0]
    assert result["outcome"] == "accepted"
    assert_books_ok(world)


def _short_lived(world: World) -> dict[str, Any]:
    return {
        "validity_preset": None,
        "valid_from": world.runtime.clock.now().isoformat(),
        "valid_until": (world.runtime.clock.now() + timedelta(hours=2)).isoformat(),
    }


def test_a_sale_synced_after_the_expiry_job_ran_within_the_grace_is_accepted(
    world: World,
) -> None:
    s = scene(world, voucher=_short_lived(world))
    sold_at = world.runtime.clock.now() + timedelta(hours=1)
    token = token_of(world, s)
    issuance.advance(world, timedelta(hours=30))  # the voucher ended a day ago
    assert recycling_job.run_once(world.runtime, holder="test").expired == []
    assert voucher_status(world, s.vouchers[0]["id"]) == "active"  # held for late syncs
    result = sync(world, s.shop, {"records": [record(token, "r", sold_at)]}).json()["results"][0]
    assert result["outcome"] == "accepted"
    assert voucher_status(world, s.vouchers[0]["id"]) == "redeemed"
    # The grace over, the job expires the voucher nobody spent, and only that one.
    issuance.advance(world, timedelta(hours=72))
    run = recycling_job.run_once(world.runtime, holder="test")
    assert [r.count for r in run.expired] == [len(s.vouchers) - 1]
    assert voucher_status(world, s.vouchers[0]["id"]) == "redeemed"
    assert_books_ok(world)


def test_a_sale_synced_after_the_grace_finds_the_voucher_expired_and_is_refused(
    world: World,
) -> None:
    s = scene(world, voucher=_short_lived(world))
    sold_at = world.runtime.clock.now() + timedelta(hours=1)
    token = token_of(world, s)
    issuance.advance(world, timedelta(hours=2 + 72 + 1))
    assert [r.count for r in recycling_job.run_once(world.runtime, holder="t").expired] == [
        len(s.vouchers)
    ]
    result = sync(world, s.shop, {"records": [record(token, "r", sold_at)]}).json()["results"][0]
    assert result["outcome"] == "rejected"
    assert voucher_status(world, s.vouchers[0]["id"]) == "expired"
    assert rows(world, "offline_records") == 1  # kept as evidence
    assert_books_ok(world)


def test_the_grace_is_a_setting(world: World) -> None:
    world.runtime.settings.offline_sync_grace_hours = 0
    s = scene(world, voucher=_short_lived(world))
    issuance.advance(world, timedelta(hours=3))
    run = recycling_job.run_once(world.runtime, holder="test")
    assert [r.count for r in run.expired] == [len(s.vouchers)]
    assert_books_ok(world)


def test_a_batch_naming_one_record_twice_is_refused_whole(world: World) -> None:
    s = scene(world)
    now = world.runtime.clock.now()
    token = token_of(world, s)
    response = sync(world, s.shop, {"records": [record(token, "r", now), record(token, "r", now)]})
    assert (response.status_code, response.json()["code"]) == (422, "DUPLICATE_RECORD_ID")
    assert rows(world, "offline_records") == 0
    assert rows(world, "offline_syncs") == 0


def test_two_terminals_syncing_the_same_voucher_at_once_accept_it_once(world: World) -> None:
    s = scene(world)
    tills = [s.shop, another_terminal(world, s.shop)]
    now, token = world.runtime.clock.now(), token_of(world, s)
    responses = race(2, lambda i: sync(world, tills[i], {"records": [record(token, f"r{i}", now)]}))
    outcome = Counter(r.json()["results"][0]["outcome"] for r in responses)
    assert outcome == Counter({"accepted": 1, "duplicate": 1})
    assert rows(world, "redemptions") == 1
    assert rows(world, "offline_records") == 2
    assert_books_ok(world)


def test_only_terminals_sync_and_only_operators_resolve_cases(world: World) -> None:
    s = scene(world)
    now, token = world.runtime.clock.now(), token_of(world, s)
    body = {"records": [record(token, "r", now)]}
    assert world.post("operator", "/offline-redemptions", body).json()["code"] == "FORBIDDEN"
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201
    dup = sync(world, another_terminal(world, s.shop), body).json()["results"][0]
    path = f"/offline-cases/{dup['case_id']}/resolve"
    note = {"resolution": "cleared", "note": "同一顾客重复扫码，已核实"}
    assert world.post("outsider", path, note).json()["code"] == "OTHER_ISSUER"
    resolved = world.post("operator", path, note)
    assert (resolved.status_code, resolved.json()["status"]) == (200, "resolved")
    assert world.post("operator", path, note).json()["code"] == "OFFLINE_CASE_NOT_OPEN"


def test_a_sync_of_more_than_500_records_is_refused(world: World) -> None:
    s = scene(world, holders=1)
    now = world.runtime.clock.now()
    body = {"records": [record("x", f"r{i}", now) for i in range(501)]}
    response = sync(world, s.shop, body)
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")


@pytest.fixture
def cli_env(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = world.runtime.settings
    monkeypatch.setenv("QUAN_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "test")
    monkeypatch.setenv("QUAN_SECRET_KEY", settings.secret_key.get_secret_value())  # type: ignore[union-attr]
    return tmp_path


def test_quan_terminal_verify_checks_a_token_with_a_key_file_and_no_network(
    world: World, cli_env: Path
) -> None:
    s = scene(world, holders=1)
    key_file = cli_env / "keys.json"
    key_file.write_text(world.client.get("/api/v1/offline/keys").text)
    token = token_of(world, s)
    good = runner.invoke(app, ["terminal", "verify", token, "--key", str(key_file)])
    assert good.exit_code == 0, good.output
    assert s.vouchers[0]["id"] in good.output
    assert "valid now" in good.output
    own_key = runner.invoke(app, ["terminal", "verify", token])
    assert own_key.exit_code == 0, own_key.output
    forged = runner.invoke(
        app, ["terminal", "verify", forged_token(s.vouchers[0]["id"]), "--key", str(key_file)]
    )
    assert forged.exit_code == 1
    assert "INVALID_OFFLINE_TOKEN" in forged.output
    assert json.loads(key_file.read_text())["keys"]

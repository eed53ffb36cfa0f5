"""Alert rules over Quan's own figures: a flood of out-of-scope redemption attempts at one merchant
raises an alert that goes pending, fires, is told through the outbox (SMS and a signed webhook),
and resolves after the flood; two evaluators at once raise and tell it once; people read and
acknowledge it through the API and the CLI. On both databases, time moved by the clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from quan.channels.outbox import OutboxKeys
from quan.cli import app
from quan.refusals import TALLIES
from quan.services.delivery.alert_webhook import AlertWebhookProvider
from quan.services.delivery.providers import LogProvider
from quan.services.delivery.relay import Relay
from quan.services.operations import alerts
from quan.services.people.citizens import CitizenKeys
from quan.store.alert_tables import alert_rules
from quan.store.db import Database
from quan.store.tables import outbox, programs
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import Scene, redeem, scene
from tests.integration.webhook_sink import PartnerEndpoint, serve
from tests.race import race

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OPERATOR_PHONE = "13900001717"


@pytest.fixture
def endpoint() -> Iterator[tuple[PartnerEndpoint, str]]:
    sink = PartnerEndpoint(secret=SECRET)
    server = serve(sink)
    try:
        yield sink, f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()
        server.server_close()


def keys(world: World) -> OutboxKeys:
    return CitizenKeys.from_settings(world.runtime.settings).outbox


def evaluate(world: World) -> alerts.Evaluation:
    TALLIES.flush(world.runtime.db)  # what each API process's flusher does every two seconds
    return alerts.evaluate(world.runtime.db, world.runtime.clock.now(), keys(world))


def open_alerts(world: World, who: str = "operator", **params: Any) -> list[dict[str, Any]]:
    response = world.client.get("/api/v1/alerts", params=params, headers=world.headers(who))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def alert_messages(world: World) -> list[tuple[str, str]]:
    with world.runtime.db.read() as tx:
        return [
            (r.channel, r.subject)
            for r in tx.execute(
                select(outbox.c.channel, outbox.c.subject)
                .where(outbox.c.subject.like("alert.%"))
                .order_by(outbox.c.id)
            )
        ]


def flood(world: World, s: Scene, attempts: int) -> None:
    for _ in range(attempts):
        answer = redeem(world, s.shop, code=s.codes[0], category="sports")
        assert answer.json()["code"] == "OUT_OF_SCOPE"


def receivers(world: World, program_id: str, url: str) -> None:
    for channel, address in (("sms", OPERATOR_PHONE), ("webhook", url)):
        made = world.post(
            "operator",
            "/alert-receivers",
            {"program_id": program_id, "channel": channel, "address": address},
        )
        assert made.status_code == 201, made.text
        assert address not in made.text  # shown masked


def scope_rule(world: World, program_id: str) -> dict[str, Any]:
    evaluate(world)  # writes the program's built-in rules
    rules = world.get("operator", "/alert-rules", program_id=program_id).json()
    (rule,) = [r for r in rules if r["name"] == "out_of_scope_at_merchant"]
    return dict(rule)


def test_an_out_of_scope_flood_fires_notifies_and_resolves(
    world: World, endpoint: tuple[PartnerEndpoint, str]
) -> None:
    sink, url = endpoint
    clock: Any = world.runtime.clock
    s = scene(world, holders=1, quantity=1)
    receivers(world, s.program_id, url)
    rule = scope_rule(world, s.program_id)
    assert (rule["comparator"], rule["threshold"], rule["for_seconds"]) == (">", 1.0, 120)

    flood(world, s, 30)  # 30 attempts in ten minutes: 3 a minute, over 1
    evaluate(world)
    (alert,) = open_alerts(world, program_id=s.program_id)
    assert alert["state"] == "pending"
    assert alert["labels"] == {"merchant_id": s.shop.merchant_id}
    assert alert_messages(world) == []  # pending tells nobody

    clock.advance(timedelta(seconds=130))
    evaluate(world)
    (alert,) = open_alerts(world, program_id=s.program_id)
    assert alert["state"] == "firing"
    assert alert["value"] == pytest.approx(3.0)
    assert sorted(alert_messages(world)) == [("sms", "alert.firing"), ("webhook", "alert.webhook")]

    relay = Relay(
        world.runtime.db,
        keys(world),
        {"sms": LogProvider(), "webhook": AlertWebhookProvider(SECRET)},
    )
    try:
        assert relay.run_batch(clock.now()).delivered >= 2  # with the citizens' own messages
    finally:
        relay.close()
    (received,) = sink.received
    assert received.verified
    assert received.payload["status"] == "firing"
    assert received.payload["labels"]["merchant_id"] == s.shop.merchant_id
    assert received.payload["rule"] == "out_of_scope_at_merchant"

    evaluate(world)  # still firing, not repeated within the hour
    assert len(alert_messages(world)) == 2

    clock.advance(timedelta(minutes=12))  # the flood has left the ten-minute window
    evaluate(world)
    assert open_alerts(world, program_id=s.program_id) == []
    (done,) = open_alerts(world, program_id=s.program_id, state="resolved")
    assert done["id"] == alert["id"]
    assert done["resolved_at"] is not None
    assert sorted(alert_messages(world)[2:]) == [
        ("sms", "alert.resolved"),
        ("webhook", "alert.webhook"),
    ]
    try:
        relay.run_batch(clock.now())
    finally:
        relay.close()
    assert [r.payload["status"] for r in sink.received] == ["firing", "resolved"]
    assert all(r.verified for r in sink.received)


def test_two_evaluators_at_once_raise_and_tell_one_alert(world: World) -> None:
    clock: Any = world.runtime.clock
    s = scene(world, holders=1, quantity=1)
    world.post(
        "operator",
        "/alert-receivers",
        {"program_id": s.program_id, "channel": "sms", "address": OPERATOR_PHONE},
    )
    rule = scope_rule(world, s.program_id)
    assert (
        world.client.patch(
            f"/api/v1/alert-rules/{rule['id']}",
            json={"for_seconds": 0},
            headers=world.headers("operator"),
        ).status_code
        == 200
    )
    flood(world, s, 20)
    TALLIES.flush(world.runtime.db)
    db, now, k = world.runtime.db, clock.now(), keys(world)
    for _ in range(3):
        results = race(*[lambda: alerts.evaluate(db, now, k) for _ in range(2)])
        assert not [r for r in results if isinstance(r, Exception)], results
    (alert,) = open_alerts(world, program_id=s.program_id)
    assert alert["state"] == "firing"
    assert alert["notifications"] == 1
    assert alert_messages(world) == [("sms", "alert.firing")]


def test_acknowledged_once_with_a_note_and_seen_only_by_its_issuer(world: World) -> None:
    s = scene(world, holders=1, quantity=1)
    rule = scope_rule(world, s.program_id)
    world.client.patch(
        f"/api/v1/alert-rules/{rule['id']}",
        json={"for_seconds": 0, "threshold": 0.5},
        headers=world.headers("operator"),
    )
    flood(world, s, 6)
    evaluate(world)
    (alert,) = open_alerts(world, program_id=s.program_id)
    assert open_alerts(world, "outsider", program_id=s.program_id) == []
    path = f"/alerts/{alert['id']}/ack"
    assert world.post("outsider", path, {"note": "x"}).status_code == 404
    assert world.post("auditor", path, {"note": "x"}).status_code == 403
    assert world.post("operator", path, {"note": ""}).status_code == 422
    done = world.post("operator", path, {"note": "已电话联系商户，收银员误选类别"})
    assert done.status_code == 200, done.text
    assert done.json()["acked_by"] == f"staff:{world.users['operator'].id}"
    assert done.json()["ack_note"] == "已电话联系商户，收银员误选类别"
    again = world.post("checker", path, {"note": "me too"})
    assert again.status_code == 409
    assert again.json()["code"] == "ALERT_ALREADY_ACKNOWLEDGED"
    assert world.post("operator", "/alerts/alt_nothing/ack", {"note": "x"}).status_code == 404


def test_builtin_rules_are_written_once_per_program_and_can_be_switched_off(world: World) -> None:
    s = scene(world, holders=1, quantity=1)
    db = world.runtime.db
    race(*[lambda: evaluate(world) for _ in range(2)])
    evaluate(world)
    with db.read() as tx:
        mine = tx.execute(
            select(func.count()).where(alert_rules.c.program_id == s.program_id)
        ).scalar()
        platform = tx.execute(
            select(func.count()).where(alert_rules.c.program_id.is_(None))
        ).scalar()
    assert (mine, platform) == (7, 3)
    rules = world.get("operator", "/alert-rules", program_id=s.program_id).json()
    assert world.get("outsider", "/alert-rules", program_id=s.program_id).json() == []
    platform_rule = next(
        r for r in world.get("admin", "/alert-rules").json() if not r["program_id"]
    )
    headers = world.headers("operator")
    assert (
        world.client.patch(
            f"/api/v1/alert-rules/{platform_rule['id']}", json={"enabled": False}, headers=headers
        ).status_code
        == 403
    )
    for bad in ({"repeat_seconds": 5}, {"severity": "loud"}, {"threshold": "much"}, {"x": 1}):
        answer = world.client.patch(
            f"/api/v1/alert-rules/{rules[0]['id']}", json=bad, headers=headers
        )
        assert answer.status_code == 422, (bad, answer.text)
    off = world.client.patch(
        f"/api/v1/alert-rules/{rules[0]['id']}", json={"enabled": False}, headers=headers
    )
    assert off.status_code == 200
    assert off.json()["enabled"] is False
    assert off.json()["updated_by"] == f"staff:{world.users['operator'].id}"


def test_receivers_refuse_bad_addresses(world: World) -> None:
    s = scene(world, holders=1, quantity=1)
    for body in (
        {"program_id": s.program_id, "channel": "sms", "address": "12345"},
        {"program_id": s.program_id, "channel": "email", "address": "nobody"},
        {"program_id": s.program_id, "channel": "webhook", "address": "ftp://x"},
        {"program_id": s.program_id, "channel": "pigeon", "address": "roof"},
        {"program_id": None, "channel": "sms", "address": OPERATOR_PHONE},  # all: admins only
    ):
        answer = world.post("operator", "/alert-receivers", body)
        assert answer.status_code in (403, 422), (body, answer.text)
    assert world.get("operator", "/alerts", state="sometimes").status_code == 422


@pytest.fixture
def cli_env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    monkeypatch.setenv("COLUMNS", "250")
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")


def test_cli_lists_and_acknowledges(world: World, cli_env: None) -> None:
    runner = CliRunner()
    s = scene(world, holders=1, quantity=1)
    rule = scope_rule(world, s.program_id)
    world.client.patch(
        f"/api/v1/alert-rules/{rule['id']}",
        json={"for_seconds": 0},
        headers=world.headers("operator"),
    )
    flood(world, s, 15)
    evaluate(world)
    listed = runner.invoke(app, ["alerts", "list", "--program", s.program_id])
    assert listed.exit_code == 0, listed.output
    found = re.search(r"(alt_\w+)", listed.output)
    assert found
    assert "firing" in listed.output
    bad = runner.invoke(app, ["alerts", "ack", found[1], "--note", "查过了", "--as", "op-ningbo"])
    assert bad.exit_code == 1
    assert "ALERT_NOT_FOUND" in bad.output
    assert "没有这条告警" in bad.output
    done = runner.invoke(app, ["alerts", "ack", found[1], "--note", "查过了", "--as", "op1"])
    assert done.exit_code == 0, done.output
    assert "acknowledged" in done.output
    wrong = runner.invoke(app, ["alerts", "list", "--state", "sometimes"])
    assert wrong.exit_code == 2


def test_the_operations_page_shows_alerts_and_refusals_and_acknowledges(world: World) -> None:
    from tests.integration.console_fixtures import staff_session, submit

    s = scene(world, holders=1, quantity=1)
    rule = scope_rule(world, s.program_id)
    world.client.patch(
        f"/api/v1/alert-rules/{rule['id']}",
        json={"for_seconds": 0},
        headers=world.headers("operator"),
    )
    flood(world, s, 15)
    evaluate(world)
    (alert,) = open_alerts(world, program_id=s.program_id)
    staff_session(world, "operator")
    for lang, words in (("zh-CN", "商户频繁超范围核销"), ("en", "Out-of-scope attempts")):
        page = world.client.get(f"/ops/programs/{s.program_id}/operations?lang={lang}")
        assert page.status_code == 200, page.text
        assert words in page.text
        assert 'hx-trigger="every 5s"' in page.text
        assert f'data-alert="{alert["id"]}"' in page.text
        assert 'data-code="OUT_OF_SCOPE"' in page.text
    live = world.client.get(f"/ops/operations/live?program_id={s.program_id}")
    assert live.status_code == 200
    assert "<html" not in live.text  # the refreshed part alone
    assert world.client.get("/ops/operations").status_code == 200
    form = world.client.get(f"/ops/alerts/{alert['id']}/ack?next=/ops/operations")
    assert form.status_code == 200
    done = submit(
        world,
        f"/ops/alerts/{alert['id']}/ack",
        {"note": "已核实", "next": "/ops/operations"},
        page=f"/ops/alerts/{alert['id']}/ack",
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/ops/operations"
    assert "已核实" in world.client.get("/ops/operations").text
    staff_session(world, "outsider")
    assert world.client.get(f"/ops/programs/{s.program_id}/operations").status_code in (403, 404)


def test_rules_on_one_measure_read_together_give_what_each_gives_alone(world: World) -> None:
    """Several rules on a measure are measured in one read (``measure_many``): for claims and
    redemptions spread over time, windows, thresholds and horizons on both sides of the line,
    each rule's samples are exactly those of its own query."""
    from quan.services.operations.alert_measures import measure, measure_many
    from quan.services.operations.alert_scope import Cut, Scope

    clock: Any = world.runtime.clock
    s = scene(world, holders=3, quantity=6)
    for code in s.codes[:2]:
        assert redeem(world, s.shop, code=code).status_code == 201
        clock.advance(timedelta(minutes=7))
    more = issuance.batch(world, s.program_id, s.voucher_type_id, quantity=5, per_citizen_limit=3)
    issuance.open_batch(world, more["id"])
    citizen = s.citizen_ids[0]
    for _ in range(3):
        clock.advance(timedelta(minutes=2))
        response = issuance.claim(world, citizen, more["id"])
        assert response.status_code == 201, response.text
    now = world.runtime.clock.now()
    with world.runtime.db.read() as tx:
        program = tx.execute(select(programs).where(programs.c.id == s.program_id)).one()
        scope = Scope(now, s.program_id, program.issuer_id, program.starts_at, program.ends_at)
        asked: dict[str, list[tuple[dict[str, Any], Cut]]] = {
            "claims_per_citizen": [
                ({"window_minutes": w}, Cut(c, t))
                for w in (3, 5, 60) for c, t in ((">", 0), (">=", 2), (">", 2), ("<", 2))
            ],
            "redemptions_per_citizen": [
                ({"window_minutes": w}, Cut(c, t))
                for w in (5, 10, 60) for c, t in ((">", 0), (">=", 1), ("<=", 1))
            ],
            "redemptions_per_merchant": [
                ({"window_minutes": w}, Cut(c, t))
                for w in (5, 20, 60) for c, t in ((">", 0.0), (">=", 0.1), ("<", 0.1))
            ],
            "outstanding_expiring_share": [
                ({"days": d}, Cut(c, t))
                for d in (1, 29, 31, 400) for c, t in ((">", 0.5), (">=", 0.0), ("<", 1.0))
            ],
        }  # fmt: skip
        held = 0
        for name, rules in asked.items():
            together = measure_many(tx, name, scope, rules)
            for (params, cut), samples in zip(rules, together, strict=True):
                alone = measure(tx, name, scope, params, cut)
                assert sorted(samples, key=lambda x: x.labels) == sorted(
                    alone, key=lambda x: x.labels
                ), (name, params, cut)
                held += len(alone)
    assert held > 20  # the rules are not all empty: the comparison saw real samples

"""Partner webhooks end to end (issue 25, item 8): a partner client authenticates with client
credentials, subscribes, and a real local endpoint verifies every delivery with
``standardwebhooks.Webhook(secret).verify``; it answers 500 and 410 on purpose to prove the
retry, the disabling after repeated 410s, and replays under the same ``webhook-id``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.domain.public_leaf import names_a_citizen
from quan.jobs import sequencer
from quan.services.delivery import notify_jobs, webhooks
from quan.store.db import Database
from quan.store.notify_tables import webhook_attempts, webhook_deliveries, webhook_subscriptions
from tests.conftest import World
from tests.integration.issuance_fixtures import claim, open_fcfs_batch, register_many
from tests.integration.webhook_sink import PartnerEndpoint, serve
from tests.race import race


@pytest.fixture
def endpoint() -> Iterator[tuple[PartnerEndpoint, str]]:
    partner = PartnerEndpoint()
    server = serve(partner)
    try:
        yield partner, f"http://127.0.0.1:{server.server_address[1]}/hooks/quan"
    finally:
        server.shutdown()
        server.server_close()


def _partner(world: World) -> tuple[str, str, dict[str, str]]:
    made = world.post("admin", "/partner-clients", {"name": "某银行数字钱包"})
    assert made.status_code == 201, made.text
    client_id, secret = made.json()["id"], made.json()["client_secret"]
    token = world.client.post(
        "/api/v1/partner/token", json={"client_id": client_id, "client_secret": secret}
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "Bearer"
    assert token.json()["expires_in"] == 900
    return client_id, secret, {"Authorization": f"Bearer {token.json()['access_token']}"}


def _pump(world: World) -> int:
    """What the worker does each second: sequence the log, fan out, send one batch."""
    rt = world.runtime
    sequencer.run_once(rt, holder="test")
    notify_jobs.fan_out(rt, "test")
    sender = notify_jobs.sender(rt)
    try:
        return sender.run_batch(rt.clock.now())
    finally:
        sender.close()


def _claims(world: World, bid: str, count: int) -> None:
    for citizen_id in register_many(world, count):
        assert claim(world, citizen_id, bid).status_code == 201


def test_client_credentials_token_and_revocation(world: World) -> None:
    client_id, secret, headers = _partner(world)
    wrong = world.client.post(
        "/api/v1/partner/token", json={"client_id": client_id, "client_secret": secret + "x"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "PARTNER_CREDENTIALS_INVALID"
    unknown = world.client.post(
        "/api/v1/partner/token", json={"client_id": "pcl_nobody", "client_secret": secret}
    )
    assert unknown.status_code == 401
    assert world.client.get("/api/v1/partner/subscriptions", headers=headers).status_code == 200
    # A partner token is not a staff token, nor the other way round.
    assert world.client.get("/api/v1/partner-clients", headers=headers).status_code == 403
    as_staff = world.post(
        "operator", "/partner/subscriptions", {"url": "http://x/", "event_types": ["batch.opened"]}
    )
    assert as_staff.status_code == 403
    listed = world.get("admin", "/partner-clients").json()
    assert [c["id"] for c in listed] == [client_id]
    assert "client_secret" not in listed[0]
    assert world.post("admin", f"/partner-clients/{client_id}/revoke").status_code == 200
    # Its live token stops at once, and it cannot get another.
    assert world.client.get("/api/v1/partner/subscriptions", headers=headers).status_code == 401
    again = world.client.post(
        "/api/v1/partner/token", json={"client_id": client_id, "client_secret": secret}
    )
    assert again.status_code == 401


def test_subscription_refuses_unknown_types_and_bad_urls(world: World) -> None:
    _, _, headers = _partner(world)
    for body, code in (
        ({"url": "http://127.0.0.1/", "event_types": ["citizen.registered"]}, "UNKNOWN_EVENT_TYPE"),
        ({"url": "ftp://127.0.0.1/", "event_types": ["voucher.claimed"]}, "WEBHOOK_URL_INVALID"),
    ):
        refused = world.client.post("/api/v1/partner/subscriptions", json=body, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["code"] == code


def test_signed_deliveries_retry_disable_after_410s_and_replay(
    world: World, endpoint: tuple[PartnerEndpoint, str]
) -> None:
    partner, url = endpoint
    _, _, headers = _partner(world)
    made = world.client.post(
        "/api/v1/partner/subscriptions",
        json={"url": url, "event_types": ["voucher.claimed", "batch.opened"]},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    sub_id, partner.secret = made.json()["id"], made.json()["secret"]
    assert partner.secret.startswith("whsec_")

    # Events of the program: a batch opened, three claims (citizens behind them).
    _, bid = open_fcfs_batch(world, quantity=20)
    _claims(world, bid, 3)

    # First attempt: the endpoint fails the first two requests with 500.
    partner.script.extend([500, 500])
    assert _pump(world) == 4
    with world.runtime.db.read() as tx:
        statuses = dict(
            tx.execute(
                select(webhook_deliveries.c.status, func.count()).group_by(
                    webhook_deliveries.c.status
                )
            ).all()
        )
    assert statuses == {"failed": 2, "delivered": 2}
    # Retried after the relay's backoff (not before): same ids, now accepted.
    assert _pump(world) == 0
    world.runtime.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    assert _pump(world) == 2
    received = partner.received
    assert all(r.verified for r in received)
    assert len(set(partner.ids(200))) == 4
    assert len(received) == 6
    assert set(partner.ids(500)) <= set(partner.ids(200))  # retried under the same webhook-id
    types = sorted(r.payload["type"] for r in received if r.status == 200)
    assert types == ["batch.opened"] + ["voucher.claimed"] * 3
    for r in received:
        assert not names_a_citizen(r.raw), r.raw  # pseudonyms and ids only
        assert r.payload["data"]["log_index"] >= 0
    failed_once = partner.ids(500)[0]
    attempts = world.client.get(
        f"/api/v1/partner/deliveries/{failed_once}/attempts", headers=headers
    ).json()
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 500), (2, 200)]

    # The endpoint is gone: after three 410s in a row the subscription is disabled.
    partner.default = 410
    _claims(world, bid, 5)
    assert _pump(world) == 5
    with world.runtime.db.read() as tx:
        sub = tx.execute(
            select(webhook_subscriptions).where(webhook_subscriptions.c.id == sub_id)
        ).one()
        dead = tx.execute(
            select(func.count()).where(webhook_deliveries.c.status == "dead")
        ).scalar_one()
    assert sub.status == "disabled"
    assert sub.gone_count == 5
    assert dead == 5
    _claims(world, bid, 1)
    assert _pump(world) == 0  # a disabled endpoint gets nothing
    assert len(partner.ids(410)) == 5

    # The partner is back: enable, replay one delivered message and the 410 time range.
    partner.default = 200
    enabled = world.client.post(f"/api/v1/partner/subscriptions/{sub_id}/enable", headers=headers)
    assert enabled.json()["status"] == "active"
    assert enabled.json()["gone_count"] == 0
    assert _pump(world) == 1  # the claim made while disabled was queued and now goes
    first = partner.ids(200)[0]
    replayed = world.client.post(f"/api/v1/partner/deliveries/{first}/replay", headers=headers)
    assert replayed.status_code == 200
    assert replayed.json()["replays"] == 1
    now = world.runtime.clock.now()
    ranged = world.client.post(
        f"/api/v1/partner/subscriptions/{sub_id}/replay",
        json={
            "from": (now - timedelta(hours=1)).isoformat(),
            "to": (now + timedelta(seconds=1)).isoformat(),
        },
        headers=headers,
    )
    assert ranged.status_code == 200
    assert ranged.json()["replayed"] == 10
    before = len(partner.received)
    assert _pump(world) == 10
    again = partner.received[before:]
    assert all(r.verified and r.status == 200 for r in again)
    gone_ids = set(partner.ids(410))
    assert gone_ids <= {r.webhook_id for r in again}  # replayed under the same ids
    assert first in {r.webhook_id for r in again}
    with world.runtime.db.read() as tx:
        logged = tx.execute(select(func.count()).select_from(webhook_attempts)).scalar_one()
    assert logged == len(partner.received)  # every attempt logged

    bad = world.client.post(
        f"/api/v1/partner/subscriptions/{sub_id}/replay",
        json={"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "REPLAY_RANGE_INVALID"


def test_another_partner_sees_none_of_it(
    world: World, endpoint: tuple[PartnerEndpoint, str]
) -> None:
    _, url = endpoint
    _, _, mine = _partner(world)
    made = world.client.post(
        "/api/v1/partner/subscriptions",
        json={"url": url, "event_types": ["voucher.redeemed"]},
        headers=mine,
    ).json()
    _, _, theirs = _partner(world)
    assert world.client.get("/api/v1/partner/subscriptions", headers=theirs).json() == []
    for path in (f"/partner/subscriptions/{made['id']}/deliveries",):
        assert world.client.get(f"/api/v1{path}", headers=theirs).status_code == 404
    assert (
        world.client.post(f"/api/v1/partner/subscriptions/{made['id']}/disable", headers=theirs)
    ).status_code == 404


def test_two_senders_racing_send_each_delivery_once(
    world: World, endpoint: tuple[PartnerEndpoint, str]
) -> None:
    partner, url = endpoint
    _, _, headers = _partner(world)
    made = world.client.post(
        "/api/v1/partner/subscriptions",
        json={"url": url, "event_types": ["voucher.claimed"]},
        headers=headers,
    ).json()
    partner.secret = made["secret"]
    _, bid = open_fcfs_batch(world, quantity=20)
    _claims(world, bid, 12)
    rt = world.runtime
    sequencer.run_once(rt, holder="test")
    assert notify_jobs.fan_out(rt, "test") == 12
    senders = [notify_jobs.sender(rt) for _ in range(3)]
    for s in senders:
        s.batch = 5
    try:
        results = race(*[lambda s=s: s.run_batch(rt.clock.now()) for s in senders])
    finally:
        for s in senders:
            s.close()
    assert not [r for r in results if isinstance(r, Exception)], results
    assert _pump(world) == 12 - sum(results)  # what the racers skipped (locked) goes next
    ids = partner.ids(200)
    assert len(ids) == 12
    assert len(set(ids)) == 12  # no delivery sent by two senders
    assert all(r.verified for r in partner.received)


def test_the_database_holds_one_delivery_per_subscription_and_event(
    world: World,
    db: Database,
    endpoint: tuple[PartnerEndpoint, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fan-out runs under a lease, one worker at a time; two that both read a subscription's
    cursor (a lease taken over while its old holder still runs) are held after that read, and
    the unique key on (subscription, event) lets one of them queue the events."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: both cannot hold a read of the cursor")
    _, url = endpoint
    _, _, headers = _partner(world)
    made = world.client.post(
        "/api/v1/partner/subscriptions",
        json={"url": url, "event_types": ["voucher.claimed"]},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    _, bid = open_fcfs_batch(world, quantity=5)
    _claims(world, bid, 3)
    rt = world.runtime
    sequencer.run_once(rt, holder="test")
    barrier = threading.Barrier(2, timeout=30)
    held: set[int] = set()
    window = webhooks._fan_window

    def after_the_read(*args: Any, **kwargs: Any) -> int:
        if threading.get_ident() not in held:  # each fan-out's first window
            held.add(threading.get_ident())
            barrier.wait()  # both have read the cursor before either queues
        return window(*args, **kwargs)

    monkeypatch.setattr(webhooks, "_fan_window", after_the_read)
    results = race(*[lambda: notify_jobs.fan_out(rt, "test")] * 2)
    assert sorted(r if isinstance(r, int) else -1 for r in results) == [-1, 3], results
    with rt.db.read() as tx:
        per_event = tx.execute(
            select(webhook_deliveries.c.event_id, func.count()).group_by(
                webhook_deliveries.c.event_id
            )
        ).all()
    assert len(per_event) == 3
    assert {n for _, n in per_event} == {1}

"""``GET /metrics``: claims, redemptions and refusals counted once each where final, summed over
worker processes; request durations by route template (never an id); the database's state read
at scrape time; the endpoint closed to the internet in production — on both databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from quan.api.app import create_app
from quan.services.runtime import Runtime
from quan.store import ledger
from tests.conftest import START, World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import redeem, scene


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def total(text: str, name: str, **labels: str) -> float:
    """The sum of ``name`` over the samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and wanted <= ls)


def scrape(world: World) -> str:
    response = world.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_claims_redemptions_and_refusals_are_counted_once_each(world: World) -> None:
    before = scrape(world)
    s = scene(world, holders=3, quantity=3)  # three claims, through the API
    again = issuance.claim(world, s.citizen_ids[0], s.batch_id)  # already claimed
    assert again.status_code == 409
    extra = issuance.register(world)
    sold_out = issuance.claim(world, extra, s.batch_id)
    assert sold_out.status_code == 409
    assert sold_out.json()["code"] == "SOLD_OUT"
    done = redeem(world, s.shop, code=s.codes[0], key="k-1")
    assert done.status_code == 201
    replay = redeem(world, s.shop, code=s.codes[0], key="k-1")  # the same answer, not counted
    assert replay.status_code == 201
    assert replay.headers.get("idempotent-replayed") == "true"
    twice = redeem(world, s.shop, code=s.codes[0])
    assert twice.status_code == 409
    after = scrape(world)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("quan_claims_total") == 3
    assert delta("quan_refusals_total", action="claim", code=again.json()["code"]) == 1
    assert delta("quan_refusals_total", action="claim", code="SOLD_OUT") == 1
    assert delta("quan_redemptions_total") == 1
    assert delta("quan_redeemed_fen_total") == done.json()["discount_fen"] == 3000
    assert delta("quan_refusals_total", action="redeem", code=twice.json()["code"]) == 1


def test_request_durations_are_labelled_by_route_template_never_by_id(world: World) -> None:
    s = scene(world, holders=1, quantity=2)
    world.client.get(f"/api/v1/batches/{s.batch_id}")
    text = scrape(world)
    routes = {
        dict(ls).get("route")
        for (name, ls) in samples(text)
        if name == "quan_http_request_duration_seconds_count"
    }
    assert "/api/v1/batches/{batch_id}/claims" in routes
    assert "/api/v1/batches/{batch_id}" in routes
    for ident in (s.batch_id, s.program_id, s.shop.merchant_id, *s.citizen_ids):
        assert ident not in text.replace(f'program_id="{s.program_id}"', "")


def test_the_state_gauges_are_read_from_the_database(world: World) -> None:
    pid = issuance.funded_program(world, amount_fen=500_000)
    text = scrape(world)
    with world.runtime.db.read() as tx:
        budget = ledger.budget(tx, pid)
    values = samples(text)
    key = frozenset({("program_id", pid), ("account", "available")})
    assert values[("quan_program_budget_fen", key)] == budget.available_fen == 500_000
    assert ("quan_log_queue_events", frozenset()) in values
    assert values[("quan_log_queue_events", frozenset())] > 0  # nothing sequenced the events
    assert any(name == "quan_outbox_messages" for name, _ in values)
    assert any(name == "quan_job_last_success_timestamp_seconds" for name, _ in values)


def test_production_keeps_the_metrics_off_the_internet(runtime: Runtime) -> None:
    def client(**overrides: object) -> TestClient:
        # Only the endpoint's guard reads the environment here: the rest of production's
        # start-up checks (secrets, providers) are tested with the configuration.
        settings = runtime.settings.model_copy(update={"env": "production", **overrides})
        rt = Runtime.build(settings, clock=runtime.clock, db=runtime.db)
        return TestClient(create_app(settings, rt))

    with client() as c:  # TestClient's peer is "testclient", not a loopback address
        assert c.get("/metrics").status_code == 403
    with client(metrics_token="s3cret-scraper-token") as c:
        assert c.get("/metrics").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert c.get("/metrics", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret-scraper-token"}
        assert c.get("/metrics", headers=right).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _offset_to(at: datetime) -> str:
    """A development-clock offset that puts the served clock at ``at``."""
    seconds = int((at - datetime.now(UTC)).total_seconds())
    return f"-{-seconds}s" if seconds < 0 else f"+{seconds}s"


def test_two_workers_report_the_sum_of_their_claims_and_refusals(
    world: World, tmp_path: Path
) -> None:
    n = 24
    s = scene(world, holders=0, quantity=n)
    people = issuance.register_many(world, n)
    runtime = world.runtime
    settings = runtime.settings
    database_url = runtime.db.url
    if runtime.db.schema:
        database_url += ("&" if "?" in database_url else "?") + (
            f"options=-csearch_path%3D{runtime.db.schema}"
        )
    var_dir = tmp_path / "served"
    var_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUAN_", "PROMETHEUS_"))}
    env |= {
        "QUAN_ENV": "test",
        "QUAN_VAR_DIR": str(var_dir),
        "QUAN_DATABASE_URL": database_url,
        "QUAN_SECRET_KEY": settings.secret_key.get_secret_value() if settings.secret_key else "",
        "QUAN_PII_KEY": settings.pii_key.get_secret_value() if settings.pii_key else "",
        "QUAN_LOG_SIGNING_KEY": (
            settings.log_signing_key.get_secret_value() if settings.log_signing_key else ""
        ),
        "QUAN_DEV_CLOCK_OFFSET": _offset_to(START + timedelta(hours=1)),
        "QUAN_ANONYMOUS_CONCURRENCY": "1000",
    }
    port = _free_port()
    err = (tmp_path / "serve.err").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "quan.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # two workers importing Quan on a loaded machine
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "serve.err").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        now = runtime.clock.now()
        path = f"/api/v1/batches/{s.batch_id}/claims"
        # A new connection each time, so that both worker processes serve some of them.
        for citizen_id in people:
            token, _ = runtime.tokens.issue("citizen", citizen_id, now)
            answer = httpx.post(base + path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 201, answer.text
        for citizen_id in people[:5]:
            token, _ = runtime.tokens.issue("citizen", citizen_id, now)
            answer = httpx.post(base + path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 409
        files = {p.name for p in (var_dir / "metrics").glob("counter_*.db")}
        assert len(files) >= 2, f"one worker served everything: {files}"
        for _ in range(8):  # whichever worker answers the scrape, the figures are the sums
            text = httpx.get(f"{base}/metrics").text
            assert total(text, "quan_claims_total") == n
            assert total(text, "quan_refusals_total", action="claim") == 5
    finally:
        server.terminate()
        server.wait(30)
        err.close()

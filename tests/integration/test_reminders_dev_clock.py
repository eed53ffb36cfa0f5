"""Issue 25's done-when, in development: with the development clock and the generic HTTP SMS
provider (a real local HTTP server that records what arrives), a citizen who signed in with the
code the provider received and claimed is reminded the day before the voucher expires — once,
with the right text and parameters — and the holder of a redeemed voucher is not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from quan.api.app import create_app
from quan.cli import app as cli
from quan.jobs import reminders
from quan.jobs.registry import Job, default_jobs
from quan.jobs.worker import run_job
from quan.services.runtime import Runtime
from quan.store.db import Database
from tests.conftest import World, make_settings
from tests.integration import citizen_fixtures as people
from tests.integration import issuance_fixtures as issuance
from tests.integration.delivery_sinks import SinkLog, http_sink
from tests.integration.redemption_fixtures import CATERING_100_30, open_shop, redeem


@pytest.fixture
def sink() -> Iterator[tuple[SinkLog, str]]:
    log = SinkLog(fail_rate=0.0, timeout_rate=0.0)
    server = http_sink(log)
    yield log, f"http://127.0.0.1:{server.server_address[1]}/sms"
    server.shutdown()


@pytest.fixture
def dev(
    db: Database, tmp_path: Path, sink: tuple[SinkLog, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A development runtime on the development clock (no fixed test clock), SMS over HTTP."""
    settings = make_settings(
        tmp_path, db.url, env="development", sms_provider="http", sms_http_url=sink[1]
    )
    runtime = Runtime.build(settings, db=db)  # the clock: quan.services.runtime.runtime_clock
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield World(runtime, client)


def _job(name: str) -> Job:
    return next(job for job in default_jobs() if job.name == name)


def _work(world: World, *names: str) -> None:
    """What ``quan worker`` does when these jobs are due: one run each, under their leases."""
    for name in names:
        run_job(world.runtime, _job(name), "test-worker")


def _received(log: SinkLog, template: str, to: str | None = None) -> list[dict[str, Any]]:
    with log.lock:
        bodies = list(log.bodies.values())
    return [b for b in bodies if b["template"] == template and (to is None or b["to"] == to)]


def _citizen_claims(
    world: World, log: SinkLog, n: int, batch_id: str
) -> tuple[str, dict[str, Any]]:
    """Register a citizen, sign in with the code the HTTP provider received, claim."""
    person = people.person(40 + n)
    people.register(world, person)
    assert people.ask_code(world, person.phone).status_code == 202
    _work(world, "outbox-relay")
    (otp,) = _received(log, "citizen.otp.login", person.phone)
    signed = people.session(world, person.phone, otp["params"]["code"])
    assert signed.status_code == 200, signed.text
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    claimed = world.client.post(f"/api/v1/batches/{batch_id}/claims", headers=headers)
    assert claimed.status_code == 201, claimed.text
    return person.phone, claimed.json()


def test_a_citizen_is_reminded_the_day_before_expiry_through_the_http_provider(
    dev: World, sink: tuple[SinkLog, str]
) -> None:
    world, (log, _url) = dev, sink
    now = world.runtime.clock.now()
    pid = issuance.funded_program(
        world, starts_at=(now - timedelta(days=1)).isoformat(), ends_at="2099-01-01T00:00:00Z"
    )
    definition = {**CATERING_100_30, "validity_preset": None, "valid_days": 10}
    vt = issuance.voucher_type(world, pid, **definition)
    created = issuance.batch(
        world,
        pid,
        vt["id"],
        quantity=2,
        claim_opens_at=(now - timedelta(hours=1)).isoformat(),
        claim_closes_at=(now + timedelta(days=1)).isoformat(),
    )
    issuance.open_batch(world, created["id"])
    # Quiet hours off, so the test does not depend on the hour it runs at (tested elsewhere).
    rules = {"expiry_offsets_days": [7, 1], "quiet_hours": None}
    assert (
        world.client.put(
            f"/api/v1/programs/{pid}/reminders", json=rules, headers=world.headers("operator")
        ).status_code
        == 200
    )
    phone, voucher = _citizen_claims(world, log, 0, created["id"])
    used_phone, used = _citizen_claims(world, log, 1, created["id"])
    assert redeem(world, open_shop(world), code=used["code"]).status_code == 201

    _work(world, "reminders", "outbox-relay")
    assert len(_received(log, "reminder.claimed", phone)) == 1
    assert _received(log, "reminder.expiry") == []

    moved = CliRunner().invoke(cli, ["dev", "clock", "advance", "+9d"])
    assert moved.exit_code == 0, moved.output
    time.sleep(1.1)  # the development clock reads its file again at most once a second
    later = world.runtime.clock.now()
    assert later - now >= timedelta(days=9)
    _work(world, "reminders", "outbox-relay")

    (reminder,) = _received(log, "reminder.expiry")
    assert reminder["to"] == phone
    until = datetime.fromisoformat(voucher["valid_until"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert reminder["params"] == {
        "voucher": CATERING_100_30["name"],
        "tail": voucher["code"][-4:],
        "until": until.strftime("%Y-%m-%d %H:%M"),
        "days": "1",
    }
    assert reminder["text"] == (
        f"【Quan 服务消费券】您的消费券「{CATERING_100_30['name']}」（券码尾号 "
        f"{voucher['code'][-4:]}）将于 {until:%Y-%m-%d %H:%M} 到期，还剩 1 天，请及时使用。"
        "可在券包中关闭提醒。"
    )
    assert _received(log, "reminder.expiry", used_phone) == []
    assert len(_received(log, "reminder.redeemed", used_phone)) == 1
    assert log.mismatches == []

    # Another worker's run, off schedule, sends nothing again.
    assert reminders.run_once(world.runtime, "another-worker").sent == 0
    _work(world, "outbox-relay")
    assert len(_received(log, "reminder.expiry")) == 1

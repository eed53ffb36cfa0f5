"""The outbox relay delivers every message once under its id, through real local servers that
fail on purpose, survives a worker killed mid-run, and never sends one message from two relays
at once (issue 25)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from quan.channels import outbox as box
from quan.services.delivery.providers import HttpSmsProvider, Provider, SmtpProvider
from quan.services.delivery.relay import Relay, Schedule, claim
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.store.tables import outbox
from tests.integration.delivery_sinks import MailHandler, MailLog, SinkLog, http_sink
from tests.race import Overlap

# QUAN_DELIVERY_MESSAGES=10000 runs the delivery drill at the size (docs/delivery.md).
MESSAGES = int(os.environ.get("QUAN_DELIVERY_MESSAGES", "250"))
FAST = Schedule(max_attempts=40, base=0.01, cap=0.05, visibility=5.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _phone(n: int) -> str:
    return f"139{n:08d}"


def _queue(rt: Runtime, count: int, *, channel: str = "sms", start: int = 0) -> list[str]:
    keys = CitizenKeys.from_settings(rt.settings).outbox
    ids = []
    with rt.db.write() as tx:
        for n in range(start, start + count):
            to = _phone(n) if channel == "sms" else f"person{n}@example.test"
            ids.append(
                box.enqueue(
                    tx,
                    datetime.now(UTC),
                    keys,
                    channel=channel,
                    recipient=to,
                    subject="citizen.otp.login",
                    body=f"code {n:06d}",
                    params={"code": f"{n:06d}"},
                )
            )
    return ids


def _relay(rt: Runtime, providers: dict[str, Provider], schedule: Schedule = FAST) -> Relay:
    return Relay(
        db=rt.db,
        keys=CitizenKeys.from_settings(rt.settings).outbox,
        providers=providers,
        schedule=schedule,
        batch=50,
        concurrency=8,
    )


def _drain(relay: Relay, deadline: float = 120.0 + MESSAGES / 20) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        relay.run_batch(datetime.now(UTC))
        with relay.db.read() as tx:
            left = tx.execute(
                select(func.count()).where(outbox.c.status.in_(("queued", "sending", "failed")))
            ).scalar_one()
        if not left:
            return
        time.sleep(0.01)
    raise AssertionError(f"{left} messages still undelivered")


def _rows(rt: Runtime) -> dict[str, tuple[str, int, str | None, object]]:
    with rt.db.read() as tx:
        return {
            r.id: (r.status, r.attempts, r.last_error, r.body_enc)
            for r in tx.execute(select(outbox))
        }


@pytest.fixture
def sink() -> tuple[SinkLog, str]:
    log = SinkLog()
    server = http_sink(log)
    yield log, f"http://127.0.0.1:{server.server_address[1]}/sms"
    server.shutdown()


def test_every_message_is_delivered_once_under_its_id_through_a_failing_gateway_and_smtp(
    runtime: Runtime, sink: tuple[SinkLog, str]
) -> None:
    log, url = sink
    # A timed-out request is still being held by the gateway for a moment; retries come later
    # (backoff ≥ 0.3 s), so a second request while the first is held would be the relay's fault.
    log.hold_seconds = 0.25
    mail = MailLog()
    controller = Controller(MailHandler(mail), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        sms = _queue(runtime, MESSAGES)
        emails = _queue(runtime, 50, channel="email", start=1000)
        relay = _relay(
            runtime,
            {
                "sms": HttpSmsProvider(url, timeout=0.2),
                "email": SmtpProvider(f"smtp://127.0.0.1:{controller.port}", sender="q@x.test"),
            },
            Schedule(max_attempts=40, base=0.6, cap=1.0, visibility=5.0),
        )
        _drain(relay)
        relay.close()
    finally:
        controller.stop()
    rows = _rows(runtime)
    assert {status for status, *_ in rows.values()} == {"delivered"}
    assert all(body is None for *_, body in rows.values())  # delivered bodies are erased
    assert set(log.accepted) == set(sms)
    assert not log.mismatches
    assert not log.overlaps
    # Every attempt the relay counted reached the gateway, under the message's own id.
    assert {m: rows[m][1] for m in sms} == {m: log.requests[m] for m in sms}
    assert sum(log.requests.values()) > len(sms)  # the gateway did fail on purpose
    assert log.bodies[sms[7]]["params"] == {"code": "000007"}
    assert log.bodies[sms[7]]["to"] == _phone(7)
    assert "000007" in log.bodies[sms[7]]["text"]
    assert {m: mail.received[m] for m in emails} == {
        m: [f"person{n}@example.test"] for n, m in enumerate(emails, start=1000)
    }


def test_refused_and_exhausted_messages_are_dead_with_an_error_free_of_personal_data(
    runtime: Runtime, sink: tuple[SinkLog, str]
) -> None:
    log, url = sink
    log.fail_rate, log.timeout_rate = 1.0, 0.0
    log.refuse.add(_phone(0))
    refused, exhausted = _queue(runtime, 2)
    _drain(_relay(runtime, {"sms": HttpSmsProvider(url)}, Schedule(3, 0.01, 0.02, 5.0)))
    rows = _rows(runtime)
    assert rows[refused][:3] == ("dead", 1, "http 400")
    assert rows[exhausted][:3] == ("dead", 3, "http 500")
    assert log.requests[exhausted] == 3


def test_two_relays_racing_never_send_one_message_at_once(
    runtime: Runtime, sink: tuple[SinkLog, str]
) -> None:
    log, url = sink
    log.fail_rate, log.timeout_rate = 0.3, 0.0
    ids = _queue(runtime, 200)
    barrier = threading.Barrier(2)

    def race() -> None:
        relay = _relay(runtime, {"sms": HttpSmsProvider(url)})
        barrier.wait()
        _drain(relay)
        relay.close()

    threads = [threading.Thread(target=race) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not log.overlaps
    assert set(log.accepted) == set(ids)
    assert all(count == 1 for count in log.accepted.values())  # no lease expired: once each
    rows = _rows(runtime)
    assert {m: rows[m][1] for m in ids} == {m: log.requests[m] for m in ids}


def test_a_relay_claims_around_messages_another_claimed_and_has_not_committed(
    runtime: Runtime,
) -> None:
    """While one relay's claim is not yet committed, a second relay's snapshot still shows those
    messages queued: only their row locks (SKIP LOCKED) send it to the next ones. The first claim
    is held open until the second has claimed or waits on a lock, so the two always overlap."""
    if runtime.db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the second claim starts after the commit")
    _queue(runtime, 10)
    now = datetime.now(UTC)
    overlap = Overlap(runtime.db)
    taken: dict[str, list[str]] = {}

    class Held:
        """The database, its write transaction held open (first) or watched (second)."""

        def __init__(self, role: str) -> None:
            self.role, self.dialect = role, runtime.db.dialect

        @contextmanager
        def write(self) -> Iterator[object]:
            with runtime.db.write() as tx:
                if self.role == "second":
                    overlap.second_starts(tx)
                yield tx
                if self.role == "first":
                    overlap.hold()

    def first() -> None:
        held: object = Held("first")
        taken["first"] = [c.id for c in claim(held, now, ("sms",), 5, 60.0)]  # type: ignore[arg-type]

    def second() -> None:
        assert overlap.first_holds.wait(timeout=30)
        try:
            held: object = Held("second")
            taken["second"] = [c.id for c in claim(held, now, ("sms",), 5, 60.0)]  # type: ignore[arg-type]
        finally:
            overlap.second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(taken["first"]) == 5
    assert len(taken["second"]) == 5
    assert set(taken["first"]).isdisjoint(taken["second"])


def _worker_env(runtime: Runtime, url: str) -> dict[str, str]:
    s = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUAN_")}
    database_url = runtime.db.url
    if runtime.db.schema:
        database_url += ("&" if "?" in database_url else "?") + (
            f"options=-csearch_path%3D{runtime.db.schema}"
        )
    env |= {
        "QUAN_ENV": "test",
        "QUAN_VAR_DIR": str(s.var_dir),
        "QUAN_DATABASE_URL": database_url,
        "QUAN_SECRET_KEY": s.secret_key.get_secret_value() if s.secret_key else "",
        "QUAN_PII_KEY": s.pii_key.get_secret_value() if s.pii_key else "",
        "QUAN_LOG_SIGNING_KEY": s.log_signing_key.get_secret_value() if s.log_signing_key else "",
        "QUAN_SMS_PROVIDER": "http",
        "QUAN_SMS_HTTP_URL": url,
        "QUAN_SMS_HTTP_TIMEOUT_SECONDS": "0.2",
        "QUAN_DELIVERY_VISIBILITY_SECONDS": "2",
        "QUAN_DELIVERY_BACKOFF_SECONDS": "0.01",
        "QUAN_DELIVERY_BACKOFF_MAX_SECONDS": "0.05",
        "QUAN_DELIVERY_MAX_ATTEMPTS": "40",
        "QUAN_DELIVERY_BATCH": "20",
    }
    return env


def _worker(env: dict[str, str], err: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "quan.cli", "worker", "--only", "outbox-relay"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err.open("ab"),
    )


def test_a_worker_killed_mid_run_loses_no_message(
    runtime: Runtime, sink: tuple[SinkLog, str], tmp_path: Path
) -> None:
    log, url = sink
    log.hold_seconds = 0.3
    ids = _queue(runtime, 300)
    env = _worker_env(runtime, url)
    first = _worker(env, tmp_path / "worker.err")
    deadline = time.monotonic() + 60
    while sum(log.accepted.values()) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)  # kill -9, mid-run: some rows are left "sending"
    first.wait()
    assert 30 <= sum(log.accepted.values()) < len(ids), "killed before starting or after ending"
    second = _worker(env, tmp_path / "worker.err")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = {status for status, *_ in _rows(runtime).values()}
            if statuses == {"delivered"}:
                break
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, (tmp_path / "worker.err").read_text()[-2000:]
    assert {status for status, *_ in _rows(runtime).values()} == {"delivered"}
    assert set(log.accepted) == set(ids)
    assert not log.mismatches

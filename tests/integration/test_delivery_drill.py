"""The issue's done-when drill (issue 25): with a local SMS gateway that fails 30% of requests
with 5xx and holds some past the client's timeout, and a real local SMTP server (aiosmtpd, with
STARTTLS and AUTH required), 10,000 messages, SMS and e-mail mixed, are all delivered by
``quan worker`` processes, each under its one message id, with the right final statuses, although
one worker is killed with SIGKILL mid-run; afterwards no recipient or code is in any table.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from quan.channels import outbox as box
from quan.services.delivery.outcomes import Outcome, Outgoing, Result
from quan.services.delivery.providers import SmtpProvider
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.store.ids import new_id
from quan.store.tables import outbox
from tests.integration.delivery_sinks import (
    SMTP_PASSWORD,
    SMTP_USER,
    DrillLog,
    DrillMail,
    DrillMailHandler,
    DrillSink,
    MailHandler,
    MailLog,
    self_signed_cert,
    starttls_controller,
)
from tests.integration.test_delivery_relay import _free_port, _worker_env
from tests.integration.test_privacy_scan import clear_values_in

# 10,000 on both databases: SQLite's one writer serialises the workers' claims, but the run is
# bound by CPU either way. Measured on the shared 2-core machine at a load average of 11 to 32
# (other test runs): 74-108 s on PostgreSQL, 75-121 s on SQLite, about 35 s of CPU in all.
MESSAGES = int(os.environ.get("QUAN_DRILL_MESSAGES", "10000"))
EMAIL_SHARE = 5  # one message in five is an e-mail
REFUSED_SMS, REFUSED_EMAIL = 20, 10


def test_smtp_with_starttls_and_credentials_delivers_and_refuses_a_wrong_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's certificate
    mail, logins = MailLog(), []
    port = _free_port()
    controller = starttls_controller(MailHandler(mail), port, cert, key, logins)
    controller.start()
    try:
        message = Outgoing("msg_tls1", "email", "someone@example.test", "k", "k", {}, "Hello")
        good = SmtpProvider(
            f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}?starttls=true", "q@x.test"
        )
        assert good.send(message) == Result(Outcome.ACCEPTED)
        good.close()
        wrong = SmtpProvider(
            f"smtp://{SMTP_USER}:nope@127.0.0.1:{port}?starttls=true", "q@x.test", timeout=1.0
        )
        assert wrong.send(message).outcome is Outcome.RETRY  # fixable by the operator: retried
        wrong.close()
        plain = SmtpProvider(f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}", "q@x.test")
        assert plain.send(message).outcome is Outcome.RETRY  # no STARTTLS: the server refuses
        plain.close()
    finally:
        controller.stop()
    assert mail.received == {"msg_tls1": ["someone@example.test"]}
    assert logins  # the accepted message came after a successful AUTH


def _bulk_queue(rt: Runtime, count: int) -> tuple[dict[str, tuple[str, str, str]], list[str]]:
    """Queue ``count`` sealed messages in one statement (as :func:`quan.channels.outbox.enqueue`
    seals them); returns id -> (channel, recipient, code) and every code sent."""
    keys = CitizenKeys.from_settings(rt.settings).outbox
    rand = random.Random(2025)
    now = datetime.now(UTC)
    rows, sent = [], {}
    for n in range(count):
        channel = "email" if n % EMAIL_SHARE == 0 else "sms"
        to = f"citizen{n}@mail.example.test" if channel == "email" else f"15{n:09d}"
        code = f"{rand.randrange(1_000_000):06d}"
        message_id = new_id("msg")
        params = json.dumps({"code": code})
        rows.append(
            {
                "id": message_id,
                "channel": channel,
                "recipient_hash": keys.recipient_hash(to),
                "recipient_enc": pii.encrypt(
                    keys.sealing, to, box.sealing_aad(message_id, "recipient")
                ),
                "subject": "citizen.otp.login",
                "body_enc": pii.encrypt(
                    keys.sealing, f"code {code}", box.sealing_aad(message_id, "body")
                ),
                "params_enc": pii.encrypt(
                    keys.sealing, params, box.sealing_aad(message_id, "params")
                ),
                "status": "queued",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
        )
        sent[message_id] = (channel, to, code)
    with rt.db.write() as tx:
        for start in range(0, len(rows), 1000):
            tx.execute(insert(outbox), rows[start : start + 1000])
    return sent, [code for _, _, code in sent.values()]


def _left(rt: Runtime) -> int:
    with rt.db.read() as tx:
        return int(
            tx.execute(
                select(func.count()).where(outbox.c.status.in_(("queued", "sending", "failed")))
            ).scalar_one()
        )


def _start(env: dict[str, str], err: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "quan.cli", "worker", "--only", "outbox-relay"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err.open("ab"),
    )


def test_ten_thousand_messages_are_delivered_once_each_through_failures_and_a_killed_worker(
    runtime: Runtime, tmp_path: Path
) -> None:
    started = time.monotonic()
    sent, codes = _bulk_queue(runtime, MESSAGES)
    sms = {m for m, (channel, _, _) in sent.items() if channel == "sms"}
    emails = set(sent) - sms
    refused_sms = set(sorted(sms)[:REFUSED_SMS])
    refused_email = set(sorted(emails)[:REFUSED_EMAIL])
    gateway = DrillLog(refuse={sent[m][1] for m in refused_sms})
    sink = DrillSink(gateway)
    cert, key = self_signed_cert(tmp_path)
    mail = DrillMail(refuse={sent[m][1] for m in refused_email})
    smtp_port = _free_port()
    controller = starttls_controller(DrillMailHandler(mail), smtp_port, cert, key, mail.logins)
    controller.start()
    env = _worker_env(runtime, f"http://127.0.0.1:{sink.port}/sms") | {
        "QUAN_SMTP_URL": f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{smtp_port}?starttls=true",
        "SSL_CERT_FILE": str(cert),
        "QUAN_DELIVERY_BATCH": "200",
        "QUAN_DELIVERY_CONCURRENCY": "24",
        # Long enough that a batch outlives it only by a kill, even on a loaded machine (else
        # another worker takes the batch again: at-least-once, but more attempts than planned).
        "QUAN_DELIVERY_VISIBILITY_SECONDS": "10",
        "QUAN_DELIVERY_BACKOFF_SECONDS": "0.05",
        "QUAN_DELIVERY_BACKOFF_MAX_SECONDS": "0.2",
        "QUAN_DELIVERY_MAX_ATTEMPTS": "40",
    }
    err = tmp_path / "workers.err"
    workers = [_start(env, err), _start(env, err)]
    try:
        # Kill one worker with SIGKILL once a quarter of the messages are through.
        deadline = time.monotonic() + 400  # generous: the shared machine may be loaded
        while len(gateway.delivered) + len(mail.received) < MESSAGES // 4:
            assert time.monotonic() < deadline, err.read_text()[-2000:]
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        killed_at = len(gateway.delivered) + len(mail.received)
        workers.append(_start(env, err))  # a replacement
        while _left(runtime):
            assert time.monotonic() < deadline, f"{_left(runtime)} left; " + err.read_text()[-2000:]
            time.sleep(0.2)
    finally:
        for worker in workers[1:]:
            worker.send_signal(signal.SIGTERM)
        exits = [worker.wait(timeout=60) for worker in workers[1:]]
        sink.stop()
        controller.stop()
    seconds = time.monotonic() - started
    assert exits == [0, 0], err.read_text()[-2000:]
    assert killed_at < MESSAGES * 0.9, "the worker was killed after the run, not during it"

    with runtime.db.read() as tx:
        rows = {r.id: r for r in tx.execute(select(outbox))}
    # Final statuses: every message delivered but the refused ones, dead with the refusal.
    dead = refused_sms | refused_email
    assert {m: r.status for m, r in rows.items() if r.status != "delivered"} == dict.fromkeys(
        dead, "dead"
    )
    assert {rows[m].last_error for m in refused_sms} == {"http 400"}
    assert {rows[m].last_error for m in refused_email} == {"smtp 550"}
    # Every message delivered, under its own id and to its own recipient, exactly the
    # expected set; a repeat is only ever a retry under the same id (the gateway dropped it).
    assert set(gateway.delivered) == sms - refused_sms
    assert not gateway.mismatches
    assert all(
        body["to"] == sent[m][1] and body["params"] == {"code": sent[m][2]}
        for m, body in gateway.delivered.items()
    )
    assert set(gateway.duplicates) <= set(gateway.delivered)
    assert set(mail.received) == emails - refused_email
    assert all(to == [sent[m][1]] for m, to in mail.received.items())
    assert set(mail.duplicates) <= set(mail.received)
    # Each attempt the relay counted either reached the gateway or was cut off by the kill.
    requests = gateway.requests
    assert all(rows[m].attempts >= requests[m] for m in sms)
    unsent = sum(rows[m].attempts for m in sms) - sum(requests[m] for m in sms)
    assert unsent <= 2 * 200  # at most the killed worker's claimed batches
    assert sum(requests.values()) > len(sms) * 1.3  # the gateway did fail on purpose
    assert mail.logins  # e-mail went over STARTTLS with credentials
    # Nothing personal is left in clear in any table.
    phones_and_addresses = [to for _, to, _ in sent.values()]
    assert clear_values_in(runtime.db, phones_and_addresses, codes) == []
    print(
        f"\ndrill on {runtime.db.dialect}: {MESSAGES} messages in {seconds:.1f} s,"
        f" {sum(requests.values())} gateway requests, {len(gateway.duplicates)} SMS and"
        f" {len(mail.duplicates)} e-mail repeats dropped by id"
    )


def test_the_scan_finds_a_recipient_or_code_left_in_clear(runtime: Runtime) -> None:
    sent, codes = _bulk_queue(runtime, 3)
    (first, (_, phone, code)), *_ = sent.items()
    assert clear_values_in(runtime.db, [to for _, to, _ in sent.values()], codes) == []
    with runtime.db.write() as tx:
        tx.execute(
            update(outbox).where(outbox.c.id == first).values(last_error=f"to {phone}: {code}")
        )
    assert clear_values_in(runtime.db, [phone], [code]) == sorted([phone[:3] + "…", code[:3] + "…"])

"""``quan worker``'s jobs: an exclusive job runs once however many workers race for it, every
run is recorded (last and next run, failures), and the status is for staff (issue 25)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from quan.channels import outbox as box
from quan.jobs.registry import Job, default_jobs, statuses
from quan.jobs.worker import run_job, run_worker
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.store.tables import outbox
from tests.conftest import World


def test_an_exclusive_job_runs_once_when_four_workers_race_for_it(runtime: Runtime) -> None:
    calls: list[str] = []

    def work(rt: Runtime, holder: str) -> int:
        calls.append(holder)
        time.sleep(0.2)  # long enough for every racer to arrive while it runs
        return 1

    job = Job("race-test", 60.0, work)
    barrier = threading.Barrier(4)

    def worker(n: int) -> None:
        barrier.wait()
        run_job(runtime, job, f"worker-{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(4):  # and again, later: not due before its interval has passed
        run_job(runtime, job, f"worker-{n}")
    assert len(calls) == 1
    with runtime.db.read() as tx:
        (status,) = statuses(tx, runtime.clock.now(), [job])
    assert status.runs == 1
    assert status.last_holder == calls[0]
    assert status.next_run_at == runtime.clock.now() + timedelta(seconds=60)


def test_a_failing_run_is_recorded_and_a_success_clears_the_streak(runtime: Runtime) -> None:
    fail = [True]

    def work(rt: Runtime, holder: str) -> int:
        if fail[0]:
            raise RuntimeError("provider unreachable")
        return 0

    job = Job("flaky-test", 0.0, work)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            run_job(runtime, job, "w")
    with runtime.db.read() as tx:
        (status,) = statuses(tx, runtime.clock.now(), [job])
    assert (status.runs, status.failures, status.consecutive_failures) == (2, 2, 2)
    assert status.last_error == "RuntimeError"
    fail[0] = False
    run_job(runtime, job, "w")
    with runtime.db.read() as tx:
        (status,) = statuses(tx, runtime.clock.now(), [job])
    assert (status.runs, status.failures, status.consecutive_failures) == (3, 2, 0)
    assert status.last_error is None


def test_the_worker_delivers_a_queued_message_and_records_its_jobs(runtime: Runtime) -> None:
    keys = CitizenKeys.from_settings(runtime.settings).outbox
    with runtime.db.write() as tx:
        message = box.enqueue(
            tx,
            runtime.clock.now(),
            keys,
            channel="sms",
            recipient="13900000001",
            subject="citizen.otp.login",
            body="code 123456",
            params={"code": "123456"},
        )
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(runtime, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with runtime.db.read() as tx:
                status = tx.execute(
                    select(outbox.c.status).where(outbox.c.id == message)
                ).scalar_one()
                ran = {s.name for s in statuses(tx, runtime.clock.now()) if s.runs}
            if status == "delivered" and ran == {job.name for job in default_jobs()}:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert status == "delivered"
    assert ran == {job.name for job in default_jobs()}
    assert {"outbox-relay", "log-sequencer", "recycling", "outbox-purge", "reminders"} <= ran


def test_jobs_status_is_for_staff_and_counts_the_outbox(world: World) -> None:
    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    with world.runtime.db.write() as tx:
        box.enqueue(
            tx,
            world.runtime.clock.now(),
            keys,
            channel="sms",
            recipient="13900000002",
            subject="citizen.otp.login",
            body="code 654321",
            params={"code": "654321"},
        )
    for who in ("admin", "operator", "auditor"):
        response = world.get(who, "/jobs")
        assert response.status_code == 200, who
    body = response.json()
    assert {j["name"] for j in body["jobs"]} >= {"outbox-relay", "log-sequencer", "recycling"}
    assert body["outbox"]["by_status"]["queued"] == 1
    assert "13900000002" not in response.text
    assert "654321" not in response.text
    assert world.get("agent", "/jobs").status_code == 403


def test_the_jobs_page_shows_each_job_and_the_outbox_in_both_languages(world: World) -> None:
    from quan.web.i18n import LANG_COOKIE
    from tests.integration.console_fixtures import staff_session

    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    with world.runtime.db.write() as tx:
        box.enqueue(
            tx,
            world.runtime.clock.now(),
            keys,
            channel="sms",
            recipient="13900000003",
            subject="citizen.otp.login",
            body="code 111222",
            params={"code": "111222"},
        )
    run_job(world.runtime, Job("log-sequencer", 1.0, lambda rt, holder: 0), "w")
    staff_session(world, "auditor")
    page = world.client.get("/ops/jobs")
    assert page.status_code == 200
    assert "后台任务与消息发送" in page.text
    assert 'data-job="outbox-relay"' in page.text
    assert 'data-job="log-sequencer"' in page.text
    assert '<td class="num" data-status="queued">1</td>' in page.text
    assert "13900000003" not in page.text
    assert "111222" not in page.text
    world.client.cookies.set(LANG_COOKIE, "en")
    assert "Background jobs and message delivery" in world.client.get("/ops/jobs").text
    staff_session(world, "agent")
    assert world.client.get("/ops/jobs", follow_redirects=False).status_code != 200

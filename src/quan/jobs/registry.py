"""The registry of scheduled jobs, and the record of what each did last.

A :class:`Job` is a name, an interval and a function of the runtime. ``quan worker``
(:mod:`quan.jobs.worker`) runs every registered job: an *exclusive* job under its database lease
(:mod:`quan.jobs.lease`), so that of any number of workers on any number of hosts one runs it at
a time; a shared job (the outbox relay, whose claims are safe on their own) in every worker at
once. Each run is recorded in ``job_runs`` (last and next run, failures), read by
``GET /api/v1/jobs`` and ``quan jobs status``. Later issues add their jobs to :func:`default_jobs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from quan.services.runtime import Runtime
from quan.store.db import Database
from quan.store.tables import job_runs

JobFn = Callable[[Runtime, str], int]
"""A job's work: ``(runtime, holder) -> how many things it did`` (0 when idle)."""


@dataclass(frozen=True, slots=True)
class Job:
    name: str  # also its lease's name
    interval: float  # seconds between runs (between idle runs for a shared job)
    run: JobFn
    exclusive: bool = True
    lease_ttl: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class JobStatus:
    name: str
    interval_seconds: float
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    next_run_at: datetime | None
    runs: int
    failures: int
    consecutive_failures: int
    last_error: str | None
    last_holder: str | None
    last_duration_ms: int | None
    lag_seconds: float  # how far past its next run the job is (0 when on time)


def _sequence(rt: Runtime, holder: str) -> int:
    from quan.jobs import sequencer

    return sequencer.run_once(rt, holder=holder).appended


def _recycle(rt: Runtime, holder: str) -> int:
    from quan.jobs import recycling

    run = recycling.run_once(rt, holder=holder)
    return len(run.recycled) + sum(r.count for r in run.expired)


def _purge(rt: Runtime, holder: str) -> int:
    from quan.channels import outbox
    from quan.services.delivery import relay
    from quan.services.people.citizens import CitizenKeys

    keys = CitizenKeys.from_settings(rt.settings).outbox
    with rt.db.write() as tx:
        erased = outbox.purge(tx, rt.clock.now(), keys)
    return erased + relay.expire_purged(rt.db, rt.clock.now())


def _remind(rt: Runtime, holder: str) -> int:
    from quan.jobs import reminders

    run = reminders.run_once(rt, holder)
    return run.chosen.total + run.sent


def _alerts(rt: Runtime, holder: str) -> int:
    from quan.services.operations import alerts
    from quan.services.people.citizens import CitizenKeys

    keys = CitizenKeys.from_settings(rt.settings).outbox
    return alerts.evaluate(rt.db, rt.clock.now(), keys, rt.settings.message_locale).work
def _risk_scan(rt: Runtime, holder: str) -> int:
    from quan.services.abuse import cases

    return len(cases.scan(rt.db, rt.clock.now()))
def _escalate_complaints(rt: Runtime, holder: str) -> int:
    from quan.services.feedback import jobs as feedback_jobs

    return feedback_jobs.escalate(rt, holder)


def _analyse_feedback(rt: Runtime, holder: str) -> int:
    from quan.services.feedback import jobs as feedback_jobs

    return feedback_jobs.analyse(rt, holder)


def default_jobs() -> list[Job]:
    """Every job of the platform, in the order a worker starts them."""
    from quan.services.delivery import notify_jobs
    from quan.services.delivery.worker_relay import RelayJob

    return [
        Job("outbox-relay", 1.0, RelayJob(), exclusive=False),
        Job("log-sequencer", 1.0, _sequence, lease_ttl=timedelta(seconds=60)),
        Job("recycling", 60.0, _recycle),
        Job("outbox-purge", 300.0, _purge),
        Job("reminders", 30.0, _remind),
        Job("announcements", 1.0, notify_jobs.release_announcements),
        Job("webhook-fanout", 1.0, notify_jobs.fan_out),
        Job("webhook-relay", 1.0, notify_jobs.WebhookJob(), exclusive=False),
        Job("alerts", 15.0, _alerts),  # alert rules evaluated (quan.services.operations.alerts)
        Job("risk-scan", 900.0, _risk_scan, lease_ttl=timedelta(minutes=15)),
        Job("complaint-escalation", 60.0, _escalate_complaints),
        Job("feedback-analysis", 30.0, _analyse_feedback),
    ]


def _upsert(db: Database, name: str, values: dict[str, object]) -> None:
    for _ in range(2):
        try:
            with db.write() as tx:
                if tx.execute(
                    update(job_runs).where(job_runs.c.name == name).values(**values)
                ).rowcount:
                    return
                tx.execute(
                    job_runs.insert().values(
                        name=name, runs=0, failures=0, consecutive_failures=0, **values
                    )
                )
                return
        except IntegrityError:
            continue  # another worker inserted the row first: update it


def record_start(db: Database, job: Job, holder: str, now: datetime) -> None:
    _upsert(
        db,
        job.name,
        {"interval_seconds": job.interval, "last_started_at": now, "last_holder": holder},
    )


def record_end(db: Database, job: Job, now: datetime, started: datetime, error: str | None) -> None:
    values: dict[str, object] = {
        "interval_seconds": job.interval,
        "last_finished_at": now,
        "next_run_at": now + timedelta(seconds=job.interval),
        "runs": job_runs.c.runs + 1,
        "last_duration_ms": int((now - started).total_seconds() * 1000),
    }
    if error is None:
        values |= {"last_success_at": now, "consecutive_failures": 0, "last_error": None}
    else:
        values |= {
            "failures": job_runs.c.failures + 1,
            "consecutive_failures": job_runs.c.consecutive_failures + 1,
            "last_error": error[:200],
        }
    _upsert(db, job.name, values)


def next_run_at(tx: Connection, name: str) -> datetime | None:
    return tx.execute(select(job_runs.c.next_run_at).where(job_runs.c.name == name)).scalar()


def statuses(tx: Connection, now: datetime, jobs: list[Job] | None = None) -> list[JobStatus]:
    """Every registered job's record (a job never run shows empty, due now)."""
    rows = {r.name: r for r in tx.execute(select(job_runs))}
    out: list[JobStatus] = []
    for job in jobs if jobs is not None else default_jobs():
        r = rows.get(job.name)
        if r is None:
            out.append(
                JobStatus(
                    job.name, job.interval, None, None, None, None, 0, 0, 0, None, None, None, 0.0
                )
            )
            continue
        lag = (now - r.next_run_at).total_seconds() if r.next_run_at is not None else 0.0
        out.append(
            JobStatus(
                job.name,
                job.interval,
                r.last_started_at,
                r.last_finished_at,
                r.last_success_at,
                r.next_run_at,
                r.runs,
                r.failures,
                r.consecutive_failures,
                r.last_error,
                r.last_holder,
                r.last_duration_ms,
                max(lag, 0.0),
            )
        )
    return out

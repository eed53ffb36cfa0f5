"""``quan worker``: one process that runs every registered job (:mod:`quan.jobs.registry`).

Each job has a thread of its own, so a long recycling run never holds up deliveries. An
exclusive job runs when it is due (``job_runs.next_run_at``) and this worker takes its lease;
after taking the lease the worker reads the due time again, so a run another worker just
finished is not repeated. A shared job (the relay) runs in every worker; when it found work it
runs again at once, when idle after its interval. A failing run is recorded and retried at the
next interval, never fatal. Setting ``stop`` (SIGINT/SIGTERM in the CLI) ends every thread
after its current run and releases the leases.
"""

from __future__ import annotations

import logging
import threading

from quan.jobs import lease
from quan.jobs.registry import Job, default_jobs, next_run_at, record_end, record_start
from quan.jobs.sequencer import new_holder
from quan.services.runtime import Runtime
from quan.store.db import describe_db_error

log = logging.getLogger("quan.jobs.worker")


def run_job(rt: Runtime, job: Job, holder: str) -> int | None:
    """One run of ``job`` if it is due and (exclusive) this holder gets its lease; the count
    of things it did, or ``None`` when it did not run. Failures are recorded, then raised."""
    now = rt.clock.now()
    if job.exclusive:
        with rt.db.read() as tx:
            due = next_run_at(tx, job.name)
        if due is not None and due > now:
            return None
        if not lease.acquire(rt.db, job.name, holder, now, job.lease_ttl):
            return None
        with rt.db.read() as tx:
            due = next_run_at(tx, job.name)
        if due is not None and due > rt.clock.now():
            lease.release(rt.db, job.name, holder, rt.clock.now())
            return None
    started = rt.clock.now()
    record_start(rt.db, job, holder, started)
    try:
        done = job.run(rt, holder)
    except Exception as exc:
        # No values of a database error (they may be personal data): its class and SQLSTATE.
        error = describe_db_error(exc) or type(exc).__name__
        record_end(rt.db, job, rt.clock.now(), started, error)
        raise
    else:
        record_end(rt.db, job, rt.clock.now(), started, None)
        return done
    finally:
        if job.exclusive:
            lease.release(rt.db, job.name, holder, rt.clock.now())


def _loop(rt: Runtime, job: Job, holder: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            done = run_job(rt, job, holder)
        except Exception:
            log.warning("job %s failed; retrying in %.0f s", job.name, job.interval, exc_info=False)
            done = None
        if not job.exclusive and done:
            continue  # more may be due at once
        stop.wait(job.interval if not job.exclusive else min(job.interval, 1.0))
    close = getattr(job.run, "close", None)
    if callable(close):
        close()


def run_worker(
    rt: Runtime,
    stop: threading.Event,
    *,
    jobs: list[Job] | None = None,
    holder: str | None = None,
) -> None:
    """Run ``jobs`` (default: every registered job) until ``stop`` is set."""
    holder = holder or new_holder()
    jobs = jobs if jobs is not None else default_jobs()
    threads = [
        threading.Thread(target=_loop, args=(rt, job, holder, stop), name=f"quan-job-{job.name}")
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    log.info("worker %s running %s", holder, ", ".join(job.name for job in jobs))
    for thread in threads:
        thread.join()

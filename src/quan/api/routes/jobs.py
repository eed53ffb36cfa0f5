"""``GET /jobs``: every scheduled job's last and next run, lag and failures, and the outbox."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from quan.edge.deps import RuntimeDep, StaffReader
from quan.jobs.registry import default_jobs, statuses
from quan.services.delivery.status import queue_summary

router = APIRouter(tags=["jobs"])


class JobOut(BaseModel):
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
    lag_seconds: float


class OutboxOut(BaseModel):
    by_status: dict[str, int]
    oldest_due_seconds: float


class JobsOut(BaseModel):
    jobs: list[JobOut]
    outbox: OutboxOut


@router.get("/jobs", response_model=JobsOut)
def list_jobs(actor: StaffReader, rt: RuntimeDep) -> JobsOut:
    """What ``quan worker`` runs and how it is doing (staff: admins, operators, auditors)."""
    now = rt.clock.now()
    with rt.db.read() as tx:
        rows = statuses(tx, now, _JOBS)
        summary = queue_summary(tx, now)
    return JobsOut(
        jobs=[JobOut(**asdict(s)) for s in rows],
        outbox=OutboxOut(**asdict(summary)),
    )


_JOBS = default_jobs()  # names and intervals only: the status reads records, runs nothing

"""The jobs page: what ``quan worker`` runs and how it is doing, and the outbox in numbers
(staff: admins, operators, auditors, like ``GET /api/v1/jobs``). No personal data."""

from __future__ import annotations

from fastapi import Request, Response

from quan.edge.deps import RuntimeDep
from quan.jobs.registry import default_jobs, statuses
from quan.services.delivery.status import STATUSES, queue_summary
from quan.web.routes.common import StaffPage, console_router, staff_context
from quan.web.templating import render

router = console_router()

_JOBS = default_jobs()  # names and intervals only: the page reads records, runs nothing


@router.get("/ops/jobs")
def jobs_page(request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    now = rt.clock.now()
    with rt.db.read() as tx:
        jobs = statuses(tx, now, _JOBS)
        outbox = queue_summary(tx, now)
    return render(
        request,
        "ops/jobs.html",
        staff_context(actor, "ops", jobs=jobs, outbox=outbox, statuses=STATUSES),
    )

"""``GET /metrics`` (Prometheus exposition) and the request-duration middleware.

What is counted and why it sums correctly over processes: :mod:`quan.metrics`. Here:

* :class:`RequestMetrics` (ASGI, outermost) times every HTTP request and labels it with its
  route *template* (``/api/v1/batches/{batch_id}/claims``), never the path itself, so ids never
  become label values; requests no route matched share ``route="unmatched"``.
* :class:`StateCollector` reads the database's state at scrape time, in one read transaction:
  each open program's budget by ledger account, the outbox per status and its oldest due
  message, the log's queue (the sequencer's lag), and each scheduled job's last success.
* The endpoint itself: open in development; in production only with the bearer token
  ``QUAN_METRICS_TOKEN``, or, without one, only to clients on the loopback address (a scraper
  on the same host or a sidecar), so figures about money never reach the public internet.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from quan import metrics
from quan.domain.programs import ProgramStatus
from quan.services.delivery.status import queue_summary
from quan.services.runtime import Runtime
from quan.store import ledger
from quan.store import log as log_store
from quan.store.log_tables import log_queue
from quan.store.tables import events, programs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Paths answered before routing (the lean claim and redemption paths, quan.api.lean): their
# templates, as the documented routes name them.
API_PREFIX = "/api/v1"
_LEAN: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/api/v1/batches/[^/]+/claims"), "/api/v1/batches/{batch_id}/claims"),
    ("POST", re.compile(r"/api/v1/redemptions"), "/api/v1/redemptions"),
)


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` (after the app ran)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        # The API's routes are included under /api/v1 and the scope names the route as its
        # router declared it; the label is the whole template, as clients see it.
        if scope.get("path", "").startswith(API_PREFIX + "/") and not path.startswith(API_PREFIX):
            return API_PREFIX + path
        return path
    for method, pattern, template in _LEAN:
        if scope.get("method") == method and pattern.fullmatch(scope.get("path", "")):
            return template
    return "unmatched"


class RequestMetrics:
    """ASGI middleware: ``quan_http_request_duration_seconds`` for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server sends if the app fails before starting a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.HTTP_DURATION.labels(
                scope.get("method", ""), route_template(scope), str(status)
            ).observe(time.perf_counter() - started)


class StateCollector(Collector):
    """Gauges of the database's state, read once per scrape (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        rt = self.runtime
        now = rt.clock.now()
        budget = GaugeMetricFamily(
            "quan_program_budget_fen",
            "A program's money by ledger account, in fen (programs not closed).",
            labels=["program_id", "account"],
        )
        outbox_messages = GaugeMetricFamily(
            "quan_outbox_messages", "Outbox messages by delivery status.", labels=["status"]
        )
        jobs_success = GaugeMetricFamily(
            "quan_job_last_success_timestamp_seconds",
            "When each scheduled job last finished without error (Unix time; 0: never).",
            labels=["job"],
        )
        jobs_failing = GaugeMetricFamily(
            "quan_job_consecutive_failures", "Failed runs in a row per job.", labels=["job"]
        )
        with rt.db.read() as tx:
            open_programs = tx.execute(
                select(programs.c.id).where(programs.c.status != ProgramStatus.CLOSED.value)
            ).scalars()
            for program_id in open_programs:
                b = ledger.budget(tx, program_id)
                for account, fen in (
                    ("funded", b.funded_fen),
                    ("available", b.available_fen),
                    ("reserved", b.reserved_fen),
                    ("payable", b.payable_fen),
                    ("paid", b.paid_fen),
                    ("returned", b.returned_fen),
                ):
                    budget.add_metric([program_id, account], fen)
            summary = queue_summary(tx, now)
            queued = log_store.queued_count(tx)
            oldest_event = tx.execute(
                select(func.min(events.c.occurred_at)).select_from(
                    log_queue.join(events, events.c.id == log_queue.c.event_id)
                )
            ).scalar()
            from quan.jobs.registry import statuses  # the jobs package imports services

            job_statuses = statuses(tx, now)
        for status, count in summary.by_status.items():
            outbox_messages.add_metric([status], count)
        for job in job_statuses:
            success = job.last_success_at
            jobs_success.add_metric([job.name], success.timestamp() if success else 0.0)
            jobs_failing.add_metric([job.name], job.consecutive_failures)
        yield budget
        yield outbox_messages
        yield GaugeMetricFamily(
            "quan_outbox_oldest_due_age_seconds",
            "How long the longest-waiting due outbox message has been due (0: none).",
            value=summary.oldest_due_seconds,
        )
        yield GaugeMetricFamily(
            "quan_log_queue_events",
            "Events recorded but not yet appended to the transparency log (sequencer lag).",
            value=queued,
        )
        yield GaugeMetricFamily(
            "quan_log_queue_oldest_age_seconds",
            "Age of the oldest event waiting for the sequencer (0: none waiting).",
            value=_age(now, oldest_event),
        )
        yield jobs_success
        yield jobs_failing


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install(app: FastAPI, runtime: Runtime) -> None:
    """Mount ``GET /metrics`` and the duration middleware (call last: outermost)."""
    state = StateCollector(runtime)
    settings = runtime.settings

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        token = settings.metrics_token
        if token:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
                return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        elif settings.env == "production" and not _loopback(request):
            return Response(status_code=403)
        registry = CollectorRegistry(auto_describe=False)
        if metrics.multiprocess_dir():
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # summed over workers
            registry.register(state)
            body = generate_latest(registry)
        else:
            body = generate_latest(REGISTRY) + generate_latest(_only(registry, state))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(RequestMetrics)


def _only(registry: CollectorRegistry, collector: Collector) -> CollectorRegistry:
    registry.register(collector)
    return registry

"""``create_app(settings)``: the one place where the API's engine, clock and keys are built."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from quan import __version__
from quan.api import api_docs, claim_route, errors, metrics_route, redeem_route
from quan.api.compress import Compress
from quan.api.edge import Edge
from quan.api.lean import Lane
from quan.api.routes import (
    admin,
    announcements,
    assisted,
    audit,
    auth,
    batches,
    blacklist,
    citizen_imports,
    citizen_sessions,
    citizens,
    drafts,
    events,
    fairness,
    funding,
    grants,
    jobs,
    lottery,
    merchant_self,
    merchants,
    offline,
    partners,
    programs,
    public,
    redemptions,
    refusals,
    self_registration,
    settlements,
    share_links,
    system,
    terminals,
    vouchers,
    wallet,
)
from quan.api.routes import alerts as alert_routes
from quan.api.routes import reminders as reminder_routes
from quan.api.snapshots import AnonymousLimit, Snapshots
from quan.cache.pools_empty import PoolsEmptyShare
from quan.config import Settings, load_settings
from quan.refusals import Flusher as RefusalFlusher
from quan.services.issuance.claim_cache import DEFAULT_CACHE
from quan.services.runtime import Runtime
from quan.web import pages
from quan.web.session import Area

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1 << 20  # 1 MiB: no legitimate request is larger; a huge one is refused early
# Uploads (eligibility lists) may be larger: about a million rows of CSV.
MAX_UPLOAD_BYTES = 64 << 20

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DESCRIPTION = """
Quan (券) runs service consumption voucher programs: funders put money in, vouchers reach citizens
fairly, merchants are settled, and every fen stays traceable in a double-entry ledger.

Money is an integer of fen (1/100 yuan) in every field named `*_fen`. Errors are RFC 9457
problems with a stable `code`; `detail` speaks zh-CN or English by `Accept-Language`.
POSTs that move money accept an `Idempotency-Key`. Lists are paged with `?limit=&cursor=`.
"""


class _TooLargeError(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over the limit with 413, declared or streamed (chunked)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = MAX_UPLOAD_BYTES if scope["path"].endswith("/imports") else MAX_BODY_BYTES
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                # The framework may turn this into its own 400; the flag lets the error
                # handler answer 413 PAYLOAD_TOO_LARGE instead.
                scope["quan.body_too_large"] = True
                raise _TooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLargeError:
            if not started:
                await _too_large(send)


async def _too_large(send: Send) -> None:
    body = (
        b'{"type":"urn:quan:problem:PAYLOAD_TOO_LARGE","title":"Payload too large",'
        b'"status":413,"code":"PAYLOAD_TOO_LARGE","detail":"The request body is too large"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/problem+json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


ROUTE_MODULES = (
    auth,
    admin,
    programs,
    funding,
    events,
    system,
    jobs,  # the scheduled jobs of quan worker and the outbox, in numbers
    merchants,
    terminals,
    audit,
    public,
    # citizen_imports before citizens: GET /citizens/imports must not match /citizens/{id}.
    citizen_imports,
    citizen_sessions,
    citizens,
    blacklist,
    vouchers,  # issuance: voucher types, batches and claims, the wallet
    batches,
    lottery,  # lottery registration, public record and draw
    grants,  # targeted grants
    wallet,
    redemptions,  # redemption, reversal, voucher deactivation, redemption policy
    offline,  # offline keys, offline sync, offline cases
    settlements,
    fairness,  # fairness reports per batch and program
    assisted,  # agents issue vouchers for citizens and print them
    share_links,  # citizens' share links, claims through them, per-sharer stats
    refusals,  # refused claims and redemptions: who, where, which rule
    reminder_routes,  # a program's reminder rules, the citizen's opt-outs
    self_registration,  # whether self-registration is offered, and its consent text
    announcements,  # notices to holders and segments, their approval and progress
    partners,  # partner clients (client credentials), webhook subscriptions and deliveries
    alert_routes,  # alerts and their acknowledgement, alert rules, alert receivers
    drafts,  # draft voucher types and batches changed or deleted; close and release a batch
    merchant_self,  # a merchant's appeals; pairing a counter device with a terminal
)


def api_routers(production: bool) -> list[APIRouter]:
    """Every router mounted under ``/api/v1`` (the auth test walks these); the development
    helpers only outside production."""
    routers = [module.router for module in ROUTE_MODULES]
    if not production:
        routers.append(system.dev_router)
    return routers


@functools.lru_cache(maxsize=2)
def _api_router(production: bool) -> APIRouter:
    """``/api/v1`` and every router under it, assembled once per process: including a router
    copies and prepares each of its routes, and the tests build an application per test."""
    api = APIRouter(prefix=API_PREFIX)
    for router in api_routers(production):
        api.include_router(router)
    return api


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Refused claims and redemptions are tallied in memory and written every two seconds
    # (quan.refusals); the flusher writes what is left when the application stops.
    flusher = RefusalFlusher(app.state.runtime.db)
    flusher.start()
    share = _share_empty_pools(app.state.runtime.settings.redis_url)
    yield
    if share is not None:
        if DEFAULT_CACHE.on_found_empty == share.publish:
            DEFAULT_CACHE.on_found_empty = None
        share.stop()
    flusher.stop()
    for name in ("claim_lane", "redeem_lane"):
        lane: Lane[Any, Any] | None = getattr(app.state, name, None)
        if lane is not None:
            lane.close()


def _share_empty_pools(redis_url: str | None) -> PoolsEmptyShare | None:
    """With Redis, every process hears at once of a pool another one found empty (and refuses
    later claims on it from memory); without, each learns on its own first miss."""
    if redis_url is None:
        return None
    share = PoolsEmptyShare(
        redis_url, lambda batch_id, pool: DEFAULT_CACHE.mark_empty(batch_id, pool, share=False)
    )
    DEFAULT_CACHE.on_found_empty = share.publish
    share.start()
    return share


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else load_settings())
    runtime = runtime or Runtime.build(settings)
    app = FastAPI(
        lifespan=_lifespan,
        title="Quan API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json" if settings.api_docs_enabled else None,
        docs_url=None,  # served below from the package's own Swagger UI files (works offline)
        redoc_url=None,
    )
    app.state.runtime = runtime
    errors.install(app)

    app.include_router(_api_router(settings.env == "production"))
    app.include_router(pages.router)
    app.mount(pages.STATIC_PATH, pages.static_files(), name="static")
    if settings.api_docs_enabled:
        api_docs.install(app)
    app.add_middleware(BodyLimit)
    # Outermost: the lean paths of claims and redemptions (quan.api.lean).
    redeem_route.install(app, runtime)
    claim_route.install(app, runtime)
    app.state.snapshots = Snapshots(settings.public_snapshot_seconds)
    app.add_middleware(
        AnonymousLimit,
        limit=settings.anonymous_concurrency,
        session_cookies=tuple(area.value[0] for area in Area),
        runtime=runtime,  # tells a genuine credential from a made-up one (issue 13)
    )
    # Input no route could store, JSON too deep, bodies too slow (edge.py).
    app.add_middleware(
        Edge,
        body_seconds=settings.body_timeout_seconds,
        upload_seconds=settings.upload_timeout_seconds,
    )
    # Pages, stylesheets and scripts gzipped (streamed downloads pass through as they are).
    app.add_middleware(Compress)
    # Outermost of all: /metrics and every request's duration by route template.
    metrics_route.install(app, runtime)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (what ``quan serve`` runs in each worker)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app(load_settings())

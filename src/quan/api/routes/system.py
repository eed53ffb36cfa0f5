"""Health and, in development only, the outbox of messages that would have been sent."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import text

from quan import __version__
from quan.api.schemas.common import Limit, Page
from quan.channels import outbox
from quan.edge.deps import PUBLIC, AdminOnly, RuntimeDep
from quan.services.people.citizens import CitizenKeys
from quan.store.pagination import decode_cursor, encode_cursor

router = APIRouter(tags=["system"])
dev_router = APIRouter(tags=["development"])


class Health(BaseModel):
    status: str
    version: str
    database: str
    env: str


@router.get("/health", response_model=Health, dependencies=[Depends(PUBLIC)])
def health(rt: RuntimeDep) -> Health:
    """Liveness and database reachability, for load balancers and monitoring."""
    with rt.db.read() as tx:
        tx.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, database=rt.db.dialect, env=rt.settings.env)


class OutboxMessage(BaseModel):
    id: str
    channel: str
    recipient: str | None  # None once purged (after the retention period)
    subject: str
    body: str | None
    status: str
    created_at: datetime


@dev_router.get("/dev/outbox", response_model=Page[OutboxMessage])
def dev_outbox(
    actor: AdminOnly, rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[OutboxMessage]:
    """Messages the channels would have sent, newest first, paged like every list (development
    mode only), opened for display: the table itself holds them sealed."""
    before = decode_cursor(cursor) if cursor else None
    keys = CitizenKeys.from_settings(rt.settings).outbox
    with rt.db.read() as tx:
        messages = outbox.newest(tx, keys, limit + 1, before=before)
    more = len(messages) > limit
    messages = messages[:limit]
    return Page(
        items=[OutboxMessage(**asdict(m)) for m in messages],
        next_cursor=encode_cursor(messages[-1].id) if more else None,
    )

"""Health and, in development only, the outbox of messages that would have been sent."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import text

from quan import __version__
from quan.channels import outbox
from quan.edge.deps import PUBLIC, AdminOnly, RuntimeDep

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
    recipient: str
    subject: str
    body: str
    status: str
    created_at: datetime


@dev_router.get("/dev/outbox", response_model=list[OutboxMessage])
def dev_outbox(actor: AdminOnly, rt: RuntimeDep, limit: int = 50) -> list[OutboxMessage]:
    """Messages the channels would have sent, newest first (development mode only)."""
    with rt.db.read() as tx:
        messages = outbox.newest(tx, min(max(limit, 1), 200))
    return [OutboxMessage(**asdict(m)) for m in messages]

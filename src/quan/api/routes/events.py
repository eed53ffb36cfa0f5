"""The event stream, for auditors: every state change, in order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from quan.api.schemas.common import Limit, Page
from quan.edge.deps import AdminOrAuditor, RuntimeDep
from quan.store.pagination import page
from quan.store.tables import events

router = APIRouter(tags=["audit"])


class EventPublic(BaseModel):
    id: int
    type: str
    actor: str
    subject_type: str
    subject_id: str
    program_id: str | None
    payload: dict[str, Any]
    occurred_at: datetime


@router.get("/events", response_model=Page[EventPublic])
def list_events(
    actor: AdminOrAuditor,
    rt: RuntimeDep,
    limit: Limit = 100,
    cursor: str | None = None,
    program_id: str | None = None,
) -> Page[EventPublic]:
    """Events in the order they were recorded; filter by program."""
    query = select(events)
    if program_id:
        query = query.where(events.c.program_id == program_id)
    with rt.db.read() as tx:
        rows, next_cursor = page(tx, query, events.c.id, limit=limit, cursor=cursor)
    items = [
        EventPublic(**{**r._mapping, "payload": json.loads(r._mapping["payload"])}) for r in rows
    ]
    return Page(items=items, next_cursor=next_cursor)

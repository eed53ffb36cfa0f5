"""``GET /refusals``: refused claims and redemptions — who, where, which rule — per key."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from quan.domain.errors import VALIDATION_FAILED, QuanError
from quan.edge.deps import RuntimeDep, StaffReader
from quan.services.operations.refusal_report import RefusalFilter, refusals

router = APIRouter(tags=["monitoring"])

_Id = Annotated[str | None, Query(max_length=80, pattern=r"^[A-Za-z0-9_:.-]+$")]


class RefusalOut(BaseModel):
    action: str
    code: str
    program_id: str | None
    batch_id: str | None
    merchant_id: str | None
    subject: str | None
    count: int
    first_minute: datetime
    last_minute: datetime


@router.get("/refusals", response_model=list[RefusalOut])
def list_refusals(
    actor: StaffReader,
    rt: RuntimeDep,
    since: datetime | None = None,
    until: datetime | None = None,
    action: Literal["claim", "redeem"] | None = None,
    code: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Z_]+$")] = None,
    program_id: _Id = None,
    batch_id: _Id = None,
    merchant_id: _Id = None,
    subject: _Id = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RefusalOut]:
    """Refusals summed per (action, code, program, batch, merchant, subject) between ``since``
    (default: an hour before ``until``) and ``until`` (exclusive; default: the end of the current
minute), compared with each tally's minute, the most first. ``subject`` is who was
    refused (``citizen:…``, ``terminal:…``); refusals about capacity (sold out, window closed)
    carry none. Counts reach the database within a few seconds (``quan.refusals``). Staff:
    operators see their issuer's programs and merchants."""
    now = rt.clock.now()
    # By default the current minute is in: its tally row is stamped with the minute's start.
    until = until or now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    since = since or until - timedelta(hours=1)
    if since.tzinfo is None or until.tzinfo is None or until <= since:
        raise QuanError(VALIDATION_FAILED)
    where = RefusalFilter(
        since=since,
        until=until,
        action=action,
        code=code,
        program_id=program_id,
        batch_id=batch_id,
        merchant_id=merchant_id,
        subject=subject,
    )
    with rt.db.read() as tx:
        rows = refusals(tx, actor, where, limit)
    return [RefusalOut(**asdict(row)) for row in rows]

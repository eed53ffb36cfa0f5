from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from quan.api.schemas.common import AmountFen, Body, Name, Text
from quan.domain.funding import Direction, FunderKind, MovementStatus


class FunderCreate(Body):
    name: Name
    kind: FunderKind
    issuer_id: str | None = Field(default=None, description="Required for admins")


class FunderPublic(BaseModel):
    id: str
    issuer_id: str
    name: str
    kind: FunderKind
    created_at: datetime


class ContributionCreate(Body):
    funder_id: str = Field(max_length=64)
    amount_fen: AmountFen
    note: Text = ""


class ReturnCreate(Body):
    funder_id: str = Field(max_length=64)
    amount_fen: AmountFen
    reason: Text = Field(min_length=1)


class Decision(Body):
    reason: Text = ""


class MovementPublic(BaseModel):
    id: str
    program_id: str
    funder_id: str
    direction: Direction
    amount_fen: int
    status: MovementStatus
    note: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None

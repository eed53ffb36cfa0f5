from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from quan.api.schemas.common import Body, Name, Text
from quan.domain.ledger import Budget
from quan.domain.programs import ProgramStatus
from quan.services.money.programs import Program


class ProgramCreate(Body):
    name: Name
    description: Text = ""
    timezone: str = Field(default="Asia/Shanghai", max_length=64, description="IANA time zone")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    issuer_id: str | None = Field(
        default=None, description="Required for admins; operators always act for their issuer"
    )


class ProgramPublic(BaseModel):
    id: str
    issuer_id: str
    name: str
    description: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: ProgramStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, program: Program) -> ProgramPublic:
        return cls(**asdict(program))


class BudgetPublic(BaseModel):
    program_id: str
    funded_fen: int
    available_fen: int
    reserved_fen: int
    payable_fen: int
    paid_fen: int
    returned_fen: int
    pending_contributions_fen: int = Field(description="Contributions awaiting a second approval")
    identity_holds: bool = Field(
        description="funded = available + reserved + payable + paid + returned"
    )

    @classmethod
    def of(cls, program_id: str, view: Budget, pending_fen: int) -> BudgetPublic:
        return cls(
            program_id=program_id,
            pending_contributions_fen=pending_fen,
            identity_holds=view.identity_holds,
            **asdict(view),
        )

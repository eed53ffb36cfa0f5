"""The blacklist over HTTP: entries, lifting, appeals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from quan.api.schemas.common import Body
from quan.domain.blacklist import AppealOutcome, ReasonCode, SubjectType

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class BlacklistCreate(Body):
    subject_type: SubjectType
    subject_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason_code: ReasonCode
    reason: Reason = Field(description="Why, for the record and the appeal (not published)")
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now")
    ends_at: AwareDatetime | None = Field(default=None, description="Default: until lifted")


class LiftRequest(Body):
    reason: Reason


class AppealCreate(Body):
    statement: Reason = Field(description="The appellant's case")
    outcome: AppealOutcome | None = Field(
        default=None,
        description="Staff recording an appeal already heard (by letter or in person) may give "
        "its outcome at once; citizens may not",
    )
    decision_reason: Reason | None = None


class AppealDecision(Body):
    outcome: AppealOutcome
    reason: Reason


class AppealPublic(BaseModel):
    id: str
    statement: str
    filed_by: str
    filed_at: datetime
    outcome: AppealOutcome | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


class BlacklistEntryPublic(BaseModel):
    id: str
    subject_type: SubjectType
    subject_id: str
    reason_code: ReasonCode
    reason: str
    starts_at: datetime
    ends_at: datetime | None
    in_force: bool = Field(description="Barring the subject now")
    decided_by: str
    issuer_id: str | None
    created_at: datetime
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None
    appeals: list[AppealPublic]

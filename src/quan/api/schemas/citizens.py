"""Citizens over HTTP: registration, the staff view (masked), the citizen's own view, sign-in
by SMS code, and eligibility-list import reports.

Input fields are plain strings bounded in length; their meaning (check digit, region, mobile
prefix) is judged by the domain so that every refusal carries its own stable code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from quan.api.schemas.common import Body
from quan.domain.citizens import IncomeGroup, PriorityGroup
from quan.services.people.citizens import Channel, RevealPurpose
from quan.services.people.otp import Purpose

Short = Annotated[str, StringConstraints(max_length=64)]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class CitizenAttributes(Body):
    income_group: IncomeGroup = IncomeGroup.NORMAL
    disabled: bool = False
    disability_grade: int | None = Field(
        default=None,
        strict=True,
        description="残疾等级 1 (一级, most severe) to 4; implies disabled",
    )


class CitizenCreate(Body):
    resident_id: Short = Field(description="18-character resident ID number (GB 11643)")
    name: Annotated[str, StringConstraints(max_length=200)]
    phone: Short | None = Field(
        default=None, description="Mainland mobile; required for self-registration"
    )
    region_code: Short = Field(description="6-digit GB/T 2260 code of where the person lives")
    attributes: CitizenAttributes = Field(default_factory=CitizenAttributes)
    otp_code: Code | None = Field(
        default=None,
        description="Self-registration only: the code sent by POST /citizens/otp "
        "with purpose=register",
    )
    consent_version: Short | None = Field(
        default=None,
        description="Self-registration only: the version of the personal-data notice the "
        "citizen accepted (GET /citizens/self-registration/consent)",
    )


class CitizenPublic(BaseModel):
    """A citizen as staff see them: identity and phone masked, birth date reduced to an age."""

    id: str
    resident_id_masked: str
    name_masked: str
    phone_masked: str | None
    region_code: str
    age: int
    priority_groups: list[PriorityGroup]
    income_group: IncomeGroup
    disabled: bool
    disability_grade: int | None
    registered_via: Channel
    registered_by: str
    import_id: str | None
    created_at: datetime


class CitizenSelf(BaseModel):
    """A citizen's own record: their phone and name in clear, the ID number still masked."""

    id: str
    resident_id_masked: str
    name: str
    phone: str | None
    region_code: str
    birth_date: date
    age: int
    priority_groups: list[PriorityGroup]
    income_group: IncomeGroup
    disabled: bool
    disability_grade: int | None
    created_at: datetime


class CitizenRegistered(BaseModel):
    """Self-registration: the new record, and a session (the phone was just proved)."""

    citizen: CitizenSelf
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime


class CitizenLookup(Body):
    resident_id: Short


class RevealRequest(Body):
    purpose: RevealPurpose
    # A second person's approval (reveal_request_id of REVEAL_NEEDS_APPROVAL, approved).
    approval_id: Annotated[str | None, StringConstraints(max_length=64)] = None


class CitizenRevealed(BaseModel):
    id: str
    resident_id: str
    name: str
    phone: str | None


class OtpRequest(Body):
    phone: Short
    # Not ``presence``: only an agent asks for that one (POST /citizens/{id}/presence-codes).
    purpose: Literal[Purpose.LOGIN, Purpose.REGISTER] = Purpose.LOGIN


class OtpAccepted(BaseModel):
    """The same answer whether or not the phone is registered (and so whether an SMS left)."""

    expires_in_seconds: int
    resend_after_seconds: int


class SessionRequest(Body):
    phone: Short
    code: Code


class CitizenSessionPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    citizen_id: str


class ImportRowError(BaseModel):
    row: int = Field(description="Spreadsheet row number; the header is row 1")
    field: str
    code: str
    reason: str | None = None


class ImportDuplicate(BaseModel):
    row: int
    reason: Literal["registered", "in_file"]
    citizen_id: str | None = None
    first_row: int | None = None


class ImportReportPublic(BaseModel):
    import_id: str | None = Field(description="null for a dry run")
    dry_run: bool
    file_name: str
    file_sha256: str
    file_bytes: int
    rows_total: int
    created: int
    duplicates: int
    errors: int
    repeat_of: str | None
    created_by: str
    created_at: datetime
    truncated: bool = Field(description="Row lists are capped; the counts are always exact")
    error_rows: list[ImportRowError]
    duplicate_rows: list[ImportDuplicate]

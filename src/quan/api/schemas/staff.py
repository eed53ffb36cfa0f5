from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from quan.api.schemas.common import Body, Name
from quan.domain.auth import Role


class TokenRequest(Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    role: Role
    expires_at: datetime


class StaffCreate(Body):
    username: Annotated[str, StringConstraints(min_length=3, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=12, max_length=1024)]
    role: Role
    issuer_id: str | None = None
    display_name: Name | None = None


class StaffPublic(BaseModel):
    id: str
    username: str
    role: Role
    issuer_id: str | None
    display_name: str
    active: bool
    created_at: datetime


class IssuerCreate(Body):
    name: Name
    region_code: str = Field(description="6-digit GB/T 2260 administrative division code")


class IssuerPublic(BaseModel):
    id: str
    name: str
    region_code: str
    created_at: datetime


class MePublic(BaseModel):
    kind: str
    id: str
    role: str
    issuer_id: str | None

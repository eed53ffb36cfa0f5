"""The lottery's public record, registrations and draw outcome; targeted grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from quan.api.schemas.common import Body
from quan.domain.lottery import ALGORITHM
from quan.services.issuance.lottery import PublicLottery, Registration


class PoolOut(BaseModel):
    name: str
    reserved: bool
    base_k: int = Field(description="The pool's own places (its reserved quota, or the rest)")
    k: int = Field(
        description="Places drawn: for general, base_k + the unfilled places of reserved pools"
    )
    winners: list[str] | None = Field(default=None, description="Pseudonyms, after the draw")


class LotteryPublic(BaseModel):
    batch_id: str
    algorithm: str = ALGORITHM
    commitment: str
    seed: str | None = Field(description="Hex; null until the draw")
    registrants_digest: str | None
    registrants: int
    registration_closes_at: datetime
    drawn_at: datetime | None
    pools: list[PoolOut]
    winners: dict[str, list[str]] | None = Field(description="Pool → pseudonyms, after the draw")

    @classmethod
    def of(cls, lot: PublicLottery) -> LotteryPublic:
        drawn = lot.drawn_at is not None
        pools = [
            PoolOut(**{k: v for k, v in p.items() if k != "winners" or drawn}) for p in lot.pools
        ]
        return cls(
            batch_id=lot.batch_id,
            commitment=lot.commitment,
            seed=lot.seed,
            registrants_digest=lot.registrants_digest,
            registrants=lot.registrants,
            registration_closes_at=lot.registration_closes_at,
            drawn_at=lot.drawn_at,
            pools=pools,
            winners={p["name"]: list(p["winners"]) for p in lot.pools} if drawn else None,
        )


class RegistrantOut(BaseModel):
    pseudonym: str
    tickets: int
    groups: list[str] = Field(description="Reserved pools the registrant is a member of")


class RegistrantsPage(BaseModel):
    items: list[RegistrantOut]
    next_cursor: str | None


class RegistrationOut(BaseModel):
    id: str
    batch_id: str
    pseudonym: str
    tickets: int
    groups: list[str]
    registered_at: datetime
    outcome: str | None
    pool: str | None

    @classmethod
    def of(cls, reg: Registration) -> RegistrationOut:
        return cls(
            id=reg.id,
            batch_id=reg.batch_id,
            pseudonym=reg.pseudonym,
            tickets=reg.tickets,
            groups=list(reg.groups),
            registered_at=reg.registered_at,
            outcome=reg.outcome,
            pool=reg.pool,
        )


class DrawOut(BaseModel):
    lottery: LotteryPublic
    issued: int
    unserved: int


class GrantCreate(Body):
    segment: dict[str, Any] | None = Field(
        default=None, description="An eligibility rule over citizens' attributes"
    )
    citizen_ids: list[str] | None = Field(default=None, max_length=1_000_000)


class GrantOut(BaseModel):
    batch_id: str
    targeted: int = Field(description="Citizens the segment or list selected")
    issued: int
    already_granted: int
    skipped: int = Field(description="Blacklisted, ineligible or unknown citizens")
    unserved: int = Field(description="Left without a voucher: the batch ran out")

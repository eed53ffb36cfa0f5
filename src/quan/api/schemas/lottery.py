"""The lottery's public record, registrations and draw outcome; targeted grants."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from quan.api.schemas.common import Body
from quan.domain.lottery import ALGORITHM
from quan.domain.lottery_v2 import MAX_BEACON_CHARS, MAX_SOURCE_CHARS
from quan.services.issuance.lottery import PublicLottery, Registration


class PoolOut(BaseModel):
    name: str
    reserved: bool
    base_k: int = Field(description="The pool's own places (its reserved quota, or the rest)")
    k: int = Field(
        description="Places drawn: for general, base_k + the unfilled places of reserved pools"
    )
    winners: list[str] | None = Field(default=None, description="Pseudonyms, after the draw")


class CloseCheckpointOut(BaseModel):
    size: int = Field(description="Size of the first signed checkpoint holding every registration")
    root: str = Field(description="Its root hash, standard base64 (32 bytes)")
    checkpoint: str = Field(description="The signed checkpoint (C2SP note text), byte for byte")


class BeaconOut(BaseModel):
    value: str = Field(description="The public value, as hashed into the seed (UTF-8)")
    source: str = Field(description="Where it comes from: a named beacon's round, a dated figure")
    recorded_by: str = Field(description="Who entered it (staff:…), never the batch's creator")
    recorded_at: datetime


class LotteryPublic(BaseModel):
    batch_id: str
    algorithm: str = ALGORITHM
    commitment: str
    seed: str | None = Field(description="Hex; null until the draw")
    secret: str | None = Field(
        default=None, description="quan-lottery-v2: the committed secret (hex), after the draw"
    )
    close_checkpoint: CloseCheckpointOut | None = Field(
        default=None, description="quan-lottery-v2: fixed when the beacon is recorded"
    )
    beacon: BeaconOut | None = Field(default=None, description="quan-lottery-v2, once entered")
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
        b = lot.beacon
        return cls(
            batch_id=lot.batch_id,
            algorithm=lot.algorithm,
            commitment=lot.commitment,
            seed=lot.seed,
            secret=lot.secret,
            close_checkpoint=None
            if b is None
            else CloseCheckpointOut(
                size=b.close_size,
                root=base64.b64encode(b.close_root).decode("ascii"),
                checkpoint=b.close_note,
            ),
            beacon=None
            if b is None
            else BeaconOut(
                value=b.value, source=b.source, recorded_by=b.recorded_by, recorded_at=b.recorded_at
            ),
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


class BeaconIn(Body):
    value: str = Field(
        min_length=1,
        max_length=MAX_BEACON_CHARS,
        description="A public value that did not exist before registration closed",
    )
    source: str = Field(
        min_length=1,
        max_length=MAX_SOURCE_CHARS,
        description="Its source, e.g. a named randomness beacon's round or a dated official figure",
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

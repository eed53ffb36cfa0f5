"""Batches in and out, claims and their receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from quan.api.schemas.common import Body
from quan.api.schemas.vouchers import LocalizedText, VoucherTypePublic
from quan.domain.batches import Allocation, BatchStatus, Quota
from quan.domain.citizens import PriorityGroup
from quan.domain.claims import Channel
from quan.domain.eligibility import render, rule_to_json
from quan.services.issuance.batches import Batch, NewBatch
from quan.services.issuance.claims import IssuedVoucher

StrictInt = Annotated[int, Field(strict=True)]


class QuotaIn(Body):
    group: PriorityGroup
    quantity: StrictInt
    release_at: AwareDatetime = Field(description="From then on, anyone may take the rest")
    opens_at: AwareDatetime | None = Field(
        default=None, description="Early access for the group (no later than claim_opens_at)"
    )
    tickets: StrictInt = Field(
        default=1,
        description="Lottery batches only: tickets each registrant of the group holds in the "
        "draw (1–10; everyone else holds 1)",
    )


class BatchCreate(Body):
    voucher_type_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=100)
    quantity: StrictInt
    allocation: Allocation
    claim_opens_at: AwareDatetime
    claim_closes_at: AwareDatetime
    per_citizen_limit: StrictInt = 1
    eligibility: dict[str, Any] | None = Field(
        default=None,
        description='A rule as data, e.g. {"all": [{"region_in": ["330100"]}, '
        '{"age_between": {"min": 60}}]}; omitted: every registered resident',
    )
    reserved: list[QuotaIn] = Field(default_factory=list, max_length=3)

    def command(self, program_id: str) -> NewBatch:
        return NewBatch(
            program_id=program_id,
            voucher_type_id=self.voucher_type_id,
            name=self.name.strip(),
            quantity=self.quantity,
            allocation=self.allocation,
            claim_opens_at=self.claim_opens_at,
            claim_closes_at=self.claim_closes_at,
            per_citizen_limit=self.per_citizen_limit,
            eligibility=self.eligibility,
            reserved=tuple(
                Quota(
                    group=q.group,
                    quantity=q.quantity,
                    release_at=q.release_at,
                    opens_at=q.opens_at,
                    tickets=q.tickets,
                )
                for q in self.reserved
            ),
        )


class QuotaPublic(BaseModel):
    group: PriorityGroup
    quantity: int
    opens_at: datetime | None
    release_at: datetime
    tickets: int = Field(description="Lottery batches: tickets per registrant of the group")


class BatchPublic(BaseModel):
    """A batch's public facts: its rules in data and in words, and what is left."""

    id: str
    program_id: str
    voucher_type_id: str
    name: str
    allocation: Allocation
    status: BatchStatus
    quantity: int
    per_citizen_limit: int
    unit_fen: int
    reserve_fen: int = Field(description="quantity × unit_fen: reserved from the budget at opening")
    claim_opens_at: datetime
    claim_closes_at: datetime
    eligibility: dict[str, Any]
    eligibility_text: LocalizedText
    reserved: list[QuotaPublic]
    remaining: int | None = Field(description="Unclaimed vouchers (null before opening)")
    remaining_by_pool: dict[str, int] | None
    voucher_type: VoucherTypePublic | None = None
    opened_at: datetime | None
    closed_at: datetime | None
    recycled_at: datetime | None
    recycled_count: int | None

    @classmethod
    def of(
        cls,
        batch: Batch,
        *,
        remaining: dict[str, int] | None = None,
        voucher_type: VoucherTypePublic | None = None,
    ) -> BatchPublic:
        r = batch.rules
        return cls(
            id=batch.id,
            program_id=batch.program_id,
            voucher_type_id=batch.voucher_type_id,
            name=batch.name,
            allocation=r.allocation,
            status=batch.status,
            quantity=r.quantity,
            per_citizen_limit=r.per_citizen_limit,
            unit_fen=batch.unit_fen,
            reserve_fen=batch.reserve_fen,
            claim_opens_at=r.claim_opens_at,
            claim_closes_at=r.claim_closes_at,
            eligibility=rule_to_json(batch.eligibility),
            eligibility_text=LocalizedText(
                zh=render(batch.eligibility, "zh"), en=render(batch.eligibility, "en")
            ),
            reserved=[
                QuotaPublic(
                    group=q.group,
                    quantity=q.quantity,
                    opens_at=q.opens_at,
                    release_at=q.release_at,
                    tickets=q.tickets,
                )
                for q in r.quotas
            ],
            remaining=None if remaining is None else sum(remaining.values()),
            remaining_by_pool=remaining,
            voucher_type=voucher_type,
            opened_at=batch.opened_at,
            closed_at=batch.closed_at,
            recycled_at=batch.recycled_at,
            recycled_count=batch.recycled_count,
        )


class ClaimCreate(Body):
    channel: Literal["app", "web", "partner"] = Field(
        default="app", description="Where the citizen claims from (attribution)"
    )

    @property
    def claim_channel(self) -> Channel:
        return Channel(self.channel)


class VoucherReceipt(BaseModel):
    """The voucher a claim gave (the same one again on a replay with the same key)."""

    id: str
    code: str
    qr_payload: str = Field(
        description="What the voucher's QR code carries: the signed offline token (``QV1:…``, "
        "docs/offline-tokens.md) while the voucher can be spent, as in the wallet; else the code"
    )
    status: str
    program_id: str
    batch_id: str
    voucher_type_id: str
    pool: str
    claim_seq: int
    channel: str
    claimed_at: datetime
    valid_from: datetime
    valid_until: datetime

    @classmethod
    def of(cls, voucher: IssuedVoucher, *, qr_payload: str | None = None) -> VoucherReceipt:
        return cls(
            id=voucher.id,
            code=voucher.code,
            qr_payload=qr_payload or voucher.code,
            status=voucher.status,
            program_id=voucher.program_id,
            batch_id=voucher.batch_id,
            voucher_type_id=voucher.voucher_type_id,
            pool=voucher.pool,
            claim_seq=voucher.claim_seq,
            channel=voucher.channel,
            claimed_at=voucher.claimed_at,
            valid_from=voucher.valid_from,
            valid_until=voucher.valid_until,
        )

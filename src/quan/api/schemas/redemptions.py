"""Request and response bodies of redemptions, reversals, deactivations, the redemption policy,
offline sync and offline cases.

Money is a strict integer of fen (``1.5``, ``"100"`` and ``true`` are refused); sizes are bounded
here, and what a value must *be* (a code with its check character, a genuine token, a known
category) is checked by the domain, so each refusal has its own stable code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from quan.api.schemas.common import AmountFen, Body
from quan.domain.categories import check_categories
from quan.domain.merchants import Scene
from quan.domain.order_details import check_details, check_order_ref
from quan.services.redemption.offline_cases import OfflineCase, Resolution
from quan.services.redemption.offline_sync import RecordOutcome, SyncReport
from quan.services.redemption.redemption import RedeemRequest, Redemption
from quan.services.redemption.reversal import Reversal

Short = Annotated[str, StringConstraints(max_length=64)]
Details = Annotated[
    dict[str, str],
    Field(
        max_length=8,
        description="Shown on the merchant's statement: e.g. branch, cashier, receipt_no "
        "(at most 8 entries of 120 characters)",
    ),
]
StrictInt = Annotated[int, Field(strict=True)]


class RedemptionCreate(Body):
    voucher_code: str | None = Field(
        default=None,
        max_length=400,
        description="The code as typed, e.g. 7K3M-Q9XD-2HVB-T4NW (a scanned token is accepted too)",
    )
    token: str | None = Field(
        default=None, max_length=400, description="The wallet's QR payload as scanned (QV1:…)"
    )
    order_amount_fen: AmountFen
    category: Short = Field(description="The order's category (a code of GET /categories)")
    scene: Scene = Scene.OFFLINE
    order_ref: str | None = Field(
        default=None,
        max_length=64,
        description="The merchant's order number: vouchers redeemed with the same one stack on "
        "one order (max_per_order, minimum spends add up)",
    )
    metadata: Details | None = None

    def request(self) -> RedeemRequest:
        """The use case's request, once the category, order number and details are checked
        (each refused with its own code)."""
        check_categories([self.category])
        order_ref = check_order_ref(self.order_ref)
        details = check_details(self.metadata)
        return RedeemRequest(
            order_amount_fen=self.order_amount_fen,
            category=self.category,
            scene=self.scene,
            voucher_code=self.voucher_code,
            token=self.token,
            order_ref=order_ref,
            details=details,
        )


class RedemptionPublic(BaseModel):
    id: str
    voucher_id: str
    program_id: str
    batch_id: str
    merchant_id: str
    terminal_id: str
    channel: str = Field(description="online (at this API) or offline (synced later)")
    category: str
    scene: str
    order_amount_fen: int
    discount_fen: int
    customer_pays_fen: int = Field(
        description="What the customer pays: the order minus every voucher on it so far"
    )
    order_ref: str | None
    order_seq: int | None
    metadata: dict[str, str]
    redeemed_at: datetime
    recorded_at: datetime
    status: str = Field(description="redeemed or reversed")
    reversed_at: datetime | None

    @classmethod
    def of(cls, r: Redemption, customer_pays_fen: int | None = None) -> RedemptionPublic:
        pays = (
            r.order_amount_fen - r.discount_fen if customer_pays_fen is None else customer_pays_fen
        )
        return cls(
            id=r.id,
            voucher_id=r.voucher_id,
            program_id=r.program_id,
            batch_id=r.batch_id,
            merchant_id=r.merchant_id,
            terminal_id=r.terminal_id,
            channel=r.channel,
            category=r.category,
            scene=r.scene,
            order_amount_fen=r.order_amount_fen,
            discount_fen=r.discount_fen,
            customer_pays_fen=pays,
            order_ref=r.order_ref,
            order_seq=r.order_seq,
            metadata=r.details,
            redeemed_at=r.redeemed_at,
            recorded_at=r.recorded_at,
            status=r.status,
            reversed_at=r.reversed_at,
        )


class ReversalCreate(Body):
    reason: str = Field(default="", max_length=500, description="Why (e.g. the order refunded)")


class ReversalPublic(BaseModel):
    id: str
    redemption_id: str
    voucher_id: str
    merchant_id: str
    amount_fen: int
    outcome: str = Field(
        description="restored: the voucher is back with its holder; recycled: it had expired, "
        "its money went back to the budget"
    )
    reason: str
    reversed_by: str
    reversed_at: datetime

    @classmethod
    def of(cls, r: Reversal) -> ReversalPublic:
        return cls(**{k: getattr(r, k) for k in cls.model_fields})


class DeactivationCreate(Body):
    reason: str = Field(max_length=500, description="Told to the holder by SMS")


class DeactivationPublic(BaseModel):
    id: str
    voucher_id: str
    program_id: str
    reason: str
    deactivated_by: str
    deactivated_at: datetime
    reactivated_by: str | None
    reactivated_at: datetime | None
    reactivation_reason: str | None


class PolicyUpdate(Body):
    daily_cap: StrictInt | None = Field(
        description="Vouchers of the program one holder may redeem per local day; null: no cap"
    )


class PolicyPublic(BaseModel):
    program_id: str
    daily_cap: int | None
    updated_by: str | None
    updated_at: datetime | None


class OfflineKey(BaseModel):
    key_id: str = Field(description="8 hex digits: the first 4 bytes of SHA-256(public key)")
    algorithm: str
    public_key: str = Field(description="Base64 of the raw 32-byte Ed25519 public key")


class OfflineKeysPublic(BaseModel):
    keys: list[OfflineKey]
    token_prefix: str
    format: str


class OfflineRecordIn(Body):
    record_id: str = Field(
        min_length=1, max_length=64, description="Chosen by the terminal, unique on it"
    )
    token: str = Field(max_length=400, description="The QR payload exactly as scanned")
    order_amount_fen: AmountFen
    category: Short
    scene: Scene = Scene.OFFLINE
    redeemed_at: AwareDatetime = Field(description="The terminal's time of the sale")
    order_ref: str | None = Field(default=None, max_length=64)
    metadata: Details | None = None


class OfflineSyncCreate(Body):
    records: list[OfflineRecordIn] = Field(min_length=1, max_length=500)


class RecordOutcomePublic(BaseModel):
    record_id: str
    outcome: str = Field(description="accepted, duplicate (a case was flagged) or rejected")
    voucher_id: str | None
    redemption_id: str | None
    case_id: str | None
    discount_fen: int | None
    code: str | None = Field(description="Why it was rejected (a stable error code)")
    refusal: dict[str, Any] | None = Field(description="The rejection's structured fields")
    replayed: bool = Field(description="Already synced before: this is the first answer again")

    @classmethod
    def of(cls, o: RecordOutcome) -> RecordOutcomePublic:
        return cls(**{k: getattr(o, k) for k in cls.model_fields})


class OfflineSyncPublic(BaseModel):
    sync_id: str
    accepted: int
    duplicates: int
    rejected: int
    replayed: int
    results: list[RecordOutcomePublic]

    @classmethod
    def of(cls, report: SyncReport) -> OfflineSyncPublic:
        return cls(
            sync_id=report.sync_id,
            accepted=report.count("accepted"),
            duplicates=report.count("duplicate"),
            rejected=report.count("rejected"),
            replayed=sum(1 for o in report.outcomes if o.replayed),
            results=[RecordOutcomePublic.of(o) for o in report.outcomes],
        )


class CasePublic(BaseModel):
    id: str
    program_id: str
    voucher_id: str
    redemption_id: str = Field(description="The redemption that won (recorded first)")
    merchant_id: str = Field(
        description="Its merchant, from whose settlements an equal sum is held"
    )
    amount_fen: int
    status: str
    flagged_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None
    record_ids: list[str] = Field(description="The offline records that came second (evidence)")

    @classmethod
    def of(cls, c: OfflineCase) -> CasePublic:
        return cls(**{k: getattr(c, k) for k in cls.model_fields})


class CaseResolve(Body):
    resolution: Resolution
    note: str = Field(max_length=1000)

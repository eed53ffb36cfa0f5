"""Voucher types in and out, and vouchers as their holders see them.

Shapes and strict types are checked here (money is a strict int of fen); the rules of a
definition (which fields go with which kind, validity forms, windows) are checked by
:mod:`quan.domain.voucher_types`, which answers with its own stable codes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field

from quan.api.schemas.common import AmountFen, Body, Name
from quan.domain.merchants import Scene
from quan.domain.money import MAX_AMOUNT_FEN
from quan.domain.voucher_type_json import voucher_type_to_json
from quan.domain.voucher_types import DiscountKind, ScopeKind, ValidityPreset, describe_validity
from quan.services.issuance.voucher_types import VoucherType
from quan.services.issuance.wallet import WalletEntry

StrictInt = Annotated[int, Field(strict=True)]
Code = Annotated[str, Field(max_length=64)]


class HourWindowIn(Body):
    start: str = Field(max_length=5, description="HH:MM, program time zone")
    end: str = Field(max_length=5, description="HH:MM (24:00 allowed), exclusive")


class MerchantScopeIn(Body):
    kind: ScopeKind = Field(
        description="all approved merchants in the categories, or by region or explicit list"
    )
    region_codes: list[Code] | None = Field(default=None, max_length=2000)
    merchant_ids: list[Code] | None = Field(default=None, max_length=2000)


class VoucherTypeCreate(Body):
    name: Name = Field(max_length=100)
    kind: DiscountKind = Field(description="fixed (满减) or percent (折扣, capped)")
    face_value_fen: AmountFen | None = Field(default=None, description="fixed: amount off")
    min_spend_fen: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT_FEN)] = Field(
        default=0, description="Minimum order amount; 0 for none"
    )
    percent_off: StrictInt | None = Field(default=None, description="percent: 1-100")
    cap_fen: AmountFen | None = Field(default=None, description="percent: most taken off")
    categories: list[Code] = Field(max_length=50, description="Category codes (GET /categories)")
    scenes: list[Scene] = Field(max_length=2)
    merchant_scope: MerchantScopeIn | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: StrictInt | None = Field(default=None, description="Days from the claim")
    validity_preset: ValidityPreset | None = Field(
        default=None, description="short = 90, medium = 180, long = 365 days from the claim"
    )
    weekdays: list[StrictInt] | None = Field(
        default=None, max_length=7, description="ISO weekdays (1 = Monday); default every day"
    )
    hours: list[HourWindowIn] = Field(default_factory=list, max_length=24)
    excluded_dates: list[date] = Field(default_factory=list, max_length=366)
    max_per_order: StrictInt = 1


class LocalizedText(BaseModel):
    zh: str
    en: str


class VoucherTypePublic(BaseModel):
    id: str
    program_id: str
    name: str
    kind: DiscountKind
    face_value_fen: int | None
    min_spend_fen: int
    percent_off: int | None
    cap_fen: int | None
    unit_fen: int = Field(description="The most one voucher can cost: reserved per voucher")
    categories: list[str]
    scenes: list[Scene]
    merchant_scope: dict[str, Any]
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    validity_preset: ValidityPreset | None
    weekdays: list[int]
    hours: list[dict[str, str]]
    excluded_dates: list[date]
    max_per_order: int
    summary: LocalizedText
    validity_text: LocalizedText
    created_at: datetime

    @classmethod
    def of(cls, vt: VoucherType) -> VoucherTypePublic:
        spec = vt.spec
        return cls(
            **voucher_type_to_json(spec),
            id=vt.id,
            program_id=vt.program_id,
            unit_fen=spec.unit_fen,
            summary=LocalizedText(zh=spec.discount.summary("zh"), en=spec.discount.summary("en")),
            validity_text=LocalizedText(
                zh=describe_validity(spec.validity, "zh"), en=describe_validity(spec.validity, "en")
            ),
            created_at=vt.created_at,
        )


class WalletVoucher(BaseModel):
    id: str
    code: str = Field(description="Human-typable code with a check character")
    qr_payload: str = Field(
        description="What the wallet shows as a QR code: for an active voucher a signed offline "
        "token (QV1:…, docs/offline-tokens.md) a terminal verifies without network; else the code."
    )
    status: str = Field(
        description="active, deactivated, redeemed, expired (including active ones past their "
        "validity that the expiry job has not reached yet)"
    )
    program_id: str
    batch_id: str
    voucher_type_id: str
    name: str
    summary: LocalizedText
    categories: list[str]
    scenes: list[Scene]
    claimed_at: datetime
    valid_from: datetime
    valid_until: datetime

    @classmethod
    def of(cls, e: WalletEntry) -> WalletVoucher:
        return cls(
            id=e.id,
            code=e.code,
            qr_payload=e.qr_payload,
            status=e.status,
            program_id=e.program_id,
            batch_id=e.batch_id,
            voucher_type_id=e.voucher_type_id,
            name=e.spec.name,
            summary=LocalizedText(
                zh=e.spec.discount.summary("zh"), en=e.spec.discount.summary("en")
            ),
            categories=list(e.spec.categories),
            scenes=list(e.spec.scenes),
            claimed_at=e.claimed_at,
            valid_from=e.valid_from,
            valid_until=e.valid_until,
        )

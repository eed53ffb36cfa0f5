"""Request and response bodies of merchants, reviews, terminals and owner keys.

Request fields are bounded in size only; what a value must *be* (a USCC with its check
character, a known category, a 6-digit region inside the issuer's area, a bank account of
digits) is checked by the domain so that each refusal has its own stable code.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from quan.api.schemas.common import Body, Name, Text
from quan.domain.merchants import Decision, MerchantStatus, Scene
from quan.services.merchants.merchants import Merchant

Short = Annotated[str, StringConstraints(max_length=64)]
Code = Annotated[str, StringConstraints(max_length=64)]


class BankAccountIn(Body):
    bank_name: str = Field(max_length=200, description="开户行, e.g. 中国工商银行杭州西湖支行")
    account_number: str = Field(
        max_length=64, description="8-32 digits; spaces and hyphens are ignored"
    )


class MerchantApply(Body):
    issuer_id: Short = Field(description="The issuer whose voucher scheme the merchant joins")
    name: str = Field(max_length=400, description="The registered name (营业执照上的名称)")
    uscc: str = Field(max_length=64, description="统一社会信用代码, 18 characters (GB 32100)")
    categories: list[Code] = Field(max_length=32, description="Codes from GET /categories")
    region_code: Short = Field(description="6-digit GB/T 2260 code inside the issuer's area")
    scenes: list[Scene] = Field(max_length=2, description="offline, online or both")
    bank_account: BankAccountIn
    contact_phone: str = Field(
        max_length=32, description="Mobile number; receives review notices; shown masked"
    )


class MerchantPublic(BaseModel):
    id: str
    issuer_id: str
    name: str
    uscc: str
    categories: list[str]
    region_code: str
    scenes: list[Scene]
    bank_name: str
    bank_account_masked: str = Field(description="Only the last four digits")
    contact_phone_masked: str = Field(description="e.g. 138****5678")
    status: MerchantStatus
    status_reason: str | None = Field(description="Why rejected or suspended")
    reviewed_by: str | None
    reviewed_at: datetime | None
    next_review_due_at: datetime | None = Field(description="When an approved merchant is due")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, merchant: Merchant) -> MerchantPublic:
        fields = asdict(merchant)
        fields.update(categories=list(merchant.categories), scenes=list(merchant.scenes))
        return cls(**fields)


class KeyIssued(BaseModel):
    key_id: str
    api_key: str = Field(description="Shown once; only a hash is kept. Use as a Bearer token")


class MerchantApplied(BaseModel):
    merchant: MerchantPublic
    owner_key: KeyIssued = Field(
        description="The merchant's own sign-in: follow the review, then manage terminals"
    )


class ReviewCreate(Body):
    decision: Decision
    reason: Text = Field(default="", description="Required to reject or suspend")


class ReviewPublic(BaseModel):
    id: str
    merchant_id: str
    decision: Decision
    from_status: MerchantStatus
    to_status: MerchantStatus
    reason: str
    decided_by: str
    decided_at: datetime
    next_review_due_at: datetime | None


class TerminalCreate(Body):
    label: Name = Field(description="How the merchant tells its terminals apart, e.g. 前台 1 号")


class TerminalPublic(BaseModel):
    id: str
    merchant_id: str
    label: str
    key_id: str
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None


class TerminalIssued(BaseModel):
    terminal_id: str
    merchant_id: str
    api_key: str = Field(description="Shown once; only a hash is kept. Use as a Bearer token")
    terminal: TerminalPublic


class OwnerKeyPublic(BaseModel):
    key_id: str
    label: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class CategoryPublic(BaseModel):
    code: str
    zh: str
    en: str

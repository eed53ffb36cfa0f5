"""The public disclosure of a program (R6.4): what anyone may know about it, no sign-in."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from quan.domain.programs import ProgramStatus
from quan.services.transparency import disclosure


class ProgramFacts(BaseModel):
    id: str
    name: str
    description: str
    issuer_id: str
    issuer_name: str
    status: ProgramStatus
    timezone: str
    starts_at: datetime
    ends_at: datetime


class MoneyFigures(BaseModel):
    """Where the program's money is, from the double-entry ledger (fen)."""

    funded_fen: int
    available_fen: int
    reserved_fen: int
    payable_fen: int
    paid_fen: int
    returned_fen: int


class LogPositionPublic(BaseModel):
    tree_size: int
    root_hash: str = Field(description="Base64 Merkle root of the checkpoint")
    checkpoint: str = Field(description="The signed checkpoint text the figures were read at")
    unsequenced_events: int = Field(
        description="Events of this program not yet in that checkpoint (0: the log covers all)"
    )


class RuleChangePublic(BaseModel):
    event_id: int
    log_index: int | None = Field(description="Position in the log; null until sequenced")
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


class TallyPublic(BaseModel):
    """Vouchers counted, with the subsidy (fen) and, for redemptions, the order value (fen)."""

    key: str = Field(description="Category or region code; empty for a total")
    count: int
    subsidy_fen: int
    order_fen: int


class VoucherFigures(BaseModel):
    issued: TallyPublic = Field(description="Vouchers of opened batches (subsidy: at most)")
    claimed: TallyPublic = Field(description="Vouchers that reached a citizen")
    redeemed: TallyPublic = Field(description="Redemptions in force (reversals excluded)")
    claimed_by_region: list[TallyPublic] = Field(description="By the citizen's region")
    redeemed_by_category: list[TallyPublic]
    redeemed_by_region: list[TallyPublic] = Field(description="By the merchant's region")


class FunderSharePublic(BaseModel):
    name: str
    kind: str = Field(description="department, region, bank, sponsor or bond")
    net_fen: int = Field(description="Approved contributions minus approved returns")


class MerchantTakingPart(BaseModel):
    name: str
    region_code: str
    categories: list[str]


class ProgramDisclosure(BaseModel):
    program: ProgramFacts
    money: MoneyFigures
    vouchers: VoucherFigures
    log: LogPositionPublic | None = Field(description="Null before the log's first checkpoint")
    rule_changes: list[RuleChangePublic] = Field(
        description="Events that changed the program's rules (program, voucher types, batches); "
        "lottery entries, grants and the like are in the log, not here"
    )
    rule_changes_complete: bool = Field(description="False if the list was cut at 500")
    funders: list[FunderSharePublic] = Field(
        default_factory=list, description="Who funds the program, largest net share first"
    )
    merchants: list[MerchantTakingPart] = Field(
        default_factory=list,
        description="Merchants where its vouchers can be used (the issuer's approved ones), "
        "by name, at most 500",
    )
    merchant_count: int = Field(default=0, description="All of them, listed or not")

    @classmethod
    def of(cls, found: disclosure.Disclosure) -> ProgramDisclosure:
        program, figures = found.program, found.figures
        money = figures.money
        position = None
        if found.log is not None:
            position = LogPositionPublic(
                tree_size=found.log.tree_size,
                root_hash=base64.b64encode(found.log.root_hash).decode("ascii"),
                checkpoint=found.log.checkpoint,
                unsequenced_events=found.log.unsequenced_events,
            )
        return cls(
            program=ProgramFacts(
                id=program.id,
                name=program.name,
                description=program.description,
                issuer_id=program.issuer_id,
                issuer_name=found.issuer_name,
                status=program.status,
                timezone=program.timezone,
                starts_at=program.starts_at,
                ends_at=program.ends_at,
            ),
            money=MoneyFigures(
                funded_fen=money.funded_fen,
                available_fen=money.available_fen,
                reserved_fen=money.reserved_fen,
                payable_fen=money.payable_fen,
                paid_fen=money.paid_fen,
                returned_fen=money.returned_fen,
            ),
            vouchers=VoucherFigures(
                issued=_tally(figures.issued),
                claimed=_tally(figures.claimed),
                redeemed=_tally(figures.redeemed),
                claimed_by_region=[_tally(t) for t in figures.claimed_by_region],
                redeemed_by_category=[_tally(t) for t in figures.redeemed_by_category],
                redeemed_by_region=[_tally(t) for t in figures.redeemed_by_region],
            ),
            log=position,
            rule_changes=[
                RuleChangePublic(
                    event_id=c.event_id,
                    log_index=c.log_index,
                    type=c.type,
                    occurred_at=c.occurred_at,
                    payload=c.payload,
                )
                for c in found.rule_changes
            ],
            rule_changes_complete=found.rule_changes_complete,
            funders=[
                FunderSharePublic(name=f.name, kind=f.kind, net_fen=f.net_fen)
                for f in found.funders
            ],
            merchants=[
                MerchantTakingPart(
                    name=m.name, region_code=m.region_code, categories=list(m.categories)
                )
                for m in found.merchants
            ],
            merchant_count=found.merchant_count,
        )


def _tally(tally: disclosure.Tally) -> TallyPublic:
    return TallyPublic(
        key=tally.key, count=tally.count, subsidy_fen=tally.subsidy_fen, order_fen=tally.order_fen
    )

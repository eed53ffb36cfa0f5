"""The demo's issuer, program, money and issuance rules, each through its own service.

Two funders put in ¥700,000 between them; a third contribution of ¥1,200,000 is above the
approval threshold and waits for a second person (``demo-checker``), as a real one would. Two
voucher types: 满100减30 for catering, and 20% off up to ¥50 for culture, tourism and sport. A
first-come batch is open; a lottery batch takes registrations until two days from now, with a
quota reserved for residents of 60 and over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from quan.config import Settings
from quan.domain.auth import SYSTEM, Actor
from quan.domain.batches import Allocation, Quota
from quan.domain.citizens import PriorityGroup
from quan.domain.funding import Direction, FunderKind
from quan.domain.programs import Action
from quan.services.issuance import batches, voucher_types
from quan.services.money import funding, issuers, programs

ISSUER_NAME = "杭州市商务局（演示）"
REGION_CODE = "330100"
PROGRAM_NAME = "2026 冬季服务消费券（演示）"
TIMEZONE = "Asia/Shanghai"
PENDING_CONTRIBUTION_FEN = 120_000_000  # ¥1,200,000: above the default approval threshold

FIXED_TYPE = {
    "name": "餐饮消费券（满100减30）",
    "kind": "fixed",
    "face_value_fen": 3000,
    "min_spend_fen": 10000,
    "categories": ["catering"],
    "scenes": ["offline", "online"],
    "validity_preset": "short",
}
PERCENT_TYPE = {
    "name": "文体旅8折（最高减50元）",
    "kind": "percent",
    "percent_off": 20,
    "cap_fen": 5000,
    "min_spend_fen": 0,
    "categories": ["culture_entertainment", "tourism", "sports"],
    "scenes": ["offline"],
    "validity_preset": "short",
}


@dataclass(frozen=True, slots=True)
class Program:
    issuer_id: str
    program_id: str
    fcfs_batch_id: str
    lottery_batch_id: str
    pending_contribution_id: str


def issuer(tx: Connection, now: datetime) -> str:
    return issuers.create_issuer(tx, now, SYSTEM, name=ISSUER_NAME, region_code=REGION_CODE).id


def program(tx: Connection, now: datetime, operator: Actor, issuer_id: str) -> str:
    created = programs.create_program(
        tx,
        now,
        operator,
        programs.NewProgram(
            issuer_id=issuer_id,
            name=PROGRAM_NAME,
            description="餐饮、文旅、体育等服务消费券（演示数据，人物与商户均为虚构）。",
            timezone=TIMEZONE,
            starts_at=now,
            ends_at=now + timedelta(days=120),
        ),
    )
    programs.change_status(tx, now, operator, created.id, Action.ACTIVATE)
    return created.id


def fund(
    tx: Connection, now: datetime, operator: Actor, issuer_id: str, program_id: str, threshold: int
) -> str:
    """Fund the program; returns the contribution still waiting for a second person."""
    funders = {}
    for name, kind in (
        ("杭州市财政局", FunderKind.DEPARTMENT),
        ("合作银行（演示）", FunderKind.BANK),
        ("杭州市文化广电旅游局", FunderKind.DEPARTMENT),
    ):
        funders[name] = funding.create_funder(
            tx, now, operator, issuer_id=issuer_id, name=name, kind=kind
        ).id
    for name, amount in (("杭州市财政局", 50_000_000), ("合作银行（演示）", 20_000_000)):
        funding.request_movement(
            tx,
            now,
            operator,
            funding.MovementRequest(
                program_id, funders[name], Direction.CONTRIBUTION, amount, f"{name}首期拨款"
            ),
            threshold_fen=threshold,
        )
    pending = funding.request_movement(
        tx,
        now,
        operator,
        funding.MovementRequest(
            program_id,
            funders["杭州市文化广电旅游局"],
            Direction.CONTRIBUTION,
            PENDING_CONTRIBUTION_FEN,
            "文旅专项（待复核）",
        ),
        threshold_fen=threshold,
    )
    return pending.id


def issuance(
    tx: Connection,
    settings: Settings,
    operator: Actor,
    program_id: str,
    *,
    fcfs_at: datetime,
    lottery_at: datetime,
    lottery_closes: datetime,
) -> tuple[str, str]:
    """Both voucher types and both batches; returns (first-come batch, lottery batch)."""
    fixed = voucher_types.create_voucher_type(tx, fcfs_at, operator, program_id, FIXED_TYPE)
    percent = voucher_types.create_voucher_type(tx, fcfs_at, operator, program_id, PERCENT_TYPE)
    fcfs = batches.create_batch(
        tx,
        fcfs_at,
        operator,
        batches.NewBatch(
            program_id=program_id,
            voucher_type_id=fixed.id,
            name="餐饮券第一轮（先到先得）",
            quantity=2000,
            allocation=Allocation.FCFS,
            claim_opens_at=fcfs_at,
            claim_closes_at=fcfs_at + timedelta(days=30),
        ),
    )
    batches.open_batch(tx, fcfs_at, operator, fcfs.id)
    lottery = batches.create_batch(
        tx,
        lottery_at,
        operator,
        batches.NewBatch(
            program_id=program_id,
            voucher_type_id=percent.id,
            name="文体旅券（摇号，60岁以上预留）",
            quantity=100,
            allocation=Allocation.LOTTERY,
            claim_opens_at=lottery_at,
            claim_closes_at=lottery_closes,
            reserved=(Quota(PriorityGroup.ELDERLY, 30, release_at=lottery_closes),),
        ),
        settings=settings,
    )
    batches.open_batch(tx, lottery_at, operator, lottery.id)
    return fcfs.id, lottery.id

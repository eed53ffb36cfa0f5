"""The redeem benchmark's access to Quan's redemption path (``POST /api/v1/redemptions``).

Seeding: a first-come batch opened through the services (which generates the vouchers and
reserves their money), its vouchers handed to as many citizens by one bulk ``UPDATE`` (a claim
posts nothing to the ledger, so the books stay whole; only the per-claim events are skipped), and
one approved merchant with ``terminals`` terminals, made over the running server's own API as a
merchant and an operator would (apply, review, issue terminal keys).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import bindparam, func, select, update

from quan.bench import claim_path, seed
from quan.bench.load import RequestItem
from quan.domain.uscc import check_character
from quan.services.runtime import Runtime
from quan.store.redemption_tables import redemptions
from quan.store.voucher_tables import vouchers

ORDER_FEN = 12_000  # above the voucher type's 100-yuan minimum spend


@dataclass(frozen=True)
class RedeemSetup:
    batch_id: str
    requests: list[RequestItem]  # one per distinct voucher, spread over the terminals


@dataclass(frozen=True)
class RedeemOutcome:
    redeemed: int
    double_spent: int  # vouchers with more than one live redemption


def hand_out(rt: Runtime, batch_id: str, citizen_ids: list[str]) -> list[str]:
    """Give each citizen one voucher of the batch (bulk); the vouchers' codes."""
    now = rt.clock.now()
    with rt.db.write() as tx:
        rows = tx.execute(
            select(vouchers.c.id, vouchers.c.code)
            .where(vouchers.c.batch_id == batch_id)
            .order_by(vouchers.c.id)
        ).all()
        pairs = list(zip(rows, citizen_ids, strict=False))
        values = [
            {
                "b_id": row.id,
                "b_citizen": citizen,
                "b_now": now,
                "b_until": now + timedelta(days=90),
            }
            for row, citizen in pairs
        ]
        tx.execute(
            update(vouchers)
            .where(vouchers.c.id == bindparam("b_id"))
            .values(
                status="active",
                citizen_id=bindparam("b_citizen"),
                claim_seq=1,
                channel="app",
                claimed_at=bindparam("b_now"),
                valid_from=bindparam("b_now"),
                valid_until=bindparam("b_until"),
                status_changed_at=bindparam("b_now"),
            ),
            values,
        )
    return [row.code for row, _ in pairs]


def _uscc(serial: int) -> str:
    first17 = f"91330106MA{serial:07d}"
    return first17 + check_character(first17)


def open_shop(base_url: str, issuer_id: str, operator_token: str, terminals: int) -> list[str]:
    """An approved catering merchant with ``terminals`` terminals; their API keys."""
    application = {
        "issuer_id": issuer_id,
        "name": "杭州基准测试小吃店",
        "uscc": _uscc(4242),
        "categories": ["catering"],
        "region_code": "330106",
        "scenes": ["offline"],
        "bank_account": {
            "bank_name": "中国工商银行杭州西湖支行",
            "account_number": "6222021234567890123",
        },
        "contact_phone": "13812345678",
    }
    with httpx.Client(base_url=base_url + "/api/v1", timeout=30) as http:
        applied = http.post("/merchants", json=application)
        applied.raise_for_status()
        merchant_id = applied.json()["merchant"]["id"]
        owner = {"Authorization": f"Bearer {applied.json()['owner_key']['api_key']}"}
        http.post(
            f"/merchants/{merchant_id}/review",
            json={"decision": "approve", "reason": ""},
            headers={"Authorization": f"Bearer {operator_token}"},
        ).raise_for_status()
        keys = []
        for n in range(terminals):
            issued = http.post(
                f"/merchants/{merchant_id}/terminals",
                json={"label": f"收银台 {n + 1}"},
                headers=owner,
            )
            issued.raise_for_status()
            keys.append(issued.json()["api_key"])
    return keys


def prepare(
    rt: Runtime,
    base_url: str,
    *,
    vouchers: int,
    terminals: int,
    program: seed.FundedProgram | None = None,
) -> RedeemSetup:
    program = program or seed.active_program(rt)
    _, batch_id = claim_path.open_batch(rt, program, vouchers)
    codes = hand_out(rt, batch_id, claim_path.insert_citizens(rt, "r", vouchers))
    keys = open_shop(base_url, program.issuer_id, program.operator_token, terminals)
    requests = [
        RequestItem(
            "/api/v1/redemptions",
            token=keys[i % len(keys)],
            key=f"bench-redeem-{i}",
            body=json.dumps(
                {
                    "voucher_code": code,
                    "order_amount_fen": ORDER_FEN,
                    "category": "catering",
                    "scene": "offline",
                },
                separators=(",", ":"),
            ),
        )
        for i, code in enumerate(codes)
    ]
    return RedeemSetup(batch_id, requests)


def read_back(rt: Runtime, batch_id: str) -> RedeemOutcome:
    with rt.db.read() as tx:
        redeemed = tx.execute(
            select(func.count())
            .select_from(vouchers)
            .where(vouchers.c.batch_id == batch_id, vouchers.c.status == "redeemed")
        ).scalar_one()
        per_voucher = (
            select(func.count().label("n"))
            .where(redemptions.c.batch_id == batch_id, redemptions.c.status == "redeemed")
            .group_by(redemptions.c.voucher_id)
            .having(func.count() > 1)
            .subquery()
        )
        double = tx.execute(select(func.count()).select_from(per_voucher)).scalar_one()
    return RedeemOutcome(int(redeemed), int(double))

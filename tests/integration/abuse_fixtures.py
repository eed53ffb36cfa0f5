"""Helpers for the abuse tests: a program where one merchant cashes vouchers out (every order
exactly at the minimum spend, redeemed the minute the voucher was claimed) and one honest
redemption at the same merchant, an hour later and of an odd amount."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from quan.domain.auth import Actor, Role
from quan.services.abuse import cases
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import Scene, redeem, scene

CASHED = 5  # flagged redemptions


@dataclass(frozen=True)
class CashOut:
    s: Scene
    flagged: list[str]  # redemption ids
    honest: str
    spare: list[str]  # codes of claimed vouchers not redeemed yet


def operator(world: World) -> Actor:
    return Actor("staff", world.users["operator"].id, Role.OPERATOR, world.issuer.id)


def cash_out(world: World, spare: int = 0) -> CashOut:
    s = scene(world, holders=CASHED + 1 + spare)
    flagged = []
    for code in s.codes[:CASHED]:
        made = redeem(world, s.shop, code=code, amount_fen=10000)
        assert made.status_code == 201, made.text
        flagged.append(made.json()["id"])
    issuance.advance(world, timedelta(hours=1))
    made = redeem(world, s.shop, code=s.codes[CASHED], amount_fen=12345)
    assert made.status_code == 201, made.text
    return CashOut(s, flagged, made.json()["id"], s.codes[CASHED + 1 :])


def scan(world: World, c: CashOut) -> list[cases.RiskCase]:
    rt = world.runtime
    cases.scan(rt.db, rt.clock.now(), [c.s.program_id])
    with rt.db.read() as tx:
        rows = tx.execute(cases.cases_query(tx, operator(world), c.s.program_id, None)).all()
        return cases.load(rows)

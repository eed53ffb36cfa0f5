"""What the demo's residents, cashiers and staff did before today, each act its own use case.

Residents claim first-come vouchers and enter the lottery; cashiers redeem vouchers at the
counter; the operator settles the day before yesterday and the second operator confirms the
payout. Each act runs at its instant on the demo's timeline (``seed.Timeline``) with that clock, so
every window, validity and cut-off rule is checked as it would be on the day. The acts of one
morning or afternoon share a transaction (each still the full use case, with all its checks):
hundreds of commits would make ``make run`` wait on the disk for nothing.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from quan.clock import FixedClock
from quan.domain.auth import Actor
from quan.domain.merchants import Scene
from quan.services.demo.shops import OpenShop
from quan.services.issuance import claims, lottery
from quan.services.issuance.claim_cache import ClaimCache
from quan.services.issuance.claims import IssuedVoucher
from quan.services.merchants.offline_keys import offline_key
from quan.services.redemption import redeem, redemption
from quan.services.runtime import Runtime
from quan.services.settlement import payouts, running


def claim_all(
    rt: Runtime, citizen_ids: Sequence[str], batch_id: str, start: datetime, span: timedelta
) -> list[IssuedVoucher]:
    """First-come claims spread over ``span`` from ``start`` (the morning rush)."""
    cache = ClaimCache()  # this seeding's own: nothing cached by another process applies
    facts = cache.facts(rt.db, batch_id)
    step = span / max(len(citizen_ids), 1)
    with rt.db.write() as tx:
        return [
            claims.claim(tx, start + i * step, citizen_id, facts, cache=cache).voucher
            for i, citizen_id in enumerate(citizen_ids)
        ]


def register_all(
    rt: Runtime, citizen_ids: Sequence[str], batch_id: str, start: datetime, span: timedelta
) -> None:
    step = span / max(len(citizen_ids), 1)
    with rt.db.write() as tx:
        for i, citizen_id in enumerate(citizen_ids):
            lottery.register(tx, start + i * step, rt.settings, citizen_id, batch_id)


def redeem_all(
    rt: Runtime,
    vouchers: Sequence[IssuedVoucher],
    shops: Sequence[OpenShop],
    start: datetime,
    span: timedelta,
    rng: random.Random,
) -> int:
    """Counter redemptions of ``vouchers`` at the shops of their category; returns how many."""
    keyring = offline_key(rt.settings).keyring
    catering = [s for s in shops if s.category == "catering"]
    step = span / max(len(vouchers), 1)
    with rt.db.write() as tx:
        redemption.begin_recording(tx)
        for i, voucher in enumerate(vouchers):
            _redeem_one(tx, keyring, i, voucher, catering[i % len(catering)], start + i * step, rng)
    return len(vouchers)


def _redeem_one(
    tx: Connection, keyring: Mapping[str, Ed25519PublicKey], i: int, voucher: IssuedVoucher,
    shop: OpenShop, at: datetime, rng: random.Random,
) -> None:  # fmt: skip
    request = redemption.RedeemRequest(
        order_amount_fen=rng.randrange(10_000, 30_000, 100),
        category="catering",
        scene=Scene.OFFLINE,
        voucher_code=voucher.code,
        order_ref=f"POS-{at:%m%d}-{i + 1:04d}",  # one order per voucher
    )
    redeem.redeem(tx, at, shop.cashier, keyring, request)


def settle_and_pay(
    rt: Runtime, program_id: str, day: date, operator: Actor, checker: Actor,
    settle_at: datetime, paid_at: datetime,
) -> str:  # fmt: skip
    """The operator settles ``day`` (local); the second operator records the bank's payment."""
    run = running.settle(rt.db, FixedClock(settle_at), operator, program_id, day)
    with rt.db.write() as tx:
        payouts.mark_paid(tx, paid_at, checker, run.id, payment_ref="ICBC-DEMO-0001")
    return run.id

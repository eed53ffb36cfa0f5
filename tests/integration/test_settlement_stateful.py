"""Random sequences of redemptions, reversals, offline syncs, suspensions, settlements and
payouts, through the API, keep every invariant of ``quan ledger check`` after every step, and
pay each merchant exactly what a model of the sequence says it is owed.

The model keeps each live redemption's discount by merchant (a reversal takes it away; one
netted after settlement stays payable until a later run deducts it) and the amount of every
payout. After each step, per merchant, ``payable + paid`` in the ledger equals the model's live
discounts plus the reversals still waiting to be netted, and ``paid`` equals the payouts made.
Moves the model knows must be refused (a second redemption of a live voucher, a second
reversal, paying a run just paid) are tried and must be refused with their code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from quan.domain.ledger import Bucket
from quan.store.ledger import account_balance
from quan.store.redemption_tables import redemptions, settlement_deductions
from tests.conftest import START, World
from tests.integration import issuance_fixtures as issuance
from tests.integration import merchant_fixtures as shops
from tests.integration.redemption_fixtures import (
    SPORTS_20_OFF,
    Scene,
    assert_books_ok,
    open_shop,
    redeem,
    reverse,
    scene,
    wallet_tokens,
)

# Refusals a random step may meet; anything else (or a 5xx) fails the run.
EXPECTED = {
    "ALREADY_REDEEMED",
    "ALREADY_REVERSED",
    "BELOW_MIN_SPEND",
    "CUT_OFF_NOT_AFTER_LAST",
    "CUT_OFF_NOT_PASSED",
    "CUT_OFF_BEFORE_START",
    "MERCHANT_NOT_APPROVED",
    "MERCHANT_TRANSITION_NOT_ALLOWED",
    "NOTHING_TO_PAY",
    "NOTHING_TO_SETTLE",
    "REDEMPTION_SETTLED",
    "REVERSAL_WINDOW_OVER",
    "SETTLEMENT_EXISTS",
    "VOUCHER_EXPIRED",
    "ZERO_DISCOUNT",
}


def run_machine(world: World) -> None:
    class SettlementMachine(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            # Each example is a program of its own, starting at the same instant.
            world.runtime.clock.set(START)  # type: ignore[attr-defined]
            world._tokens.clear()
            self.scene: Scene = scene(world, holders=5, voucher=SPORTS_20_OFF)
            self.shops = [self.scene.shop, open_shop(world, categories=["sports"])]
            self.tokens = {
                v_id: t
                for c in self.scene.citizen_ids
                for v_id, t in wallet_tokens(world, c).items()
            }
            self.redemptions: list[str] = []
            self.runs: list[str] = []
            self.records = 0
            # The model: live redemptions (id -> merchant, discount), the live one of each
            # voucher, the reversed ones, and the payouts' amounts.
            self.live: dict[str, tuple[str, int]] = {}
            self.live_of: dict[str, str] = {}
            self.reversed: set[str] = set()
            self.paid_fen = 0

        def _made(self, redemption_id: str) -> None:
            with world.runtime.db.read() as tx:
                row = tx.execute(
                    select(
                        redemptions.c.voucher_id,
                        redemptions.c.merchant_id,
                        redemptions.c.discount_fen,
                    ).where(redemptions.c.id == redemption_id)
                ).one()
            assert row.voucher_id not in self.live_of, "a live voucher was redeemed again"
            self.redemptions.append(redemption_id)
            self.live[redemption_id] = (row.merchant_id, int(row.discount_fen))
            self.live_of[row.voucher_id] = redemption_id

        def _ok(self, response: Any) -> Any:
            assert response.status_code < 500, response.text
            if response.status_code >= 400:
                assert response.json()["code"] in EXPECTED, response.text
            return response

        @rule(voucher=st.integers(0, 4), shop=st.integers(0, 1), amount=st.integers(1, 40_000))
        def redeem_online(self, voucher: int, shop: int, amount: int) -> None:
            code = self.scene.codes[voucher]
            response = self._ok(
                redeem(world, self.shops[shop], code=code, amount_fen=amount, category="sports")
            )
            if self.scene.vouchers[voucher]["id"] in self.live_of:
                assert response.status_code == 409, response.text
                assert response.json()["code"] == "ALREADY_REDEEMED"
            if response.status_code == 201:
                self._made(response.json()["id"])

        @rule(voucher=st.integers(0, 4), shop=st.integers(0, 1))
        def sync_offline(self, voucher: int, shop: int) -> None:
            token = self.tokens[self.scene.vouchers[voucher]["id"]]
            self.records += 1
            record = {
                "record_id": f"r{self.records}",
                "token": token,
                "order_amount_fen": 20_000,
                "category": "sports",
                "redeemed_at": world.runtime.clock.now().isoformat(),
            }
            response = self._ok(
                world.client.post(
                    "/api/v1/offline-redemptions",
                    json={"records": [record]},
                    headers=self.shops[shop].headers(),
                )
            )
            made = response.json()["results"][0]["redemption_id"]
            if made:
                self._made(made)

        @rule(index=st.integers(0, 20))
        def reverse_one(self, index: int) -> None:
            if not self.redemptions:
                return
            redemption_id = self.redemptions[index % len(self.redemptions)]
            response = self._ok(reverse(world, world.headers("operator"), redemption_id))
            if redemption_id in self.reversed:
                assert response.status_code == 409, response.text
                assert response.json()["code"] == "ALREADY_REVERSED"
            if response.status_code < 300:
                self.reversed.add(redemption_id)
                self.live.pop(redemption_id)
                self.live_of = {v: r for v, r in self.live_of.items() if r != redemption_id}

        @rule(hours=st.integers(1, 30))
        def time_passes(self, hours: int) -> None:
            issuance.advance(world, timedelta(hours=hours))

        @rule()
        def settle_yesterday(self) -> None:
            response = self._ok(
                world.post("operator", f"/programs/{self.scene.program_id}/settlements", {})
            )
            if response.status_code == 201:
                self.runs.append(response.json()["id"])

        @rule()
        def pay_the_last_run(self) -> None:
            if self.runs:
                path = f"/settlements/{self.runs[-1]}/payouts"
                response = self._ok(world.post("checker", path, {"payment_ref": "BANK-1"}))
                if response.status_code == 201:
                    self.paid_fen += response.json()["amount_fen"]
                    again = self._ok(world.post("checker", path, {"payment_ref": "BANK-2"}))
                    assert again.json()["code"] == "NOTHING_TO_PAY", again.text

        @rule(decision=st.sampled_from(["suspend", "reinstate"]))
        def review_the_first_shop(self, decision: str) -> None:
            merchant = self.shops[0].merchant_id
            self._ok(shops.review(world, merchant, decision, "抽查"))

        @invariant()
        def books_balance(self) -> None:
            assert_books_ok(world)
            budget = world.budget(self.scene.program_id)
            assert budget["identity_holds"]

        @invariant()
        def merchants_are_owed_what_the_model_says(self) -> None:
            pid = self.scene.program_id
            d = settlement_deductions.c
            with world.runtime.db.read() as tx:
                waiting = dict(
                    tx.execute(
                        select(d.merchant_id, func.sum(d.amount_fen))
                        .where(d.program_id == pid, d.settlement_id.is_(None))
                        .group_by(d.merchant_id)
                    ).all()
                )
                for shop in self.shops:
                    m = shop.merchant_id
                    ledger_fen = account_balance(tx, pid, Bucket.PAYABLE, m) + account_balance(
                        tx, pid, Bucket.PAID, m
                    )
                    owed = sum(fen for who, fen in self.live.values() if who == m)
                    assert ledger_fen == owed + int(waiting.get(m, 0)), (m, ledger_fen, owed)
                paid = sum(account_balance(tx, pid, Bucket.PAID, s.merchant_id) for s in self.shops)
            assert paid == self.paid_fen

    SettlementMachine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=20,
        deadline=None,
    )
    SettlementMachine.TestCase().runTest()


def test_random_sequences_keep_the_books_whole(world: World) -> None:
    run_machine(world)

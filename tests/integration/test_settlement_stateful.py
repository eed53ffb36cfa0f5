"""Random sequences of redemptions, reversals, offline syncs, suspensions, settlements and
payouts, through the API, keep every invariant of ``quan ledger check`` after every step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

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
            if response.status_code == 201:
                self.redemptions.append(response.json()["id"])

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
                self.redemptions.append(made)

        @rule(index=st.integers(0, 20))
        def reverse_one(self, index: int) -> None:
            if not self.redemptions:
                return
            redemption_id = self.redemptions[index % len(self.redemptions)]
            self._ok(reverse(world, world.headers("operator"), redemption_id))

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
                self._ok(world.post("checker", path, {"payment_ref": "BANK-1"}))

        @rule(decision=st.sampled_from(["suspend", "reinstate"]))
        def review_the_first_shop(self, decision: str) -> None:
            merchant = self.shops[0].merchant_id
            self._ok(shops.review(world, merchant, decision, "抽查"))

        @invariant()
        def books_balance(self) -> None:
            assert_books_ok(world)
            budget = world.budget(self.scene.program_id)
            assert budget["identity_holds"]

    SettlementMachine.TestCase.settings = settings(
        max_examples=10,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    SettlementMachine.TestCase().runTest()


def test_random_sequences_keep_the_books_whole(world: World) -> None:
    run_machine(world)

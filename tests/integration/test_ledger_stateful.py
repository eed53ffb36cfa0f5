"""Random sequences of contributions, returns and decisions keep every ledger invariant.

Hypothesis drives the real services against a real database and checks the identity, the
budget view and `quan ledger check` after every step.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from quan.domain.auth import SYSTEM, Actor, Role
from quan.domain.errors import QuanError
from quan.domain.funding import Direction, FunderKind
from quan.services.money import funding, issuers, programs
from quan.services.money.ledger_check import check_ledger
from quan.store import ledger
from quan.store.db import Database

START = datetime(2026, 11, 25, tzinfo=UTC)
THRESHOLD = 5_000


def run_machine(db: Database) -> None:
    class LedgerMachine(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            self.now = START
            with db.write() as tx:
                issuer = issuers.create_issuer(
                    tx,
                    self.now,
                    SYSTEM,
                    name=f"issuer-{secrets.token_hex(6)}",
                    region_code="330100",
                )
                self.maker = Actor("staff", f"maker-{id(self)}", Role.OPERATOR, issuer.id)
                self.checker = Actor("staff", f"checker-{id(self)}", Role.OPERATOR, issuer.id)
                self.program = programs.create_program(
                    tx,
                    self.now,
                    self.maker,
                    programs.NewProgram(
                        issuer.id, "p", "", "Asia/Shanghai", START, START + timedelta(days=90)
                    ),
                )
                self.funders = [
                    funding.create_funder(
                        tx,
                        self.now,
                        self.maker,
                        issuer_id=issuer.id,
                        name=f"f{i}",
                        kind=FunderKind.BANK,
                    ).id
                    for i in range(2)
                ]
            self.pending: list[str] = []
            self.expected_funded = 0
            self.expected_returned = 0

        def _request(self, direction: Direction, funder: int, amount: int) -> Any:
            cmd = funding.MovementRequest(
                self.program.id, self.funders[funder], direction, amount, "note"
            )
            try:
                with db.write() as tx:
                    return funding.request_movement(
                        tx, self.now, self.maker, cmd, threshold_fen=THRESHOLD
                    )
            except QuanError as exc:
                assert exc.code in {"INSUFFICIENT_BUDGET", "EXCEEDS_FUNDER_CONTRIBUTION"}  # noqa: PT017
                return None

        @rule(funder=st.integers(0, 1), amount=st.integers(1, 2 * THRESHOLD))
        def contribute(self, funder: int, amount: int) -> None:
            movement = self._request(Direction.CONTRIBUTION, funder, amount)
            if movement.status.value == "pending_approval":
                self.pending.append(movement.id)
            else:
                self.expected_funded += amount

        @rule(funder=st.integers(0, 1), amount=st.integers(1, 2 * THRESHOLD))
        def give_back(self, funder: int, amount: int) -> None:
            movement = self._request(Direction.RETURN, funder, amount)
            if movement is None:
                return
            if movement.status.value == "pending_approval":
                self.pending.append(movement.id)
            else:
                self.expected_returned += amount

        @rule(approve=st.booleans(), pick=st.integers(0, 100))
        def decide(self, approve: bool, pick: int) -> None:
            if not self.pending:
                return
            movement_id = self.pending.pop(pick % len(self.pending))
            with db.read() as tx:
                movement = funding.get_movement(tx, movement_id)
            try:
                with db.write() as tx:
                    funding.decide(
                        tx,
                        self.now,
                        self.checker,
                        movement_id,
                        direction=movement.direction,
                        approve=approve,
                        reason="checked",
                    )
            except QuanError as exc:
                assert exc.code in {"INSUFFICIENT_BUDGET", "EXCEEDS_FUNDER_CONTRIBUTION"}  # noqa: PT017
                return
            if approve and movement.direction is Direction.CONTRIBUTION:
                self.expected_funded += movement.amount_fen
            elif approve:
                self.expected_returned += movement.amount_fen

        @invariant()
        def ledger_holds(self) -> None:
            if not hasattr(self, "program"):
                return
            with db.read() as tx:
                budget = ledger.budget(tx, self.program.id)
                report = check_ledger(tx)
            assert report.ok, report.violations
            assert budget.identity_holds
            assert budget.funded_fen == self.expected_funded
            assert budget.returned_fen == self.expected_returned
            assert budget.available_fen == self.expected_funded - self.expected_returned

    LedgerMachine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    LedgerMachine.TestCase().runTest()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_random_funding_sequences_keep_every_ledger_invariant(db: Database) -> None:
    run_machine(db)

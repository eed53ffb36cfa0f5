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
            self.decided: list[str] = []
            self.expected_funded = 0
            self.expected_returned = 0
            # What each funder has put in and not had back (approved movements only).
            self.net = [0, 0]
            # What went through today without a second person, per direction: by the maker
            # (who asks for everything here) and by funder. The threshold holds on these sums.
            self.unchecked_by_maker = dict.fromkeys(Direction, 0)
            self.unchecked_by_funder = {(d, f): 0 for d in Direction for f in (0, 1)}

        @property
        def available(self) -> int:
            return self.expected_funded - self.expected_returned

        def _return_refusal(self, funder: int, amount: int) -> str | None:
            """The rule of domain.funding.check_return, on the model: which code, if any."""
            if amount > self.available:
                return "INSUFFICIENT_BUDGET"
            if amount > self.net[funder]:
                return "EXCEEDS_FUNDER_CONTRIBUTION"
            return None

        def _count(self, direction: Direction, funder: int, amount: int) -> None:
            if direction is Direction.CONTRIBUTION:
                self.expected_funded += amount
                self.net[funder] += amount
            else:
                self.expected_returned += amount
                self.net[funder] -= amount

        def _request(self, direction: Direction, funder: int, amount: int) -> None:
            """Request a movement; a return the model refuses must be refused with its code,
            and one it allows must go through (pending when it would take today's amounts that
            went through without a second person above the threshold, else counted)."""
            expected = (
                None
                if direction is Direction.CONTRIBUTION
                else (self._return_refusal(funder, amount))
            )
            cmd = funding.MovementRequest(
                self.program.id, self.funders[funder], direction, amount, "note"
            )
            try:
                with db.write() as tx:
                    movement = funding.request_movement(
                        tx, self.now, self.maker, cmd, threshold_fen=THRESHOLD
                    )
            except QuanError as exc:
                assert exc.code == expected, (exc.code, expected)  # noqa: PT017
                return
            assert expected is None, f"{direction.value} of {amount} was not refused ({expected})"
            so_far = max(
                self.unchecked_by_maker[direction], self.unchecked_by_funder[(direction, funder)]
            )
            if so_far + amount > THRESHOLD:
                assert movement.status.value == "pending_approval"
                self.pending.append(movement.id)
            else:
                assert movement.status.value == "approved"
                self.unchecked_by_maker[direction] += amount
                self.unchecked_by_funder[(direction, funder)] += amount
                self._count(direction, funder, amount)

        @rule(funder=st.integers(0, 1), amount=st.integers(1, 2 * THRESHOLD))
        def contribute(self, funder: int, amount: int) -> None:
            self._request(Direction.CONTRIBUTION, funder, amount)

        @rule(funder=st.integers(0, 1), amount=st.integers(1, 3 * THRESHOLD))
        def give_back(self, funder: int, amount: int) -> None:
            self._request(Direction.RETURN, funder, amount)

        def _decide(self, actor: Actor, movement_id: str, approve: bool) -> Any:
            with db.read() as tx:
                movement = funding.get_movement(tx, movement_id)
            with db.write() as tx:
                funding.decide(
                    tx,
                    self.now,
                    actor,
                    movement_id,
                    direction=movement.direction,
                    approve=approve,
                    reason="checked",
                )
            return movement

        @rule(approve=st.booleans(), pick=st.integers(0, 100))
        def decide(self, approve: bool, pick: int) -> None:
            if not self.pending:
                return
            movement_id = self.pending[pick % len(self.pending)]
            with db.read() as tx:
                movement = funding.get_movement(tx, movement_id)
            funder = self.funders.index(movement.funder_id)
            expected = None
            if approve and movement.direction is Direction.RETURN:
                expected = self._return_refusal(funder, movement.amount_fen)
            try:
                self._decide(self.checker, movement_id, approve)
            except QuanError as exc:
                assert exc.code == expected, (exc.code, expected)  # noqa: PT017
                return  # refused: it stays pending
            assert expected is None, f"approving {movement_id} was not refused ({expected})"
            self.pending.remove(movement_id)
            self.decided.append(movement_id)
            if approve:
                self._count(movement.direction, funder, movement.amount_fen)

        @rule(pick=st.integers(0, 100), approve=st.booleans())
        def maker_decides_own(self, pick: int, approve: bool) -> None:
            """Maker-checker: whoever asked may not decide, either way."""
            if not self.pending:
                return
            with pytest.raises(QuanError) as refused:
                self._decide(self.maker, self.pending[pick % len(self.pending)], approve)
            assert refused.value.code == "MAKER_CHECKER_SAME_PERSON"

        @rule(pick=st.integers(0, 100), approve=st.booleans())
        def decide_again(self, pick: int, approve: bool) -> None:
            """A decided movement is never decided again (nothing posts twice)."""
            if not self.decided:
                return
            with pytest.raises(QuanError) as refused:
                self._decide(self.checker, self.decided[pick % len(self.decided)], approve)
            assert refused.value.code == "MOVEMENT_NOT_PENDING"

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
            assert budget.available_fen == self.available
            with db.read() as tx:
                nets = [funding.funder_net_fen(tx, self.program.id, f) for f in self.funders]
            assert nets == self.net

    LedgerMachine.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    LedgerMachine.TestCase().runTest()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_random_funding_sequences_keep_every_ledger_invariant(db: Database) -> None:
    run_machine(db)

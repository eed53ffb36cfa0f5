"""The reminders job of ``quan worker``: choose what is due (set-based sweeps, one transaction),
then send it to the outbox step by step (docs/delivery.md#reminders).

It runs under its lease (one worker at a time), but nothing depends on that: the sweeps insert
with ``ON CONFLICT DO NOTHING`` on the reminders' unique key and the send steps lock the rows they
take, so two workers — or a run repeated after a crash — never send a reminder twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from quan.jobs import lease
from quan.services.delivery.reminder_choose import Chosen, choose_all
from quan.services.delivery.reminder_send import SendStep, send_due
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime

LEASE_NAME = "reminders"
LEASE_TTL = timedelta(minutes=5)
BUDGET_SECONDS = 50.0


@dataclass(slots=True)
class ReminderRun:
    chosen: Chosen = field(default_factory=Chosen)
    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: int = 0

    def add(self, step: SendStep) -> None:
        self.sent += step.sent
        for reason, count in step.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
        self.deferred = step.deferred


def choose(rt: Runtime) -> Chosen:
    with rt.db.write() as tx:
        return choose_all(tx, rt.clock.now())


def send(rt: Runtime, *, holder: str | None = None, budget: float = BUDGET_SECONDS) -> ReminderRun:
    """Send steps until nothing due is left (or the budget is spent; the next run goes on)."""
    run = ReminderRun()
    keys = CitizenKeys.from_settings(rt.settings)
    deadline = time.monotonic() + budget
    while True:
        with rt.db.write() as tx:
            step = send_due(
                tx,
                rt.clock.now(),
                keys,
                locale=rt.settings.message_locale,
                public_url=rt.settings.public_url,
                limit=rt.settings.reminder_send_batch,
            )
        run.add(step)
        if step.taken < rt.settings.reminder_send_batch or time.monotonic() > deadline:
            return run
        if holder is not None:
            lease.acquire(rt.db, LEASE_NAME, holder, rt.clock.now(), LEASE_TTL)


def run_once(rt: Runtime, holder: str) -> ReminderRun:
    """One run: choose, then send (the worker holds the lease around it)."""
    chosen = choose(rt)
    run = send(rt, holder=holder)
    run.chosen = chosen
    return run

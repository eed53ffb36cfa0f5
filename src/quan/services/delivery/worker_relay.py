"""The relay as a job of ``quan worker``: one :class:`~.relay.Relay` per worker process, built
from the settings on first use, running batches until nothing is due (or a time budget is
spent, so that the worker records the run and comes back)."""

from __future__ import annotations

import logging

from quan.services.delivery import providers
from quan.services.delivery.relay import Relay, Schedule
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime

log = logging.getLogger("quan.delivery")

PASS_BUDGET_SECONDS = 10.0


def build(rt: Runtime) -> Relay:
    settings = rt.settings
    chosen = providers.from_settings(settings)
    if settings.is_production and chosen["sms"].name == "log":
        log.warning("QUAN_SMS_PROVIDER=log in production: no SMS leaves this machine")
    return Relay(
        db=rt.db,
        keys=CitizenKeys.from_settings(settings).outbox,
        providers=chosen,
        schedule=Schedule.from_settings(settings),
        locale=settings.message_locale,
        template_ids=dict(settings.sms_template_ids),
        batch=settings.delivery_batch,
        concurrency=settings.delivery_concurrency,
    )


class RelayJob:
    """The job function (``(runtime, holder) -> messages handled``) with its relay kept."""

    def __init__(self) -> None:
        self._relay: Relay | None = None

    def __call__(self, rt: Runtime, holder: str) -> int:
        if self._relay is None:
            self._relay = build(rt)
        return self._relay.drain(rt.clock.now, PASS_BUDGET_SECONDS).claimed

    def close(self) -> None:
        if self._relay is not None:
            self._relay.close()
            self._relay = None

"""The worker's jobs of announcements and partner webhooks (see :mod:`quan.jobs.registry`)."""

from __future__ import annotations

from quan.domain.public_leaf import PublicView
from quan.services.delivery import announcement_release, webhooks
from quan.services.delivery.relay import Schedule
from quan.services.delivery.webhook_sender import WebhookSender
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime

PASS_BUDGET_SECONDS = 10.0


def release_announcements(rt: Runtime, holder: str) -> int:
    """One second's worth of recipients (``QUAN_ANNOUNCEMENT_RATE_PER_SECOND``) to the outbox."""
    return announcement_release.release(
        rt.db,
        rt.clock.now(),
        CitizenKeys.from_settings(rt.settings),
        rate=rt.settings.announcement_rate_per_second,
        locale=rt.settings.message_locale,
    )


def fan_out(rt: Runtime, holder: str) -> int:
    view = PublicView(rt.settings.secret_bytes("pii_key"))
    with rt.db.write() as tx:
        return webhooks.fan_out(tx, rt.clock.now(), view)


def sender(rt: Runtime) -> WebhookSender:
    settings = rt.settings
    return WebhookSender(
        db=rt.db,
        sealing=pii.keyring(settings, webhooks.SECRET_PURPOSE),
        schedule=Schedule.from_settings(settings),
        gone_limit=settings.webhook_gone_limit,
        timeout=settings.webhook_timeout_seconds,
    )


class WebhookJob:
    """The ``webhook-relay`` job with its sender (and HTTP connections) kept between runs."""

    def __init__(self) -> None:
        self._sender: WebhookSender | None = None

    def __call__(self, rt: Runtime, holder: str) -> int:
        if self._sender is None:
            self._sender = sender(rt)
        return self._sender.drain(rt.clock.now, PASS_BUDGET_SECONDS)

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None

"""The outbox relay's ``webhook`` channel: alert notifications POSTed to a receiver's URL.

The message's body is the alert as JSON (:mod:`quan.services.operations.alert_notify`); it is
sent as is, signed in the Standard Webhooks format (``webhook-id`` = the outbox message's id, the
same on every retry, so receivers deduplicate; ``webhook-timestamp``; ``webhook-signature`` with
``QUAN_ALERT_WEBHOOK_SECRET``), like partners' webhooks (:mod:`.webhook_sender`). 2xx: accepted;
408, 429 and 5xx, a timeout or a refused connection: retried with the relay's backoff; other 4xx:
permanent. Errors stored are a status or an exception class, never the URL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from quan.services.delivery.outcomes import Outcome, Outgoing, Result


@dataclass
class AlertWebhookProvider:
    secret: str
    timeout: float = 10.0
    name: str = "webhook"
    keeps_body: bool = False
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def _http(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=self.timeout)
        return client

    def send(self, message: Outgoing) -> Result:
        at = datetime.now(UTC)  # receivers compare the signature's time with their clock
        headers = {
            "content-type": "application/json",
            "webhook-id": message.message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(self.secret).sign(message.message_id, at, message.text),
        }
        try:
            response = self._http().post(message.to, content=message.text.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return Result(Outcome.RETRY, type(exc).__name__)
        status = response.status_code
        if 200 <= status < 300:
            return Result(Outcome.ACCEPTED)
        if status in (408, 429) or status >= 500:
            return Result(Outcome.RETRY, f"http {status}")
        return Result(Outcome.PERMANENT, f"http {status}")

    def close(self) -> None:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None

"""What a provider is given and answers: the message opened for sending, the outcome of one
attempt, and the provider's shape. Kept apart from the adapters so that every adapter module
(:mod:`.providers`, :mod:`.cloud_sms`) imports them without importing the others."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    error: str | None = None  # no personal data: a status code or an error class


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message, opened for sending; ``message_id`` is the idempotency key."""

    message_id: str
    channel: str
    to: str
    kind: str
    template: str  # the provider's template id for the kind (the kind if none is configured)
    params: Mapping[str, str]
    text: str

    def __repr__(self) -> str:
        return f"Outgoing(message_id={self.message_id!r}, kind={self.kind!r})"


class Provider(Protocol):
    name: str
    # True for the development log provider: a "delivered" message stays readable at
    # /dev/outbox until the retention purge (nothing left the machine).
    keeps_body: bool

    def send(self, message: Outgoing) -> Result: ...

    def close(self) -> None: ...

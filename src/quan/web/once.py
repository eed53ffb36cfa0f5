"""Create once per form: the idempotency key a console form carries.

Every form that creates something carries a hidden ``form_key`` drawn when the form was shown
(:func:`new_key`, macro ``form_key`` in ``_macros.html``). :func:`create_once` runs the use case
through :mod:`quan.services.idempotency` — the key row is written in the same transaction as the
row it creates, under the staff member's scope — so a double click, a resent form or a reload
creates one voucher type or batch, and the second request gets the first one's answer.

On PostgreSQL a duplicate that arrives while the first is still running finds the key locked
(``IDEMPOTENCY_IN_PROGRESS``); a person who clicked twice should see the outcome, not that
refusal, so the console waits for the first to finish (briefly, polling) and replays its answer.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from fastapi import Request
from sqlalchemy import Connection

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.edge.deps import idempotency_key
from quan.services import idempotency
from quan.services.idempotency import IN_PROGRESS, Outcome
from quan.services.runtime import Runtime

T = TypeVar("T")

WAIT_SECONDS: Final = 10.0  # how long a duplicate waits for the first request to finish
POLL_SECONDS: Final = 0.05


def new_key() -> str:
    """A fresh key for a form being shown (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def create_once(
    rt: Runtime,
    actor: Actor,
    request: Request,
    form_key: str,
    body: dict[str, Any],
    work: Callable[[Connection], T],
    answer: Callable[[T], dict[str, Any]],
) -> Outcome:
    """Run ``work`` in one write transaction, at most once per (staff member, form key); the
    answer of the first run is stored and given again to a repeat. Without a key (a form from
    an older page) it simply runs."""
    key = form_key.strip()
    idem = idempotency_key(actor, f"console-{key}", request, body) if key else None
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return idempotency.run(rt.db, rt.clock, idem, work, lambda done: (201, answer(done)))
        except QuanError as exc:
            if exc.spec is not IN_PROGRESS or time.monotonic() >= deadline:
                raise
            time.sleep(POLL_SECONDS)

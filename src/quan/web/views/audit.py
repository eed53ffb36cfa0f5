"""What the auditor view shows about the transparency log, and its verification.

Verification runs :func:`quan.verify.verify_log` — the independent verifier, which talks only
HTTP to the public ``/api/v1/audit`` endpoints — against this very server, and keeps its state
(the pinned key and the last verified tree head) in ``var/console-verifier.json``. So each run
after the first proves the log only grew since the last one (a consistency proof), exactly as an
outside auditor's cron job would, and a changed key or a fork turns the panel red.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection

from quan.config import Settings
from quan.services.operations import log_keys
from quan.services.runtime import runtime_clock
from quan.store import log as log_store
from quan.verify import Outcome, VerificationError, verify_log

STATE_FILE = "console-verifier.json"


@dataclass(frozen=True, slots=True)
class LogStatus:
    tree_size: int
    root_hash: str  # base64
    checkpoint: str
    signed_at: datetime
    queued: int  # events not yet in the log
    verifier_key: str


def log_status(tx: Connection, settings: Settings) -> LogStatus | None:
    """The latest checkpoint and the queue behind it; ``None`` before the first checkpoint."""
    head = log_store.latest_checkpoint(tx)
    if head is None:
        return None
    verifier_key = log_keys.published_key(tx, settings)
    return LogStatus(
        tree_size=head.tree_size,
        root_hash=base64.b64encode(head.root_hash).decode("ascii"),
        checkpoint=head.note,
        signed_at=head.created_at,
        queued=log_store.queued_count(tx),
        verifier_key=verifier_key,
    )


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    at: datetime
    outcome: Outcome | None = None
    reason: str | None = None
    message: str | None = None

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.outcome.root_hash).decode("ascii") if self.outcome else ""


def state_path(settings: Settings) -> Path:
    return settings.var_dir / STATE_FILE


def verify(http: httpx.Client, settings: Settings) -> Verification:
    """Run the verifier against the site ``http`` points at; never raises for a failed log."""
    now = runtime_clock(settings).now()
    try:
        outcome = verify_log(http, state_path=state_path(settings))
    except VerificationError as exc:
        return Verification(ok=False, at=now, reason=exc.reason, message=exc.message)
    return Verification(ok=True, at=now, outcome=outcome)


def last_verified(settings: Settings) -> dict[str, Any] | None:
    """What the last passing run saved (size, root, when), if any."""
    path = state_path(settings)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data

"""The till: offline redemptions a terminal records, and the batch it syncs when back online.

A record is what the server needs to judge the redemption again and to keep as evidence: the
token exactly as scanned, the order, when it happened, and a record id the device chose (unique
on that device), which makes a re-sent batch harmless — the server answers a known record with
its first outcome. A voucher already accepted by this till is refused locally
(``ALREADY_REDEEMED``); one spent on another device is only found at sync, where the first record
synced wins.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quan.domain import offline_token
from quan.domain.merchants import Scene
from quan.domain.redemption_situation import ALREADY_REDEEMED, Refusal
from quan.terminal.check import Decision, TerminalProfile, judge
from quan.terminal.keys import Keyring


@dataclass(frozen=True, slots=True)
class OfflineRecord:
    record_id: str
    token: str
    voucher_id: str
    order_amount_fen: int
    category: str
    scene: Scene
    redeemed_at: datetime
    discount_fen: int
    metadata: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """One element of ``records`` in ``POST /api/v1/offline-redemptions``."""
        return {
            "record_id": self.record_id,
            "token": self.token,
            "order_amount_fen": self.order_amount_fen,
            "category": self.category,
            "scene": self.scene.value,
            "redeemed_at": self.redeemed_at.astimezone(UTC).isoformat(),
            "metadata": dict(self.metadata),
        }


class Till:
    """One terminal's offline state: its profile, the keys, and the records not yet synced."""

    def __init__(self, profile: TerminalProfile, keyring: Keyring) -> None:
        self.profile = profile
        self.keyring = keyring
        self._records: dict[str, OfflineRecord] = {}
        self._spent: set[str] = set()

    def redeem(
        self,
        token: str,
        *,
        amount_fen: int,
        category: str,
        now: datetime,
        scene: Scene = Scene.OFFLINE,
        metadata: dict[str, str] | None = None,
    ) -> Decision:
        """Verify, judge, and on acceptance record. Raises ``INVALID_OFFLINE_TOKEN`` for a
        forged, altered or unreadable token."""
        claims = offline_token.verify(token, self.keyring)
        if claims.voucher_id in self._spent:
            return Decision(
                claims=claims, refusal=Refusal(ALREADY_REDEEMED, {"rule": "voucher_status"})
            )
        decision = judge(
            claims, self.profile, amount_fen=amount_fen, category=category, scene=scene, now=now
        )
        if decision.accepted:
            record = OfflineRecord(
                record_id=secrets.token_hex(16),
                token=token.strip(),
                voucher_id=claims.voucher_id,
                order_amount_fen=amount_fen,
                category=category,
                scene=scene,
                redeemed_at=now,
                discount_fen=decision.discount_fen,
                metadata=dict(metadata or {}),
            )
            self._records[record.record_id] = record
            self._spent.add(claims.voucher_id)
        return decision

    def pending(self) -> list[OfflineRecord]:
        return list(self._records.values())

    def sync_body(self) -> dict[str, Any]:
        """The body of ``POST /api/v1/offline-redemptions`` for every pending record."""
        return {"records": [r.to_json() for r in self._records.values()]}

    def forget(self, record_ids: list[str]) -> None:
        """Drop records the server has answered (whatever the outcome: it keeps the evidence)."""
        for record_id in record_ids:
            self._records.pop(record_id, None)

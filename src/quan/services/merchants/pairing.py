"""Pairing a cashier device with a terminal by scanning a QR code, and naming terminals.

The owner asks for a pairing code for one of its terminals; the console shows it as a QR code of
``/cashier/pair?code=…``. The device that opens it and confirms gets the terminal's session
without anyone typing a key:

- the code is 256 random bits, shown once, stored as its SHA-256 hash (unique), and good for
  :data:`PAIRING_TTL`;
- it is used once: the conditional ``UPDATE … WHERE used_at IS NULL AND expires_at > now`` that
  marks it used is the guarantee (of two devices racing, one pairs, the other is refused);
- pairing gives the terminal a **new key** and revokes the one it had, so the device paired last
  is the terminal's only device (pairing again cuts off a lost phone). The new key lives only in
  the device's session cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from quan.domain.auth import Actor, PartnerRole
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.domain.merchants import require_approved
from quan.services.merchants.merchants import get_merchant, visible_merchant
from quan.services.merchants.terminals import Terminal, get_terminal
from quan.services.people import api_keys
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import terminals
from quan.store.portal_tables import terminal_pairings

PAIRING_TTL = timedelta(minutes=10)
LABEL_LENGTH = 100

PAIRING_CODE_UNKNOWN = define(
    "PAIRING_CODE_UNKNOWN",
    Kind.NOT_FOUND,
    zh="这个配对码无效。请店主在商户后台重新生成二维码后再扫描",
    en="This pairing code is not valid; ask the owner to make a new QR code in the merchant portal",
)
PAIRING_CODE_USED = define(
    "PAIRING_CODE_USED",
    Kind.CONFLICT,
    zh="这个配对码已经用过：每个二维码只能配对一台设备。请店主重新生成二维码",
    en="This pairing code has been used: each QR code pairs one device. "
    "Ask the owner for a new one",
)
PAIRING_CODE_EXPIRED = define(
    "PAIRING_CODE_EXPIRED",
    Kind.GONE,
    zh="这个配对码已过期（生成后 {minutes} 分钟内有效）。请店主重新生成二维码",
    en="This pairing code has expired (it is good for {minutes} minutes); "
    "ask the owner for a new one",
)
INVALID_TERMINAL_LABEL = define(
    "INVALID_TERMINAL_LABEL",
    Kind.INVALID,
    zh="收银台名称不能为空，且不超过 {max} 个字符",
    en="A terminal's name must be 1 to {max} characters",
)
REVOKE_UNCONFIRMED = define(
    "TERMINAL_REVOKE_UNCONFIRMED",
    Kind.INVALID,
    zh="此操作无法撤销，请先勾选确认",
    en="This cannot be undone; tick the confirmation first",
)


def check_label(label: str) -> str:
    label = label.strip()
    if not label or len(label) > LABEL_LENGTH:
        raise QuanError(INVALID_TERMINAL_LABEL, max=LABEL_LENGTH)
    return label


@dataclass(frozen=True, slots=True)
class Pairing:
    code: str  # shown once (as a QR code), never stored
    expires_at: datetime
    terminal: Terminal


@dataclass(frozen=True, slots=True)
class Paired:
    terminal: Terminal
    merchant_name: str
    api_key: str  # the terminal's new key, for the device's session cookie only


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _live_terminal(tx: Connection, merchant_id: str, terminal_id: str) -> Terminal:
    terminal = get_terminal(tx, merchant_id, terminal_id)
    if terminal.revoked_at is not None:
        raise QuanError(NOT_FOUND, what=f"active terminal {terminal_id}")
    return terminal


def create_pairing(
    tx: Connection, now: datetime, actor: Actor, merchant_id: str, terminal_id: str
) -> Pairing:
    """A pairing code for a live terminal of an approved merchant the actor may manage."""
    merchant = visible_merchant(tx, actor, merchant_id, for_update=True)
    require_approved(merchant.status)
    terminal = _live_terminal(tx, merchant_id, terminal_id)
    code = secrets.token_urlsafe(32)
    pairing_id = new_id("pair")
    tx.execute(
        insert(terminal_pairings).values(
            id=pairing_id,
            merchant_id=merchant_id,
            terminal_id=terminal_id,
            code_hash=_hash(code),
            expires_at=now + PAIRING_TTL,
            used_at=None,
            key_id=None,
            created_by=actor.label,
            created_at=now,
        )
    )
    record_event(
        tx,
        type="terminal.pairing_offered",
        actor=actor,
        subject_type="terminal",
        subject_id=terminal_id,
        at=now,
        payload={"merchant_id": merchant_id, "pairing_id": pairing_id},
    )
    return Pairing(code, now + PAIRING_TTL, terminal)


def _usable(tx: Connection, now: datetime, code: str) -> tuple[str, Terminal]:
    """The pairing row's id and its terminal, or the refusal (unknown, used, expired)."""
    row = tx.execute(
        select(terminal_pairings).where(terminal_pairings.c.code_hash == _hash(code))
    ).first()
    if row is None:
        raise QuanError(PAIRING_CODE_UNKNOWN)
    if row.used_at is not None:
        raise QuanError(PAIRING_CODE_USED)
    if row.expires_at <= now:
        raise QuanError(PAIRING_CODE_EXPIRED, minutes=int(PAIRING_TTL.total_seconds() // 60))
    merchant = get_merchant(tx, row.merchant_id)
    require_approved(merchant.status)
    terminal = get_terminal(tx, row.merchant_id, row.terminal_id)
    if terminal.revoked_at is not None:
        raise QuanError(PAIRING_CODE_UNKNOWN)
    return row.id, terminal


def preview(tx: Connection, now: datetime, code: str) -> tuple[Terminal, str]:
    """What a pairing code would pair (the terminal and the merchant's name), changing nothing:
    the page a device shows before the cashier confirms (a link preview must not pair)."""
    _, terminal = _usable(tx, now, code)
    return terminal, get_merchant(tx, terminal.merchant_id).name


def pair(tx: Connection, now: datetime, code: str) -> Paired:
    """Use the code: the terminal gets a new key (its old one is revoked), the code is spent."""
    pairing_id, terminal = _usable(tx, now, code)
    device = Actor(
        kind=PartnerRole.TERMINAL.value,
        id=terminal.id,
        role=PartnerRole.TERMINAL.value,
        merchant_id=terminal.merchant_id,
    )
    key_id, key = api_keys.create_key(
        tx,
        now,
        device,
        owner_type=PartnerRole.TERMINAL.value,
        owner_id=terminal.id,
        label=f"terminal {terminal.id}",
    )
    spent = tx.execute(
        update(terminal_pairings)
        .where(
            terminal_pairings.c.id == pairing_id,
            terminal_pairings.c.used_at.is_(None),
            terminal_pairings.c.expires_at > now,
        )
        .values(used_at=now, key_id=key_id)
    ).rowcount
    if spent != 1:  # another device was first; the transaction (and the key) is rolled back
        raise QuanError(PAIRING_CODE_USED)
    tx.execute(update(terminals).where(terminals.c.id == terminal.id).values(key_id=key_id))
    api_keys.revoke_key(tx, now, device, terminal.key_id)
    record_event(
        tx,
        type="terminal.paired",
        actor=device,
        subject_type="terminal",
        subject_id=terminal.id,
        at=now,
        payload={
            "merchant_id": terminal.merchant_id,
            "pairing_id": pairing_id,
            "key_id": key_id,
            "revoked_key_id": terminal.key_id,
        },
    )
    paired = get_terminal(tx, terminal.merchant_id, terminal.id)
    return Paired(paired, get_merchant(tx, terminal.merchant_id).name, key)


def rename_terminal(
    tx: Connection, now: datetime, actor: Actor, merchant_id: str, terminal_id: str, label: str
) -> Terminal:
    """Give a live terminal another name (e.g. 前台 1 号 → 二楼收银台)."""
    label = check_label(label)
    visible_merchant(tx, actor, merchant_id)
    _live_terminal(tx, merchant_id, terminal_id)
    tx.execute(update(terminals).where(terminals.c.id == terminal_id).values(label=label))
    record_event(
        tx,
        type="terminal.renamed",
        actor=actor,
        subject_type="terminal",
        subject_id=terminal_id,
        at=now,
        payload={"merchant_id": merchant_id},
    )
    return get_terminal(tx, merchant_id, terminal_id)

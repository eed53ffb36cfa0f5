"""A merchant's credentials: its owner keys and its terminals (cashier devices).

Both are API keys (:mod:`quan.services.people.api_keys`: shown once, stored hashed, revocable):

- an **owner key** (owner ``merchant``, the merchant id) is the merchant's own sign-in. The first
  is handed out with the application; the merchant or a reviewer can issue another (a lost key)
  and revoke any. It manages terminals and reads the merchant's records.
- a **terminal key** (owner ``terminal``, the terminal id) belongs to one terminal row; revoking
  the terminal revokes its key in the same transaction. Terminals are added only to an approved
  merchant.

:func:`actor_for_key` turns either into an :class:`Actor` bound to its merchant, so every later
check ("this merchant's data only") reads ``actor.merchant_id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from quan.domain.auth import Actor, PartnerRole
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.merchants import require_approved
from quan.services.merchants.merchants import visible_merchant
from quan.services.people import api_keys
from quan.services.people.api_keys import ApiKeyOwner
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import terminals
from quan.store.pagination import page
from quan.store.tables import api_keys as api_keys_table

OWNER_KEY_LABEL = "merchant owner"
KEY_OWNER_TYPES = frozenset({PartnerRole.MERCHANT.value, PartnerRole.TERMINAL.value})


@dataclass(frozen=True, slots=True)
class Terminal:
    id: str
    merchant_id: str
    label: str
    key_id: str
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    api_key: str  # the full key: returned once, never stored


@dataclass(frozen=True, slots=True)
class OwnerKey:
    key_id: str
    label: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


def actor_for_key(tx: Connection, owner: ApiKeyOwner) -> Actor | None:
    """The principal behind a merchant or terminal key, bound to its merchant (or ``None``)."""
    if owner.owner_type == PartnerRole.MERCHANT:
        merchant_id: str | None = owner.owner_id
    else:
        merchant_id = tx.execute(
            select(terminals.c.merchant_id).where(
                terminals.c.id == owner.owner_id, terminals.c.revoked_at.is_(None)
            )
        ).scalar_one_or_none()
    if merchant_id is None:
        return None
    return Actor(
        kind=owner.owner_type, id=owner.owner_id, role=owner.owner_type, merchant_id=merchant_id
    )


def terminal_actors(tx: Connection, presented: Iterable[str]) -> dict[str, Actor]:
    """The terminals behind the presented keys, in one read: the actor of each genuine,
    unrevoked key of an unrevoked terminal (as :func:`actor_for_key` makes it); other keys,
    owner keys included, are absent."""
    wanted: dict[str, list[tuple[str, str]]] = {}
    for key in set(presented):
        parsed = api_keys.parse(key)
        if parsed is not None:
            wanted.setdefault(parsed[0], []).append((key, parsed[1]))
    if not wanted:
        return {}
    rows = tx.execute(
        select(
            api_keys_table.c.id,
            api_keys_table.c.secret_hash,
            terminals.c.id.label("terminal_id"),
            terminals.c.merchant_id,
        )
        .join(terminals, terminals.c.id == api_keys_table.c.owner_id)
        .where(
            api_keys_table.c.id.in_(list(wanted)),
            api_keys_table.c.revoked_at.is_(None),
            api_keys_table.c.owner_type == PartnerRole.TERMINAL.value,
            terminals.c.revoked_at.is_(None),
        )
    ).all()
    found: dict[str, Actor] = {}
    for row in rows:
        for key, secret in wanted[row.id]:
            if api_keys.genuine(row.secret_hash, secret):
                found[key] = Actor(
                    kind=PartnerRole.TERMINAL.value,
                    id=row.terminal_id,
                    role=PartnerRole.TERMINAL.value,
                    merchant_id=row.merchant_id,
                )
    return found


def issue_owner_key(tx: Connection, now: datetime, actor: Actor, merchant_id: str) -> IssuedKey:
    """A new owner key for the merchant; older keys keep working until revoked."""
    visible_merchant(tx, actor, merchant_id)
    key_id, key = api_keys.create_key(
        tx,
        now,
        actor,
        owner_type=PartnerRole.MERCHANT.value,
        owner_id=merchant_id,
        label=OWNER_KEY_LABEL,
    )
    return IssuedKey(key_id, key)


def owner_keys(tx: Connection, actor: Actor, merchant_id: str) -> list[OwnerKey]:
    visible_merchant(tx, actor, merchant_id)
    rows = tx.execute(
        select(api_keys_table)
        .where(
            api_keys_table.c.owner_type == PartnerRole.MERCHANT.value,
            api_keys_table.c.owner_id == merchant_id,
        )
        .order_by(api_keys_table.c.id)
    )
    return [OwnerKey(r.id, r.label, r.created_by, r.created_at, r.revoked_at) for r in rows]


def revoke_owner_key(
    tx: Connection, now: datetime, actor: Actor, merchant_id: str, key_id: str
) -> None:
    visible_merchant(tx, actor, merchant_id)
    owned = tx.execute(
        select(api_keys_table.c.id).where(
            api_keys_table.c.id == key_id,
            api_keys_table.c.owner_type == PartnerRole.MERCHANT.value,
            api_keys_table.c.owner_id == merchant_id,
        )
    ).first()
    if owned is None:
        raise QuanError(NOT_FOUND, what=f"owner key {key_id} of merchant {merchant_id}")
    api_keys.revoke_key(tx, now, actor, key_id)


def _terminal(row: object) -> Terminal:
    m = row._mapping  # type: ignore[attr-defined]
    return Terminal(
        id=m["id"],
        merchant_id=m["merchant_id"],
        label=m["label"],
        key_id=m["key_id"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        revoked_by=m["revoked_by"],
        revoked_at=m["revoked_at"],
    )


def create_terminal(
    tx: Connection, now: datetime, actor: Actor, merchant_id: str, label: str
) -> tuple[Terminal, str]:
    """Register a terminal of an approved merchant; returns it and its key (shown once)."""
    merchant = visible_merchant(tx, actor, merchant_id, for_update=True)
    require_approved(merchant.status)
    terminal_id = new_id("trm")
    key_id, key = api_keys.create_key(
        tx,
        now,
        actor,
        owner_type=PartnerRole.TERMINAL.value,
        owner_id=terminal_id,
        # The merchant's own label may name a cashier; it stays in the terminal row, out of
        # the key's event.
        label=f"terminal {terminal_id}",
    )
    tx.execute(
        insert(terminals).values(
            id=terminal_id,
            merchant_id=merchant_id,
            label=label,
            key_id=key_id,
            created_by=actor.label,
            created_at=now,
        )
    )
    record_event(
        tx,
        type="terminal.created",
        actor=actor,
        subject_type="terminal",
        subject_id=terminal_id,
        at=now,
        payload={"merchant_id": merchant_id, "key_id": key_id},
    )
    return get_terminal(tx, merchant_id, terminal_id), key


def get_terminal(tx: Connection, merchant_id: str, terminal_id: str) -> Terminal:
    row = tx.execute(
        select(terminals).where(
            terminals.c.id == terminal_id, terminals.c.merchant_id == merchant_id
        )
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"terminal {terminal_id}")
    return _terminal(row)


def list_terminals(
    tx: Connection, actor: Actor, merchant_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Terminal], str | None]:
    """One page of the merchant's terminals, revoked ones included, oldest first."""
    visible_merchant(tx, actor, merchant_id)
    query = select(terminals).where(terminals.c.merchant_id == merchant_id)
    rows, next_cursor = page(tx, query, terminals.c.id, limit=limit, cursor=cursor)
    return [_terminal(r) for r in rows], next_cursor


def revoke_terminal(
    tx: Connection, now: datetime, actor: Actor, merchant_id: str, terminal_id: str
) -> Terminal:
    """Revoke a terminal and its key at once. Revoking twice is refused (``NOT_FOUND``)."""
    visible_merchant(tx, actor, merchant_id, for_update=True)
    terminal = get_terminal(tx, merchant_id, terminal_id)
    revoked = tx.execute(
        update(terminals)
        .where(terminals.c.id == terminal_id, terminals.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor.label)
    ).rowcount
    if revoked != 1:
        raise QuanError(NOT_FOUND, what=f"active terminal {terminal_id}")
    api_keys.revoke_key(tx, now, actor, terminal.key_id)
    record_event(
        tx,
        type="terminal.revoked",
        actor=actor,
        subject_type="terminal",
        subject_id=terminal_id,
        at=now,
        payload={"merchant_id": merchant_id, "key_id": terminal.key_id},
    )
    return get_terminal(tx, merchant_id, terminal_id)

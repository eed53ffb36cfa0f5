"""Partner API clients: client credentials for partner wallets and systems (issue 25, item 8).

An admin creates a client (API, CLI or console) and is shown its secret once: only its SHA-256
is stored (256 random bits, so a fast hash is as good as a slow one). The partner exchanges
``client_id`` + ``client_secret`` for a bearer token (``POST /api/v1/partner/token``) that lives
``QUAN_PARTNER_TOKEN_TTL_SECONDS`` (15 minutes by default) and acts as ``Actor(kind="partner")``.
Revoking a client stops its tokens at once (every request reads the client) and its
subscriptions with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from quan.domain.auth import Actor
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.notices import PARTNER_CREDENTIALS_INVALID
from quan.services.people.tokens import TokenSigner
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.notify_tables import partner_clients, webhook_subscriptions

PARTNER = "partner"  # the actor's kind and role


@dataclass(frozen=True, slots=True)
class PartnerClient:
    id: str
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Issued:
    client: PartnerClient
    secret: str | None  # shown once, never stored; None: a repeated request found the client


@dataclass(frozen=True, slots=True)
class PartnerToken:
    access_token: str
    expires_at: datetime


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _client(row: object) -> PartnerClient:
    m = row._mapping  # type: ignore[attr-defined]
    return PartnerClient(m["id"], m["name"], m["created_by"], m["created_at"], m["revoked_at"])


def create_client(
    tx: Connection, now: datetime, actor: Actor, name: str, *, idempotency_key: str | None = None
) -> Issued:
    """A new client and its secret; the same creator's same ``idempotency_key`` finds the
    client made the first time (without its secret, which only that answer carried)."""
    if idempotency_key is not None:
        found = tx.execute(
            select(partner_clients.c.id).where(
                partner_clients.c.created_by == actor.label,
                partner_clients.c.idempotency_key == idempotency_key,
            )
        ).scalar()
        if found is not None:
            return Issued(get_client(tx, found), None)
    client_id = new_id("pcl")
    secret = "pcs_" + secrets.token_urlsafe(32)
    tx.execute(
        insert(partner_clients).values(
            id=client_id,
            name=name.strip()[:100],
            secret_hash=_hash(secret),
            created_by=actor.label,
            created_at=now,
            idempotency_key=idempotency_key,
        )
    )
    record_event(
        tx,
        type="partner_client.created",
        actor=actor,
        subject_type="partner_client",
        subject_id=client_id,
        at=now,
        payload={"name": name.strip()[:100]},
    )
    return Issued(get_client(tx, client_id), secret)


def get_client(tx: Connection, client_id: str) -> PartnerClient:
    row = tx.execute(select(partner_clients).where(partner_clients.c.id == client_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"partner client {client_id}")
    return _client(row)


def list_clients(tx: Connection, limit: int = 200) -> list[PartnerClient]:
    rows = tx.execute(
        select(partner_clients).order_by(partner_clients.c.created_at.desc()).limit(limit)
    )
    return [_client(r) for r in rows]


def revoke_client(tx: Connection, now: datetime, actor: Actor, client_id: str) -> PartnerClient:
    """Revoke: its tokens stop now and its subscriptions are disabled (idempotent)."""
    get_client(tx, client_id)
    done = tx.execute(
        update(partner_clients)
        .where(partner_clients.c.id == client_id, partner_clients.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if done:
        tx.execute(
            update(webhook_subscriptions)
            .where(
                webhook_subscriptions.c.client_id == client_id,
                webhook_subscriptions.c.status == "active",
            )
            .values(status="disabled", disabled_at=now)
        )
        record_event(
            tx,
            type="partner_client.revoked",
            actor=actor,
            subject_type="partner_client",
            subject_id=client_id,
            at=now,
        )
    return get_client(tx, client_id)


def issue_token(
    tx: Connection, now: datetime, signer: TokenSigner, client_id: str, secret: str
) -> PartnerToken:
    """Client credentials → a short-lived bearer token; one refusal for every wrong case."""
    row = tx.execute(
        select(partner_clients.c.secret_hash).where(
            partner_clients.c.id == client_id[:64], partner_clients.c.revoked_at.is_(None)
        )
    ).first()
    # Compare against a dummy when the client is unknown: the answer takes as long either way.
    stored = row.secret_hash if row is not None else _hash("")
    if not hmac.compare_digest(stored, _hash(secret)) or row is None:
        raise QuanError(PARTNER_CREDENTIALS_INVALID)
    token, expires = signer.issue(PARTNER, client_id, now)
    return PartnerToken(token, expires)


def actor_for(tx: Connection, client_id: str) -> Actor | None:
    """The actor of a partner token, while its client is not revoked."""
    alive = tx.execute(
        select(partner_clients.c.id).where(
            partner_clients.c.id == client_id, partner_clients.c.revoked_at.is_(None)
        )
    ).first()
    if alive is None:
        return None
    return Actor(kind=PARTNER, id=client_id, role=PARTNER)

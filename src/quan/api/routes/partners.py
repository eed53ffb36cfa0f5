"""Partner API clients and their webhooks (issue 25, item 8; docs/delivery.md, "Partner webhooks").

Admins create and revoke clients (the secret is shown once). A client exchanges its id and
secret for a short-lived bearer token, subscribes endpoints to event types, reads its
deliveries and every attempt, and replays a delivery or a time range (same ``webhook-id``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from quan.domain.notices import WEBHOOK_EVENT_TYPES
from quan.edge.deps import (
    PUBLIC,
    AdminOnly,
    IdempotencyHeader,
    PartnerOnly,
    PartnerOrAdmin,
    RuntimeDep,
)
from quan.services.delivery import partners, webhooks
from quan.services.people import pii
from quan.services.people.tokens import TokenSigner

router = APIRouter(tags=["partners"])


class ClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ClientOut(BaseModel):
    id: str
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedOut(ClientOut):
    client_secret: str | None  # shown once (null when an Idempotency-Key found the client)


class TokenIn(BaseModel):
    grant_type: Literal["client_credentials"] = "client_credentials"
    client_id: str = Field(min_length=1, max_length=64)
    client_secret: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (the scheme, not a secret)
    expires_in: int
    expires_at: datetime


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    event_types: list[str] = Field(min_length=1, max_length=len(WEBHOOK_EVENT_TYPES))


class SubscriptionOut(BaseModel):
    id: str
    client_id: str
    url: str
    event_types: list[str]
    status: str
    gone_count: int
    log_cursor: int
    disabled_at: datetime | None
    created_at: datetime


class NewSubscriptionOut(SubscriptionOut):
    secret: str  # whsec_…: shown once; verify deliveries with standardwebhooks.Webhook(secret)


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    event_id: int
    log_index: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    replays: int
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class ReplayRangeIn(BaseModel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class ReplayedOut(BaseModel):
    replayed: int


def _client(c: partners.PartnerClient) -> ClientOut:
    return ClientOut(**asdict(c))


@router.post("/partner-clients", response_model=IssuedOut, status_code=201)
def create_client(
    body: ClientIn, actor: AdminOnly, rt: RuntimeDep, key: IdempotencyHeader = None
) -> IssuedOut:
    """Create a partner client; ``client_secret`` is in this answer only (stored hashed). A
    retry with the same ``Idempotency-Key`` answers the client made first, its secret null."""
    with rt.db.write() as tx:
        issued = partners.create_client(
            tx, rt.clock.now(), actor, body.name, idempotency_key=key[:200] if key else None
        )
    return IssuedOut(**asdict(issued.client), client_secret=issued.secret)


@router.get("/partner-clients", response_model=list[ClientOut])
def list_clients(actor: AdminOnly, rt: RuntimeDep) -> list[ClientOut]:
    with rt.db.read() as tx:
        return [_client(c) for c in partners.list_clients(tx)]


@router.post("/partner-clients/{client_id}/revoke", response_model=ClientOut)
def revoke_client(client_id: str, actor: AdminOnly, rt: RuntimeDep) -> ClientOut:
    """Revoke a client: its tokens stop now and its subscriptions are disabled."""
    with rt.db.write() as tx:
        return _client(partners.revoke_client(tx, rt.clock.now(), actor, client_id))


@router.post("/partner/token", response_model=TokenOut, dependencies=[Depends(PUBLIC)])
def issue_token(body: TokenIn, rt: RuntimeDep) -> TokenOut:
    """Client credentials (JSON) for a bearer token of ``QUAN_PARTNER_TOKEN_TTL_SECONDS``.
    401 ``PARTNER_CREDENTIALS_INVALID`` for an unknown or revoked client or a wrong secret."""
    ttl = rt.settings.partner_token_ttl_seconds
    signer = TokenSigner(rt.settings.secret_bytes("secret_key"), ttl)
    with rt.db.read() as tx:
        token = partners.issue_token(tx, rt.clock.now(), signer, body.client_id, body.client_secret)
    return TokenOut(access_token=token.access_token, expires_in=ttl, expires_at=token.expires_at)


@router.get("/partner/event-types", response_model=list[str])
def event_types(actor: PartnerOrAdmin) -> list[str]:
    """The event types one may subscribe to (docs/delivery.md says what each carries)."""
    return list(WEBHOOK_EVENT_TYPES)


@router.post("/partner/subscriptions", response_model=NewSubscriptionOut, status_code=201)
def subscribe(body: SubscriptionIn, actor: PartnerOnly, rt: RuntimeDep) -> NewSubscriptionOut:
    """Subscribe an endpoint (https://; http:// outside production) to event types; events
    logged from now on reach it. ``secret`` is in this answer only. 422
    ``UNKNOWN_EVENT_TYPE``, ``WEBHOOK_URL_INVALID``."""
    sealing = pii.keyring(rt.settings, webhooks.SECRET_PURPOSE)
    with rt.db.write() as tx:
        made = webhooks.subscribe(
            tx,
            rt.clock.now(),
            actor,
            sealing,
            url=body.url,
            event_types=body.event_types,
            production=rt.settings.is_production,
        )
    return NewSubscriptionOut(**asdict(made.subscription), secret=made.secret)


@router.get("/partner/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(actor: PartnerOrAdmin, rt: RuntimeDep) -> list[SubscriptionOut]:
    """The caller's subscriptions (an admin: everyone's)."""
    with rt.db.read() as tx:
        return [SubscriptionOut(**asdict(s)) for s in webhooks.subscriptions(tx, actor)]


@router.post("/partner/subscriptions/{subscription_id}/disable", response_model=SubscriptionOut)
def disable(subscription_id: str, actor: PartnerOrAdmin, rt: RuntimeDep) -> SubscriptionOut:
    with rt.db.write() as tx:
        found = webhooks.set_active(tx, rt.clock.now(), actor, subscription_id, active=False)
    return SubscriptionOut(**asdict(found))


@router.post("/partner/subscriptions/{subscription_id}/enable", response_model=SubscriptionOut)
def enable(subscription_id: str, actor: PartnerOrAdmin, rt: RuntimeDep) -> SubscriptionOut:
    """Enable an endpoint again (after it was disabled by 410s): its queued deliveries go."""
    with rt.db.write() as tx:
        found = webhooks.set_active(tx, rt.clock.now(), actor, subscription_id, active=True)
    return SubscriptionOut(**asdict(found))


@router.get("/partner/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    subscription_id: str, actor: PartnerOrAdmin, rt: RuntimeDep
) -> list[DeliveryOut]:
    """The subscription's latest 100 deliveries, newest event first."""
    with rt.db.read() as tx:
        return [DeliveryOut(**asdict(d)) for d in webhooks.deliveries(tx, actor, subscription_id)]


@router.get("/partner/deliveries/{delivery_id}/attempts", response_model=list[AttemptOut])
def list_attempts(delivery_id: str, actor: PartnerOrAdmin, rt: RuntimeDep) -> list[AttemptOut]:
    """Every attempt at one delivery: when, the status answered or the error, how long."""
    with rt.db.read() as tx:
        return [AttemptOut(**asdict(a)) for a in webhooks.attempts(tx, actor, delivery_id)]


@router.post("/partner/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
def replay(delivery_id: str, actor: PartnerOrAdmin, rt: RuntimeDep) -> DeliveryOut:
    """Send a delivery again under the same ``webhook-id``."""
    with rt.db.write() as tx:
        return DeliveryOut(**asdict(webhooks.replay(tx, rt.clock.now(), actor, delivery_id)))


@router.post("/partner/subscriptions/{subscription_id}/replay", response_model=ReplayedOut)
def replay_range(
    subscription_id: str, body: ReplayRangeIn, actor: PartnerOrAdmin, rt: RuntimeDep
) -> ReplayedOut:
    """Send again every delivery made in ``[from, to)`` (at most 31 days), each under its own
    ``webhook-id``. 422 ``REPLAY_RANGE_INVALID``."""
    with rt.db.write() as tx:
        count = webhooks.replay_range(
            tx, rt.clock.now(), actor, subscription_id, body.start, body.end
        )
    return ReplayedOut(replayed=count)

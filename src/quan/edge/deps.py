"""Dependencies shared by the routes: the runtime, the caller, role declarations, idempotency.

Every route declares who may call it with exactly one of :class:`Allow` (roles) or
:data:`PUBLIC`; a test walks the app and fails on any route that declares neither.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from quan.domain.auth import Actor, PartnerRole, Role
from quan.domain.errors import FORBIDDEN, UNAUTHORIZED, QuanError
from quan.services.delivery import partners
from quan.services.idempotency import IdempotencyKey
from quan.services.merchants import merchants, terminals
from quan.services.merchants.owner_signin import OWNER_SESSION_KIND
from quan.services.people import api_keys, citizens, staff
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="A staff token from /auth/token or an API key")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def citizen_keys(rt: RuntimeDep) -> CitizenKeys:
    return CitizenKeys.from_settings(rt.settings)


KeysDep = Annotated[CitizenKeys, Depends(citizen_keys)]


def client_ip(request: Request) -> str:
    """The client's address: the peer's, or, behind a proxy listed in ``FORWARDED_ALLOW_IPS``
    (``quan serve`` runs uvicorn with proxy headers on), the one the proxy forwarded. A client
    cannot choose it by sending ``X-Forwarded-For`` itself (test_guesses.py)."""
    return request.client.host if request.client else "unknown"


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authenticate(runtime: Runtime, credentials: HTTPAuthorizationCredentials | None) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise QuanError(UNAUTHORIZED)
    presented = credentials.credentials
    with runtime.db.read() as tx:
        if presented.startswith("qk_"):
            owner = api_keys.authenticate(tx, presented)
            if owner is None:
                raise QuanError(UNAUTHORIZED)
            if owner.owner_type in terminals.KEY_OWNER_TYPES:
                # Merchant owners and terminals carry their merchant id (scoped access).
                bound = terminals.actor_for_key(tx, owner)
                if bound is None:
                    raise QuanError(UNAUTHORIZED)
                return bound
            return Actor(kind=owner.owner_type, id=owner.owner_id, role=owner.owner_type)
        claims = runtime.tokens.verify(presented, runtime.clock.now())
        if claims is not None and claims.subject_kind == partners.PARTNER:
            # A partner client's token: dead as soon as the client is revoked.
            partner = partners.actor_for(tx, claims.subject_id)
            if partner is None:
                raise QuanError(UNAUTHORIZED)
            return partner
        if claims is not None and claims.subject_kind == "citizen":
            # Read on each request, like staff accounts, so a token never outlives its citizen.
            citizen = citizens.find_citizen(tx, claims.subject_id)
            if citizen is None:
                raise QuanError(UNAUTHORIZED)
            return citizen.actor
        if claims is not None and claims.subject_kind == OWNER_SESSION_KIND:
            # The merchant portal's session (an owner signed in by SMS code): bound, like an
            # owner key, to its merchant, which must still exist.
            if not merchants.exists(tx, claims.subject_id):
                raise QuanError(UNAUTHORIZED)
            return Actor(kind=PartnerRole.MERCHANT.value, id=claims.subject_id,
                         role=PartnerRole.MERCHANT.value, merchant_id=claims.subject_id)
        if claims is None or claims.subject_kind != "staff":
            raise QuanError(UNAUTHORIZED)
        user = staff.get_user(tx, claims.subject_id)
    # A token older than the account's last revocation (disable, revoke, sign-out) is dead.
    if user is None or not user.active or user.token_version != claims.version:
        raise QuanError(UNAUTHORIZED)
    return user.actor()


class Allow:
    """A route dependency: the caller must be signed in with one of ``roles``."""

    def __init__(self, *roles: Role | str) -> None:
        self.roles = frozenset(str(r) for r in roles)

    def __call__(self, runtime: RuntimeDep, credentials: Credentials) -> Actor:
        actor = authenticate(runtime, credentials)
        if actor.role not in self.roles:
            raise QuanError(FORBIDDEN)
        return actor


class Public:
    """A route dependency that lets anyone in, declared so that openness is a decision."""

    roles: frozenset[str] = frozenset({"anyone"})

    def __call__(self) -> None:
        return None


PUBLIC = Public()

STAFF = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)
OperatorOrAdmin = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR))]
StaffReader = Annotated[Actor, Depends(Allow(*STAFF))]
AdminOnly = Annotated[Actor, Depends(Allow(Role.ADMIN))]
AdminOrAuditor = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.AUDITOR))]
PartnerOnly = Annotated[Actor, Depends(Allow(partners.PARTNER))]
PartnerOrAdmin = Annotated[Actor, Depends(Allow(partners.PARTNER, Role.ADMIN))]

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key and body replays the first answer instead of "
        "acting twice; the same key with another body is refused (422).",
    ),
]


def idempotency_key(
    actor: Actor, key: str | None, request: Request, body: Any
) -> IdempotencyKey | None:
    if key is None:
        return None
    return IdempotencyKey.of(actor.label, key, request.method, request.url.path, body)

"""A merchant's credentials: terminals (cashier devices) and owner keys, each an API key shown
once. The merchant manages its own; operators of its issuer and admins may too (a merchant
that lost every key gets a new one from its reviewer)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.merchants import (
    KeyIssued,
    OwnerKeyPublic,
    TerminalCreate,
    TerminalIssued,
    TerminalPublic,
)
from quan.domain.auth import Actor, PartnerRole, Role
from quan.edge.deps import Allow, RuntimeDep
from quan.services.merchants import terminals

router = APIRouter(tags=["merchants"])

KeyManager = Annotated[Actor, Depends(Allow(PartnerRole.MERCHANT, Role.OPERATOR, Role.ADMIN))]
KeyReader = Annotated[
    Actor, Depends(Allow(PartnerRole.MERCHANT, Role.OPERATOR, Role.ADMIN, Role.AUDITOR))
]


def _public(terminal: terminals.Terminal) -> TerminalPublic:
    return TerminalPublic(**asdict(terminal))


@router.post("/merchants/{merchant_id}/terminals", response_model=TerminalIssued, status_code=201)
def create_terminal(
    merchant_id: str, body: TerminalCreate, actor: KeyManager, rt: RuntimeDep
) -> TerminalIssued:
    """Register a terminal of an approved merchant. Its API key is in this answer only."""
    with rt.db.write() as tx:
        terminal, key = terminals.create_terminal(
            tx, rt.clock.now(), actor, merchant_id, body.label
        )
    return TerminalIssued(
        terminal_id=terminal.id, merchant_id=merchant_id, api_key=key, terminal=_public(terminal)
    )


@router.get("/merchants/{merchant_id}/terminals", response_model=Page[TerminalPublic])
def list_terminals(
    merchant_id: str,
    actor: KeyReader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[TerminalPublic]:
    """The merchant's terminals, revoked ones included, oldest first."""
    with rt.db.read() as tx:
        items, next_cursor = terminals.list_terminals(
            tx, actor, merchant_id, limit=limit, cursor=cursor
        )
    return Page(items=[_public(t) for t in items], next_cursor=next_cursor)


@router.post(
    "/merchants/{merchant_id}/terminals/{terminal_id}/revoke", response_model=TerminalPublic
)
def revoke_terminal(
    merchant_id: str, terminal_id: str, actor: KeyManager, rt: RuntimeDep
) -> TerminalPublic:
    """Revoke a terminal: its key stops working at once."""
    with rt.db.write() as tx:
        terminal = terminals.revoke_terminal(tx, rt.clock.now(), actor, merchant_id, terminal_id)
    return _public(terminal)


@router.post("/merchants/{merchant_id}/owner-keys", response_model=KeyIssued, status_code=201)
def issue_owner_key(merchant_id: str, actor: KeyManager, rt: RuntimeDep) -> KeyIssued:
    """Another owner key for the merchant (e.g. a lost one, to be revoked). Shown once."""
    with rt.db.write() as tx:
        issued = terminals.issue_owner_key(tx, rt.clock.now(), actor, merchant_id)
    return KeyIssued(key_id=issued.key_id, api_key=issued.api_key)


@router.get("/merchants/{merchant_id}/owner-keys", response_model=list[OwnerKeyPublic])
def list_owner_keys(merchant_id: str, actor: KeyReader, rt: RuntimeDep) -> list[OwnerKeyPublic]:
    with rt.db.read() as tx:
        keys = terminals.owner_keys(tx, actor, merchant_id)
    return [OwnerKeyPublic(**asdict(k)) for k in keys]


@router.post(
    "/merchants/{merchant_id}/owner-keys/{key_id}/revoke", status_code=204, response_model=None
)
def revoke_owner_key(merchant_id: str, key_id: str, actor: KeyManager, rt: RuntimeDep) -> None:
    """Revoke an owner key: it stops working at once."""
    with rt.db.write() as tx:
        terminals.revoke_owner_key(tx, rt.clock.now(), actor, merchant_id, key_id)

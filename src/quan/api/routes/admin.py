"""Issuers and staff accounts (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import select

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.staff import IssuerCreate, IssuerPublic, StaffCreate, StaffPublic
from quan.edge.deps import PUBLIC, AdminOnly, RuntimeDep
from quan.services.money import issuers as issuer_service
from quan.services.people import staff
from quan.store.pagination import page
from quan.store.tables import issuers, staff_users

router = APIRouter(tags=["admin"])


@router.post("/issuers", response_model=IssuerPublic, status_code=201)
def create_issuer(body: IssuerCreate, actor: AdminOnly, rt: RuntimeDep) -> IssuerPublic:
    """Register a body that runs programs (a city's commerce bureau, a district)."""
    with rt.db.write() as tx:
        issuer = issuer_service.create_issuer(
            tx, rt.clock.now(), actor, name=body.name, region_code=body.region_code
        )
    return IssuerPublic(
        id=issuer.id, name=issuer.name, region_code=issuer.region_code, created_at=issuer.created_at
    )


@router.get("/issuers", response_model=Page[IssuerPublic], dependencies=[Depends(PUBLIC)])
def list_issuers(
    rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[IssuerPublic]:
    """The bodies that run programs: public, so that merchants know whom to apply to."""
    query = select(issuers)
    with rt.db.read() as tx:
        rows, next_cursor = page(tx, query, issuers.c.id, limit=limit, cursor=cursor)
    return Page(items=[IssuerPublic(**r._mapping) for r in rows], next_cursor=next_cursor)


@router.post("/users", response_model=StaffPublic, status_code=201)
def create_user(body: StaffCreate, actor: AdminOnly, rt: RuntimeDep) -> StaffPublic:
    """Create a staff account (admin, operator of an issuer, auditor, agent of an issuer)."""
    with rt.db.write() as tx:
        user = staff.create_user(
            tx,
            rt.clock.now(),
            username=body.username,
            password=body.password,
            role=body.role,
            issuer_id=body.issuer_id,
            display_name=body.display_name,
            actor=actor,
        )
    return StaffPublic(**{f: getattr(user, f) for f in StaffPublic.model_fields})


@router.get("/users", response_model=Page[StaffPublic])
def list_users(
    actor: AdminOnly, rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[StaffPublic]:
    query = select(
        staff_users.c.id,
        staff_users.c.username,
        staff_users.c.role,
        staff_users.c.issuer_id,
        staff_users.c.display_name,
        staff_users.c.active,
        staff_users.c.created_at,
    )
    if actor.issuer_id is not None:  # an issuer's admin manages that issuer's staff only
        query = query.where(staff_users.c.issuer_id == actor.issuer_id)
    with rt.db.read() as tx:
        rows, next_cursor = page(tx, query, staff_users.c.id, limit=limit, cursor=cursor)
    return Page(items=[StaffPublic(**r._mapping) for r in rows], next_cursor=next_cursor)


def _public(user: staff.StaffUser) -> StaffPublic:
    return StaffPublic(**{f: getattr(user, f) for f in StaffPublic.model_fields})


@router.post("/users/{user_id}/disable", response_model=StaffPublic)
def disable_user(user_id: str, actor: AdminOnly, rt: RuntimeDep) -> StaffPublic:
    """Disable a staff account: it cannot sign in and every token it holds stops working now
    (``staff.deactivated``). 409 ``CANNOT_DISABLE_SELF``; 403 ``OTHER_ISSUER``."""
    with rt.db.write() as tx:
        return _public(staff.set_active(tx, rt.clock.now(), actor, user_id, active=False))


@router.post("/users/{user_id}/enable", response_model=StaffPublic)
def enable_user(user_id: str, actor: AdminOnly, rt: RuntimeDep) -> StaffPublic:
    """Enable a disabled account again; it signs in anew — no old token comes back."""
    with rt.db.write() as tx:
        return _public(staff.set_active(tx, rt.clock.now(), actor, user_id, active=True))


@router.post("/users/{user_id}/revoke-sessions", response_model=StaffPublic)
def revoke_sessions(user_id: str, actor: AdminOnly, rt: RuntimeDep) -> StaffPublic:
    """End every session of an account now (``staff.sessions_revoked``); it may sign in again."""
    with rt.db.write() as tx:
        return _public(staff.revoke_sessions(tx, rt.clock.now(), actor, user_id))

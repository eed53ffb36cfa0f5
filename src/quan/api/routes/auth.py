"""Sign-in for staff, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from quan.api.schemas.staff import MePublic, TokenPublic, TokenRequest
from quan.domain.auth import Actor, Role
from quan.edge.deps import PUBLIC, Allow, RuntimeDep, client_ip
from quan.services.people import staff

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenPublic, dependencies=[Depends(PUBLIC)])
def issue_token(body: TokenRequest, request: Request, rt: RuntimeDep) -> TokenPublic:
    """Exchange a staff username and password for a bearer token."""
    settings = rt.settings
    signed = staff.sign_in(
        rt.db,
        rt.clock.now(),
        rt.throttle,
        rt.tokens,
        username=body.username,
        password=body.password,
        limits=staff.login_limits(settings),
        ip=client_ip(request),
    )
    return TokenPublic(
        access_token=signed.access_token, role=signed.user.role, expires_at=signed.expires_at
    )


@router.post("/auth/signout", status_code=204, response_model=None)
def sign_out(actor: Annotated[Actor, Depends(Allow(*Role))], rt: RuntimeDep) -> None:
    """End the caller's sessions: this token and every other of the account stop working now
    (the account's token version goes up; ``staff.signed_out``)."""
    with rt.db.write() as tx:
        staff.sign_out(tx, rt.clock.now(), actor)


@router.get("/me", response_model=MePublic)
def me(
    actor: Annotated[Actor, Depends(Allow(*Role))],
) -> MePublic:
    """The signed-in caller."""
    return MePublic(kind=actor.kind, id=actor.id, role=actor.role, issuer_id=actor.issuer_id)

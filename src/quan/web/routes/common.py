"""What every console route module shares: the router factory, role sets, form helpers."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from sqlalchemy import Connection

from quan.api.schemas.batches import BatchPublic
from quan.api.schemas.vouchers import VoucherTypePublic
from quan.domain.auth import Actor, Role
from quan.services.issuance import batches
from quan.web.routing import ConsoleRoute
from quan.web.session import Area, ConsoleAllow

STAFF_READERS: Final = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)

# The API's role sets, applied to the staff session cookie.
StaffPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, *STAFF_READERS))]
OperatorPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, Role.ADMIN, Role.OPERATOR))]
AuditorPage = Annotated[Actor, Depends(ConsoleAllow(Area.STAFF, Role.ADMIN, Role.AUDITOR))]


def console_router() -> APIRouter:
    """A router whose routes render errors as pages and check CSRF on POST."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def staff_context(actor: Actor | None, area: str = "ops", **values: Any) -> dict[str, Any]:
    """The page context of a staff page: which navigation to show and how to sign out."""
    return {"area": area, "actor": actor, "signout_path": Area.STAFF.signout_path, **values}


def can_operate(actor: Actor) -> bool:
    """Whether the page shows the buttons that change things (the POSTs check again)."""
    return actor.role in (Role.ADMIN, Role.OPERATOR)


def parse_yuan(text: str) -> int | None:
    """``"12.5"`` → ``1250`` fen; ``None`` for anything that is not a plain amount with at most
    two decimals. Parsed as text, never through a float."""
    text = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
    if not text or text.count(".") > 1:
        return None
    whole, _, cents = text.partition(".")
    if not whole:
        whole = "0"
    if not text.isascii() or not whole.isdigit() or (cents and not cents.isdigit()):
        return None
    if len(cents) > 2 or len(whole) > 12:
        return None
    return int(whole) * 100 + int(cents.ljust(2, "0") or "0")


def batch_public(tx: Connection, batch: batches.Batch, *, with_type: bool = False) -> BatchPublic:
    """A batch as the API shows it (what remains per pool; its voucher type when asked)."""
    remaining, vt = batches.published_facts(tx, batch, with_type=with_type)
    return BatchPublic.of(
        batch, remaining=remaining, voucher_type=VoucherTypePublic.of(vt) if vt else None
    )

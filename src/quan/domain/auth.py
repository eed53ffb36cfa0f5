"""Who may do what: roles, the acting principal, and the scope rules of operators.

Roles: ``admin`` does anything; ``operator`` runs the programs of one issuer; ``auditor`` reads
everything and changes nothing; ``agent`` acts for citizens at a service centre. Later roles
(merchant, terminal, citizen) act through their own principals.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from quan.domain.errors import FORBIDDEN, Kind, QuanError, define


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    AGENT = "agent"


STAFF_ROLES = frozenset(Role)


class PartnerRole(StrEnum):
    """Principals of a merchant, signed in with API keys and bound to that merchant
    (``Actor.merchant_id``): its owner manages terminals and reads its records; a terminal
    (cashier device) redeems. Kept apart from :class:`Role`, which is what a staff account can be.
    """

    MERCHANT = "merchant"
    TERMINAL = "terminal"


class CitizenRole(StrEnum):
    """A citizen signed in with an SMS one-time code (``Actor(kind="citizen", id=<citizen id>)``).
    Kept apart from :class:`Role` for the same reason as :class:`PartnerRole`: no staff account
    can be created with it.
    """

    CITIZEN = "citizen"


OTHER_ISSUER = define(
    "OTHER_ISSUER",
    Kind.FORBIDDEN,
    zh="该资源属于其他发放单位，您无权操作",
    en="This belongs to another issuer; you may not act on it",
)


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal behind a request: who, in what role, scoped to which issuer."""

    kind: str  # "staff" | "system" | later "citizen", "terminal" ...
    id: str
    role: str
    issuer_id: str | None = None
    merchant_id: str | None = None  # merchant owners and terminals act only for this merchant

    @property
    def label(self) -> str:
        """How the actor appears in events and journal entries (never a name or phone)."""
        return f"{self.kind}:{self.id}"


SYSTEM = Actor(kind="system", id="quan", role="system")


def require_issuer(actor: Actor, issuer_id: str) -> None:
    """Operators act only within their own issuer; admins everywhere; auditors read everywhere."""
    if actor.role in (Role.ADMIN, Role.AUDITOR) or actor.kind == "system":
        return
    if actor.role == Role.OPERATOR and actor.issuer_id == issuer_id:
        return
    if actor.role == Role.OPERATOR:
        raise QuanError(OTHER_ISSUER)
    raise QuanError(FORBIDDEN)

"""Self-registration's public facts: whether it is offered, and the consent text to accept.

The registration itself is ``POST /citizens`` without a token (:mod:`quan.api.routes.citizens`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from quan.domain.consent import SELF_REGISTRATION as CONSENT
from quan.edge.deps import PUBLIC, RuntimeDep
from quan.services.people import realname

router = APIRouter(tags=["citizens"])


class ConsentPublic(BaseModel):
    enabled: bool  # false: register at a service centre
    version: str  # send it as consent_version
    sha256: str
    zh: list[str]
    en: list[str]


@router.get(
    "/citizens/self-registration/consent",
    response_model=ConsentPublic,
    dependencies=[Depends(PUBLIC)],
)
def consent(rt: RuntimeDep) -> ConsentPublic:
    """Whether citizens may register themselves here, and the personal-data notice they
    accept by sending its ``version`` as ``consent_version`` to ``POST /citizens``."""
    return ConsentPublic(
        enabled=realname.enabled(rt.settings),
        version=CONSENT.version,
        sha256=CONSENT.sha256,
        zh=list(CONSENT.zh),
        en=list(CONSENT.en),
    )

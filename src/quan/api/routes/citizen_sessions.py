"""Citizen sign-in by SMS one-time code: ask for a code, exchange it for a bearer token.

Both are public and answer alike for registered and unregistered phones; see
:mod:`quan.services.people.otp` for how that holds.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from quan.api.schemas.citizens import (
    CitizenSessionPublic,
    OtpAccepted,
    OtpRequest,
    SessionRequest,
)
from quan.domain.citizens import parse_phone
from quan.domain.errors import QuanError
from quan.edge.deps import PUBLIC, KeysDep, RuntimeDep, client_ip
from quan.services.people import otp, realname
from quan.services.people.rate_limits import spend
from quan.services.people.self_registration import SELF_REGISTRATION_OFF

router = APIRouter(tags=["citizens"])

@router.post(
    "/citizens/otp", status_code=202, response_model=OtpAccepted, dependencies=[Depends(PUBLIC)]
)
def request_code(body: OtpRequest, request: Request, rt: RuntimeDep, keys: KeysDep) -> OtpAccepted:
    """Send a one-time code by SMS: ``purpose: login`` to a registered phone, ``register`` to an
    unregistered one. The answer is the same whether or not an SMS was sent."""
    phone = parse_phone(body.phone)
    if body.purpose is otp.Purpose.REGISTER and not realname.enabled(rt.settings):
        raise QuanError(SELF_REGISTRATION_OFF)
    spend(rt.throttle, otp.CODE_REQUESTS, client_ip(request))
    with rt.db.write() as tx:
        sent = otp.request_code(
            tx, rt.clock.now(), keys, rt.throttle, phone=phone, purpose=body.purpose
        )
    return OtpAccepted(
        expires_in_seconds=sent.expires_in_seconds, resend_after_seconds=sent.resend_after_seconds
    )


@router.post(
    "/citizens/session", response_model=CitizenSessionPublic, dependencies=[Depends(PUBLIC)]
)
def sign_in(
    body: SessionRequest, request: Request, rt: RuntimeDep, keys: KeysDep
) -> CitizenSessionPublic:
    """Exchange a sign-in code for a bearer token (``OTP_INVALID``, ``OTP_EXPIRED``,
    ``OTP_ALREADY_USED``, ``OTP_TOO_MANY_ATTEMPTS`` otherwise)."""
    phone = parse_phone(body.phone)
    session = otp.sign_in(
        rt.db, rt.clock, keys, rt.throttle, rt.tokens, phone=phone, code=body.code,
        ip=client_ip(request),
    )
    return CitizenSessionPublic(
        access_token=session.access_token,
        expires_at=session.expires_at,
        citizen_id=session.citizen_id,
    )

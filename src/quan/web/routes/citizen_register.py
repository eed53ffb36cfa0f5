"""The wallet's way in for residents who were not registered at a service centre: register
with a phone, its SMS code, name and ID number, after accepting the personal-data notice; a
real-name check decides (:mod:`quan.services.people.self_registration`).

Two steps on one page: the phone (a registration code is sent, with the same limits and the
same answer whatever the phone), then the code, the identity and the consent. Every rendering
of the second step draws a new submission key: a double tap or a resubmitted form follows the
first attempt (the same citizen signed in, or the same refusal), and a new try after a
refusal starts afresh. Success signs the resident in and shows whether they may claim now.
"""

from __future__ import annotations

import secrets
import unicodedata
from typing import Annotated

from fastapi import Depends, Form, Request, Response

from quan.domain.auth import Actor, CitizenRole
from quan.domain.citizens import RegistrationInput, local_date, parse_phone, validate_registration
from quan.domain.consent import SELF_REGISTRATION as CONSENT
from quan.domain.eligibility import region_name
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep, citizen_keys, client_ip
from quan.edge.status import STATUS
from quan.services.people import citizens, otp, realname, self_registration
from quan.services.people.rate_limits import spend
from quan.web.i18n import request_lang
from quan.web.routes.common import console_router
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow, start_session
from quan.web.templating import render
from quan.web.views.offers import Standing, offers
from quan.web.views.regions import district_choices

router = console_router()

CitizenPage = Annotated[Actor, Depends(ConsoleAllow(Area.CITIZEN, CitizenRole.CITIZEN))]
Text = Annotated[str, Form(max_length=200)]

# Refusals after the code was taken: the next try needs a new code.
CODE_SPENT = frozenset(
    {
        self_registration.REALNAME_MISMATCH.code,
        self_registration.REALNAME_NO_RECORD.code,
        self_registration.REALNAME_UNAVAILABLE.code,
        self_registration.ID_REGISTERED_ELSEWHERE.code,
        otp.OTP_ALREADY_USED.code,
        otp.OTP_EXPIRED.code,
        otp.OTP_TOO_MANY_ATTEMPTS.code,
    }
)


def _form(
    request: Request,
    rt: RuntimeDep,
    *,
    step: str,
    values: dict[str, str] | None = None,
    error: QuanError | None = None,
) -> Response:
    with rt.db.read() as tx:
        districts = district_choices(tx)
    lang = request_lang(request)
    context = {
        "area": "wallet",
        "actor": None,
        "signout_path": Area.CITIZEN.signout_path,
        "step": step,
        "enabled": realname.enabled(rt.settings),
        "v": {"phone": "", "name": "", "resident_id": "", "region": "", **(values or {})},
        "districts": districts,
        "consent": CONSENT,
        "consent_text": CONSENT.zh if lang == "zh" else CONSENT.en,
        "submission_key": secrets.token_urlsafe(16),
        "error": error.message(lang) if error else None,
        "error_code": error.code if error else None,
        "error_field": error.params.get("field") if error else None,
        "new_code": error is not None and error.code in CODE_SPENT,
    }
    status = STATUS.get(error.kind, 422) if error else 200
    return render(request, "citizen/register.html", context, status_code=status)


@router.get("/wallet/register")
def register_page(request: Request, rt: RuntimeDep) -> Response:
    return _form(request, rt, step="phone")


@router.post("/wallet/register/code")
def request_code(request: Request, rt: RuntimeDep, phone: Text = "") -> Response:
    """Send a registration code; the next step follows whatever the phone (no probing)."""
    if not realname.enabled(rt.settings):
        return _form(request, rt, step="phone",
                     error=QuanError(self_registration.SELF_REGISTRATION_OFF))  # fmt: skip
    try:
        parsed = parse_phone(phone)
        spend(rt.throttle, otp.CODE_REQUESTS, client_ip(request))
        with rt.db.write() as tx:
            otp.request_code(tx, rt.clock.now(), citizen_keys(rt), rt.throttle, phone=parsed,
                             purpose=otp.Purpose.REGISTER)  # fmt: skip
    except QuanError as exc:
        return _form(request, rt, step="phone", values={"phone": phone}, error=exc)
    return _form(request, rt, step="details", values={"phone": phone})


def _id_region(resident_id: str) -> str:
    """The division an ID number was first assigned in (its first six digits), as typed."""
    folded = unicodedata.normalize("NFKC", resident_id).replace(" ", "")
    return folded[:6]


@router.post("/wallet/register")
def register(
    request: Request,
    rt: RuntimeDep,
    phone: Text = "",
    code: Text = "",
    name: Text = "",
    resident_id: Text = "",
    region: Text = "",
    consent: Text = "",
    consent_version: Text = "",
    submission_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    values = {"phone": phone, "name": name, "resident_id": resident_id, "region": region}
    if not realname.enabled(rt.settings):
        return _form(request, rt, step="phone",
                     error=QuanError(self_registration.SELF_REGISTRATION_OFF))  # fmt: skip
    try:
        registration = validate_registration(
            RegistrationInput(resident_id=resident_id, name=name, phone=phone,
                              region_code=region.strip() or _id_region(resident_id)),
            today=local_date(rt.clock.now()),
        )  # fmt: skip
        spend(rt.throttle, self_registration.SELF_REGISTRATION, client_ip(request))
        attempt = self_registration.Attempt(
            registration, code.strip() or None, consent_version if consent == "yes" else None,
            submission_key or None, "web",
        )  # fmt: skip
        done = self_registration.register_self(
            rt.db, rt.clock, citizen_keys(rt), rt.throttle, rt.tokens,
            realname.from_settings(rt.settings), attempt, ip=client_ip(request),
        )  # fmt: skip
    except QuanError as exc:
        return _form(request, rt, step="details", values=values, error=exc)
    response = redirect(request, "/wallet/registered")
    start_session(response, request, Area.CITIZEN, done.session.access_token)
    return response


@router.get("/wallet/registered")
def registered_page(request: Request, actor: CitizenPage, rt: RuntimeDep) -> Response:
    """The outcome: who was registered, and where they stand with every open batch."""
    now = rt.clock.now()
    with rt.db.read() as tx:
        citizen = citizens.get_citizen(tx, actor.id)
        clear = citizens.open_personal_data(tx, citizen_keys(rt), actor.id)
        found = offers(tx, actor.id, now)
    open_to_them = [o for o in found if o.standing in (Standing.CLAIMABLE, Standing.LOTTERY)]
    return render(
        request,
        "citizen/registered.html",
        {"area": "wallet", "actor": actor, "signout_path": Area.CITIZEN.signout_path,
         "citizen": citizen, "name": clear.name, "offers": found,
         "region": region_name(citizen.region_code) or "",
         "open_count": len(open_to_them)},
    )  # fmt: skip

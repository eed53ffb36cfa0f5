"""Citizens: registration (self-service, agent, operator), the staff views, audited reveal, and
the citizen's own record.

``POST /citizens`` is public: without a token it is self-registration (rate-limited per client
IP, the phone proved by an SMS code); with a staff token it is an agent or operator registering
someone, attributed to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from quan.api.schemas.citizens import (
    CitizenCreate,
    CitizenLookup,
    CitizenPublic,
    CitizenRegistered,
    CitizenRevealed,
    CitizenSelf,
    RevealRequest,
)
from quan.api.schemas.common import Limit, Page
from quan.domain.auth import Actor, CitizenRole, Role
from quan.domain.citizens import (
    IncomeGroup,
    RegistrationInput,
    age_on,
    local_date,
    priority_groups,
    validate_registration,
)
from quan.domain.errors import FORBIDDEN, NOT_FOUND, QuanError
from quan.domain.resident_id import parse_resident_id
from quan.edge.deps import (
    PUBLIC,
    Allow,
    Credentials,
    IdempotencyHeader,
    KeysDep,
    RuntimeDep,
    authenticate,
    client_ip,
)
from quan.services.people import citizens, realname, reveals, self_registration
from quan.services.people.citizens import Channel, Citizen
from quan.services.people.rate_limits import spend
from quan.services.people.self_registration import SELF_REGISTRATION
from quan.store.citizen_tables import citizens as citizens_table
from quan.store.pagination import page

router = APIRouter(tags=["citizens"])

REGISTRARS = frozenset({Role.ADMIN, Role.OPERATOR, Role.AGENT})


CitizenActor = Annotated[Actor, Depends(Allow(CitizenRole.CITIZEN))]
StaffViewer = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR, Role.AGENT))]


def optional_registrar(rt: RuntimeDep, credentials: Credentials) -> Actor | None:
    """The staff member registering someone, or ``None`` for self-registration.

    A token that is presented must be valid and a registrar's; it is never silently ignored.
    """
    if credentials is None:
        return None
    actor = authenticate(rt, credentials)
    if actor.role not in REGISTRARS:
        raise QuanError(FORBIDDEN)
    return actor


def public_view(citizen: Citizen, now: datetime) -> CitizenPublic:
    today = local_date(now)
    return CitizenPublic(
        id=citizen.id,
        resident_id_masked=citizen.resident_id_masked,
        name_masked=citizen.name_masked,
        phone_masked=citizen.phone_masked,
        region_code=citizen.region_code,
        age=age_on(citizen.birth_date, today),
        priority_groups=sorted(priority_groups(citizen.profile, today)),
        income_group=citizen.income_group,
        disabled=citizen.disabled,
        disability_grade=citizen.disability_grade,
        registered_via=citizen.registered_via,
        registered_by=citizen.registered_by,
        import_id=citizen.import_id,
        created_at=citizen.created_at,
    )


def self_view(citizen: Citizen, name: str, phone: str | None, now: datetime) -> CitizenSelf:
    today = local_date(now)
    return CitizenSelf(
        id=citizen.id,
        resident_id_masked=citizen.resident_id_masked,
        name=name,
        phone=phone,
        region_code=citizen.region_code,
        birth_date=citizen.birth_date,
        age=age_on(citizen.birth_date, today),
        priority_groups=sorted(priority_groups(citizen.profile, today)),
        income_group=citizen.income_group,
        disabled=citizen.disabled,
        disability_grade=citizen.disability_grade,
        created_at=citizen.created_at,
    )


@router.post(
    "/citizens",
    status_code=201,
    response_model=CitizenPublic | CitizenRegistered,
    dependencies=[Depends(PUBLIC)],
)
def register(
    body: CitizenCreate,
    request: Request,
    rt: RuntimeDep,
    keys: KeysDep,
    registrar: Annotated[Actor | None, Depends(optional_registrar)],
    key: IdempotencyHeader = None,
) -> CitizenPublic | CitizenRegistered:
    """Register a citizen. Without a token: self-registration with the SMS code sent by
    ``POST /citizens/otp`` (``purpose: register``), the accepted ``consent_version`` and a
    real-name check, answered with a session (an ``Idempotency-Key`` makes a retry follow the
    first attempt). With an agent's, operator's or admin's token: registration on someone's
    behalf (phone optional). Refusals: ``INVALID_RESIDENT_ID`` (with ``reason``),
    ``INVALID_PHONE``, ``UNKNOWN_REGION_CODE``, ``INVALID_NAME``, ``INVALID_DISABILITY``,
    ``CITIZEN_ALREADY_REGISTERED``, ``PHONE_ALREADY_REGISTERED``, ``OTP_*``, ``RATE_LIMITED``;
    self-registration also ``CONSENT_REQUIRED``, ``SELF_DECLARED_ATTRIBUTES``,
    ``REALNAME_MISMATCH``, ``REALNAME_NO_RECORD``, ``REALNAME_UNAVAILABLE`` (503),
    ``ID_REGISTERED_ELSEWHERE``, ``PHONE_REGISTERED_SIGN_IN``, ``SELF_REGISTRATION_OFF``."""
    now = rt.clock.now()
    if registrar is None:
        spend(rt.throttle, SELF_REGISTRATION, client_ip(request))
    registration = validate_registration(
        RegistrationInput(
            resident_id=body.resident_id,
            name=body.name,
            region_code=body.region_code,
            phone=body.phone,
            income_group=body.attributes.income_group.value,
            disabled=body.attributes.disabled,
            disability_grade=body.attributes.disability_grade,
        ),
        today=local_date(now),
    )
    if registrar is not None:
        with rt.db.write() as tx:
            citizen = citizens.register(tx, now, registrar, keys, registration)
        return public_view(citizen, now)
    if not realname.enabled(rt.settings):
        raise QuanError(self_registration.SELF_REGISTRATION_OFF)
    done = self_registration.register_self(
        rt.db, rt.clock, keys, rt.throttle, rt.tokens, realname.from_settings(rt.settings),
        self_registration.Attempt(registration, body.otp_code, body.consent_version, key, "api"),
        ip=client_ip(request),
    )  # fmt: skip
    return CitizenRegistered(
        citizen=self_view(done.citizen, registration.name, registration.phone, now),
        access_token=done.session.access_token,
        expires_at=done.session.expires_at,
    )


@router.get("/citizens", response_model=Page[CitizenPublic])
def list_citizens(
    actor: Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR))],
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
    region_code: str | None = None,
    income_group: IncomeGroup | None = None,
    registered_via: Channel | None = None,
    import_id: str | None = None,
) -> Page[CitizenPublic]:
    """Citizens, masked, in registration order; filter by region, income group, channel or
    import."""
    c = citizens_table.c
    query = select(citizens_table)
    if region_code is not None:
        query = query.where(c.region_code == region_code)
    if income_group is not None:
        query = query.where(c.income_group == income_group.value)
    if registered_via is not None:
        query = query.where(c.registered_via == registered_via.value)
    if import_id is not None:
        query = query.where(c.import_id == import_id)
    now = rt.clock.now()
    with rt.db.read() as tx:
        rows, next_cursor = page(tx, query, c.id, limit=limit, cursor=cursor)
    items = [public_view(citizens.citizen_from_row(r), now) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.post("/citizens/lookup", response_model=CitizenPublic)
def lookup(
    body: CitizenLookup,
    actor: Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AGENT))],
    rt: RuntimeDep,
    keys: KeysDep,
) -> CitizenPublic:
    """Find a citizen by resident ID number (masked answer). A POST, so that the number is never
    part of a URL and so never in an access log."""
    now = rt.clock.now()
    number = parse_resident_id(body.resident_id, today=local_date(now)).number
    with rt.db.read() as tx:
        citizen = citizens.find_by_resident_id(tx, keys, number)
    if citizen is None:
        raise QuanError(NOT_FOUND, what="citizen with this resident ID number")
    return public_view(citizen, now)


@router.get("/citizens/{citizen_id}", response_model=CitizenPublic)
def get_citizen(citizen_id: str, actor: StaffViewer, rt: RuntimeDep) -> CitizenPublic:
    with rt.db.read() as tx:
        citizen = citizens.get_citizen(tx, citizen_id)
    return public_view(citizen, rt.clock.now())


@router.post("/citizens/{citizen_id}/reveal", response_model=CitizenRevealed)
def reveal(
    citizen_id: str,
    body: RevealRequest,
    actor: Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR))],
    rt: RuntimeDep,
    keys: KeysDep,
) -> CitizenRevealed:
    """Personal data in clear, for a stated purpose; the reveal itself is recorded as the event
    ``citizen.personal_data_revealed`` (who, when, which fields, why). Only citizens of the
    operator's issuer region, at most ``QUAN_REVEAL_PER_MINUTE`` a minute, and beyond
    ``QUAN_REVEAL_DAILY_THRESHOLD`` a day only with a second person's approval
    (``409 REVEAL_NEEDS_APPROVAL`` files the request; reveal again with ``approval_id``)."""
    limits = reveals.RevealLimits(rt.settings.reveal_per_minute, rt.settings.reveal_daily_threshold)
    now = rt.clock.now()
    with rt.db.write() as tx:
        filed = reveals.admit(
            tx, now, actor, rt.throttle, limits, citizen_id=citizen_id,
            purpose=body.purpose.value, approval_id=body.approval_id,
        )  # fmt: skip
        clear = None if filed else citizens.reveal(tx, now, actor, keys, citizen_id, body.purpose)
    if filed is not None or clear is None:
        raise reveals.needs_approval(limits, filed or "")
    return CitizenRevealed(
        id=citizen_id, resident_id=clear.resident_id, name=clear.name, phone=clear.phone
    )


@router.post("/reveal-requests/{request_id}/approve", status_code=204)
def approve_reveal(
    request_id: str,
    actor: Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR))],
    rt: RuntimeDep,
) -> None:
    """A second person's approval of a reveal beyond the requester's daily threshold (another
    operator of the same issuer, or an admin; never the requester)."""
    with rt.db.write() as tx:
        reveals.approve(tx, rt.clock.now(), actor, request_id)


@router.get("/me/citizen", response_model=CitizenSelf)
def me(actor: CitizenActor, rt: RuntimeDep, keys: KeysDep) -> CitizenSelf:
    """The signed-in citizen's own record: phone and name in clear, ID number masked."""
    with rt.db.read() as tx:
        citizen = citizens.get_citizen(tx, actor.id)
        clear = citizens.open_personal_data(tx, keys, actor.id)
    return self_view(citizen, clear.name, clear.phone, rt.clock.now())

"""Citizens: registering one (self-service, agent, operator), finding one, showing one.

The resident ID number, name and phone are sealed with AES-GCM before they reach the database
(associated data ``citizen:<id>:<field>``, so a token copied into another row does not open),
and found again through keyed HMACs. One person, one account: ``UNIQUE (resident_id_hash)``
decides, also between concurrent registrations; the loser gets ``CITIZEN_ALREADY_REGISTERED``
and nothing is written. Events carry the citizen's id and the channel, never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Insert, select

from quan.channels.outbox import DEFAULT_RETENTION, OutboxKeys
from quan.channels.outbox import SEALING_PURPOSE as OUTBOX_SEALING_PURPOSE
from quan.config import Settings
from quan.domain.auth import Actor, CitizenRole, Role
from quan.domain.citizens import (
    CitizenProfile,
    IncomeGroup,
    Registration,
    mask_name,
)
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.people import pii
from quan.store.citizen_tables import citizens
from quan.store.events import record_event
from quan.store.ids import new_id

CITIZEN_ALREADY_REGISTERED = define(
    "CITIZEN_ALREADY_REGISTERED",
    Kind.CONFLICT,
    zh="该居民身份证号码已注册，请直接登录；如非本人注册，请到社区服务中心办理",
    en="This resident ID number is already registered; sign in, or visit a service centre "
    "if you did not register it",
)
PHONE_ALREADY_REGISTERED = define(
    "PHONE_ALREADY_REGISTERED",
    Kind.CONFLICT,
    zh="该手机号已被另一个账号使用",
    en="This phone number is already used by another account",
)
PHONE_CODE_REQUIRED = define(
    "PHONE_CODE_REQUIRED",
    Kind.INVALID,
    zh="自助注册须填写本人手机号和短信验证码（先以 purpose=register 获取验证码）",
    en="Self-registration needs your phone number and the SMS code sent to it "
    "(ask for one with purpose=register)",
)


class Channel(StrEnum):
    """How a citizen came to be registered (who typed the data in)."""

    SELF = "self"
    AGENT = "agent"
    OPERATOR = "operator"
    IMPORT = "import"


class RevealPurpose(StrEnum):
    """Why a staff member needs personal data in clear; recorded in the event."""

    IDENTITY_CHECK = "identity_check"  # in person, at a service centre
    DISPUTE = "dispute"  # handling a complaint or an appeal
    DATA_SUBJECT_REQUEST = "data_subject_request"  # the citizen asked for their data
    LEGAL_REQUEST = "legal_request"  # a request from an authority


SEALING_PURPOSE = "aes-gcm/citizen"
SEALED_FIELDS = {"resident_id_enc": "resident_id", "name_enc": "name", "phone_enc": "phone"}
"""Encrypted columns of ``citizens`` and the field name their associated data carries."""


def sealing_aad(citizen_id: str, field: str) -> str:
    return f"citizen:{citizen_id}:{field}"


@dataclass(frozen=True, slots=True)
class CitizenKeys:
    """Keys derived from ``Settings.pii_key``, one per purpose (HKDF), built once per edge."""

    sealing: pii.Key
    resident_id_lookup: bytes
    phone_lookup: bytes
    otp: bytes
    outbox: OutboxKeys  # the SMS citizens are sent go through the sealed outbox

    @classmethod
    def from_master(
        cls,
        master: bytes,
        outbox_retention: timedelta = DEFAULT_RETENTION,
        sealing: pii.Key | None = None,
        outbox_sealing: pii.Key | None = None,
    ) -> CitizenKeys:
        return cls(
            sealing=sealing or pii.derive_key(master, SEALING_PURPOSE),
            resident_id_lookup=pii.derive_key(master, "hmac/citizen-resident-id"),
            phone_lookup=pii.derive_key(master, "hmac/citizen-phone"),
            otp=pii.derive_key(master, "hmac/citizen-otp"),
            outbox=OutboxKeys.from_master(master, outbox_retention, outbox_sealing),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CitizenKeys:
        # Lookups never rotate (they are compared with stored hashes); sealing keys do.
        return cls.from_master(
            settings.secret_bytes("pii_key"),
            timedelta(hours=settings.outbox_retention_hours),
            sealing=pii.keyring(settings, SEALING_PURPOSE),
            outbox_sealing=pii.keyring(settings, OUTBOX_SEALING_PURPOSE),
        )

    def resident_id_hash(self, number: str) -> str:
        return pii.lookup_hash(self.resident_id_lookup, number)

    def phone_hash(self, phone: str) -> str:
        return pii.lookup_hash(self.phone_lookup, phone)

    def __repr__(self) -> str:
        return "CitizenKeys(<hidden>)"


@dataclass(frozen=True, slots=True)
class Citizen:
    """A citizen as staff see them: personal data masked."""

    id: str
    resident_id_masked: str
    name_masked: str
    phone_masked: str | None
    region_code: str
    birth_date: date
    income_group: IncomeGroup
    disabled: bool
    disability_grade: int | None
    registered_via: Channel
    registered_by: str
    import_id: str | None
    created_at: datetime

    @property
    def profile(self) -> CitizenProfile:
        return CitizenProfile(
            birth_date=self.birth_date,
            region_code=self.region_code,
            income_group=self.income_group,
            disabled=self.disabled,
            disability_grade=self.disability_grade,
        )

    @property
    def actor(self) -> Actor:
        return Actor(kind="citizen", id=self.id, role=CitizenRole.CITIZEN.value)


@dataclass(frozen=True, slots=True)
class Clear:
    """A citizen's personal data opened with the key: for their own view or an audited reveal."""

    resident_id: str
    name: str
    phone: str | None

    def __repr__(self) -> str:
        return "Clear(<personal data>)"


def citizen_from_row(row: Any) -> Citizen:
    m = row._mapping
    return Citizen(
        id=m["id"],
        resident_id_masked=m["resident_id_masked"],
        name_masked=m["name_masked"],
        phone_masked=m["phone_masked"],
        region_code=m["region_code"],
        birth_date=m["birth_date"],
        income_group=IncomeGroup(m["income_group"]),
        disabled=bool(m["disabled"]),
        disability_grade=m["disability_grade"],
        registered_via=Channel(m["registered_via"]),
        registered_by=m["registered_by"],
        import_id=m["import_id"],
        created_at=m["created_at"],
    )


def sealed_row(
    keys: CitizenKeys,
    registration: Registration,
    *,
    citizen_id: str,
    via: Channel,
    by: str,
    now: datetime,
    import_id: str | None = None,
    resident_hash: str | None = None,
    phone_hash: str | None = None,
) -> dict[str, Any]:
    """The ``citizens`` row for a registration, personal data sealed to this row.

    Bulk callers that already hashed the ID number and phone pass the hashes in.
    """
    number = registration.resident_id.number
    phone = registration.phone
    if phone and phone_hash is None:
        phone_hash = keys.phone_hash(phone)

    def seal(field: str, value: str) -> str:
        return pii.encrypt(keys.sealing, value, sealing_aad(citizen_id, field))

    return {
        "id": citizen_id,
        "resident_id_hash": resident_hash or keys.resident_id_hash(number),
        "resident_id_enc": seal("resident_id", number),
        "resident_id_masked": registration.resident_id.masked,
        "name_enc": seal("name", registration.name),
        "name_masked": mask_name(registration.name),
        "phone_hash": phone_hash if phone else None,
        "phone_enc": seal("phone", phone) if phone else None,
        "phone_masked": pii.mask_phone(phone) if phone else None,
        "region_code": registration.region_code,
        "birth_date": registration.resident_id.birth_date,
        "income_group": registration.income_group.value,
        "disabled": registration.disabled,
        "disability_grade": registration.disability_grade,
        "registered_via": via.value,
        "registered_by": by,
        "import_id": import_id,
        "created_at": now,
    }


def insert_ignoring_conflicts(tx: Connection) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` on either database.

    A row that meets a unique key (same person, same phone) committed by a concurrent transaction
    is skipped rather than failing the whole statement; callers compare what came back with what
    they sent and explain the difference.
    """
    if tx.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(citizens).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(citizens).on_conflict_do_nothing()


def conflict_for(tx: Connection, row: dict[str, Any]) -> QuanError:
    """Why ``row`` could not be inserted: the person or the phone is already registered."""
    existing = tx.execute(
        select(citizens.c.id).where(citizens.c.resident_id_hash == row["resident_id_hash"])
    ).first()
    if existing is not None:
        return QuanError(CITIZEN_ALREADY_REGISTERED, citizen_id=existing.id)
    return QuanError(PHONE_ALREADY_REGISTERED)


def channel_of(actor: Actor) -> Channel:
    if actor.kind == "citizen":
        return Channel.SELF
    return Channel.AGENT if actor.role == Role.AGENT else Channel.OPERATOR


def register(
    tx: Connection,
    now: datetime,
    actor: Actor | None,
    keys: CitizenKeys,
    registration: Registration,
) -> Citizen:
    """Register one person. ``actor`` is the staff member, or ``None`` for self-registration.

    Refused with ``CITIZEN_ALREADY_REGISTERED`` (the person has an account; staff are told its id)
    or ``PHONE_ALREADY_REGISTERED``; in both cases nothing is written.
    """
    citizen_id = new_id("cit")
    actor = actor or Actor(kind="citizen", id=citizen_id, role=CitizenRole.CITIZEN.value)
    via = channel_of(actor)
    row = sealed_row(keys, registration, citizen_id=citizen_id, via=via, by=actor.label, now=now)
    statement = insert_ignoring_conflicts(tx).values(row).returning(citizens.c.id)
    inserted = tx.execute(statement).first()
    if inserted is None:
        error = conflict_for(tx, row)
        if via is Channel.SELF:
            # Someone typing an ID number at a public endpoint learns that it is taken, not
            # which account holds it.
            error.params.pop("citizen_id", None)
        raise error
    record_event(
        tx,
        type="citizen.registered",
        actor=actor,
        subject_type="citizen",
        subject_id=citizen_id,
        at=now,
        payload={"via": via.value},
    )
    return get_citizen(tx, citizen_id)


def get_citizen(tx: Connection, citizen_id: str) -> Citizen:
    row = tx.execute(select(citizens).where(citizens.c.id == citizen_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"citizen {citizen_id}")
    return citizen_from_row(row)


def profile_of(row: Any) -> CitizenProfile:
    """The attributes rules judge, from any row that selected the citizen's columns."""
    return CitizenProfile(
        birth_date=row.birth_date,
        region_code=row.region_code,
        income_group=IncomeGroup(row.income_group),
        disabled=bool(row.disabled),
        disability_grade=row.disability_grade,
    )


def find_citizen(tx: Connection, citizen_id: str) -> Citizen | None:
    row = tx.execute(select(citizens).where(citizens.c.id == citizen_id)).first()
    return citizen_from_row(row) if row else None


def find_by_resident_id(tx: Connection, keys: CitizenKeys, number: str) -> Citizen | None:
    """The citizen holding a (validated, normalized) resident ID number, if registered."""
    row = tx.execute(
        select(citizens).where(citizens.c.resident_id_hash == keys.resident_id_hash(number))
    ).first()
    return citizen_from_row(row) if row else None


def find_by_phone_hash(tx: Connection, phone_hash: str) -> Citizen | None:
    row = tx.execute(select(citizens).where(citizens.c.phone_hash == phone_hash)).first()
    return citizen_from_row(row) if row else None


def open_personal_data(tx: Connection, keys: CitizenKeys, citizen_id: str) -> Clear:
    """Decrypt a citizen's personal data. Callers decide who may see it (see :func:`reveal`)."""
    row = tx.execute(
        select(citizens.c.resident_id_enc, citizens.c.name_enc, citizens.c.phone_enc).where(
            citizens.c.id == citizen_id
        )
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"citizen {citizen_id}")

    def unseal(field: str, token: str) -> str:
        return pii.decrypt(keys.sealing, token, sealing_aad(citizen_id, field))

    return Clear(
        resident_id=unseal("resident_id", row.resident_id_enc),
        name=unseal("name", row.name_enc),
        phone=unseal("phone", row.phone_enc) if row.phone_enc else None,
    )


def reveal(
    tx: Connection,
    now: datetime,
    actor: Actor,
    keys: CitizenKeys,
    citizen_id: str,
    purpose: RevealPurpose,
) -> Clear:
    """Personal data in clear for a staff member, which is itself recorded as an event."""
    clear = open_personal_data(tx, keys, citizen_id)
    fields = ["resident_id", "name"] + (["phone"] if clear.phone else [])
    record_event(
        tx,
        type="citizen.personal_data_revealed",
        actor=actor,
        subject_type="citizen",
        subject_id=citizen_id,
        at=now,
        payload={"purpose": purpose.value, "fields": fields},
    )
    return clear

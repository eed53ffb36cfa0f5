"""Issuers: the government bodies (a city's commerce bureau, a district) that run programs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from quan.domain.auth import Actor
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.domain.names import check_name
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.tables import issuers

INVALID_REGION = define(
    "INVALID_REGION_CODE",
    Kind.INVALID,
    zh="行政区划代码须为 6 位数字",
    en="A region code is 6 digits (GB/T 2260)",
)
ISSUER_EXISTS = define(
    "ISSUER_EXISTS", Kind.CONFLICT, zh="发放单位“{name}”已存在", en="Issuer '{name}' exists"
)

_REGION = re.compile(r"^\d{6}$")


@dataclass(frozen=True, slots=True)
class Issuer:
    id: str
    name: str
    region_code: str
    created_at: datetime


def create_issuer(
    tx: Connection, now: datetime, actor: Actor, *, name: str, region_code: str
) -> Issuer:
    if not _REGION.match(region_code):
        raise QuanError(INVALID_REGION)
    name = check_name(name)
    if tx.execute(select(issuers.c.id).where(issuers.c.name == name)).first():
        raise QuanError(ISSUER_EXISTS, name=name)
    issuer = Issuer(new_id("iss"), name, region_code, now)
    tx.execute(
        insert(issuers).values(id=issuer.id, name=name, region_code=region_code, created_at=now)
    )
    record_event(
        tx,
        type="issuer.created",
        actor=actor,
        subject_type="issuer",
        subject_id=issuer.id,
        at=now,
        payload={"name": name, "region_code": region_code},
    )
    return issuer


def get_issuer(tx: Connection, issuer_id: str) -> Issuer:
    row = tx.execute(select(issuers).where(issuers.c.id == issuer_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"issuer {issuer_id}")
    return Issuer(row.id, row.name, row.region_code, row.created_at)


def find_issuer_by_name(tx: Connection, name: str) -> Issuer | None:
    row = tx.execute(select(issuers).where(issuers.c.name == name)).first()
    return Issuer(row.id, row.name, row.region_code, row.created_at) if row else None

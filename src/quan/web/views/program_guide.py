"""A program as a resident reads it: its rules in plain words, where its vouchers can be used
(the approved shops, searchable by name, category and district) and whom to call.

Shops are those of the program's issuer that are approved and take at least one category of
the program's voucher types; a voucher type limited to some districts or to a list of shops says
so in its rules, and the cashier's check (the redemption service) is what finally decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from quan.domain.eligibility import region_name
from quan.domain.eligibility import render as rule_words
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.voucher_type_json import parse_voucher_type
from quan.domain.voucher_types import VoucherTypeSpec
from quan.services.issuance import batches as batch_service
from quan.services.issuance.batches import Batch
from quan.store.merchant_tables import merchant_categories, merchants
from quan.store.redemption_tables import redemption_policies
from quan.store.tables import programs
from quan.store.voucher_tables import batches, voucher_types

MERCHANTS_SHOWN = 100  # a page of shops; the search narrows it


@dataclass(frozen=True, slots=True)
class Handout:
    """One batch of a voucher type: when and how it is handed out, and to whom."""

    batch: Batch
    who_zh: str
    who_en: str


@dataclass(frozen=True, slots=True)
class TypeRules:
    spec: VoucherTypeSpec
    handouts: list[Handout]


@dataclass(frozen=True, slots=True)
class Shop:
    name: str
    categories: list[str]
    region_code: str
    region: str
    offline: bool
    online: bool


@dataclass(frozen=True, slots=True)
class Guide:
    program_id: str
    name: str
    description: str
    zone: str
    ends_at: datetime
    daily_cap: int | None
    types: list[TypeRules]
    categories: list[str]  # every category the program's vouchers are for
    districts: list[tuple[str, str]]  # (code, name) of the districts its shops are in


def guide(tx: Connection, program_id: str) -> Guide:
    """The program's rules, for an active or closed (not draft) program."""
    row = tx.execute(select(programs).where(programs.c.id == program_id)).first()
    if row is None or row.status == "draft":
        raise QuanError(NOT_FOUND, what=f"program {program_id}")
    types: list[TypeRules] = []
    categories: list[str] = []
    vt_rows = tx.execute(
        select(voucher_types.c.id, voucher_types.c.definition)
        .where(voucher_types.c.program_id == program_id)
        .order_by(voucher_types.c.created_at, voucher_types.c.id)
    ).all()
    for vt in vt_rows:
        batch_ids = (
            tx.execute(
                select(batches.c.id)
                .where(batches.c.voucher_type_id == vt.id, batches.c.status != "draft")
                .order_by(batches.c.claim_opens_at, batches.c.id)
            )
            .scalars()
            .all()
        )
        if not batch_ids:
            continue  # a type nobody can hold yet
        spec = parse_voucher_type(json.loads(vt.definition))
        handouts = []
        for batch_id in batch_ids:
            b = batch_service.get_batch(tx, batch_id)
            handouts.append(
                Handout(b, rule_words(b.eligibility, "zh"), rule_words(b.eligibility, "en"))
            )
        types.append(TypeRules(spec, handouts))
        categories += [c for c in spec.categories if c not in categories]
    cap = tx.execute(
        select(redemption_policies.c.daily_cap).where(
            redemption_policies.c.program_id == program_id
        )
    ).scalar()
    shops_all = shops(tx, row.issuer_id, categories)
    districts = sorted({(s.region_code, s.region) for s in shops_all})
    return Guide(
        program_id=program_id, name=row.name, description=row.description, zone=row.timezone,
        ends_at=row.ends_at, daily_cap=cap, types=types, categories=categories,
        districts=districts,
    )  # fmt: skip


def issuer_of(tx: Connection, program_id: str) -> str:
    found = tx.execute(select(programs.c.issuer_id).where(programs.c.id == program_id)).scalar()
    if found is None:
        raise QuanError(NOT_FOUND, what=f"program {program_id}")
    return str(found)


def shops(
    tx: Connection,
    issuer_id: str,
    categories: list[str],
    *,
    text: str = "",
    category: str = "",
    district: str = "",
) -> list[Shop]:
    """Approved shops taking the program's categories, narrowed by a name fragment, a category
    and a district, by name."""
    wanted = [category] if category and category in categories else categories
    if not wanted:
        return []
    m = merchants.c
    query = (
        select(m.id, m.name, m.region_code, m.accepts_offline, m.accepts_online)
        .where(m.issuer_id == issuer_id, m.status == "approved")
        .where(m.id.in_(select(merchant_categories.c.merchant_id)
                        .where(merchant_categories.c.category.in_(wanted))))
        .order_by(m.name, m.id)
        .limit(MERCHANTS_SHOWN)
    )  # fmt: skip
    needle = text.strip()
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(m.name.ilike(f"%{escaped}%", escape="\\"))
    if district:
        query = query.where(m.region_code == district)
    rows = tx.execute(query).all()
    by_merchant: dict[str, list[str]] = {}
    if rows:
        for mid, cat in tx.execute(
            select(merchant_categories.c.merchant_id, merchant_categories.c.category).where(
                merchant_categories.c.merchant_id.in_([r.id for r in rows])
            )
        ):
            if cat in categories:
                by_merchant.setdefault(mid, []).append(cat)
    return [
        Shop(name=r.name, categories=sorted(by_merchant.get(r.id, [])), region_code=r.region_code,
             region=region_name(r.region_code) or r.region_code, offline=r.accepts_offline,
             online=r.accepts_online)
        for r in rows
    ]  # fmt: skip

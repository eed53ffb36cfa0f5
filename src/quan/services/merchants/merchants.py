"""Merchant onboarding and review: applying to an issuer's scheme, review decisions, re-review
dates, and reading merchants back (masked) for the people allowed to see them.

A merchant applies to one issuer; once approved it may accept the vouchers of that issuer's
programs, within each voucher type's scope. The application answers with the merchant's owner
key (see :mod:`quan.services.merchants.terminals`), the applicant's credential from then on.

Review decisions lock the merchant row (``FOR UPDATE``; ``BEGIN IMMEDIATE`` on SQLite) and then
update it conditionally on the status they read, so of two reviewers deciding at once exactly
one succeeds and the other gets ``MERCHANT_TRANSITION_NOT_ALLOWED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, insert, select
from sqlalchemy.exc import IntegrityError

from quan.config import Settings
from quan.domain import merchants as rules
from quan.domain.auth import Actor, PartnerRole, require_issuer
from quan.domain.categories import check_categories
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.domain.merchants import BankAccount, Decision, MerchantStatus, Scene
from quan.domain.uscc import parse_uscc
from quan.services.money.issuers import INVALID_REGION, get_issuer
from quan.services.people import pii
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchant_categories, merchants
from quan.store.pagination import page

MERCHANT_EXISTS = define(
    "MERCHANT_EXISTS",
    Kind.CONFLICT,
    zh="该统一社会信用代码已向此发放单位提交过申请（审核中或已入驻）",
    en="This Unified Social Credit Code already has a live application with this issuer",
)


SEALING_PURPOSE = "aes-gcm/merchant"
SEALED_FIELDS = {"bank_account_token": "bank_account", "contact_phone_token": "contact_phone"}
"""Encrypted columns of ``merchants`` and the field name their associated data carries."""


def pii_key(master: bytes) -> bytes:
    """The AES-GCM key for merchants' confidential fields, from ``Settings.pii_key`` alone."""
    return pii.derive_key(master, SEALING_PURPOSE)


def sealing_key(settings: Settings) -> pii.Keyring:
    """The keyring for merchants' confidential fields (rotatable, see :func:`pii.keyring`)."""
    return pii.keyring(settings, SEALING_PURPOSE)


def sealing_aad(merchant_id: str, field: str) -> str:
    return f"merchant:{merchant_id}:{field}"


_aad = sealing_aad


@dataclass(frozen=True, slots=True)
class Merchant:
    """A merchant as it may be shown: bank account and phone masked."""

    id: str
    issuer_id: str
    name: str
    uscc: str
    categories: tuple[str, ...]
    region_code: str
    scenes: tuple[Scene, ...]
    bank_name: str
    bank_account_masked: str
    contact_phone_masked: str
    status: MerchantStatus
    status_reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    next_review_due_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    merchant_id: str
    decision: Decision
    from_status: MerchantStatus
    to_status: MerchantStatus
    reason: str
    decided_by: str
    decided_at: datetime
    next_review_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewMerchant:
    issuer_id: str
    name: str
    uscc: str
    categories: Sequence[str]
    region_code: str
    scenes: Sequence[Scene]
    bank_name: str
    account_number: str
    contact_phone: str


@dataclass(frozen=True, slots=True)
class _Checked:
    name: str
    uscc: str
    categories: tuple[str, ...]
    scenes: frozenset[Scene]
    bank: BankAccount
    phone: str


def _check(tx: Connection, cmd: NewMerchant) -> _Checked:
    """Every rule of an application, before anything is written."""
    name = rules.check_name(cmd.name)
    uscc = parse_uscc(cmd.uscc).code
    categories = check_categories(cmd.categories)
    if not categories:
        raise QuanError(rules.CATEGORY_REQUIRED)
    scenes = rules.check_scenes(cmd.scenes)
    if not rules.is_region_code(cmd.region_code):
        raise QuanError(INVALID_REGION)
    issuer = get_issuer(tx, cmd.issuer_id)
    rules.check_region(cmd.region_code, issuer.region_code)
    bank = rules.parse_bank_account(cmd.bank_name, cmd.account_number)
    phone = rules.parse_contact_phone(cmd.contact_phone)
    return _Checked(name, uscc, categories, scenes, bank, phone)


def apply(
    tx: Connection, now: datetime, key: pii.Key, cmd: NewMerchant, *,
    phone_lookup: bytes | None = None,
) -> tuple[Merchant, Actor]:
    """Record an application in ``submitted``. Returns the merchant and its own principal, the
    actor of the application (anyone may apply; the applicant *is* the merchant).
    ``phone_lookup`` keys the contact phone's hash, the owner's sign-in name (see
    :mod:`quan.services.merchants.owner_signin`; without it the hash is filled later)."""
    checked = _check(tx, cmd)
    live = tx.execute(
        select(merchants.c.id).where(
            merchants.c.issuer_id == cmd.issuer_id,
            merchants.c.uscc == checked.uscc,
            merchants.c.status != MerchantStatus.REJECTED.value,
        )
    ).first()
    if live is not None:
        raise QuanError(MERCHANT_EXISTS)
    merchant_id = new_id("mch")
    actor = Actor(
        kind=PartnerRole.MERCHANT.value,
        id=merchant_id,
        role=PartnerRole.MERCHANT.value,
        merchant_id=merchant_id,
    )
    try:
        # A savepoint, so that a concurrent twin caught by the unique index is answered with
        # the same code as one caught by the check above.
        with tx.begin_nested():
            tx.execute(
                insert(merchants).values(
                    id=merchant_id,
                    issuer_id=cmd.issuer_id,
                    name=checked.name,
                    uscc=checked.uscc,
                    region_code=cmd.region_code,
                    accepts_offline=Scene.OFFLINE in checked.scenes,
                    accepts_online=Scene.ONLINE in checked.scenes,
                    bank_name=checked.bank.bank_name,
                    bank_account_token=pii.encrypt(
                        key, checked.bank.account_number, _aad(merchant_id, "bank_account")
                    ),
                    bank_account_masked=pii.mask_tail(checked.bank.account_number),
                    contact_phone_token=pii.encrypt(
                        key, checked.phone, _aad(merchant_id, "contact_phone")
                    ),
                    contact_phone_masked=pii.mask_phone(checked.phone),
                    contact_phone_hash=(
                        pii.lookup_hash(phone_lookup, checked.phone) if phone_lookup else None
                    ),
                    status=MerchantStatus.SUBMITTED.value,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError as exc:
        raise QuanError(MERCHANT_EXISTS) from exc
    tx.execute(
        insert(merchant_categories),
        [{"merchant_id": merchant_id, "category": c} for c in checked.categories],
    )
    record_event(
        tx,
        type="merchant.applied",
        actor=actor,
        subject_type="merchant",
        subject_id=merchant_id,
        at=now,
        payload={
            "issuer_id": cmd.issuer_id,
            "region_code": cmd.region_code,
            "categories": list(checked.categories),
            "scenes": sorted(s.value for s in checked.scenes),
        },
    )
    return get_merchant(tx, merchant_id), actor


def _merchant(row: Row[Any], categories: tuple[str, ...]) -> Merchant:
    m = row._mapping
    scenes = tuple(
        s
        for s, accepted in (
            (Scene.OFFLINE, m["accepts_offline"]),
            (Scene.ONLINE, m["accepts_online"]),
        )
        if accepted
    )
    return Merchant(
        id=m["id"],
        issuer_id=m["issuer_id"],
        name=m["name"],
        uscc=m["uscc"],
        categories=categories,
        region_code=m["region_code"],
        scenes=scenes,
        bank_name=m["bank_name"],
        bank_account_masked=m["bank_account_masked"],
        contact_phone_masked=m["contact_phone_masked"],
        status=MerchantStatus(m["status"]),
        status_reason=m["status_reason"],
        reviewed_by=m["reviewed_by"],
        reviewed_at=m["reviewed_at"],
        next_review_due_at=m["next_review_due_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def load(tx: Connection, rows: Sequence[Row[Any]]) -> list[Merchant]:
    """Merchants from ``merchants`` rows, with their categories (one query for all rows)."""
    ids = [r._mapping["id"] for r in rows]
    found: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for merchant_id, category in tx.execute(
            select(merchant_categories.c.merchant_id, merchant_categories.c.category)
            .where(merchant_categories.c.merchant_id.in_(ids))
            .order_by(merchant_categories.c.merchant_id, merchant_categories.c.category)
        ):
            found[merchant_id].append(category)
    return [_merchant(r, tuple(found[r._mapping["id"]])) for r in rows]


def get_merchant(tx: Connection, merchant_id: str, *, for_update: bool = False) -> Merchant:
    query = select(merchants).where(merchants.c.id == merchant_id)
    if for_update:
        query = query.with_for_update()
    row = tx.execute(query).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"merchant {merchant_id}")
    return load(tx, [row])[0]


def exists(tx: Connection, merchant_id: str) -> bool:
    found = tx.execute(select(merchants.c.id).where(merchants.c.id == merchant_id)).first()
    return found is not None


def names_of(tx: Connection, merchant_ids: Iterable[str]) -> dict[str, str]:
    """Merchants' names by id, for pages that list what is stored by merchant id."""
    wanted = sorted(set(merchant_ids))
    if not wanted:
        return {}
    rows = tx.execute(select(merchants.c.id, merchants.c.name).where(merchants.c.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def visible_merchant(
    tx: Connection, actor: Actor, merchant_id: str, *, for_update: bool = False
) -> Merchant:
    """The merchant, if the actor may see it: its own principals, staff of its issuer, admins
    and auditors. To a merchant principal, another merchant does not exist."""
    if rules.is_merchant_principal(actor) and actor.merchant_id != merchant_id:
        raise QuanError(NOT_FOUND, what=f"merchant {merchant_id}")
    merchant = get_merchant(tx, merchant_id, for_update=for_update)
    rules.require_merchant_access(actor, merchant.id, merchant.issuer_id)
    return merchant


def listing(
    actor: Actor,
    *,
    issuer_id: str | None = None,
    status: MerchantStatus | None = None,
    category: str | None = None,
) -> Select[Any]:
    """The merchants a staff member may list: operators their issuer's, others every issuer's."""
    query = select(merchants)
    if actor.role == "operator":
        issuer_id = issuer_id or actor.issuer_id
    if issuer_id is not None:
        require_issuer(actor, issuer_id)
        query = query.where(merchants.c.issuer_id == issuer_id)
    if status is not None:
        query = query.where(merchants.c.status == status.value)
    if category is not None:
        check_categories([category])
        query = query.where(
            merchants.c.id.in_(
                select(merchant_categories.c.merchant_id).where(
                    merchant_categories.c.category == category
                )
            )
        )
    return query


def due_for_review(actor: Actor, *, by: datetime) -> Select[Any]:
    """Approved merchants whose re-review is due at or before ``by``, within the actor's reach."""
    query = listing(actor, status=MerchantStatus.APPROVED)
    return query.where(merchants.c.next_review_due_at <= by)


def payout_account(tx: Connection, key: pii.Key, merchant_id: str) -> BankAccount:
    """The bank account in clear, for settlement's payout file and nothing else."""
    row = tx.execute(
        select(merchants.c.bank_name, merchants.c.bank_account_token).where(
            merchants.c.id == merchant_id
        )
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"merchant {merchant_id}")
    number = pii.decrypt(key, row.bank_account_token, _aad(merchant_id, "bank_account"))
    return BankAccount(row.bank_name, number)


def page_of(
    tx: Connection, query: Select[Any], *, limit: int, cursor: str | None
) -> tuple[list[Merchant], str | None]:
    """A page of the merchants ``query`` selects (see :func:`listing`), by id."""
    rows, next_cursor = page(tx, query, merchants.c.id, limit=limit, cursor=cursor)
    return load(tx, rows), next_cursor

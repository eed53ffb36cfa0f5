"""Public disclosure of a program (R6.4, R9.3): its figures and rule changes, tied to the log.

:func:`program_disclosure` reads everything in the caller's one snapshot, so the figures, the
rule changes and the signed checkpoint all describe the same moment. ``unsequenced_events`` says
how many of the program's events that checkpoint does not cover yet (0 means every event behind
the figures is already in the log).

:func:`_figures` is THE place the page's numbers come from: the money figures derived from the
ledger (:func:`quan.store.ledger.budget`) and the issued, claimed and redeemed vouchers, in total
and by category and region, read from their own tables in the same snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Select, and_, case, func, literal, select

from quan.domain.ledger import Budget
from quan.domain.log_leaf import Pseudonymize, public_payload
from quan.domain.redemption_situation import REDEEMED
from quan.services.money.issuers import get_issuer
from quan.services.money.programs import Program, get_program
from quan.store import ledger, log_read
from quan.store import log as log_store
from quan.store.citizen_tables import citizens
from quan.store.merchant_tables import merchant_categories, merchants
from quan.store.redemption_tables import redemptions
from quan.store.tables import fund_movements, funders
from quan.store.voucher_tables import batches, vouchers

RULE_SUBJECTS: Final = ("program", "voucher_type", "batch")
"""Subjects whose events are rule changes (program lifecycle, voucher types, batches)."""

RULE_TYPES: Final = (
    "program.created",
    "program.updated",
    "program.active",
    "program.paused",
    "program.closed",
    "program.draft",
    "program.redemption_policy_set",
    "voucher_type.created",
    "voucher_type.updated",
    "voucher_type.deleted",
    "batch.created",
    "batch.updated",
    "batch.deleted",
    "batch.opened",
    "batch.closed",
    "batch.share_cap_set",
)
"""The event types that change a program's rules. Other events about the same subjects (a
citizen's lottery entry, a grant, the draw, vouchers expiring) are not rule changes: the log and
the lottery's own page show them."""

MAX_MERCHANTS: Final = 500
"""Merchants listed on the page (by name); ``merchant_count`` counts them all."""

MAX_RULE_CHANGES: Final = 500
"""Rule changes listed on the page (oldest first); they are human-paced, so this is a guard."""


@dataclass(frozen=True, slots=True)
class Tally:
    """How many vouchers, and how much subsidy (fen) and order value (fen) they stand for."""

    key: str  # a category code or a region code ("" for the total)
    count: int
    subsidy_fen: int
    order_fen: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    """The numbers the public sees. Money is the ledger's budget view, in fen.

    ``issued`` counts the vouchers of opened batches (subsidy = what they can cost at most),
    ``claimed`` those that reached a citizen, ``redeemed`` the redemptions in force (reversed
    ones excluded; subsidy = discount, order = order amount). Claims are counted by the
    citizen's region, redemptions by category and by the merchant's region.
    """

    money: Budget
    issued: Tally
    claimed: Tally
    redeemed: Tally
    claimed_by_region: list[Tally]
    redeemed_by_category: list[Tally]
    redeemed_by_region: list[Tally]


@dataclass(frozen=True, slots=True)
class RuleChange:
    event_id: int
    log_index: int | None  # None until the sequencer has appended the event
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LogPosition:
    """The signed checkpoint the figures were read at."""

    tree_size: int
    root_hash: bytes
    checkpoint: str  # the signed note, as served by /audit/checkpoint
    unsequenced_events: int


@dataclass(frozen=True, slots=True)
class FunderShare:
    """A funder and what it has put into the program, net of what was returned to it (fen)."""

    name: str
    kind: str
    net_fen: int


@dataclass(frozen=True, slots=True)
class TakingPart:
    """A merchant where the program's vouchers can be used: approved by the program's issuer."""

    name: str
    region_code: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Disclosure:
    program: Program
    issuer_name: str
    figures: Figures
    log: LogPosition | None  # None before the log's first checkpoint
    rule_changes: list[RuleChange]
    rule_changes_complete: bool
    funders: list[FunderShare] = field(default_factory=list)
    merchants: list[TakingPart] = field(default_factory=list)
    merchant_count: int = 0


def _funders(tx: Connection, program_id: str) -> list[FunderShare]:
    """Approved contributions minus approved returns, per funder, largest first."""
    fm, f = fund_movements.c, funders.c
    signed = case((fm.direction == "return", -fm.amount_fen), else_=fm.amount_fen)
    rows = tx.execute(
        select(f.name, f.kind, func.sum(signed))
        .select_from(fund_movements.join(funders, f.id == fm.funder_id))
        .where(fm.program_id == program_id, fm.status == "approved")
        .group_by(f.id, f.name, f.kind)
        .order_by(func.sum(signed).desc(), f.name)
    ).all()
    return [FunderShare(str(name), str(kind), int(net)) for name, kind, net in rows]


def _merchants(tx: Connection, issuer_id: str) -> tuple[list[TakingPart], int]:
    """The issuer's approved merchants (by name, at most :data:`MAX_MERCHANTS`) and their count."""
    m, mc = merchants.c, merchant_categories.c
    taking = (m.issuer_id == issuer_id, m.status == "approved")
    count = int(tx.execute(select(func.count()).where(*taking)).scalar_one())
    rows = tx.execute(
        select(m.id, m.name, m.region_code).where(*taking).order_by(m.name, m.id)
        .limit(MAX_MERCHANTS)
    ).all()
    ids = [r.id for r in rows]
    kinds: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for merchant_id, category in tx.execute(
            select(mc.merchant_id, mc.category)
            .where(mc.merchant_id.in_(ids))
            .order_by(mc.merchant_id, mc.category)
        ):
            kinds[merchant_id].append(category)
    listed = [TakingPart(r.name, r.region_code, tuple(kinds[r.id])) for r in rows]
    return listed, count


def _figures(tx: Connection, program_id: str) -> Figures:
    claimed = vouchers.c.citizen_id.is_not(None)
    live = and_(redemptions.c.program_id == program_id, redemptions.c.status == REDEEMED)
    by_merchant = redemptions.join(merchants, merchants.c.id == redemptions.c.merchant_id)
    priced = vouchers.join(batches, batches.c.id == vouchers.c.batch_id)  # a voucher's worth
    return Figures(
        money=ledger.budget(tx, program_id),
        issued=_tallies(
            tx,
            select(*_voucher_sums()).select_from(priced).where(vouchers.c.program_id == program_id),
        )[0],
        claimed=_tallies(
            tx,
            select(*_voucher_sums())
            .select_from(priced)
            .where(vouchers.c.program_id == program_id, claimed),
        )[0],
        redeemed=_tallies(tx, select(*_redemption_sums()).where(live))[0],
        claimed_by_region=_tallies(
            tx,
            select(*_voucher_sums(citizens.c.region_code))
            .select_from(priced.join(citizens, citizens.c.id == vouchers.c.citizen_id))
            .where(vouchers.c.program_id == program_id)
            .group_by(citizens.c.region_code)
            .order_by(citizens.c.region_code),
        ),
        redeemed_by_category=_tallies(
            tx,
            select(*_redemption_sums(redemptions.c.category))
            .where(live)
            .group_by(redemptions.c.category)
            .order_by(redemptions.c.category),
        ),
        redeemed_by_region=_tallies(
            tx,
            select(*_redemption_sums(merchants.c.region_code))
            .select_from(by_merchant)
            .where(live)
            .group_by(merchants.c.region_code)
            .order_by(merchants.c.region_code),
        ),
    )


def _voucher_sums(key: Any = None) -> tuple[Any, ...]:
    return (
        (key if key is not None else literal("")).label("key"),
        func.count(vouchers.c.id),
        func.coalesce(func.sum(batches.c.unit_fen), 0),
        literal(0),
    )


def _redemption_sums(key: Any = None) -> tuple[Any, ...]:
    return (
        (key if key is not None else literal("")).label("key"),
        func.count(redemptions.c.id),
        func.coalesce(func.sum(redemptions.c.discount_fen), 0),
        func.coalesce(func.sum(redemptions.c.order_amount_fen), 0),
    )


def _tallies(tx: Connection, query: Select[Any]) -> list[Tally]:
    return [
        Tally(str(key), int(count), int(subsidy), int(order))
        for key, count, subsidy, order in tx.execute(query)
    ]


def program_disclosure(tx: Connection, program_id: str, pseudonymize: Pseudonymize) -> Disclosure:
    """Everything the public page shows about one program (NOT_FOUND if there is none).

    Rule-change payloads pass the same personal-data guard as leaves, so the page never shows
    more than the log does.
    """
    program = get_program(tx, program_id)
    issuer = get_issuer(tx, program.issuer_id)
    figures = _figures(tx, program_id)
    taking, merchant_count = _merchants(tx, program.issuer_id)
    head = log_store.latest_checkpoint(tx)
    position = None
    if head is not None:
        position = LogPosition(
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            checkpoint=head.note,
            unsequenced_events=log_store.queued_count(tx, program_id),
        )
    rows = log_read.subject_events(
        tx, program_id, RULE_SUBJECTS, MAX_RULE_CHANGES + 1, types=RULE_TYPES
    )
    changes = [
        RuleChange(
            event_id=int(row.id),
            log_index=None if row.log_index is None else int(row.log_index),
            type=row.type,
            occurred_at=row.occurred_at,
            payload=public_payload(
                row.type, row.subject_type, program_id, json.loads(row.payload), pseudonymize,
                int(row.id),
            ),
        )
        for row in rows[:MAX_RULE_CHANGES]
    ]
    return Disclosure(
        program=program,
        issuer_name=issuer.name,
        figures=figures,
        log=position,
        rule_changes=changes,
        rule_changes_complete=len(rows) <= MAX_RULE_CHANGES,
        funders=_funders(tx, program_id),
        merchants=taking,
        merchant_count=merchant_count,
    )

"""The assisted channel (R1.4): an agent at a service centre issues a voucher for a citizen and
prints it.

- **Issuance** goes through the first-come claim itself
(:func:`quan.services.issuance.claims.claim`,
  channel ``assisted``), so eligibility, the blacklist, the per-citizen limit, the window and the
  sell-out hold exactly as for a citizen claiming in the app. The claim's own event
  (``voucher.claimed``) names the citizen as holder; in the same transaction
  ``voucher.assisted_issued`` names the agent as actor, so every agent action is attributed.
- Agents act only for programs of their own issuer (``OTHER_ISSUER`` otherwise), and only with
  the citizen's presence proven (:mod:`quan.services.issuance.assisted_acts`).
- **Printing** (``voucher.printed`` event, actor the agent) is the act's own: only the agent who
  issued the voucher, within its print window; a later copy is a reprint (presence again, a
  reason, a limit, audited). No one else — operators and admins included — sees a code.
  Rendering the voucher has
  no dependency beyond ``segno``: a PDF composed here (vector QR, Helvetica for the code, value
  and dates, the program name in the standard CJK font ``STSong-Light``) or a PNG encoded here
  (QR and the code, value and dates in a built-in 5×7 pixel font; the program name, which needs
  a CJK font, travels in an ``iTXt`` ``Title`` chunk). No personal data is printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from quan.cache.throttle import Throttle
from quan.clock import Clock
from quan.domain.auth import OTHER_ISSUER, Actor, Role
from quan.domain.batches import CLAIM_WINDOW_OVER, Allocation
from quan.domain.citizens import local_date
from quan.domain.claims import WRONG_ALLOCATION, Channel
from quan.domain.errors import FORBIDDEN, NOT_FOUND, Kind, QuanError, define
from quan.services.issuance import assisted_acts, claims
from quan.services.issuance.assisted_acts import Presence, ReprintReason
from quan.services.issuance.claim_cache import DEFAULT_CACHE, ClaimCache
from quan.services.people.citizens import CitizenKeys
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.tables import programs
from quan.store.voucher_tables import voucher_types, vouchers

VOUCHER_NOT_ISSUED = define(
    "VOUCHER_NOT_ISSUED",
    Kind.CONFLICT,
    zh="该券尚未发放给居民，不能打印",
    en="This voucher has not been issued to anyone; it cannot be printed",
)

FORMATS = ("png", "pdf")


def _program_issuer(tx: Connection, program_id: str) -> str:
    issuer = tx.execute(
        select(programs.c.issuer_id).where(programs.c.id == program_id)
    ).scalar_one_or_none()
    if issuer is None:
        raise QuanError(NOT_FOUND, what=f"program {program_id}")
    return str(issuer)


def require_staff_of(actor: Actor, issuer_id: str, roles: frozenset[str]) -> None:
    """Agents and operators act within their own issuer; admins everywhere."""
    if actor.role == Role.ADMIN:
        return
    if actor.role not in roles:
        raise QuanError(FORBIDDEN)
    if actor.issuer_id != issuer_id:
        raise QuanError(OTHER_ISSUER)


AGENTS = frozenset({Role.AGENT.value})


def _agent_only(actor: Actor, issuer_id: str) -> None:
    """Only agents hand vouchers over in person; admins are not agents here."""
    if actor.role != Role.AGENT.value:
        raise QuanError(FORBIDDEN)
    require_staff_of(actor, issuer_id, AGENTS)


def issue_for_citizen(
    db: Database,
    clock: Clock,
    agent: Actor,
    citizen_id: str,
    batch_id: str,
    *,
    keys: CitizenKeys,
    throttle: Throttle,
    proof: Presence,
    key: str | None = None,
    cache: ClaimCache = DEFAULT_CACHE,
) -> claims.ClaimOutcome:
    """An agent claims one voucher of a first-come batch on behalf of a citizen who is present
    (the proof is checked first; a retry of the same act within its window needs none)."""
    if key is not None:
        claims.check_key(key)
    facts = cache.facts(db, batch_id)
    now = clock.now()
    with db.read() as tx:
        _agent_only(agent, _program_issuer(tx, facts.program_id))
        replay = (
            claims.find_replay(tx, citizen_id, key, batch_id, Channel.ASSISTED) if key else None
        )
        retried = replay is not None and assisted_acts.in_own_act(tx, now, agent, replay.id)
    if facts.rules.allocation is not Allocation.FCFS:
        raise QuanError(WRONG_ALLOCATION, allocation=facts.rules.allocation.value)
    if now >= facts.rules.claim_closes_at:
        raise QuanError(CLAIM_WINDOW_OVER, claim_closes_at=facts.rules.claim_closes_at.isoformat())
    if replay is not None and retried:
        return claims.ClaimOutcome(replay, replayed=True)
    assisted_acts.prove(db, now, keys, throttle, citizen_id, proof)
    attempts = facts.rules.per_citizen_limit + 1
    for attempt in range(attempts):
        try:
            with db.write() as tx:
                outcome = claims.claim(
                    tx, now, citizen_id, facts, key=key, channel=Channel.ASSISTED, cache=cache
                )
                if not outcome.replayed:
                    assisted_acts.record_act(tx, now, agent, outcome.voucher.id)
                    record_event(
                        tx,
                        type="voucher.assisted_issued",
                        actor=agent,
                        subject_type="voucher",
                        subject_id=outcome.voucher.id,
                        program_id=facts.program_id,
                        at=now,
                        payload={
                            "batch_id": batch_id,
                            "citizen_id": citizen_id,
                            "channel": Channel.ASSISTED.value,
                        },
                    )
                return outcome
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


# --- the printable voucher ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Printable:
    voucher_id: str
    code: str
    qr_payload: str
    program_name: str
    value_text: str  # "¥30.00" or "30% off, up to ¥50.00" (ASCII but for ¥)
    min_spend_text: str  # "min. spend ¥100.00" or ""
    valid_text: str  # "2026-11-25 - 2026-12-24" in the program's time zone


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def printable(tx: Connection, now: datetime, actor: Actor, voucher_id: str) -> Printable:
    """The print of an assisted act: only its agent, within its window and print limit;
    records ``voucher.printed``."""
    row = _voucher(tx, voucher_id)
    _agent_only(actor, row.issuer_id)
    if row.citizen_id is None or row.valid_from is None:
        raise QuanError(VOUCHER_NOT_ISSUED)
    assisted_acts.take_print(tx, now, actor, voucher_id)
    record_event(
        tx,
        type="voucher.printed",
        actor=actor,
        subject_type="voucher",
        subject_id=row.id,
        program_id=row.program_id,
        at=now,
        payload={},
    )
    return _printable(row)


def reprint(
    db: Database,
    clock: Clock,
    agent: Actor,
    voucher_id: str,
    *,
    keys: CitizenKeys,
    throttle: Throttle,
    proof: Presence,
    reason: ReprintReason,
) -> Printable:
    """A copy after the act's window: the holder present again, a reason, at most
    ``MAX_REPRINTS``; a ``voucher.reprinted`` event and a log line."""
    now = clock.now()
    with db.read() as tx:
        row = _voucher(tx, voucher_id)
    _agent_only(agent, row.issuer_id)
    if row.citizen_id is None or row.valid_from is None:
        raise QuanError(VOUCHER_NOT_ISSUED)
    assisted_acts.prove(db, now, keys, throttle, row.citizen_id, proof)
    with db.write() as tx:
        assisted_acts.take_reprint(tx, now, agent, voucher_id, row.program_id, reason)
    return _printable(row)


def _voucher(tx: Connection, voucher_id: str) -> Any:
    row = tx.execute(
        select(
            vouchers.c.id,
            vouchers.c.code,
            vouchers.c.citizen_id,
            vouchers.c.program_id,
            vouchers.c.valid_from,
            vouchers.c.valid_until,
            programs.c.name.label("program_name"),
            programs.c.issuer_id,
            programs.c.timezone,
            voucher_types.c.kind,
            voucher_types.c.face_value_fen,
            voucher_types.c.percent_off,
            voucher_types.c.cap_fen,
            voucher_types.c.min_spend_fen,
        )
        .select_from(
            vouchers.join(programs, programs.c.id == vouchers.c.program_id).join(
                voucher_types, voucher_types.c.id == vouchers.c.voucher_type_id
            )
        )
        .where(vouchers.c.id == voucher_id)
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"voucher {voucher_id}")
    return row


def _printable(row: Any) -> Printable:
    if row.kind == "fixed":
        value = yuan(int(row.face_value_fen))
    else:
        value = f"{row.percent_off}% off, up to {yuan(int(row.cap_fen))}"
    min_spend = f"min. spend {yuan(int(row.min_spend_fen))}" if row.min_spend_fen else ""
    first = local_date(row.valid_from, row.timezone).isoformat()
    last = local_date(row.valid_until, row.timezone).isoformat()
    return Printable(
        voucher_id=row.id,
        code=row.code,
        qr_payload=row.code,  # as the wallet's QR (quan.services.issuance.wallet.qr_payload)
        program_name=row.program_name,
        value_text=value,
        min_spend_text=min_spend,
        valid_text=f"{first} - {last}",
    )


# --- PDF --------------------------------------------------------------------------------------


# --- PNG --------------------------------------------------------------------------------------



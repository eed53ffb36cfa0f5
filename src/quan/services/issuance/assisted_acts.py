"""The assisted act: staff see a voucher code only when they hand it over in person.

- **Presence** — before an agent issues or reprints a voucher for a citizen, the citizen proves
  being at the desk: either the one-time code the agent has sent to the citizen's phone
  (:func:`send_presence_code`; OTP purpose ``presence``, never good for signing in; the agent
  never sees the number), or the ID card number typed from the card, checked against the stored
  keyed hash. Wrong answers are committed before the refusal and limited per citizen.
- **The print right** belongs to the act: one ``assisted_issues`` row per voucher issued at the
  desk (agent, ``print_until`` = issue + ``PRINT_WINDOW``, ``MAX_PRINTS``). Only that agent,
  only in that window, prints it; no one prints an app-claimed, granted or lottery voucher.
- **Reprints** are rare: presence proven again, a reason code, at most ``MAX_REPRINTS`` per
  voucher, each a ``voucher.reprinted`` event and a warning in the log.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from quan.cache.throttle import Throttle
from quan.domain.auth import Actor
from quan.domain.errors import Kind, QuanError, define
from quan.domain.resident_id import parse_resident_id
from quan.services.people import otp
from quan.services.people.citizens import CitizenKeys, open_personal_data
from quan.services.people.rate_limits import RateLimit, spend
from quan.store.assisted_tables import MAX_PRINTS, MAX_REPRINTS, assisted_issues
from quan.store.citizen_tables import citizens
from quan.store.db import Database
from quan.store.events import record_event

log = logging.getLogger("quan.assisted")

PRINT_WINDOW = timedelta(minutes=15)
ID_FAILURES = RateLimit("presence.id.failures", attempts=5, window_seconds=900)

PRESENCE_REQUIRED = define(
    "PRESENCE_REQUIRED",
    Kind.INVALID,
    zh="请证明居民本人在场：填写发送到其手机的验证码，或照身份证输入身份证号（二选一）",
    en="Prove the citizen is present: the code sent to their phone or the ID card number "
    "typed from the card (one of the two)",
)
PRESENCE_NOT_PROVEN = define(
    "PRESENCE_NOT_PROVEN",
    Kind.FORBIDDEN,
    zh="身份证号与该居民不符",
    en="The ID card number does not match this citizen",
)
NO_PHONE_ON_FILE = define(
    "NO_PHONE_ON_FILE",
    Kind.CONFLICT,
    zh="该居民未登记手机号，请照身份证输入身份证号",
    en="This citizen has no phone on file; type the ID card number from the card instead",
)
PRINT_NOT_ALLOWED = define(
    "PRINT_NOT_ALLOWED",
    Kind.FORBIDDEN,
    zh="只能打印您本人在服务点当面发放的券",
    en="You can print only vouchers you issued in person at the desk",
)
PRINT_WINDOW_OVER = define(
    "PRINT_WINDOW_OVER",
    Kind.FORBIDDEN,
    zh="发放后 {minutes} 分钟内才能打印；之后请在居民在场时申请补打",
    en="Printing is open for {minutes} minutes after issuing; later, reprint with the citizen "
    "present",
)
PRINT_LIMIT_REACHED = define(
    "PRINT_LIMIT_REACHED",
    Kind.CONFLICT,
    zh="该券已打印 {limit} 次",
    en="This voucher has been printed {limit} times already",
)
REPRINT_LIMIT_REACHED = define(
    "REPRINT_LIMIT_REACHED",
    Kind.CONFLICT,
    zh="该券已补打 {limit} 次，不能再补打",
    en="This voucher has been reprinted {limit} times; it cannot be reprinted again",
)


class ReprintReason(StrEnum):
    LOST = "lost"  # the citizen lost the paper
    DAMAGED = "damaged"  # torn, wet, unreadable
    PRINTER_FAULT = "printer_fault"  # the first print failed after the window


@dataclass(frozen=True, slots=True)
class Presence:
    """Exactly one of the two proofs."""

    otp_code: str | None = None
    resident_id: str | None = None


def send_presence_code(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    throttle: Throttle,
    agent: Actor,
    citizen_id: str,
) -> otp.CodeSent:
    phone = open_personal_data(tx, keys, citizen_id).phone
    if phone is None:
        raise QuanError(NO_PHONE_ON_FILE)
    sent = otp.request_presence_code(tx, now, keys, throttle, phone=phone)
    record_event(
        tx,
        type="citizen.presence_code_sent",
        actor=agent,
        subject_type="citizen",
        subject_id=citizen_id,
        at=now,
        payload={},
    )
    return sent


def prove(
    db: Database,
    now: datetime,
    keys: CitizenKeys,
    throttle: Throttle,
    citizen_id: str,
    proof: Presence,
) -> None:
    """Accept the proof or raise; a wrong answer is committed (counted) before the refusal."""
    if (proof.otp_code is None) == (proof.resident_id is None):
        raise QuanError(PRESENCE_REQUIRED)
    refusal: QuanError | None = None
    with db.write() as tx:
        if proof.otp_code is not None:
            phone = open_personal_data(tx, keys, citizen_id).phone
            if phone is None:
                raise QuanError(NO_PHONE_ON_FILE)
            # The desk has no address of the citizen's own: guesses are counted per citizen
            # (and per phone, by otp.guess), so a wrong code slows the next try down.
            attempt = otp.guess(
                throttle,
                keys,
                phone=phone,
                purpose=otp.Purpose.PRESENCE,
                ip=f"presence:{citizen_id}",
            )
            check = otp.check_code(
                tx, now, keys, phone=phone, purpose=otp.Purpose.PRESENCE, code=proof.otp_code
            )
            if check.accepted:
                attempt.succeeded(throttle)
            refusal = None if check.accepted else check.refusal()
        else:
            stored = tx.execute(
                select(citizens.c.resident_id_hash).where(citizens.c.id == citizen_id)
            ).scalar_one_or_none()
            who = ID_FAILURES.key(citizen_id)
            if throttle.count(who) >= ID_FAILURES.attempts:
                spend(throttle, ID_FAILURES, citizen_id)  # raises RATE_LIMITED
            try:
                typed = parse_resident_id(proof.resident_id or "", today=now.date()).number
                given = keys.resident_id_hash(typed)
            except QuanError:
                given = ""
            if stored is None or not hmac.compare_digest(str(stored), given):
                throttle.hit(who, ID_FAILURES.window_seconds)
                refusal = QuanError(PRESENCE_NOT_PROVEN)
            else:
                throttle.reset(who)
    if refusal is not None:
        raise refusal


def record_act(tx: Connection, now: datetime, agent: Actor, voucher_id: str) -> None:
    """In the issuing transaction: the print right of this act."""
    tx.execute(
        insert(assisted_issues).values(
            voucher_id=voucher_id,
            agent_id=agent.id,
            issued_at=now,
            print_until=now + PRINT_WINDOW,
            prints=0,
            reprints=0,
        )
    )


def in_own_act(tx: Connection, now: datetime, agent: Actor, voucher_id: str) -> bool:
    """Whether ``voucher_id`` was issued by ``agent`` at the desk and its window is open (a
    retried request of the same act may see the voucher again)."""
    row = tx.execute(
        select(assisted_issues.c.agent_id, assisted_issues.c.print_until).where(
            assisted_issues.c.voucher_id == voucher_id
        )
    ).first()
    return row is not None and row.agent_id == agent.id and now < row.print_until


def take_print(tx: Connection, now: datetime, agent: Actor, voucher_id: str) -> None:
    """Count one print of the act, or refuse: the counter moves only by a conditional update."""
    a = assisted_issues.c
    taken = tx.execute(
        update(assisted_issues)
        .where(
            a.voucher_id == voucher_id,
            a.agent_id == agent.id,
            a.print_until > now,
            a.prints < MAX_PRINTS,
        )
        .values(prints=a.prints + 1)
    )
    if taken.rowcount == 1:
        return
    row = tx.execute(select(assisted_issues).where(a.voucher_id == voucher_id)).first()
    if row is None or row.agent_id != agent.id:
        raise QuanError(PRINT_NOT_ALLOWED)
    if row.print_until <= now:
        raise QuanError(PRINT_WINDOW_OVER, minutes=int(PRINT_WINDOW.total_seconds() // 60))
    raise QuanError(PRINT_LIMIT_REACHED, limit=MAX_PRINTS)


def take_reprint(
    tx: Connection, now: datetime, agent: Actor, voucher_id: str, program_id: str,
    reason: ReprintReason,
) -> int:
    """Count one reprint (presence already proven), record it, and log it; the number."""
    a = assisted_issues.c
    taken = tx.execute(
        update(assisted_issues)
        .where(a.voucher_id == voucher_id, a.reprints < MAX_REPRINTS)
        .values(reprints=a.reprints + 1)
        .returning(a.reprints)
    ).first()
    if taken is None:
        exists = tx.execute(select(a.voucher_id).where(a.voucher_id == voucher_id)).first()
        if exists is None:
            raise QuanError(PRINT_NOT_ALLOWED)
        raise QuanError(REPRINT_LIMIT_REACHED, limit=MAX_REPRINTS)
    number = int(taken.reprints)
    record_event(
        tx,
        type="voucher.reprinted",
        actor=agent,
        subject_type="voucher",
        subject_id=voucher_id,
        program_id=program_id,
        at=now,
        payload={"reason": reason.value, "reprint": number, "limit": MAX_REPRINTS},
    )
    # Rare by design: a reprint in the server log is something to look at.
    log.warning(
        "voucher %s reprinted by %s (%s, %d of %d)",
        voucher_id, agent.label, reason.value, number, MAX_REPRINTS,
    )
    return number

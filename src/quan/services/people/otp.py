"""SMS one-time codes: how a citizen proves a phone, to sign in or to register with it.

A code is six random digits, valid for five minutes, good for one use; only an HMAC of it is
stored (bound to its row id), and the SMS goes through the outbox in the same transaction.

Nothing here tells a stranger whether a phone is registered. Asking for a code answers the same
either way (a sign-in code is sent only to a registered phone, a registration code only to an
unregistered one); wrong guesses are counted per phone in the throttle whether or not a code
exists; and "expired" or "already used" are said only to someone who typed the right code,
i.e. who holds the phone. Guesses are limited per phone and per address before they are
checked (:func:`guess`); each code also counts its own wrong tries in the database and dies
after five.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from quan.cache.throttle import Throttle
from quan.channels import outbox
from quan.clock import Clock
from quan.domain.errors import Kind, QuanError, define
from quan.services.people import guesses, pii
from quan.services.people.citizens import (
    CitizenKeys,
    find_by_phone_hash,
)
from quan.services.people.rate_limits import RATE_LIMITED, RateLimit, spend
from quan.services.people.tokens import TokenSigner
from quan.store.citizen_tables import citizen_otps
from quan.store.db import Database
from quan.store.ids import new_id

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND = RateLimit("otp.send.minute", attempts=1, window_seconds=60)
HOURLY = RateLimit("otp.send.hour", attempts=5, window_seconds=3600)
# Code requests per client IP: beyond the per-phone limits, so one address cannot make the
# platform send SMS to many phones (the edges spend it before :func:`request_code`).
CODE_REQUESTS = RateLimit("citizens.otp.ip", attempts=30, window_seconds=3600)

OTP_INVALID = define(
    "OTP_INVALID",
    Kind.UNAUTHORIZED,
    zh="验证码错误，还可尝试 {attempts_left} 次",
    en="The code is wrong; {attempts_left} attempts left",
)
OTP_EXPIRED = define(
    "OTP_EXPIRED",
    Kind.GONE,
    zh="验证码已过期，请重新获取",
    en="The code has expired; ask for a new one",
)
OTP_ALREADY_USED = define(
    "OTP_ALREADY_USED",
    Kind.CONFLICT,
    zh="验证码已使用过，请重新获取",
    en="The code has already been used; ask for a new one",
)
OTP_TOO_MANY_ATTEMPTS = define(
    "OTP_TOO_MANY_ATTEMPTS",
    Kind.TOO_MANY,
    zh="验证码错误次数过多，请 {retry_after_seconds} 秒后重新获取",
    en="Too many wrong codes; ask for a new one in {retry_after_seconds} seconds",
)


class Purpose(StrEnum):
    LOGIN = "login"
    REGISTER = "register"
    PRESENCE = "presence"  # read out to an agent at the desk; never good for signing in


# Guesses of a phone's codes: per phone, five failures are free, then one guess per delay
# (up to 30 s); per address, 30 attempts an hour (many citizens share a carrier's address).
GUESSES = {
    purpose: guesses.GuessLimits(
        f"otp.{purpose.value}",
        per_ip=30,
        free_failures=MAX_ATTEMPTS,
        max_delay_seconds=30,
        window_seconds=3600,
    )
    for purpose in Purpose
}


class Check(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True, slots=True)
class CodeSent:
    """The answer to a code request: the same whether or not an SMS left."""

    expires_in_seconds: int
    resend_after_seconds: int


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """The outcome of checking a code; a refusal is raised by the caller *after* commit, so that
    the counted attempt survives the refusal."""

    result: Check
    phone_hash: str
    attempts_left: int

    @property
    def accepted(self) -> bool:
        return self.result is Check.ACCEPTED

    def refusal(self) -> QuanError:
        """The error that answers a code that was not accepted."""
        if self.result is Check.EXPIRED:
            return QuanError(OTP_EXPIRED)
        if self.result is Check.USED:
            return QuanError(OTP_ALREADY_USED)
        if self.result is Check.EXHAUSTED:
            return QuanError(OTP_TOO_MANY_ATTEMPTS, retry_after_seconds=RESEND.window_seconds)
        return QuanError(OTP_INVALID, attempts_left=self.attempts_left)

    def raise_unless_accepted(self) -> None:
        if not self.accepted:
            raise self.refusal()


_SIGNATURE = "【Quan 服务消费券】"
_SMS = {
    Purpose.LOGIN: _SIGNATURE + "登录验证码 {code}，5 分钟内有效。如非本人操作，请忽略本短信。",
    Purpose.REGISTER: _SIGNATURE + "注册验证码 {code}，5 分钟内有效。如非本人操作，请忽略本短信。",
    Purpose.PRESENCE: _SIGNATURE
    + "服务点工作人员正在为您办理消费券，本人在场时请将验证码 {code} 告知工作人员，"
    "5 分钟内有效。如您不在服务点，请勿告知任何人。",
}
_ALREADY_REGISTERED_SMS = (
    _SIGNATURE + "有人尝试用本手机号注册。本号码已注册，请直接用验证码登录；如非本人操作，请忽略。"
)


def request_code(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    throttle: Throttle,
    *,
    phone: str,
    purpose: Purpose,
) -> CodeSent:
    """Send a code to ``phone`` (a validated mainland mobile number) when it makes sense."""
    phone_hash = keys.phone_hash(phone)
    who = f"{purpose.value}:{phone_hash}"
    spend(throttle, RESEND, who)
    spend(throttle, HOURLY, who)
    registered = find_by_phone_hash(tx, phone_hash) is not None
    if registered == (purpose is Purpose.LOGIN):
        _issue(tx, now, keys, phone, phone_hash, purpose)
    elif purpose is Purpose.REGISTER:
        # Tell the phone's owner (only them) that they already have an account.
        outbox.enqueue(
            tx,
            now,
            keys.outbox,
            channel="sms",
            recipient=phone,
            subject="citizen.register.already_registered",
            body=_ALREADY_REGISTERED_SMS,
        )
    return CodeSent(int(CODE_TTL.total_seconds()), RESEND.window_seconds)


def request_presence_code(
    tx: Connection, now: datetime, keys: CitizenKeys, throttle: Throttle, *, phone: str
) -> CodeSent:
    """Send a presence code to a registered citizen's phone (the agent never sees the number),
    under the same send limits as any code."""
    phone_hash = keys.phone_hash(phone)
    who = f"{Purpose.PRESENCE.value}:{phone_hash}"
    spend(throttle, RESEND, who)
    spend(throttle, HOURLY, who)
    _issue(tx, now, keys, phone, phone_hash, Purpose.PRESENCE)
    return CodeSent(int(CODE_TTL.total_seconds()), RESEND.window_seconds)


def _issue(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    phone: str,
    phone_hash: str,
    purpose: Purpose,
) -> None:
    code = f"{secrets.randbelow(1_000_000):06d}"
    otp_id = new_id("otp")
    tx.execute(
        insert(citizen_otps).values(
            id=otp_id,
            phone_hash=phone_hash,
            purpose=purpose.value,
            code_hash=_code_hash(keys, otp_id, code),
            attempts=0,
            expires_at=now + CODE_TTL,
            consumed_at=None,
            created_at=now,
        )
    )
    outbox.enqueue(
        tx,
        now,
        keys.outbox,
        channel="sms",
        recipient=phone,
        subject=f"citizen.otp.{purpose.value}",
        body=_SMS[purpose].format(code=code),
        params={"code": code},
    )


def _code_hash(keys: CitizenKeys, otp_id: str, code: str) -> str:
    return pii.lookup_hash(keys.otp, f"{otp_id}:{code}")


def check_code(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    *,
    phone: str,
    purpose: Purpose,
    code: str,
) -> CodeCheck:
    """Check ``code`` against the latest code sent to ``phone``; consume it when right. The
    guess was let through by :func:`guess` first; here each code counts its own wrong tries."""
    phone_hash = keys.phone_hash(phone)
    row = tx.execute(
        select(citizen_otps)
        .where(citizen_otps.c.phone_hash == phone_hash, citizen_otps.c.purpose == purpose.value)
        .order_by(citizen_otps.c.id.desc())
        .limit(1)
    ).first()
    if row is not None and row.attempts >= MAX_ATTEMPTS:
        return CodeCheck(Check.EXHAUSTED, phone_hash, 0)
    if row is not None and hmac.compare_digest(row.code_hash, _code_hash(keys, row.id, code)):
        left = MAX_ATTEMPTS - row.attempts
        if row.consumed_at is not None:
            return CodeCheck(Check.USED, phone_hash, left)
        if row.expires_at <= now:
            return CodeCheck(Check.EXPIRED, phone_hash, left)
        # Conditional: of two concurrent uses of one code, exactly one consumes it.
        consumed = tx.execute(
            update(citizen_otps)
            .where(
                citizen_otps.c.id == row.id,
                citizen_otps.c.consumed_at.is_(None),
                citizen_otps.c.attempts < MAX_ATTEMPTS,
            )
            .values(consumed_at=now)
        )
        if consumed.rowcount == 1:
            return CodeCheck(Check.ACCEPTED, phone_hash, left)
        return CodeCheck(Check.USED, phone_hash, left)
    left = MAX_ATTEMPTS - (row.attempts if row is not None else 0) - 1
    if row is not None and row.consumed_at is None and row.expires_at > now:
        tx.execute(
            update(citizen_otps)
            .where(citizen_otps.c.id == row.id, citizen_otps.c.attempts < MAX_ATTEMPTS)
            .values(attempts=citizen_otps.c.attempts + 1)
        )
    return CodeCheck(Check.WRONG, phone_hash, max(left, 0))


def guess(
    throttle: Throttle, keys: CitizenKeys, *, phone: str, purpose: Purpose, ip: str
) -> guesses.Guess:
    """Let one guess of ``phone``'s code from ``ip`` through (:mod:`quan.services.people.guesses`:
    per address and per phone, atomically, slowing guessers without locking the owner out)."""
    return guesses.begin(
        throttle,
        GUESSES[purpose],
        account=keys.phone_hash(phone),
        ip=ip,
        refusal=OTP_TOO_MANY_ATTEMPTS,
        ip_refusal=RATE_LIMITED,
    )


@dataclass(frozen=True, slots=True)
class CitizenSession:
    access_token: str
    expires_at: datetime
    citizen_id: str

    def __repr__(self) -> str:
        return f"CitizenSession(citizen_id={self.citizen_id!r})"


def sign_in(
    db: Database,
    clock: Clock,
    keys: CitizenKeys,
    throttle: Throttle,
    tokens: TokenSigner,
    *,
    phone: str,
    code: str,
    ip: str,
) -> CitizenSession:
    """Exchange a sign-in code for a bearer token. Its own transaction, committed before a
    refusal is raised, so that a wrong guess stays counted."""
    attempt = guess(throttle, keys, phone=phone, purpose=Purpose.LOGIN, ip=ip)
    now = clock.now()
    with db.write() as tx:
        check = check_code(tx, now, keys, phone=phone, purpose=Purpose.LOGIN, code=code)
        citizen = find_by_phone_hash(tx, check.phone_hash) if check.accepted else None
    if check.accepted:
        attempt.succeeded(throttle)
    if citizen is None:
        # Not accepted; or accepted for a phone no account holds any more (a code outlived
        # its account), which is answered like a wrong code.
        raise check.refusal() if not check.accepted else QuanError(OTP_INVALID, attempts_left=0)
    token, expires = tokens.issue("citizen", citizen.id, now)
    return CitizenSession(token, expires, citizen.id)

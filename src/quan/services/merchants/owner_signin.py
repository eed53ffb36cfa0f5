"""A merchant owner's sign-in in the browser: the contact phone of the application and an SMS
code, as residents sign in (no one types an owner key).

- The phone is found by a keyed hash (``merchants.contact_phone_hash``, key ``hmac/merchant-
  phone``, independent of the residents' phone hash so the two cannot be joined). Asking for a
  code answers the same whether or not a merchant has that phone: nothing is learnt by asking.
- A code is six random digits, valid five minutes, used once (a conditional UPDATE), stored as
  an HMAC bound to its row; it goes out through the sealed outbox in the same transaction.
- Sending is limited per phone (one a minute, five an hour) and, by the edge, per address;
  guesses are limited per phone and address before they are checked
  (:mod:`quan.services.people.guesses`), and each code dies after five wrong tries.
- A right code proves the phone, which may be the contact of several merchants (one body in two
  issuers' schemes, an application made again after a rejection): :func:`sign_in` answers the
  merchants it may sign in as, and the edge signs in as the one chosen.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from quan.cache.throttle import Throttle
from quan.channels import outbox
from quan.channels.outbox import OutboxKeys
from quan.clock import Clock
from quan.config import Settings
from quan.domain.errors import QuanError
from quan.services.merchants.merchants import SEALED_FIELDS, sealing_aad, sealing_key
from quan.services.people import guesses, pii
from quan.services.people.otp import (
    MAX_ATTEMPTS,
    OTP_ALREADY_USED,
    OTP_EXPIRED,
    OTP_INVALID,
    OTP_TOO_MANY_ATTEMPTS,
)
from quan.services.people.rate_limits import RATE_LIMITED, RateLimit, spend
from quan.store.db import Database
from quan.store.ids import new_id
from quan.store.merchant_tables import merchants
from quan.store.portal_tables import merchant_otps

CODE_TTL = timedelta(minutes=5)
RESEND = RateLimit("merchant.otp.send.minute", attempts=1, window_seconds=60)
HOURLY = RateLimit("merchant.otp.send.hour", attempts=5, window_seconds=3600)
CODE_REQUESTS = RateLimit("merchant.otp.ip", attempts=30, window_seconds=3600)
GUESSES = guesses.GuessLimits(
    "otp.merchant",
    per_ip=30,
    free_failures=MAX_ATTEMPTS,
    max_delay_seconds=30,
    window_seconds=3600,
)
BACKFILL_BATCH = 500
OWNER_SESSION_KIND = "merchant"  # the token kind of an owner's session (subject: merchant id)
PHONE_PROOF_KIND = "merchant_phone"  # a proved phone choosing a merchant (subject: its hash)
SMS = "【Quan 服务消费券】商户登录验证码 {code}，5 分钟内有效。如非本人操作，请忽略本短信。"


@dataclass(frozen=True, slots=True)
class OwnerKeys:
    """Keys derived from ``Settings.pii_key`` for the owner's sign-in."""

    phone_lookup: bytes
    otp: bytes
    sealing: pii.Key  # to read the contact phones of rows applied before the hash existed
    outbox: OutboxKeys

    @classmethod
    def from_settings(cls, settings: Settings, outbox_keys: OutboxKeys) -> OwnerKeys:
        master = settings.secret_bytes("pii_key")
        return cls(
            phone_lookup=phone_lookup_key(master),
            otp=pii.derive_key(master, "hmac/merchant-otp"),
            sealing=sealing_key(settings),
            outbox=outbox_keys,
        )

    def phone_hash(self, phone: str) -> str:
        return pii.lookup_hash(self.phone_lookup, phone)


def phone_lookup_key(master: bytes) -> bytes:
    return pii.derive_key(master, "hmac/merchant-phone")


def _fill_missing_hashes(tx: Connection, keys: OwnerKeys) -> None:
    """Hash the phones of merchants that applied before the hash was kept (a bounded step)."""
    rows = tx.execute(
        select(merchants.c.id, merchants.c.contact_phone_token)
        .where(merchants.c.contact_phone_hash.is_(None))
        .limit(BACKFILL_BATCH)
    ).all()
    field = SEALED_FIELDS["contact_phone_token"]
    for row in rows:
        phone = pii.decrypt(keys.sealing, row.contact_phone_token, sealing_aad(row.id, field))
        tx.execute(
            update(merchants)
            .where(merchants.c.id == row.id, merchants.c.contact_phone_hash.is_(None))
            .values(contact_phone_hash=keys.phone_hash(phone))
        )


def merchants_of(tx: Connection, phone_hash: str) -> list[str]:
    """The ids of the merchants whose contact phone this is, oldest first."""
    return list(
        tx.execute(
            select(merchants.c.id)
            .where(merchants.c.contact_phone_hash == phone_hash)
            .order_by(merchants.c.id)
        ).scalars()
    )


def request_code(
    tx: Connection, now: datetime, keys: OwnerKeys, throttle: Throttle, *, phone: str
) -> None:
    """Send a sign-in code to ``phone`` (a validated mobile number) if it is a merchant's
    contact phone; the caller answers the same either way."""
    phone_hash = keys.phone_hash(phone)
    spend(throttle, RESEND, phone_hash)
    spend(throttle, HOURLY, phone_hash)
    _fill_missing_hashes(tx, keys)
    if not merchants_of(tx, phone_hash):
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    otp_id = new_id("motp")
    tx.execute(
        insert(merchant_otps).values(
            id=otp_id,
            phone_hash=phone_hash,
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
        subject="merchant.otp.login",
        body=SMS.format(code=code),
        params={"code": code},
    )


def _code_hash(keys: OwnerKeys, otp_id: str, code: str) -> str:
    return pii.lookup_hash(keys.otp, f"{otp_id}:{code}")


def _check(
    tx: Connection, now: datetime, keys: OwnerKeys, phone_hash: str, code: str
) -> QuanError | None:
    """``None`` when ``code`` is the phone's latest code and is now consumed; else the refusal.
    A wrong guess is counted on the code (it dies after :data:`MAX_ATTEMPTS`)."""
    row = tx.execute(
        select(merchant_otps)
        .where(merchant_otps.c.phone_hash == phone_hash)
        .order_by(merchant_otps.c.id.desc())
        .limit(1)
    ).first()
    if row is not None and row.attempts >= MAX_ATTEMPTS:
        return QuanError(OTP_TOO_MANY_ATTEMPTS, retry_after_seconds=RESEND.window_seconds)
    if row is not None and hmac.compare_digest(row.code_hash, _code_hash(keys, row.id, code)):
        if row.consumed_at is not None:
            return QuanError(OTP_ALREADY_USED)
        if row.expires_at <= now:
            return QuanError(OTP_EXPIRED)
        consumed = tx.execute(
            update(merchant_otps)
            .where(
                merchant_otps.c.id == row.id,
                merchant_otps.c.consumed_at.is_(None),
                merchant_otps.c.attempts < MAX_ATTEMPTS,
            )
            .values(consumed_at=now)
        ).rowcount
        return None if consumed == 1 else QuanError(OTP_ALREADY_USED)
    left = MAX_ATTEMPTS - (row.attempts if row is not None else 0) - 1
    if row is not None and row.consumed_at is None and row.expires_at > now:
        tx.execute(
            update(merchant_otps)
            .where(merchant_otps.c.id == row.id, merchant_otps.c.attempts < MAX_ATTEMPTS)
            .values(attempts=merchant_otps.c.attempts + 1)
        )
    return QuanError(OTP_INVALID, attempts_left=max(left, 0))


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A proved phone: its hash and the merchants it may sign in as (at least one)."""

    phone_hash: str
    merchant_ids: tuple[str, ...]


def sign_in(
    db: Database,
    clock: Clock,
    keys: OwnerKeys,
    throttle: Throttle,
    *,
    phone: str,
    code: str,
    ip: str,
) -> SignedIn:
    """Check the code in its own transaction, committed before a refusal is raised so that a
    wrong guess stays counted."""
    attempt = guesses.begin(
        throttle,
        GUESSES,
        account=keys.phone_hash(phone),
        ip=ip,
        refusal=OTP_TOO_MANY_ATTEMPTS,
        ip_refusal=RATE_LIMITED,
    )
    phone_hash = keys.phone_hash(phone)
    with db.write() as tx:
        refusal = _check(tx, clock.now(), keys, phone_hash, code)
        found = merchants_of(tx, phone_hash) if refusal is None else []
    if refusal is not None:
        raise refusal
    attempt.succeeded(throttle)
    if not found:  # a code outlived its merchants: answered like a wrong code
        raise QuanError(OTP_INVALID, attempts_left=0)
    return SignedIn(phone_hash, tuple(found))


def may_sign_in_as(tx: Connection, phone_hash: str, merchant_id: str) -> bool:
    return merchant_id in merchants_of(tx, phone_hash)

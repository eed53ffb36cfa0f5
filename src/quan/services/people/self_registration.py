"""Self-registration: a citizen who was not registered at a service centre registers themselves.

The steps, in this order:

1. **Consent and input.** The consent of the current version must be given
   (``CONSENT_REQUIRED``); the phone and its registration code are required
   (``PHONE_CODE_REQUIRED``); income group and disability are not self-declared
   (``SELF_DECLARED_ATTRIBUTES``: a service centre or the bureau's lists record them).
2. **The phone's code** (:mod:`quan.services.people.otp`, the same guess limits as sign-in),
   checked and consumed in one transaction that also writes the attempt (``self_registrations``,
   status ``checking``, with the consent). One code, one attempt, whatever follows.
3. **The real-name check** (:mod:`quan.services.people.realname`), outside any transaction,
   under the attempt's id as the provider's idempotency key.
4. **The account**, in one transaction with the attempt's outcome: ``UNIQUE (resident_id_hash)``
   decides between concurrent registrations of one person. Because the check in step 3 proved
   that the name, the ID number and the phone belong to the person holding the phone, being told
   that the ID number already has an account (``ID_REGISTERED_ELSEWHERE``) tells them only about
   themselves; it never says which phone or account.

A form resubmitted under the same submission key (a double tap, a retried request) follows the
first attempt: it waits for its outcome and answers the same (a session for the same citizen, or
the same refusal), without spending another code or another check.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from quan.cache.throttle import Throttle
from quan.clock import Clock
from quan.domain.citizens import IncomeGroup, Registration
from quan.domain.consent import SELF_REGISTRATION as CONSENT
from quan.domain.errors import Kind, QuanError, define, spec_for
from quan.services.idempotency import KEY_REUSED
from quan.services.people import citizens, otp, realname
from quan.services.people.citizens import (
    CITIZEN_ALREADY_REGISTERED,
    PHONE_CODE_REQUIRED,
    Citizen,
    CitizenKeys,
)
from quan.services.people.otp import Check, CitizenSession, Purpose
from quan.services.people.rate_limits import RateLimit
from quan.services.people.tokens import TokenSigner
from quan.store.citizen_tables import citizens as citizens_table
from quan.store.db import Database, log_failure
from quan.store.ids import new_id
from quan.store.selfreg_tables import self_registrations

log = logging.getLogger("quan.self_registration")

# How long a resubmitted form may still sign its citizen in (after that: sign in with a code).
REPLAY_WINDOW = timedelta(minutes=10)
RETRY_AFTER_SECONDS = 60
# Self-registration attempts per client IP (the edges spend it): a family or a small office
# shares an address, a script trying ID numbers does not get far.
SELF_REGISTRATION = RateLimit("citizens.register.ip", attempts=20, window_seconds=3600)

CONSENT_REQUIRED = define(
    "CONSENT_REQUIRED",
    Kind.INVALID,
    zh="请阅读并勾选同意《个人信息处理说明》（版本 {version}）后再注册",
    en="Please read and accept the personal-data notice (version {version}) to register",
)
SELF_DECLARED_ATTRIBUTES = define(
    "SELF_DECLARED_ATTRIBUTES",
    Kind.INVALID,
    zh="自助注册不能申报收入类别或残疾情况，这些信息由社区服务中心或主管部门的名单登记",
    en="Income group and disability cannot be declared when registering yourself; a service "
    "centre or the bureau's lists record them",
)
SELF_REGISTRATION_OFF = define(
    "SELF_REGISTRATION_OFF",
    Kind.FORBIDDEN,
    zh="本平台未开通在线自助注册，请携带身份证到社区服务中心登记",
    en="Online self-registration is not offered here; please bring your ID card to a "
    "service centre",
)
REALNAME_MISMATCH = define(
    "REALNAME_MISMATCH",
    Kind.REFUSED,
    zh="实名核验未通过：姓名、身份证号码和手机号不属于同一人（手机号须以本人身份证实名登记）。"
    "请核对后重新获取验证码再试，或携带身份证到社区服务中心办理",
    en="The real-name check failed: the name, ID number and phone do not belong to one "
    "person (the phone must be registered in your own name). Check them and try again with a "
    "new code, or bring your ID card to a service centre",
)
REALNAME_NO_RECORD = define(
    "REALNAME_NO_RECORD",
    Kind.REFUSED,
    zh="实名核验未通过：核验机构没有这个身份证号码或手机号的实名记录。请携带身份证到社区服务中心办理",
    en="The real-name check failed: the verification service has no record of this ID number "
    "or phone. Please bring your ID card to a service centre",
)
REALNAME_UNAVAILABLE = define(
    "REALNAME_UNAVAILABLE",
    Kind.UNAVAILABLE,
    zh="实名核验服务暂时不可用，您的信息没有保存。"
    "请约 {retry_after_seconds} 秒后重新获取验证码再试",
    en="The real-name check is unavailable at the moment and nothing was saved. Please try "
    "again with a new code in about {retry_after_seconds} seconds",
)
ID_REGISTERED_ELSEWHERE = define(
    "ID_REGISTERED_ELSEWHERE",
    Kind.CONFLICT,
    zh="您的身份证号码已有账号（用另一个手机号注册，或由社区服务中心登记）。请用该账号的手机号登录；"
    "如需更换手机号，请携带身份证到社区服务中心办理",
    en="Your ID number already has an account (registered with another phone, or at a "
    "service centre). Sign in with that account's phone; to change the phone, bring your ID "
    "card to a service centre",
)
PHONE_REGISTERED_SIGN_IN = define(
    "PHONE_REGISTERED_SIGN_IN",
    Kind.CONFLICT,
    zh="您已注册，请用手机号和验证码直接登录",
    en="You are already registered; sign in with your phone and a code",
)
SELF_REGISTRATION_IN_PROGRESS = define(
    "SELF_REGISTRATION_IN_PROGRESS",
    Kind.CONFLICT,
    zh="您的注册正在核验中，请稍候再提交一次",
    en="Your registration is still being checked; submit again in a moment",
)

_REFUSALS = {
    realname.Outcome.MISMATCH: REALNAME_MISMATCH,
    realname.Outcome.NO_RECORD: REALNAME_NO_RECORD,
    realname.Outcome.UNAVAILABLE: REALNAME_UNAVAILABLE,
}


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the citizen submitted (validated), and how."""

    registration: Registration
    code: str | None
    consent_version: str | None
    submission_key: str | None  # the form's key, or an API client's Idempotency-Key
    channel: str  # web | api


@dataclass(frozen=True, slots=True)
class Registered:
    citizen: Citizen
    session: CitizenSession
    replayed: bool  # a resubmission of an attempt that had registered


def refusal(code: str) -> QuanError:
    """The error for a stored refusal code, with the parameters its message needs."""
    if code == REALNAME_UNAVAILABLE.code:
        return QuanError(REALNAME_UNAVAILABLE, retry_after_seconds=RETRY_AFTER_SECONDS)
    return QuanError(spec_for(code))


def _submission_hash(key: str | None) -> str:
    return hashlib.sha256((key or secrets.token_urlsafe(24)).encode()).hexdigest()


def _check_input(attempt: Attempt) -> None:
    if attempt.registration.phone is None or attempt.code is None:
        raise QuanError(PHONE_CODE_REQUIRED)
    if attempt.consent_version != CONSENT.version:
        raise QuanError(CONSENT_REQUIRED, field="consent", version=CONSENT.version)
    r = attempt.registration
    if r.income_group is not IncomeGroup.NORMAL or r.disabled:
        raise QuanError(SELF_DECLARED_ATTRIBUTES, field="attributes")


def register_self(
    db: Database,
    clock: Clock,
    keys: CitizenKeys,
    throttle: Throttle,
    tokens: TokenSigner,
    provider: realname.Provider,
    attempt: Attempt,
    *,
    ip: str,
    wait_seconds: float = 15.0,
) -> Registered:
    """Register the citizen and sign them in, or raise why not (module docstring)."""
    _check_input(attempt)
    registration = attempt.registration
    phone = registration.phone
    assert phone is not None  # _check_input
    assert attempt.code is not None
    phone_hash = keys.phone_hash(phone)
    submission = _submission_hash(attempt.submission_key)
    with db.read() as tx:
        first = _by_submission(tx, submission)
    if first is not None:
        return _follow(db, clock, tokens, submission, phone_hash, wait_seconds)
    guess = otp.guess(throttle, keys, phone=phone, purpose=Purpose.REGISTER, ip=ip)
    now = clock.now()
    attempt_id = new_id("srg")
    with db.write() as tx:
        check = otp.check_code(
            tx, now, keys, phone=phone, purpose=Purpose.REGISTER, code=attempt.code
        )
        if check.accepted:
            tx.execute(
                insert(self_registrations).values(
                    id=attempt_id,
                    submission_hash=submission,
                    phone_hash=phone_hash,
                    channel=attempt.channel,
                    status="checking",
                    consent_version=CONSENT.version,
                    consent_sha256=CONSENT.sha256,
                    consented_at=now,
                    created_at=now,
                )
            )
        elif check.result is Check.USED:
            # A concurrent resubmission: the first took the code (and wrote its attempt).
            first = _by_submission(tx, submission)
    if check.accepted:
        guess.succeeded(throttle)  # the code was right: not a guess to count
    elif first is not None:
        return _follow(db, clock, tokens, submission, phone_hash, wait_seconds)
    else:
        raise check.refusal()
    identity = realname.Identity(
        name=registration.name, id_number=registration.resident_id.number, phone=phone
    )
    try:
        verdict = provider.check(attempt_id, identity)
    except Exception as exc:  # a provider's bug must not leave the attempt "checking"
        log_failure(log, "real-name check %s failed", attempt_id, exc=exc)
        verdict = realname.Verdict(realname.Outcome.UNAVAILABLE, error=type(exc).__name__)
    with db.write() as tx:
        citizen, refused = _finish(
            tx, clock, keys, registration, attempt_id, phone_hash, provider.name, verdict
        )
    if refused is not None:
        raise refusal(refused)
    assert citizen is not None
    token, expires = tokens.issue("citizen", citizen.id, clock.now())
    return Registered(citizen, CitizenSession(token, expires, citizen.id), replayed=False)


def _finish(
    tx: Connection,
    clock: Clock,
    keys: CitizenKeys,
    registration: Registration,
    attempt_id: str,
    phone_hash: str,
    provider: str,
    verdict: realname.Verdict,
) -> tuple[Citizen | None, str | None]:
    """Create the account (or decide the refusal) and record the attempt's outcome."""
    now = clock.now()
    citizen: Citizen | None = None
    refused: str | None = None
    if verdict.outcome is realname.Outcome.MATCH:
        try:
            # INSERT … ON CONFLICT DO NOTHING: a refusal writes nothing, the attempt is kept.
            citizen = citizens.register(tx, now, None, keys, registration)
        except QuanError as error:
            refused = _why_taken(tx, keys, registration, phone_hash, error)
    else:
        refused = _REFUSALS[verdict.outcome].code
    tx.execute(
        update(self_registrations)
        .where(self_registrations.c.id == attempt_id)
        .values(
            status="registered" if citizen is not None else "refused",
            citizen_id=citizen.id if citizen is not None else None,
            refusal=refused,
            realname_provider=provider,
            realname_outcome=verdict.outcome.value,
            realname_reference=verdict.reference,
            finished_at=now,
        )
    )
    return citizen, refused


def _why_taken(
    tx: Connection,
    keys: CitizenKeys,
    registration: Registration,
    phone_hash: str,
    error: QuanError,
) -> str:
    if error.code != CITIZEN_ALREADY_REGISTERED.code:
        return PHONE_REGISTERED_SIGN_IN.code  # the phone has an account (a concurrent one)
    holder = citizens.find_by_resident_id(tx, keys, registration.resident_id.number)
    if holder is not None and holder.phone_masked is not None:
        same = tx.execute(
            select(citizens_table.c.phone_hash).where(citizens_table.c.id == holder.id)
        ).scalar_one()
        if same == phone_hash:
            return PHONE_REGISTERED_SIGN_IN.code
    return ID_REGISTERED_ELSEWHERE.code


def _by_submission(tx: Connection, submission: str) -> Any:
    return tx.execute(
        select(self_registrations).where(self_registrations.c.submission_hash == submission)
    ).first()


def _follow(
    db: Database,
    clock: Clock,
    tokens: TokenSigner,
    submission: str,
    phone_hash: str,
    wait_seconds: float,
) -> Registered:
    """Answer a resubmission as its first attempt was answered, waiting while it is checked."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with db.read() as tx:
            row = _by_submission(tx, submission)
            citizen = citizens.get_citizen(tx, row.citizen_id) if row and row.citizen_id else None
        if row is None or row.phone_hash != phone_hash:
            raise QuanError(KEY_REUSED)
        if row.status == "refused":
            raise refusal(row.refusal)
        if citizen is not None:
            now = clock.now()
            if now - row.finished_at > REPLAY_WINDOW:
                raise QuanError(PHONE_REGISTERED_SIGN_IN)
            token, expires = tokens.issue("citizen", citizen.id, now)
            return Registered(citizen, CitizenSession(token, expires, citizen.id), replayed=True)
        if time.monotonic() >= deadline:
            raise QuanError(SELF_REGISTRATION_IN_PROGRESS)
        time.sleep(0.1)

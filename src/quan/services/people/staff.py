"""Staff accounts and sign-in: argon2 password hashes, throttled attempts, bearer tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from quan.cache.throttle import Throttle
from quan.config import Settings
from quan.domain.auth import OTHER_ISSUER, SYSTEM, Actor, Role
from quan.domain.errors import FORBIDDEN, NOT_FOUND, Kind, QuanError, define
from quan.domain.names import check_name
from quan.services.people import guesses
from quan.services.people.tokens import TokenSigner
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.tables import issuers, staff_users

INVALID_CREDENTIALS = define(
    "INVALID_CREDENTIALS",
    Kind.UNAUTHORIZED,
    zh="用户名或密码错误",
    en="Wrong username or password",
)
TOO_MANY_ATTEMPTS = define(
    "TOO_MANY_ATTEMPTS",
    Kind.TOO_MANY,
    zh="登录失败次数过多，请 {retry_after_seconds} 秒后再试",
    en="Too many failed sign-ins; try again in {retry_after_seconds} seconds",
)
USERNAME_TAKEN = define(
    "USERNAME_TAKEN",
    Kind.CONFLICT,
    zh="用户名 {username} 已存在",
    en="Username {username} is taken",
)
WEAK_PASSWORD = define(
    "WEAK_PASSWORD",
    Kind.INVALID,
    zh="密码至少需要 12 个字符",
    en="The password must have at least 12 characters",
)
INVALID_USERNAME = define(
    "INVALID_USERNAME",
    Kind.INVALID,
    zh="用户名须为 3–64 位小写字母、数字、点、下划线或连字符",
    en="A username is 3–64 lower-case letters, digits, dots, underscores or hyphens",
)
ISSUER_REQUIRED = define(
    "ISSUER_REQUIRED",
    Kind.INVALID,
    zh="操作员和协办员账号必须属于一个发放单位",
    en="Operator and agent accounts must belong to an issuer",
)

MIN_PASSWORD = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_hasher = PasswordHasher()
# Verified when the username does not exist, so that a wrong username costs as long as a wrong
# password and response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("quan-no-such-user-dummy-password")


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: str
    username: str
    role: Role
    issuer_id: str | None
    display_name: str
    active: bool
    created_at: datetime
    token_version: int = 0

    def actor(self) -> Actor:
        return Actor(kind="staff", id=self.id, role=self.role.value, issuer_id=self.issuer_id)


def _user(row: object) -> StaffUser:
    m = row._mapping  # type: ignore[attr-defined]
    return StaffUser(
        id=m["id"],
        username=m["username"],
        role=Role(m["role"]),
        issuer_id=m["issuer_id"],
        display_name=m["display_name"],
        active=m["active"],
        created_at=m["created_at"],
        token_version=int(m["token_version"]),
    )


def create_user(
    tx: Connection,
    now: datetime,
    *,
    username: str,
    password: str,
    role: Role,
    issuer_id: str | None,
    display_name: str | None = None,
    actor: Actor = SYSTEM,
) -> StaffUser:
    check_may_create(actor, issuer_id)
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise QuanError(INVALID_USERNAME)
    if len(password) < MIN_PASSWORD:
        raise QuanError(WEAK_PASSWORD)
    if role in (Role.OPERATOR, Role.AGENT) and issuer_id is None:
        raise QuanError(ISSUER_REQUIRED)
    if (
        issuer_id is not None
        and tx.execute(select(issuers.c.id).where(issuers.c.id == issuer_id)).first() is None
    ):
        raise QuanError(NOT_FOUND, what=f"issuer {issuer_id}")
    if tx.execute(select(staff_users.c.id).where(staff_users.c.username == username)).first():
        raise QuanError(USERNAME_TAKEN, username=username)
    user = StaffUser(
        id=new_id("usr"),
        username=username,
        role=role,
        issuer_id=issuer_id,
        display_name=check_name(display_name or username, field="display_name"),
        active=True,
        created_at=now,
    )
    tx.execute(
        insert(staff_users).values(
            id=user.id,
            username=user.username,
            password_hash=_hasher.hash(password),
            role=role.value,
            issuer_id=issuer_id,
            display_name=user.display_name,
            active=True,
            created_at=now,
        )
    )
    record_event(
        tx,
        type="staff.created",
        actor=actor,
        subject_type="staff",
        subject_id=user.id,
        at=now,
        payload={"role": role.value, "issuer_id": issuer_id},
    )
    return user


def check_may_create(actor: Actor, issuer_id: str | None) -> None:
    """Only admins create staff accounts, and an issuer's admin only accounts of that issuer
    (an admin of no issuer, or the system, creates any)."""
    if actor.kind == "system":
        return
    if actor.role != Role.ADMIN.value:
        raise QuanError(FORBIDDEN)
    if actor.issuer_id is not None and issuer_id != actor.issuer_id:
        raise QuanError(OTHER_ISSUER)


def user_from_row(row: object) -> StaffUser:
    return _user(row)


def names_of(tx: Connection, labels: set[str]) -> dict[str, str]:
    """``staff:usr_…`` labels (as events and money movements record them) → how the console
    names them: ``display name (username)``."""
    ids = {label.removeprefix("staff:") for label in labels if label.startswith("staff:")}
    if not ids:
        return {}
    rows = tx.execute(
        select(staff_users.c.id, staff_users.c.username, staff_users.c.display_name).where(
            staff_users.c.id.in_(ids)
        )
    )
    return {f"staff:{r.id}": f"{r.display_name} ({r.username})" for r in rows}


def get_user(tx: Connection, user_id: str) -> StaffUser | None:
    row = tx.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
    return _user(row) if row else None


def find_by_username(tx: Connection, username: str) -> StaffUser:
    row = tx.execute(
        select(staff_users).where(staff_users.c.username == username.strip().lower())
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"staff account {username}")
    return _user(row)


@dataclass(frozen=True, slots=True)
class SignedIn:
    access_token: str
    expires_at: datetime
    user: StaffUser


def login_limits(settings: Settings) -> guesses.GuessLimits:
    """How staff passwords may be guessed (``QUAN_LOGIN_*``)."""
    return guesses.GuessLimits(
        "login",
        per_ip=settings.login_ip_attempts,
        free_failures=settings.login_attempts,
        max_delay_seconds=settings.login_max_delay_seconds,
        window_seconds=settings.login_window_seconds,
    )


def sign_in(
    db: Database,
    now: datetime,
    throttle: Throttle,
    tokens: TokenSigner,
    *,
    username: str,
    password: str,
    limits: guesses.GuessLimits,
    ip: str,
) -> SignedIn:
    """Check a password, once the guess is let through per address and per account
    (:mod:`quan.services.people.guesses`: attackers are slowed, the owner is never locked out).
    The guess is let through before a connection is taken, so a flood holds none."""
    username = username.strip().lower()
    attempt = guesses.begin(
        throttle,
        limits,
        account=username,
        ip=ip,
        refusal=TOO_MANY_ATTEMPTS,
        ip_refusal=TOO_MANY_ATTEMPTS,
    )
    with db.read() as tx:
        row = tx.execute(select(staff_users).where(staff_users.c.username == username)).first()
    stored_hash = row._mapping["password_hash"] if row else _DUMMY_HASH
    try:
        _hasher.verify(stored_hash, password)
        ok = row is not None and bool(row._mapping["active"])
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        raise QuanError(INVALID_CREDENTIALS)
    attempt.succeeded(throttle)
    user = _user(row)
    token, expires = tokens.issue("staff", user.id, now, version=user.token_version)
    return SignedIn(token, expires, user)


# --- disabling, revoking, signing out ----------------------------------------------------------

CANNOT_DISABLE_SELF = define(
    "CANNOT_DISABLE_SELF",
    Kind.CONFLICT,
    zh="不能停用自己的账号",
    en="You cannot disable your own account",
)


def manageable_user(tx: Connection, actor: Actor, user_id: str) -> StaffUser:
    """A staff account an admin may manage: any, for an admin of no issuer; else only the
    accounts of the admin's own issuer (others look like other issuers' resources)."""
    if actor.role != Role.ADMIN.value and actor.kind != "system":
        raise QuanError(FORBIDDEN)
    user = get_user(tx, user_id)
    if user is None:
        raise QuanError(NOT_FOUND, what=f"staff account {user_id}")
    if actor.issuer_id is not None and user.issuer_id != actor.issuer_id:
        raise QuanError(OTHER_ISSUER)
    return user


def _bump(
    tx: Connection, now: datetime, actor: Actor, user_id: str, kind: str, **values: object
) -> StaffUser:
    """Raise the token version (ending every session) and record why, in one statement."""
    tx.execute(
        update(staff_users)
        .where(staff_users.c.id == user_id)
        .values(token_version=staff_users.c.token_version + 1, **values)
    )
    record_event(
        tx,
        type=f"staff.{kind}",
        actor=actor,
        subject_type="staff",
        subject_id=user_id,
        at=now,
        payload={},
    )
    user = get_user(tx, user_id)
    assert user is not None
    return user


def set_active(
    tx: Connection, now: datetime, actor: Actor, user_id: str, active: bool
) -> StaffUser:
    """Disable (and end every session) or enable an account; enabling revives no old token."""
    user = manageable_user(tx, actor, user_id)
    if not active and user.id == actor.id:
        raise QuanError(CANNOT_DISABLE_SELF)
    if user.active == active:
        return user
    if active:
        tx.execute(update(staff_users).where(staff_users.c.id == user_id).values(active=True))
        record_event(
            tx,
            type="staff.reactivated",
            actor=actor,
            subject_type="staff",
            subject_id=user_id,
            at=now,
            payload={},
        )
        return get_user(tx, user_id) or user
    return _bump(tx, now, actor, user_id, "deactivated", active=False)


def revoke_sessions(tx: Connection, now: datetime, actor: Actor, user_id: str) -> StaffUser:
    """End every session of an account (a lost laptop, a leaked token); it can sign in again."""
    manageable_user(tx, actor, user_id)
    return _bump(tx, now, actor, user_id, "sessions_revoked")


def reset_password(
    tx: Connection, now: datetime, actor: Actor, user_id: str, password: str
) -> StaffUser:
    """An admin sets a new password (a forgotten one, a suspected leak): every session of the
    account ends at once and only the new password signs in (``staff.password_reset``)."""
    manageable_user(tx, actor, user_id)
    if len(password) < MIN_PASSWORD:
        raise QuanError(WEAK_PASSWORD)
    return _bump(tx, now, actor, user_id, "password_reset", password_hash=_hasher.hash(password))


def sign_out(tx: Connection, now: datetime, actor: Actor) -> None:
    """The account's own sign-out: every token it holds stops working now."""
    _bump(tx, now, actor, actor.id, "signed_out")

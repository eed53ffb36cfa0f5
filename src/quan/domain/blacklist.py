"""The blacklist (黑名单): who is barred from claiming or redeeming, from when, until when, why.

An entry bars one subject (a citizen or a merchant) from ``starts_at`` until ``ends_at`` (open
ended when ``None``) unless it is lifted earlier. Whether a subject is blocked is always asked
*at an instant*, so that a dispute about a claim last month is judged by the entries as they stood
then: a lifted entry still blocked everything before it was lifted.

An appeal is heard at most once at a time: ``upheld`` leaves the entry in force; ``overturned``
lifts it. The codes below are what claims and redemptions answer with (``BLACKLISTED``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from quan.domain.errors import Kind, QuanError, define

BLACKLISTED = define(
    "BLACKLISTED",
    Kind.FORBIDDEN,
    zh="您已被列入黑名单，暂不能参与本活动；如有异议可提出申诉",
    en="You are on the blacklist and cannot take part for now; you may appeal",
)
INVALID_BLACKLIST_PERIOD = define(
    "INVALID_BLACKLIST_PERIOD",
    Kind.INVALID,
    zh="黑名单期限无效：不能早于当前时间开始，且结束时间须晚于开始时间",
    en="The blacklist period is not valid: it cannot start in the past and must end after it "
    "starts",
)
ALREADY_BLACKLISTED = define(
    "ALREADY_BLACKLISTED",
    Kind.CONFLICT,
    zh="该对象在此期间已在黑名单中（记录 {entry_id}）",
    en="The subject is already blacklisted for that period (entry {entry_id})",
)
BLACKLIST_ENTRY_NOT_IN_FORCE = define(
    "BLACKLIST_ENTRY_NOT_IN_FORCE",
    Kind.CONFLICT,
    zh="该黑名单记录已解除或已到期",
    en="This blacklist entry has been lifted or has expired",
)
APPEAL_PENDING = define(
    "APPEAL_PENDING",
    Kind.CONFLICT,
    zh="该记录已有待处理的申诉",
    en="An appeal against this entry is already waiting for a decision",
)
NO_PENDING_APPEAL = define(
    "NO_PENDING_APPEAL",
    Kind.CONFLICT,
    zh="该记录没有待处理的申诉",
    en="There is no appeal waiting for a decision on this entry",
)


class SubjectType(StrEnum):
    CITIZEN = "citizen"
    MERCHANT = "merchant"


class ReasonCode(StrEnum):
    """Why a subject was barred; free text goes in the entry's reason, never in events."""

    CASH_OUT = "cash_out"  # 套现
    FAKE_TRANSACTION = "fake_transaction"  # 虚假交易
    IDENTITY_FRAUD = "identity_fraud"  # 冒用身份
    ABUSE = "abuse"  # 恶意刷券、骚扰等
    OTHER = "other"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"  # the entry stays in force
    OVERTURNED = "overturned"  # the entry is lifted


@dataclass(frozen=True, slots=True)
class Subject:
    type: SubjectType
    id: str


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    id: str
    subject: Subject
    reason_code: ReasonCode
    starts_at: datetime
    ends_at: datetime | None
    lifted_at: datetime | None = None

    def in_force_at(self, at: datetime) -> bool:
        """Barring at ``at``: started, not yet ended, not yet lifted (end instants exclusive)."""
        if at < self.starts_at:
            return False
        if self.ends_at is not None and at >= self.ends_at:
            return False
        return self.lifted_at is None or at < self.lifted_at

    def can_still_bar(self, now: datetime) -> bool:
        """Not lifted and not over: it bars now or will bar later (so it may be lifted/appealed)."""
        if self.lifted_at is not None:
            return False
        return self.ends_at is None or now < self.ends_at


def blocking_entry(
    entries: Iterable[BlacklistEntry], subject: Subject, at: datetime
) -> BlacklistEntry | None:
    """The entry that bars ``subject`` at ``at`` (the earliest started), or ``None``."""
    barring = [e for e in entries if e.subject == subject and e.in_force_at(at)]
    return min(barring, key=lambda e: (e.starts_at, e.id)) if barring else None


def is_blocked(entries: Iterable[BlacklistEntry], subject: Subject, at: datetime) -> bool:
    """Whether ``subject`` may not claim or redeem at ``at``."""
    return blocking_entry(entries, subject, at) is not None


def check_period(starts_at: datetime, ends_at: datetime | None, now: datetime) -> None:
    """A new entry starts now or later and ends after it starts.

    Backdating is refused: it would make claims already made look barred when they were not.
    """
    if starts_at < now or (ends_at is not None and ends_at <= starts_at):
        raise QuanError(INVALID_BLACKLIST_PERIOD)


def overlaps(
    entry: BlacklistEntry, starts_at: datetime, ends_at: datetime | None, now: datetime
) -> bool:
    """Whether a new period for the same subject would overlap ``entry`` while it still bars."""
    if not entry.can_still_bar(now):
        return False
    new_end_after_start = ends_at is None or ends_at > entry.starts_at
    old_end_after_start = entry.ends_at is None or entry.ends_at > starts_at
    return new_end_after_start and old_end_after_start


def refusal(entry: BlacklistEntry) -> QuanError:
    """The error a claim or redemption answers with when ``entry`` bars the actor."""
    until = entry.ends_at.isoformat() if entry.ends_at else None
    return QuanError(BLACKLISTED, entry_id=entry.id, until=until)

"""Program lifecycle: draft → active ⇄ paused → closed, and what a program's window must be."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from quan.domain.errors import Kind, QuanError, define


class ProgramStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Action(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    CLOSE = "close"


# Which actions each status allows, and where they lead. Resuming a paused program is
# "activate" again; a draft that will never run can be closed directly.
TRANSITIONS: dict[ProgramStatus, dict[Action, ProgramStatus]] = {
    ProgramStatus.DRAFT: {
        Action.ACTIVATE: ProgramStatus.ACTIVE,
        Action.CLOSE: ProgramStatus.CLOSED,
    },
    ProgramStatus.ACTIVE: {Action.PAUSE: ProgramStatus.PAUSED, Action.CLOSE: ProgramStatus.CLOSED},
    ProgramStatus.PAUSED: {
        Action.ACTIVATE: ProgramStatus.ACTIVE,
        Action.CLOSE: ProgramStatus.CLOSED,
    },
    ProgramStatus.CLOSED: {},
}

INVALID_TRANSITION = define(
    "INVALID_TRANSITION",
    Kind.CONFLICT,
    zh="项目当前状态为“{program_status}”，不能执行“{action}”",
    en="A program in status '{program_status}' cannot {action}",
)
PROGRAM_ENDED = define(
    "PROGRAM_ENDED",
    Kind.CONFLICT,
    zh="项目活动期已于 {ends_at} 结束，不能再启用",
    en="The program's window ended at {ends_at}; it cannot be activated",
)
PROGRAM_CLOSED = define(
    "PROGRAM_CLOSED", Kind.CONFLICT, zh="项目已结束，不能再变动资金", en="The program is closed"
)
INVALID_TIMEZONE = define(
    "INVALID_TIMEZONE",
    Kind.INVALID,
    zh="不可用的时区：{timezone}（请使用“地区/城市”形式的 IANA 名称，如 Asia/Shanghai，或 UTC）",
    en="Unusable time zone: {timezone} (use an IANA Area/City name such as Asia/Shanghai, or UTC)",
)
INVALID_WINDOW = define(
    "INVALID_WINDOW",
    Kind.INVALID,
    zh="活动开始时间必须早于结束时间",
    en="The program must start before it ends",
)


def next_status(
    status: ProgramStatus, action: Action, *, now: datetime, ends_at: datetime
) -> ProgramStatus:
    target = TRANSITIONS[status].get(action)
    if target is None:
        raise QuanError(INVALID_TRANSITION, program_status=status.value, action=action.value)
    if target is ProgramStatus.ACTIVE and now >= ends_at:
        raise QuanError(PROGRAM_ENDED, ends_at=ends_at.isoformat())
    return target


def check_window(timezone: str, starts_at: datetime, ends_at: datetime) -> ZoneInfo:
    """The program's zone must be a real IANA zone and its window must not be empty."""
    if timezone not in _zones():
        raise QuanError(INVALID_TIMEZONE, timezone=timezone)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QuanError(INVALID_TIMEZONE, timezone=timezone) from exc
    if starts_at >= ends_at:
        raise QuanError(INVALID_WINDOW)
    return zone


_ZONES: frozenset[str] | None = None


# The geographic areas of the IANA database. Only ``Area/City`` zones of these (and ``UTC``) are
# accepted: not ``localtime`` (whatever the server is set to), ``Factory`` (a placeholder whose
# abbreviation is "-00"), ``posix/…`` and ``right/…`` (copies; ``right/`` counts leap seconds),
# ``Etc/GMT+8`` (whose sign is the reverse of what it reads) nor the legacy aliases (``PRC``,
# ``US/Eastern``…) — names a program's local day would silently depend on or be misread by.
ZONE_AREAS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
     "Indian", "Pacific"}
)


def is_region_zone(name: str) -> bool:
    area, _, city = name.partition("/")
    return name == "UTC" or (area in ZONE_AREAS and bool(city))


def _zones() -> frozenset[str]:
    # available_timezones() walks the tz database once; remember the answer.
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(z for z in available_timezones() if is_region_zone(z))
    return _ZONES


def accepts_money(status: ProgramStatus) -> bool:
    return status is not ProgramStatus.CLOSED

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from quan.api.schemas.common import Body
from quan.services.delivery.reminder_settings import ReminderRules

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _minutes(value: str) -> int:
    return int(value[:2]) * 60 + int(value[3:])


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class QuietHours(Body):
    start: str = Field(description="Local time HH:MM the quiet hours begin (program time zone)")
    end: str = Field(description="Local time HH:MM they end; a reminder due in them waits")

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("a local time HH:MM")
        return value


class ReminderRulesBody(Body):
    expiry_offsets_days: list[int] = Field(
        max_length=5, description="Days before a voucher's validity ends, e.g. [7, 1]"
    )
    on_claim: bool = True
    on_redemption: bool = True
    lottery_results: bool = True
    quiet_hours: QuietHours | None = Field(
        default=None, description="None: reminders go at any hour"
    )

    def minutes(self) -> tuple[int, int]:
        if self.quiet_hours is None:
            return 0, 0
        return _minutes(self.quiet_hours.start), _minutes(self.quiet_hours.end)


class ReminderRulesOut(BaseModel):
    program_id: str
    expiry_offsets_days: list[int]
    on_claim: bool
    on_redemption: bool
    lottery_results: bool
    quiet_hours: dict[str, str] | None

    @classmethod
    def of(cls, program_id: str, rules: ReminderRules) -> ReminderRulesOut:
        quiet = (
            None
            if rules.quiet_start == rules.quiet_end
            else {"start": _hhmm(rules.quiet_start), "end": _hhmm(rules.quiet_end)}
        )
        return cls(
            program_id=program_id,
            expiry_offsets_days=list(rules.expiry_offsets),
            on_claim=rules.on_claim,
            on_redemption=rules.on_redemption,
            lottery_results=rules.lottery_results,
            quiet_hours=quiet,
        )


class NoticePreferences(BaseModel):
    """Which channels the citizen receives reminders and lottery results on (sign-in codes
    always go)."""

    sms: bool
    email: bool


class NoticePreferencesBody(Body):
    sms: bool | None = None
    email: bool | None = None

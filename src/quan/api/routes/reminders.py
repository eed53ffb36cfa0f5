"""Reminders: a program's reminder rules (staff), and the citizen's own opt-outs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from quan.api.schemas.reminders import (
    NoticePreferences,
    NoticePreferencesBody,
    ReminderRulesBody,
    ReminderRulesOut,
)
from quan.domain.auth import Actor, CitizenRole
from quan.edge.deps import Allow, OperatorOrAdmin, RuntimeDep, StaffReader
from quan.services.delivery import reminder_settings as settings_service

router = APIRouter(tags=["reminders"])

CitizenOnly = Annotated[Actor, Depends(Allow(CitizenRole.CITIZEN))]


@router.get("/programs/{program_id}/reminders", response_model=ReminderRulesOut)
def get_reminders(program_id: str, actor: StaffReader, rt: RuntimeDep) -> ReminderRulesOut:
    """The program's reminder rules (the defaults until someone sets them)."""
    with rt.db.read() as tx:
        rules = settings_service.get_rules(tx, actor, program_id)
    return ReminderRulesOut.of(program_id, rules)


@router.put("/programs/{program_id}/reminders", response_model=ReminderRulesOut)
def put_reminders(
    program_id: str, body: ReminderRulesBody, actor: OperatorOrAdmin, rt: RuntimeDep
) -> ReminderRulesOut:
    """Replace the program's reminder rules: expiry offsets in days, claim and redemption
    notices, lottery results, quiet hours in the program's time zone."""
    start, end = body.minutes()
    rules = settings_service.make_rules(
        body.expiry_offsets_days,
        on_claim=body.on_claim,
        on_redemption=body.on_redemption,
        lottery_results=body.lottery_results,
        quiet_start=start,
        quiet_end=end,
    )
    with rt.db.write() as tx:
        settings_service.set_rules(tx, rt.clock.now(), actor, program_id, rules)
    return ReminderRulesOut.of(program_id, rules)


def _preferences(out: set[str]) -> NoticePreferences:
    return NoticePreferences(sms="sms" not in out, email="email" not in out)


@router.get("/me/notifications", response_model=NoticePreferences)
def my_notifications(actor: CitizenOnly, rt: RuntimeDep) -> NoticePreferences:
    """Whether the signed-in citizen receives reminders and lottery results, per channel."""
    with rt.db.read() as tx:
        return _preferences(settings_service.opted_out(tx, actor.id))


@router.put("/me/notifications", response_model=NoticePreferences)
def set_my_notifications(
    body: NoticePreferencesBody, actor: CitizenOnly, rt: RuntimeDep
) -> NoticePreferences:
    """Turn reminders and lottery results on or off per channel (fields left out stay as they
    are). Sign-in codes are not reminders: they are always sent."""
    out: set[str] = set()
    with rt.db.write() as tx:
        out = settings_service.opted_out(tx, actor.id)
        for channel, wanted in (("sms", body.sms), ("email", body.email)):
            if wanted is not None:
                out = settings_service.set_opt_out(
                    tx, rt.clock.now(), actor.id, channel, out=not wanted
                )
    return _preferences(out)

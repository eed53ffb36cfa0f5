"""Telling the complainant of each step of a complaint, through the sealed outbox.

The message is written in the same transaction as the step (so it goes if and only if the step
committed). The recipient is the citizen's phone (sealed in ``citizens``) or the hotline caller's
(sealed in the complaint); a merchant's own complaint is followed in the portal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from quan.channels import outbox, templates
from quan.domain.feedback import reference
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys
from quan.services.people.citizens import sealing_aad as citizen_aad
from quan.store.citizen_tables import citizens

KIND_OF_STEP: Final = {
    "filed": "complaint.filed",
    "response": "complaint.response",
    "merchant_answer": "complaint.merchant_answer",
    "escalated": "complaint.escalated",
    "resolved": "complaint.resolved",
}


def caller_aad(complaint_id: str, field: str = "phone") -> str:
    return f"complaint:{complaint_id}:{field}"


def complainant_phone(tx: Connection, keys: CitizenKeys, row: Any) -> str | None:
    """The phone a complaint's steps are told to, or ``None`` (a merchant; no phone)."""
    if row.citizen_id is not None:
        sealed = tx.execute(
            select(citizens.c.phone_enc).where(citizens.c.id == row.citizen_id)
        ).scalar()
        return (
            pii.decrypt(keys.sealing, sealed, citizen_aad(row.citizen_id, "phone"))
            if sealed
            else None
        )
    if row.caller_phone_enc is not None:
        return pii.decrypt(keys.sealing, row.caller_phone_enc, caller_aad(row.id))
    return None


def tell(
    tx: Connection, now: datetime, keys: CitizenKeys, row: Any, step: str, *, locale: str
) -> str | None:
    """Queue the SMS saying ``step`` happened to complaint ``row``; its message id, if sent."""
    kind = KIND_OF_STEP.get(step)
    phone = complainant_phone(tx, keys, row) if kind else None
    if kind is None or phone is None:
        return None
    params = {"ref": reference(row.id)}
    return outbox.enqueue(
        tx,
        now,
        keys.outbox,
        channel="sms",
        recipient=phone,
        subject=kind,
        body=templates.render(kind, locale, params) or kind,
        params=params,
    )

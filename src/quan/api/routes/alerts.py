"""Alerts (``GET /alerts``, ``POST /alerts/{id}/ack``), their rules and their receivers.

What raises them and when: :mod:`quan.services.operations.alerts` (the ``alerts`` job of
``quan worker``). Staff read; operators (their issuer's programs) and admins act.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from quan.api.schemas.common import Body
from quan.edge.deps import OperatorOrAdmin, RuntimeDep, StaffReader
from quan.services.operations import alert_notify, alert_rules, alerts
from quan.services.people.citizens import CitizenKeys

router = APIRouter(tags=["monitoring"])

_Id = Annotated[str | None, Query(max_length=80, pattern=r"^[A-Za-z0-9_:.-]+$")]


class AlertOut(BaseModel):
    id: str
    rule_id: str
    rule_name: str
    measure: str
    severity: str
    program_id: str | None
    labels: dict[str, str]
    state: str
    value: float
    comparator: str
    threshold: float
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    last_seen_at: datetime
    notifications: int
    acked_at: datetime | None
    acked_by: str | None
    ack_note: str | None
    annotation_zh: str
    annotation_en: str


class AckBody(Body):
    note: str = Field(min_length=1, max_length=alerts.ACK_NOTE_MAX, description="What was done")


class RuleOut(BaseModel):
    id: str
    program_id: str | None
    name: str
    measure: str
    params: dict[str, object]
    comparator: str
    threshold: float
    for_seconds: int
    keep_firing_seconds: int
    repeat_seconds: int
    severity: str
    labels: dict[str, str]
    annotation_zh: str
    annotation_en: str
    enabled: bool
    builtin: bool
    updated_by: str
    updated_at: datetime


class RuleChangeBody(Body):
    threshold: float | None = Field(default=None, ge=-1e12, le=1e12)
    for_seconds: int | None = Field(default=None, ge=0, le=7 * 86400)
    keep_firing_seconds: int | None = Field(default=None, ge=0, le=7 * 86400)
    repeat_seconds: int | None = Field(default=None, ge=60, le=30 * 86400)
    severity: Literal["info", "warning", "critical"] | None = None
    enabled: bool | None = None


class ReceiverOut(BaseModel):
    id: str
    program_id: str | None
    channel: str
    address_masked: str
    min_severity: str
    active: bool
    created_at: datetime


class ReceiverBody(Body):
    program_id: str | None = Field(default=None, max_length=80)
    channel: Literal["sms", "email", "webhook"]
    address: str = Field(min_length=3, max_length=2000, description="Phone, e-mail or URL")
    min_severity: Literal["info", "warning", "critical"] = "warning"


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(
    actor: StaffReader,
    rt: RuntimeDep,
    program_id: _Id = None,
    state: Literal["open", "pending", "firing", "resolved", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertOut]:
    """Alerts, newest first (``state``: ``open`` = pending or firing, the default). Operators see
    their issuer's programs' alerts and the platform's (outbox, sequencer, jobs)."""
    with rt.db.read() as tx:
        found = alerts.list_alerts(tx, actor, program_id=program_id, state=state, limit=limit)
    return [AlertOut(**asdict(a)) for a in found]


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
def acknowledge(alert_id: str, body: AckBody, actor: OperatorOrAdmin, rt: RuntimeDep) -> AlertOut:
    """Acknowledge an alert with a note: who and when are recorded, repeats stop. Once only
    (``409 ALERT_ALREADY_ACKNOWLEDGED``)."""
    with rt.db.write() as tx:
        done = alerts.acknowledge(tx, rt.clock.now(), actor, alert_id, body.note)
    return AlertOut(**asdict(done))


@router.get("/alert-rules", response_model=list[RuleOut])
def list_rules(actor: StaffReader, rt: RuntimeDep, program_id: _Id = None) -> list[RuleOut]:
    """The alert rules (built-in ones are written for every program by the ``alerts`` job)."""
    with rt.db.read() as tx:
        found = alert_rules.rules(tx, actor, program_id)
    return [RuleOut(**asdict(r)) for r in found]


@router.patch("/alert-rules/{rule_id}", response_model=RuleOut)
def change_rule(
    rule_id: str, body: RuleChangeBody, actor: OperatorOrAdmin, rt: RuntimeDep
) -> RuleOut:
    """Change a rule's threshold, durations or severity, or switch it off (``enabled``)."""
    change = alert_rules.RuleChange(**body.model_dump())
    with rt.db.write() as tx:
        rule = alert_rules.change(tx, rt.clock.now(), actor, rule_id, change)
    return RuleOut(**asdict(rule))


@router.get("/alert-receivers", response_model=list[ReceiverOut])
def list_receivers(
    actor: OperatorOrAdmin, rt: RuntimeDep, program_id: _Id = None
) -> list[ReceiverOut]:
    """Where alerts are sent (addresses masked)."""
    with rt.db.read() as tx:
        found = alert_notify.receivers(tx, actor, program_id)
    return [ReceiverOut(**asdict(r)) for r in found]


@router.post("/alert-receivers", response_model=ReceiverOut, status_code=201)
def add_receiver(body: ReceiverBody, actor: OperatorOrAdmin, rt: RuntimeDep) -> ReceiverOut:
    """Send a program's alerts (or, admins, every alert) to a phone by SMS, an e-mail address
    or a webhook URL (signed in the Standard Webhooks format)."""
    keys = CitizenKeys.from_settings(rt.settings).outbox
    with rt.db.write() as tx:
        receiver = alert_notify.add_receiver(
            tx, rt.clock.now(), actor, keys, program_id=body.program_id, channel=body.channel,
            address=body.address, min_severity=body.min_severity,
            production=rt.settings.is_production,
        )  # fmt: skip
    return ReceiverOut(**asdict(receiver))


@router.delete("/alert-receivers/{receiver_id}", status_code=204)
def remove_receiver(receiver_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> Response:
    """Stop sending alerts to a receiver."""
    with rt.db.write() as tx:
        alert_notify.remove_receiver(tx, actor, receiver_id)
    return Response(status_code=204)

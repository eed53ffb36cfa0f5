"""Who is told about an alert, and the messages: through the outbox, in the evaluation's
transaction, so a notification is queued exactly when the alert's change commits.

Receivers (``alert_receivers``) are a program's operators' phone numbers and e-mail addresses,
and webhook URLs; a receiver without a program hears every alert (the platform's included). The
address is sealed with the outbox's key; staff see it masked. SMS and e-mail carry the kind
``alert.firing`` / ``alert.resolved`` with parameters (:mod:`quan.channels.alert_templates`);
a webhook gets ``alert.webhook``, whose body is the alert as JSON, signed by the relay's webhook
provider (:mod:`quan.services.delivery.alert_webhook`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, or_, select, update

from quan.channels import outbox
from quan.channels.alert_templates import ALERT_TEMPLATES
from quan.channels.outbox import OutboxKeys
from quan.domain.auth import Actor, Role, require_issuer
from quan.domain.errors import FORBIDDEN, Kind, QuanError, define
from quan.services.people import pii
from quan.store.alert_tables import RECEIVER_CHANNELS, SEVERITIES, alert_receivers
from quan.store.ids import new_id
from quan.store.tables import programs

ALERT_RECEIVER_INVALID = define(
    "ALERT_RECEIVER_INVALID",
    Kind.INVALID,
    zh="告警接收方式无效：{reason}",
    en="The alert receiver is not valid: {reason}",
)
ALERT_RECEIVER_NOT_FOUND = define(
    "ALERT_RECEIVER_NOT_FOUND", Kind.NOT_FOUND, zh="没有这个告警接收人", en="No such receiver"
)


def receiver_aad(receiver_id: str) -> str:
    return f"alert_receiver:{receiver_id}"


@dataclass(frozen=True, slots=True)
class Receiver:
    id: str
    program_id: str | None
    channel: str
    address_masked: str
    min_severity: str
    active: bool
    created_at: datetime


def _receiver(r: Any) -> Receiver:
    return Receiver(
        r.id, r.program_id, r.channel, r.address_masked, r.min_severity, r.active, r.created_at
    )


def _mask(channel: str, address: str) -> str:
    if channel == "sms":
        return pii.mask_phone(address)
    if channel == "email":
        user, _, host = address.partition("@")
        return f"{user[:1]}***@{host}"
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.hostname}/…"


def _check(channel: str, address: str, production: bool) -> str:
    address = address.strip()
    if channel not in RECEIVER_CHANNELS:
        raise QuanError(ALERT_RECEIVER_INVALID, reason="channel")
    if channel == "sms" and not (address.isdigit() and len(address) == 11 and address[0] == "1"):
        raise QuanError(ALERT_RECEIVER_INVALID, reason="phone")
    if channel == "email" and (address.count("@") != 1 or "." not in address.split("@")[1]):
        raise QuanError(ALERT_RECEIVER_INVALID, reason="email")
    if channel == "webhook":
        parts = urlsplit(address)
        schemes = ("https",) if production else ("https", "http")
        if parts.scheme not in schemes or not parts.hostname:
            raise QuanError(ALERT_RECEIVER_INVALID, reason="url")
    if len(address) > 2000:
        raise QuanError(ALERT_RECEIVER_INVALID, reason="length")
    return address


def _may_manage(tx: Connection, actor: Actor, program_id: str | None) -> None:
    if program_id is None:
        if actor.role != Role.ADMIN:
            raise QuanError(FORBIDDEN)
        return
    issuer = tx.execute(select(programs.c.issuer_id).where(programs.c.id == program_id)).scalar()
    if issuer is None:
        raise QuanError(ALERT_RECEIVER_INVALID, reason="program")
    require_issuer(actor, issuer)


def add_receiver(
    tx: Connection, now: datetime, actor: Actor, keys: OutboxKeys, *, program_id: str | None,
    channel: str, address: str, min_severity: str = "warning", production: bool = False,
) -> Receiver:  # fmt: skip
    """A new receiver of a program's alerts (an operator of its issuer) or of all (an admin)."""
    _may_manage(tx, actor, program_id)
    address = _check(channel, address, production)
    if min_severity not in SEVERITIES:
        raise QuanError(ALERT_RECEIVER_INVALID, reason="min_severity")
    receiver_id = new_id("arc")
    tx.execute(
        insert(alert_receivers).values(
            id=receiver_id,
            program_id=program_id,
            channel=channel,
            address_enc=pii.encrypt(keys.sealing, address, receiver_aad(receiver_id)),
            address_masked=_mask(channel, address),
            min_severity=min_severity,
            active=True,
            created_by=actor.label,
            created_at=now,
        )
    )
    row = tx.execute(select(alert_receivers).where(alert_receivers.c.id == receiver_id)).one()
    return _receiver(row)


def receivers(tx: Connection, actor: Actor, program_id: str | None = None) -> list[Receiver]:
    query = select(alert_receivers).order_by(alert_receivers.c.created_at)
    if program_id is not None:
        query = query.where(alert_receivers.c.program_id == program_id)
    if actor.role not in (Role.ADMIN, Role.AUDITOR):
        own = select(programs.c.id).where(programs.c.issuer_id == actor.issuer_id)
        query = query.where(alert_receivers.c.program_id.in_(own))
    return [_receiver(r) for r in tx.execute(query)]


def remove_receiver(tx: Connection, actor: Actor, receiver_id: str) -> None:
    row = tx.execute(select(alert_receivers).where(alert_receivers.c.id == receiver_id)).first()
    if row is None:
        raise QuanError(ALERT_RECEIVER_NOT_FOUND, receiver_id=receiver_id)
    _may_manage(tx, actor, row.program_id)
    tx.execute(
        update(alert_receivers).where(alert_receivers.c.id == receiver_id).values(active=False)
    )


@dataclass(frozen=True, slots=True)
class Notice:
    """One change of an alert worth telling people about."""

    alert_id: str
    event: str  # firing | repeat | resolved
    rule_name: str
    severity: str
    program_id: str | None
    program_name: str
    labels: dict[str, str]
    value: float
    comparator: str
    threshold: float
    annotation_zh: str
    annotation_en: str
    at: datetime


def _labels_text(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def notify(tx: Connection, keys: OutboxKeys, locale: str, notice: Notice) -> int:
    """Queue the notice to every active receiver that hears it; answers how many messages."""
    rank = SEVERITIES.index(notice.severity)
    wanted = [s for s in SEVERITIES if SEVERITIES.index(s) <= rank]
    query = select(alert_receivers).where(
        alert_receivers.c.active.is_(True),
        alert_receivers.c.min_severity.in_(wanted),
        or_(
            alert_receivers.c.program_id.is_(None),
            alert_receivers.c.program_id == notice.program_id,
        ),
    )
    kind = "alert.resolved" if notice.event == "resolved" else "alert.firing"
    params = {
        "rule": notice.rule_name,
        "severity": notice.severity,
        "program": notice.program_name or "-",
        "labels": _labels_text(notice.labels),
        "value": _fmt(notice.value),
        "condition": f"{notice.comparator} {_fmt(notice.threshold)}",
        "todo": notice.annotation_en if locale == "en" else notice.annotation_zh,
    }
    text = ALERT_TEMPLATES[kind].get(locale, ALERT_TEMPLATES[kind]["zh-CN"]).format(**params)
    payload = json.dumps(
        {
            "alert_id": notice.alert_id,
            "event": notice.event,
            "status": "resolved" if notice.event == "resolved" else "firing",
            "rule": notice.rule_name,
            "severity": notice.severity,
            "program_id": notice.program_id,
            "labels": notice.labels,
            "value": notice.value,
            "condition": {"comparator": notice.comparator, "threshold": notice.threshold},
            "annotation": {"zh-CN": notice.annotation_zh, "en": notice.annotation_en},
            "at": notice.at.isoformat(),
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    sent = 0
    for r in tx.execute(query):
        address = pii.decrypt(keys.sealing, r.address_enc, receiver_aad(r.id))
        if r.channel == "webhook":
            outbox.enqueue(
                tx, notice.at, keys, channel="webhook", recipient=address,
                subject="alert.webhook", body=payload,
            )  # fmt: skip
        else:
            outbox.enqueue(
                tx, notice.at, keys, channel=r.channel, recipient=address, subject=kind,
                body=text, params=params,
            )  # fmt: skip
        sent += 1
    return sent

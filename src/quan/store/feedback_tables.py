"""Tables of complaints (issue 22): one row per complaint, and the steps of each.

``complaints.due_at`` is the complaint's next deadline (first response, then resolution; ``NULL``
once resolved); the escalation job takes rows whose deadline has passed and raises their
``escalation_level`` with a conditional ``UPDATE … WHERE escalation_level = <read>``, so a missed
deadline escalates once however many workers run. Personal data: the complainant is a citizen
id, a merchant id or — for a hotline caller who is not a registered citizen — a phone number
sealed to the row (``caller_phone_enc``, AES-GCM under the citizens' sealing key) with its keyed
hash; the text has phone and ID numbers masked before it is stored
(:func:`quan.domain.feedback.mask_personal_numbers`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    text,
)

from quan.domain.feedback import CATEGORIES, CHANNELS, MAX_LEVEL, STATUSES, STEP_KINDS
from quan.store.tables import UtcDateTime, metadata


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


complaints = Table(
    "complaints",
    metadata,
    Column("id", Text, primary_key=True),
    Column("category", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=True, index=True),
    Column("caller_phone_hash", Text, nullable=True),
    Column("caller_phone_enc", Text, nullable=True),
    Column("filing_merchant_id", Text, ForeignKey("merchants.id"), nullable=True),
    Column("filed_by", Text, nullable=False),  # the actor's label
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=True, index=True),
    Column("voucher_id", Text, ForeignKey("vouchers.id"), nullable=True),
    Column("redemption_id", Text, ForeignKey("redemptions.id"), nullable=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=True),
    Column("issuer_id", Text, ForeignKey("issuers.id"), nullable=True),
    Column("body", Text, nullable=False),
    Column("sentiment", Float, nullable=True),  # -1 … 1 (quan.services.feedback.sentiment)
    Column("topic", Text, nullable=True),
    Column("assignee", Text, nullable=True),  # a staff user's id
    Column("escalation_level", Integer, nullable=False),
    Column("due_at", UtcDateTime, nullable=True),
    Column("escalated_at", UtcDateTime, nullable=True),
    Column("first_response_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("filed_at", UtcDateTime, nullable=False),
    _one_of("category", tuple(CATEGORIES), "category"),
    _one_of("channel", CHANNELS, "channel"),
    _one_of("status", STATUSES, "status"),
    CheckConstraint(f"escalation_level BETWEEN 0 AND {MAX_LEVEL}", name="level"),
    CheckConstraint(
        "(status = 'resolved') = (resolved_at IS NOT NULL)"
        " AND (status = 'open') = (first_response_at IS NULL)"
        " AND (status = 'resolved') = (due_at IS NULL)",
        name="progress",
    ),
    CheckConstraint(
        "citizen_id IS NOT NULL OR caller_phone_hash IS NOT NULL OR filing_merchant_id IS NOT NULL",
        name="complainant",
    ),
    # What the escalation job takes: complaints whose next deadline has passed.
    Index(
        "ix_complaints_due",
        "due_at",
        sqlite_where=text("due_at IS NOT NULL"),
        postgresql_where=text("due_at IS NOT NULL"),
    ),
)

complaint_steps = Table(
    "complaint_steps",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("complaint_id", Text, ForeignKey("complaints.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("by", Text, nullable=False),  # the actor's label
    Column("body", Text, nullable=True),  # what was said (numbers masked)
    Column("level", Integer, nullable=True),  # escalated: the new level
    Column("message_id", Text, nullable=True),  # the outbox message telling the complainant
    Column("at", UtcDateTime, nullable=False),
    _one_of("kind", STEP_KINDS, "kind"),
)

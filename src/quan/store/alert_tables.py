"""Alert rules, the alerts they raise, and who is told (issue 17, items 3 and 4).

**Rules as data.** ``alert_rules`` holds one row per rule: what it measures over Quan's own
figures (``measure`` names a function of :mod:`quan.services.operations.alert_measures`, with its
``params`` as JSON), how the value is compared (``comparator``, ``threshold``), how long it must
hold before firing (``for_seconds``), how long a firing alert outlives its condition
(``keep_firing_seconds``), how often a firing alert is repeated to people (``repeat_seconds``),
its ``severity``, fixed ``labels`` and the annotation saying what to do (zh-CN and en). A rule
belongs to a program or, with ``program_id`` NULL, to the platform (the outbox, the sequencer, the
jobs). ``rule_key`` (``<program or *>:<name>``) is unique, so seeding the built-in rules twice (or
by two workers at once) writes each rule once.

**Alerts.** ``alerts`` holds one row per episode of a rule for one label set (the merchant, the
citizen, the job …): ``pending`` → ``firing`` → ``resolved``. ``open_key`` is
``<rule>|<labels>`` while the alert is pending or firing and NULL once resolved; it is unique, so
the database itself keeps at most one open alert per rule and label set (deduplication), whatever
number of evaluators race. Acknowledgement (who, when, a note) stops the repeats.

**Receivers.** ``alert_receivers`` are where notifications go: an SMS number or an e-mail
address of a program's operators, or a webhook URL, for one program or (NULL) for every alert.
The address is sealed with the outbox's key (it is personal data); only its masked form is
readable.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
)

from quan.store.tables import UtcDateTime, metadata
from quan.store.voucher_tables import vouchers

COMPARATORS = (">", ">=", "<", "<=")
SEVERITIES = ("info", "warning", "critical")
ALERT_STATES = ("pending", "firing", "resolved")
RECEIVER_CHANNELS = ("sms", "email", "webhook")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Text, primary_key=True),
    Column("rule_key", Text, nullable=False, unique=True),  # <program_id or *>:<name>
    Column("program_id", Text, ForeignKey("programs.id"), nullable=True, index=True),
    Column("name", Text, nullable=False),
    Column("measure", Text, nullable=False),
    Column("params", Text, nullable=False),  # JSON object: the measure's parameters
    Column("comparator", Text, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("for_seconds", Integer, nullable=False),
    Column("keep_firing_seconds", Integer, nullable=False),
    Column("repeat_seconds", Integer, nullable=False),
    Column("severity", Text, nullable=False),
    Column("labels", Text, nullable=False),  # JSON object of fixed labels
    Column("annotation_zh", Text, nullable=False),
    Column("annotation_en", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("builtin", Boolean, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    _one_of("comparator", COMPARATORS, "comparator"),
    _one_of("severity", SEVERITIES, "severity"),
    CheckConstraint(
        "for_seconds >= 0 AND keep_firing_seconds >= 0 AND repeat_seconds >= 60",
        name="durations",
    ),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("rule_id", Text, ForeignKey("alert_rules.id"), nullable=False),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=True),
    Column("labels", Text, nullable=False),  # canonical JSON of the label set
    Column("open_key", Text, nullable=True, unique=True),  # <rule>|<labels> until resolved
    Column("state", Text, nullable=False),
    Column("value", Float, nullable=False),  # the last value measured while the condition held
    Column("started_at", UtcDateTime, nullable=False),  # became pending
    Column("fired_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=False),  # the condition last held
    Column("last_notified_at", UtcDateTime, nullable=True),
    Column("notifications", Integer, nullable=False),
    Column("acked_at", UtcDateTime, nullable=True),
    Column("acked_by", Text, nullable=True),  # staff:<id>
    Column("ack_note", Text, nullable=True),
    _one_of("state", ALERT_STATES, "state"),
    CheckConstraint("(state = 'resolved') = (open_key IS NULL)", name="open_key"),
    CheckConstraint("(state = 'resolved') = (resolved_at IS NOT NULL)", name="resolved"),
    Index("ix_alerts_rule_state", "rule_id", "state"),
    Index("ix_alerts_program_started", "program_id", "started_at"),
)

alert_receivers = Table(
    "alert_receivers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=True, index=True),
    Column("channel", Text, nullable=False),
    Column("address_enc", Text, nullable=False),  # sealed: outbox key, aad alert_receiver:<id>
    Column("address_masked", Text, nullable=False),
    Column("min_severity", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    _one_of("channel", RECEIVER_CHANNELS, "channel"),
    _one_of("min_severity", SEVERITIES, "min_severity"),
)

# The measures read vouchers by program and time (quan.services.operations.alert_measures):
# claims per citizen in a recent window is a range scan of this index. The expiring-value measure
# reads the program's active vouchers in one pass for all its rules; an index on active vouchers
# by validity was not used by the planner for it (EXPLAIN at 1M vouchers) and would cost every
# claim one more index entry, so there is none (docs/operations.md, "Alerts").
Index("ix_vouchers_program_claimed", vouchers.c.program_id, vouchers.c.claimed_at)

"""Tables of announcements to citizens and of partners' webhooks (issue 25, items 7 and 8).

**Announcements.** ``announcements`` holds a notice (zh-CN and en) to the holders of a program,
a batch or a voucher type, or to a segment (an eligibility rule), and its approval;
``announcement_recipients`` is its queue: one row per citizen, written by one ``INSERT …
SELECT`` when the notice is approved, released to the sealed outbox at a configured rate by
the ``announcements`` job. Its primary key (announcement, citizen) is what makes each citizen
get a notice at most once. Nothing personal is stored here: citizens by id, the phone stays in
``citizens`` (sealed) until the release seals it again into the outbox.

**Partner webhooks.** ``partner_clients`` are machine clients (client credentials: the secret is
stored as SHA-256, shown once); ``webhook_subscriptions`` name an HTTPS endpoint and event types,
with the Standard Webhooks signing secret sealed under the personal-data key (it must be read to
sign) and a cursor into the transparency log; ``webhook_deliveries`` is one row per (subscription,
event) — its id is the ``webhook-id`` a partner deduplicates on, kept on every retry and replay —
and ``webhook_attempts`` logs every attempt. Payloads are the public projection of the event
(the log leaf's payload): pseudonyms and ids only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from quan.store.tables import UtcDateTime, metadata

_BigId = BigInteger().with_variant(Integer, "sqlite")

AUDIENCES = ("program", "batch", "voucher_type", "segment")
ANNOUNCEMENT_STATUSES = ("pending_approval", "rejected", "sending", "sent")
RECIPIENT_CHANNELS = ("sms", "none")
SUBSCRIPTION_STATUSES = ("active", "disabled")
DELIVERY_STATUSES = ("queued", "sending", "delivered", "failed", "dead")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


announcements = Table(
    "announcements",
    metadata,
    Column("id", Text, primary_key=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False, index=True),
    Column("audience", Text, nullable=False),
    Column("audience_ref", Text, nullable=True),  # the batch or voucher type
    Column("segment", Text, nullable=True),  # the eligibility rule (JSON) of a segment
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("body_zh", Text, nullable=False),
    Column("body_en", Text, nullable=False),
    Column("public", Boolean, nullable=False),  # also shown on the program's disclosure page
    Column("status", Text, nullable=False),
    Column("recipients", Integer, nullable=False),  # counted when written (the preview's count)
    Column("requested_by", Text, nullable=False),  # staff:<id>
    Column("idempotency_key", Text, nullable=True),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("reject_reason", Text, nullable=True),
    Column("queued", Integer, nullable=False),  # recipient rows written at approval
    Column("released", Integer, nullable=False),  # of them, handed to the outbox (or skipped)
    Column("published_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    _one_of("audience", AUDIENCES, "audience"),
    _one_of("status", ANNOUNCEMENT_STATUSES, "status"),
    UniqueConstraint("requested_by", "idempotency_key", name="uq_announcements_idempotency"),
    Index("ix_announcements_status", "status"),
)

announcement_recipients = Table(
    "announcement_recipients",
    metadata,
    Column("announcement_id", Text, ForeignKey("announcements.id"), nullable=False),
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("channel", Text, nullable=False),  # sms, or none: no phone on file
    Column("message_id", Text, nullable=True),  # the outbox message, once released
    Column("released_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("announcement_id", "citizen_id", name="pk_announcement_recipients"),
    _one_of("channel", RECIPIENT_CHANNELS, "channel"),
    Index("ix_announcement_recipients_waiting", "announcement_id", "released_at"),
)

partner_clients = Table(
    "partner_clients",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("secret_hash", Text, nullable=False),  # SHA-256 of a 256-bit random secret
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    # The console's create form: a second submission finds the client instead of making one.
    Column("idempotency_key", Text, nullable=True),
    UniqueConstraint("created_by", "idempotency_key", name="uq_partner_clients_idempotency"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("client_id", Text, ForeignKey("partner_clients.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("event_types", Text, nullable=False),  # JSON list
    Column("secret_enc", Text, nullable=False),  # whsec_…, sealed to the row
    Column("status", Text, nullable=False),
    Column("gone_count", Integer, nullable=False),  # 410 answers in a row
    Column("log_cursor", BigInteger, nullable=False),  # next transparency-log index to look at
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    _one_of("status", SUBSCRIPTION_STATUSES, "status"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Text, primary_key=True),  # the webhook-id header
    Column("subscription_id", Text, ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("event_id", _BigId, nullable=False),
    Column("log_index", BigInteger, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the signed body, byte for byte (no personal data)
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True, index=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("replays", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    _one_of("status", DELIVERY_STATUSES, "status"),
    UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
    Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", Text, ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),  # a status code or an error class
    Column("duration_ms", Integer, nullable=False),
)

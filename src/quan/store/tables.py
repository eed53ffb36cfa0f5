"""The schema as SQLAlchemy Core tables (the Alembic migrations create exactly these).

Money columns are BIGINT fen. Times are stored in UTC (see :class:`UtcDateTime`). Ids are text
(see :mod:`quan.store.ids`) except for the append-only streams (postings, events), whose
integer ids give a stable order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on both databases.

    PostgreSQL keeps TIMESTAMPTZ; SQLite has no time zones, so the value is stored as naive UTC
    and the zone is put back on the way out. Naive input is refused: a time without a zone is a
    bug waiting for the first program outside Asia/Shanghai.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id(**kw: Any) -> Column[str]:
    return Column("id", Text, primary_key=True, **kw)


def _created() -> Column[datetime]:
    return Column("created_at", UtcDateTime, nullable=False)


ROLES = ("admin", "operator", "auditor", "agent")
PROGRAM_STATUSES = ("draft", "active", "paused", "closed")
FUNDER_KINDS = ("department", "region", "bank", "sponsor", "bond")
MOVEMENT_DIRECTIONS = ("contribution", "return")
MOVEMENT_STATUSES = ("pending_approval", "approved", "rejected")
# Ledger buckets (see quan.domain.ledger): funding is the credit side, the rest hold the money.
BUCKETS = ("funding", "available", "reserved", "payable", "paid", "returned")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


issuers = Table(
    "issuers",
    metadata,
    _id(),
    Column("name", Text, nullable=False, unique=True),
    Column("region_code", Text, nullable=False),
    _created(),
)

staff_users = Table(
    "staff_users",
    metadata,
    _id(),
    Column("username", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("issuer_id", Text, ForeignKey("issuers.id"), nullable=True),
    Column("display_name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    # Signed into every token; disabling, revoking sessions or signing out increments it, so
    # every token issued before stops working at once and re-enabling revives none of them.
    Column("token_version", Integer, nullable=False, server_default="0"),
    _created(),
    _one_of("role", ROLES, "role"),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    # SHA-256 of the secret part: keys are 256-bit random, so a slow hash adds nothing.
    Column("secret_hash", Text, nullable=False, unique=True),
    Column("owner_type", Text, nullable=False),
    Column("owner_id", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_api_keys_owner", "owner_type", "owner_id"),
)

programs = Table(
    "programs",
    metadata,
    _id(),
    Column("issuer_id", Text, ForeignKey("issuers.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime, nullable=False),
    _one_of("status", PROGRAM_STATUSES, "status"),
    CheckConstraint("starts_at < ends_at", name="window"),
)

funders = Table(
    "funders",
    metadata,
    _id(),
    Column("issuer_id", Text, ForeignKey("issuers.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    _created(),
    UniqueConstraint("issuer_id", "name", name="uq_funders_issuer_name"),
    _one_of("kind", FUNDER_KINDS, "kind"),
)

# Money into a program (contribution) or back to a funder (return). Above the approval
# threshold a movement waits for a second person; only an approved one has a journal entry.
fund_movements = Table(
    "fund_movements",
    metadata,
    _id(),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False, index=True),
    Column("funder_id", Text, ForeignKey("funders.id"), nullable=False),
    Column("direction", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_reason", Text, nullable=True),
    CheckConstraint("amount_fen > 0", name="positive"),
    _one_of("direction", MOVEMENT_DIRECTIONS, "direction"),
    _one_of("status", MOVEMENT_STATUSES, "status"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    _id(),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    # What caused the entry; unique so that one cause can never post twice.
    Column("source_type", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    Column("memo", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    UniqueConstraint("kind", "source_type", "source_id", name="uq_journal_entries_source"),
)

postings = Table(
    "postings",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("entry_id", Text, ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("program_id", Text, ForeignKey("programs.id"), nullable=False),
    Column("bucket", Text, nullable=False),
    # Sub-account: the funder, batch or merchant the money sits with ('' for none).
    Column("ref", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    CheckConstraint("amount_fen <> 0", name="nonzero"),
    _one_of("bucket", BUCKETS, "bucket"),
    Index("ix_postings_account", "program_id", "bucket", "ref"),
)

events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("type", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("program_id", Text, nullable=True, index=True),
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("occurred_at", UtcDateTime, nullable=False),
    Index("ix_events_subject", "subject_type", "subject_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", Text, nullable=False),  # who sent it: one client's keys never meet another's
    Column("key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    _created(),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("channel", Text, nullable=False),  # sms | email | webhook
    # Sealed (AES-GCM) and hashed: a phone number and a sign-in code are never in clear here
    # (quan.channels.outbox). All three are erased after the retention period (purged_at).
    Column("recipient_hash", Text, nullable=True, index=True),
    Column("recipient_enc", Text, nullable=True),
    Column("subject", Text, nullable=False),  # the message's kind, e.g. citizen.otp.login
    Column("body_enc", Text, nullable=True),
    # queued | sending | delivered | failed (retried at next_attempt_at) | dead
    # (quan.services.delivery.relay)
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    _created(),
    Column("sent_at", UtcDateTime, nullable=True),  # when a provider accepted it
    Column("purged_at", UtcDateTime, nullable=True),
    # The template's parameters (JSON), sealed like the body: a sign-in code is one of them.
    Column("params_enc", Text, nullable=True),
    # When the relay may (next) take the row: due for queued and failed rows, the end of the
    # sending lease for a sending one; NULL once delivered or dead.
    Column("next_attempt_at", UtcDateTime, nullable=True, index=True),
    Column("last_error", Text, nullable=True),  # a status code or error class, no personal data
    CheckConstraint(
        "(purged_at IS NULL) = (body_enc IS NOT NULL AND recipient_enc IS NOT NULL)",
        name="sealed_until_purged",
    ),
    CheckConstraint(
        "status IN ('queued', 'sending', 'delivered', 'failed', 'dead')", name="status"
    ),
    # The purge step every enqueue runs looks for sealed rows past the retention: without this
    # (partial, small: delivered rows are erased at once) each enqueue scanned the whole table.
    Index(
        "ix_outbox_sealed_created",
        "created_at",
        postgresql_where=text("purged_at IS NULL"),
        sqlite_where=text("purged_at IS NULL"),
    ),
)

job_leases = Table(
    "job_leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# What each scheduled job did last (quan.jobs.registry): written by the worker that ran it.
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", Text, primary_key=True),
    Column("interval_seconds", Float, nullable=False),
    Column("last_started_at", UtcDateTime, nullable=True),
    Column("last_finished_at", UtcDateTime, nullable=True),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("next_run_at", UtcDateTime, nullable=True),
    Column("runs", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("last_holder", Text, nullable=True),
    Column("last_duration_ms", Integer, nullable=True),
)

# Attempt counters and gates (quan.cache.throttle) when Redis is not configured: one row per
# key, taken and counted by conditional upserts. On SQLite they live in a file of their own.
throttle_counters = Table(
    "throttle_counters",
    metadata,
    Column("key", Text, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# Tables whose rows are history: written once, never updated or deleted (database triggers).
APPEND_ONLY = ("journal_entries", "postings", "events")

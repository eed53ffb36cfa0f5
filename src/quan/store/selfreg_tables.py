"""Self-registrations: one row per attempt a citizen made to register themselves.

A row is written when the phone's code was accepted (``checking``), before the real-name check
runs outside any transaction, and finished in the transaction that creates the account
(``registered``, with ``citizen_id``) or that records the refusal (``refused``, with its stable
code). It holds the consent the citizen gave (the version of the text, its SHA-256 and when) and
the real-name check's outcome and the provider's reference, for disputes; no personal data:
the phone appears only as the same keyed hash the citizens table uses, and the form's
submission key only as a SHA-256. ``UNIQUE (submission_hash)`` makes a resubmitted form (a double
tap, a retried request) follow the first attempt instead of starting another.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Table, Text

from quan.store.tables import UtcDateTime, metadata

STATUSES = ("checking", "registered", "refused")
CHANNELS = ("web", "api")

self_registrations = Table(
    "self_registrations",
    metadata,
    Column("id", Text, primary_key=True),  # also the request id sent to the real-name provider
    Column("submission_hash", Text, nullable=False, unique=True),
    Column("phone_hash", Text, nullable=False, index=True),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("refusal", Text, nullable=True),  # a stable error code
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=True, unique=True),
    Column("consent_version", Text, nullable=False),
    Column("consent_sha256", Text, nullable=False),
    Column("consented_at", UtcDateTime, nullable=False),
    Column("realname_provider", Text, nullable=True),
    Column("realname_outcome", Text, nullable=True),
    Column("realname_reference", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    CheckConstraint("status IN ('checking', 'registered', 'refused')", name="status"),
    CheckConstraint("channel IN ('web', 'api')", name="channel"),
    CheckConstraint(
        "(status = 'registered') = (citizen_id IS NOT NULL)", name="registered_has_citizen"
    ),
)

"""Merchant tables: applications and their review state, categories, review history, terminals.

Personal and confidential values are never stored in clear: the bank account number and the
contact phone are AES-GCM tokens (see :mod:`quan.services.people.pii`) next to the masked form that
screens show, so listing merchants never needs the key.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Table, Text, text

from quan.store.tables import UtcDateTime, metadata

MERCHANT_STATUSES = ("submitted", "approved", "rejected", "suspended")
REVIEW_DECISIONS = ("approve", "reject", "suspend", "reinstate", "renew")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


merchants = Table(
    "merchants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("issuer_id", Text, ForeignKey("issuers.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("uscc", Text, nullable=False),  # normalized, 18 characters
    Column("region_code", Text, nullable=False),
    Column("accepts_offline", Boolean, nullable=False),
    Column("accepts_online", Boolean, nullable=False),
    Column("bank_name", Text, nullable=False),
    Column("bank_account_token", Text, nullable=False),  # AES-GCM, aad names the row
    Column("bank_account_masked", Text, nullable=False),
    Column("contact_phone_token", Text, nullable=False),
    Column("contact_phone_masked", Text, nullable=False),
    # A keyed hash of the contact phone (quan.services.merchants.owner_signin), so the owner
    # signs in with it; filled on application (older rows: when an owner first asks a code).
    Column("contact_phone_hash", Text, nullable=True),
    Column("status", Text, nullable=False),
    # Why the merchant is rejected or suspended: shown to the merchant and to staff.
    Column("status_reason", Text, nullable=True),
    Column("reviewed_by", Text, nullable=True),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("next_review_due_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    _one_of("status", MERCHANT_STATUSES, "status"),
    CheckConstraint("accepts_offline OR accepts_online", name="scene"),
    # One live application per body and issuer; after a rejection the body may apply again.
    Index(
        "uq_merchants_issuer_uscc_live",
        "issuer_id",
        "uscc",
        unique=True,
        sqlite_where=text("status <> 'rejected'"),
        postgresql_where=text("status <> 'rejected'"),
    ),
    Index("ix_merchants_issuer_status", "issuer_id", "status"),
    Index("ix_merchants_review_due", "status", "next_review_due_at"),
    Index("ix_merchants_contact_phone_hash", "contact_phone_hash"),
)

merchant_categories = Table(
    "merchant_categories",
    metadata,
    Column("merchant_id", Text, ForeignKey("merchants.id"), primary_key=True),
    Column("category", Text, primary_key=True),  # a code of quan.domain.categories
    Index("ix_merchant_categories_category", "category"),
)

# The history of review decisions, append-only (database triggers): who decided what, when, why.
merchant_reviews = Table(
    "merchant_reviews",
    metadata,
    Column("id", Text, primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False, index=True),
    Column("decision", Text, nullable=False),
    Column("from_status", Text, nullable=False),
    Column("to_status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("next_review_due_at", UtcDateTime, nullable=True),
    _one_of("decision", REVIEW_DECISIONS, "decision"),
)

# A cashier device. Its credential is an API key (owner "terminal", this id); revoking the
# terminal revokes the key in the same transaction.
terminals = Table(
    "terminals",
    metadata,
    Column("id", Text, primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False, index=True),
    Column("label", Text, nullable=False),
    Column("key_id", Text, ForeignKey("api_keys.id"), nullable=False, unique=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_by", Text, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

APPEND_ONLY = ("merchant_reviews",)

"""Tables of citizens, their eligibility-list imports, sign-in codes, and the blacklist.

Personal data never sits in clear: the resident ID number, the name and the phone are AES-GCM
tokens (see :mod:`quan.services.people.pii`), with a keyed HMAC beside the ID number and the phone
for
lookups. ``UNIQUE (resident_id_hash)`` is what makes one person one account, and ``UNIQUE
(phone_hash)`` one phone one sign-in; both hold under concurrent registrations because the
database, not the service, enforces them. The ``*_masked`` columns are what screens show.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    text,
)

from quan.store.tables import UtcDateTime, metadata

INCOME_GROUPS = ("normal", "low_income", "subsistence")
REGISTRATION_CHANNELS = ("self", "agent", "operator", "import")
# ``presence``: a code an agent has sent to a citizen's phone, read out at the desk to prove the
# citizen is there (quan.services.assisted); never good for signing in.
OTP_PURPOSES = ("login", "register", "presence")
SUBJECT_TYPES = ("citizen", "merchant")
REASON_CODES = ("cash_out", "fake_transaction", "identity_fraud", "abuse", "other")
APPEAL_OUTCOMES = ("upheld", "overturned")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


# One row per eligibility-list upload that was applied: the version history of imports.
citizen_imports = Table(
    "citizen_imports",
    metadata,
    Column("id", Text, primary_key=True),
    Column("file_sha256", Text, nullable=False, index=True),
    Column("file_name", Text, nullable=False),
    Column("file_bytes", BigInteger, nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("created_count", Integer, nullable=False),
    Column("duplicate_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    # The per-row report as JSON ({row, field, code, reason}); never a value from the file.
    Column("report", Text, nullable=False),
    # Set when the same file was applied before and the uploader confirmed a repeat.
    Column("repeat_of", Text, ForeignKey("citizen_imports.id"), nullable=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

citizens = Table(
    "citizens",
    metadata,
    Column("id", Text, primary_key=True),
    Column("resident_id_hash", Text, nullable=False, unique=True),
    Column("resident_id_enc", Text, nullable=False),
    Column("resident_id_masked", Text, nullable=False),
    Column("name_enc", Text, nullable=False),
    Column("name_masked", Text, nullable=False),
    # A citizen registered by an agent may have no phone (the assisted channel serves them).
    Column("phone_hash", Text, nullable=True, unique=True),
    Column("phone_enc", Text, nullable=True),
    Column("phone_masked", Text, nullable=True),
    Column("region_code", Text, nullable=False, index=True),
    Column("birth_date", Date, nullable=False),
    Column("income_group", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("disability_grade", Integer, nullable=True),
    Column("registered_via", Text, nullable=False),
    Column("registered_by", Text, nullable=False),
    Column("import_id", Text, ForeignKey("citizen_imports.id"), nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    _one_of("income_group", INCOME_GROUPS, "income_group"),
    _one_of("registered_via", REGISTRATION_CHANNELS, "registered_via"),
    CheckConstraint(
        "disability_grade IS NULL OR (disabled AND disability_grade BETWEEN 1 AND 4)",
        name="disability_grade",
    ),
    CheckConstraint(
        "(phone_hash IS NULL) = (phone_enc IS NULL) AND (phone_hash IS NULL) = "
        "(phone_masked IS NULL)",
        name="phone_complete",
    ),
)

# One-time sign-in codes. Only an HMAC of the code is kept; a row is dead once consumed,
# expired or out of attempts.
citizen_otps = Table(
    "citizen_otps",
    metadata,
    Column("id", Text, primary_key=True),
    Column("phone_hash", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("code_hash", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("consumed_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    _one_of("purpose", OTP_PURPOSES, "purpose"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_citizen_otps_phone", "phone_hash", "purpose", "id"),
)

# Reveals beyond a person's daily threshold wait for a second person (quan.services.people.
# reveals): one row per request; approved once, used once.
reveal_requests = Table(
    "reveal_requests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("issuer_id", Text, ForeignKey("issuers.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("approved_by", Text, nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("used_at", UtcDateTime, nullable=True),
    CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name="two_people"),
    CheckConstraint("used_at IS NULL OR approved_at IS NOT NULL", name="used_when_approved"),
)

blacklist_entries = Table(
    "blacklist_entries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=True),
    Column("decided_by", Text, nullable=False),
    # The deciding operator's issuer (None for an admin): operators lift only their own.
    Column("issuer_id", Text, ForeignKey("issuers.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("lifted_at", UtcDateTime, nullable=True),
    Column("lifted_by", Text, nullable=True),
    Column("lift_reason", Text, nullable=True),
    _one_of("subject_type", SUBJECT_TYPES, "subject_type"),
    _one_of("reason_code", REASON_CODES, "reason_code"),
    CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="period"),
    Index("ix_blacklist_entries_subject", "subject_type", "subject_id", "starts_at"),
)

blacklist_appeals = Table(
    "blacklist_appeals",
    metadata,
    Column("id", Text, primary_key=True),
    Column("entry_id", Text, ForeignKey("blacklist_entries.id"), nullable=False, index=True),
    Column("statement", Text, nullable=False),
    Column("filed_by", Text, nullable=False),
    Column("filed_at", UtcDateTime, nullable=False),
    Column("outcome", Text, nullable=True),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_reason", Text, nullable=True),
    CheckConstraint(
        "outcome IS NULL OR outcome IN ({})".format(", ".join(f"'{o}'" for o in APPEAL_OUTCOMES)),
        name="outcome",
    ),
    # At most one appeal waiting per entry, whoever files it and however concurrently.
    Index(
        "uq_blacklist_appeals_pending",
        "entry_id",
        unique=True,
        sqlite_where=text("outcome IS NULL"),
        postgresql_where=text("outcome IS NULL"),
    ),
)

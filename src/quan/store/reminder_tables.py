"""Tables of reminders and results sent to citizens (issue 25): per-program settings, the
reminders chosen, the sweeps' high-water marks, and the citizens' opt-outs.

``reminders`` holds one row per message Quan decided to send about one thing: an expiry reminder
per voucher and offset, a claim or redemption notice, a lottery result per registration. ``UNIQUE
(subject_id, kind, offset_days)`` is what makes a reminder go once, however many workers choose
at once or however often a run is repeated; a row is ``queued`` until the send step writes its
message to the (sealed) outbox in the same transaction that marks it ``sent`` — or ``skipped``,
with the reason, when the voucher is no longer usable or the citizen opted out meanwhile.

No personal data here: ids, kinds and times. The recipient and the text live only in the sealed
outbox. No foreign keys on ``reminders``: the expiry sweep inserts up to millions of rows in one
statement, and a per-row check would cost more than the insert (the sweep selects them from
existing vouchers and registrations only).
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
    text,
)

from quan.store.tables import UtcDateTime, metadata

REMINDER_KINDS = ("expiry", "claimed", "redeemed", "lottery_won", "lottery_lost")
REMINDER_STATUSES = ("queued", "sent", "skipped")
SKIP_REASONS = ("expired", "redeemed", "deactivated", "opted_out", "no_phone", "disabled")
OPT_OUT_CHANNELS = ("sms", "email")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


# A program's reminder rules; a program without a row uses the defaults
# (quan.services.delivery.reminder_settings.DEFAULT).
reminder_settings = Table(
    "reminder_settings",
    metadata,
    Column("program_id", Text, ForeignKey("programs.id"), primary_key=True),
    # Days before the end of validity, comma-separated, largest first ("7,1"); "" for none.
    Column("expiry_offsets", Text, nullable=False),
    Column("on_claim", Boolean, nullable=False),
    Column("on_redemption", Boolean, nullable=False),
    Column("lottery_results", Boolean, nullable=False),
    # Quiet hours in the program's time zone, minutes after local midnight; equal: none.
    Column("quiet_start", Integer, nullable=False),
    Column("quiet_end", Integer, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(
        "quiet_start BETWEEN 0 AND 1439 AND quiet_end BETWEEN 0 AND 1439", name="quiet"
    ),
)

reminders = Table(
    "reminders",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("kind", Text, nullable=False),
    # The voucher (expiry, claimed), the redemption (redeemed) or the registration (lottery).
    Column("subject_id", Text, nullable=False),
    Column("offset_days", Integer, nullable=False),  # expiry: days before the end; others 0
    Column("program_id", Text, nullable=False),
    Column("citizen_id", Text, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("status", Text, nullable=False),
    Column("skip_reason", Text, nullable=True),
    Column("message_id", Text, nullable=True),  # the outbox message, once sent
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime, nullable=True),
    _one_of("kind", REMINDER_KINDS, "kind"),
    _one_of("status", REMINDER_STATUSES, "status"),
    CheckConstraint(
        "(status = 'sent') = (message_id IS NOT NULL)"
        " AND (status = 'skipped') = (skip_reason IS NOT NULL)"
        " AND (status = 'queued') = (done_at IS NULL)",
        name="outcome",
    ),
    UniqueConstraint("subject_id", "kind", "offset_days", name="uq_reminders_once"),
    # What the send step takes: queued rows by due time.
    Index(
        "ix_reminders_due",
        "due_at",
        sqlite_where=text("status = 'queued'"),
        postgresql_where=text("status = 'queued'"),
    ),
)

# How far each sweep has chosen: ``expiry:<program>:<days>`` (valid_until up to ``swept_to``),
# ``redeemed:<program>`` (redemptions recorded up to ``swept_to``), ``claimed`` (claim events up
# to ``swept_id``) and ``lottery:<batch>`` (the batch's results chosen). A sweep reads a little
# before its mark too, so a row committed late is not missed; the unique key above drops what it
# chose before.
reminder_sweeps = Table(
    "reminder_sweeps",
    metadata,
    Column("name", Text, primary_key=True),
    Column("swept_to", UtcDateTime, nullable=True),
    Column("swept_id", BigInteger, nullable=True),
)

# A citizen who does not want reminders and results on a channel. Sign-in codes ignore it.
notice_opt_outs = Table(
    "notice_opt_outs",
    metadata,
    Column("citizen_id", Text, ForeignKey("citizens.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("citizen_id", "channel", name="pk_notice_opt_outs"),
    _one_of("channel", OPT_OUT_CHANNELS, "channel"),
)

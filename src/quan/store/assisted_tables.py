"""Assisted acts (quan.services.assisted): which voucher an agent issued at the desk, to whom the
print right belongs and until when, and how often it was printed and reprinted.

One row per voucher issued through the assisted channel, written in the claim's transaction.
Only the agent of the act may print it, only until ``print_until`` and at most ``MAX_PRINTS``
times; afterwards only a reprint (presence proven again, a reason, at most ``MAX_REPRINTS``)
shows the code again. The counters move with conditional updates (``… WHERE prints < n``),
backed by CHECK constraints, so no race prints more than allowed.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, Table, Text

from quan.store.tables import UtcDateTime, metadata

MAX_PRINTS = 3  # within the act: a jammed printer, a second copy
MAX_REPRINTS = 2  # ever, each with presence proven again and a reason

assisted_issues = Table(
    "assisted_issues",
    metadata,
    Column("voucher_id", Text, ForeignKey("vouchers.id"), primary_key=True),
    Column("agent_id", Text, ForeignKey("staff_users.id"), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("print_until", UtcDateTime, nullable=False),
    Column("prints", Integer, nullable=False),
    Column("reprints", Integer, nullable=False),
    CheckConstraint(f"prints BETWEEN 0 AND {MAX_PRINTS}", name="prints"),
    CheckConstraint(f"reprints BETWEEN 0 AND {MAX_REPRINTS}", name="reprints"),
)

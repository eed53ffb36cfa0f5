"""Refused claims and redemptions, tallied per minute (:mod:`quan.refusals`).

One row per minute and (action, code, program, batch, merchant, subject); ``count`` grows by
additive upserts from every API process, so several processes sum correctly. Empty strings, not
NULLs, stand for "not known" so that the primary key holds on both databases. ``subject`` is who
was refused (``citizen:cit_…`` for a claim, ``terminal:trm_…`` for a redemption) — left empty
for refusals about capacity (sold out, window closed), which floods produce by the million and
which say nothing about the person.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, Table, Text

from quan.store.tables import UtcDateTime, metadata

refusal_tallies = Table(
    "refusal_tallies",
    metadata,
    Column("minute", UtcDateTime, nullable=False),
    Column("action", Text, nullable=False),  # claim | redeem
    Column("code", Text, nullable=False),
    Column("program_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("merchant_id", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint(
        "minute",
        "action",
        "code",
        "program_id",
        "batch_id",
        "merchant_id",
        "subject",
        name="pk_refusal_tallies",
    ),
)

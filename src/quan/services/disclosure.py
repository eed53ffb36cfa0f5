"""Public disclosure of a program (R6.4, R9.3): its figures and rule changes, tied to the log.

:func:`program_disclosure` reads everything in the caller's one snapshot, so the figures, the
rule changes and the signed checkpoint all describe the same moment. ``unsequenced_events`` says
how many of the program's events that checkpoint does not cover yet (0 means every event behind
the figures is already in the log).

:func:`_figures` is THE place the page's numbers come from. Today they are the money figures
derived from the ledger (:func:`quan.store.ledger.budget`). The issuance, claim and redemption
issues add theirs there — ``issued``, ``claimed``, ``redeemed`` in total and by category and by
region — as new fields of :class:`Figures`, read from their own tables in the same snapshot;
nothing else in this module or in the route needs to change beyond the response schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from quan.domain.ledger import Budget
from quan.domain.log_leaf import Pseudonymize, clean_payload
from quan.services.issuers import get_issuer
from quan.services.programs import Program, get_program
from quan.store import ledger
from quan.store import log as log_store

RULE_SUBJECTS: Final = ("program",)
"""Subjects whose events are rule changes; voucher types, batches and rule versions join here."""

MAX_RULE_CHANGES: Final = 500
"""Rule changes listed on the page (oldest first); they are human-paced, so this is a guard."""


@dataclass(frozen=True, slots=True)
class Figures:
    """The numbers the public sees. Money is the ledger's budget view, in fen."""

    money: Budget


@dataclass(frozen=True, slots=True)
class RuleChange:
    event_id: int
    log_index: int | None  # None until the sequencer has appended the event
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LogPosition:
    """The signed checkpoint the figures were read at."""

    tree_size: int
    root_hash: bytes
    checkpoint: str  # the signed note, as served by /audit/checkpoint
    unsequenced_events: int


@dataclass(frozen=True, slots=True)
class Disclosure:
    program: Program
    issuer_name: str
    figures: Figures
    log: LogPosition | None  # None before the log's first checkpoint
    rule_changes: list[RuleChange]
    rule_changes_complete: bool


def _figures(tx: Connection, program_id: str) -> Figures:
    return Figures(money=ledger.budget(tx, program_id))


def program_disclosure(tx: Connection, program_id: str, pseudonymize: Pseudonymize) -> Disclosure:
    """Everything the public page shows about one program (NOT_FOUND if there is none).

    Rule-change payloads pass the same personal-data guard as leaves, so the page never shows
    more than the log does.
    """
    program = get_program(tx, program_id)
    issuer = get_issuer(tx, program.issuer_id)
    figures = _figures(tx, program_id)
    head = log_store.latest_checkpoint(tx)
    position = None
    if head is not None:
        position = LogPosition(
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            checkpoint=head.note,
            unsequenced_events=log_store.queued_count(tx, program_id),
        )
    rows = log_store.subject_events(tx, program_id, RULE_SUBJECTS, MAX_RULE_CHANGES + 1)
    changes = [
        RuleChange(
            event_id=int(row.id),
            log_index=None if row.log_index is None else int(row.log_index),
            type=row.type,
            occurred_at=row.occurred_at,
            payload=clean_payload(json.loads(row.payload), row.subject_type, pseudonymize)[0],
        )
        for row in rows[:MAX_RULE_CHANGES]
    ]
    return Disclosure(
        program=program,
        issuer_name=issuer.name,
        figures=figures,
        log=position,
        rule_changes=changes,
        rule_changes_complete=len(rows) <= MAX_RULE_CHANGES,
    )

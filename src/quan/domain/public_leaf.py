"""What a public transparency-log leaf discloses of each event (leaf format 2).

The ``events`` table is the platform's internal record: it names citizens by id and keeps codes
that matter inside (the reserved pool a voucher came from, a blacklist reason, a reveal's
purpose). A public leaf is a *projection* of an event, made here, before the personal-data guard
of :mod:`quan.domain.log_leaf` and before anything is hashed:

- the payload keeps only the keys :data:`DISCLOSED` lists for the event's type (an allowlist:
  a key added to an event later stays internal until it is argued for here);
- every citizen reference (the actor ``citizen:cit_…``, a ``citizen`` subject, a payload value
  ``cit_…`` or ``citizen:cit_…``) becomes a pseudonym of :mod:`quan.domain.pseudonyms`: per
  program when the event has one, per event otherwise. Nothing links one person across programs;
- an event type not listed here keeps a payload without the keys of :data:`NEVER_PUBLIC` (and the
  guard runs as always); ``tests/unit/test_public_leaf.py`` fails on any type the code can emit
  that is not listed, so this is only the fallback of a type still being written.

``docs/transparency-log.md`` ("What each leaf discloses") says for every type what and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from quan.domain.pseudonyms import (
    EVENT_PREFIX,
    PROGRAM_PREFIX,
    event_key,
    event_pseudonym,
    in_program,
    program_key,
)

_MONEY = ("funder_id", "amount_fen", "needs_approval")
_CLAIM = ("batch_id", "claim_seq", "channel", "valid_until")

DISCLOSED: Final[Mapping[str, frozenset[str]]] = {
    t: frozenset(keys)
    for t, keys in {
        # Organisations, programs and rules: public facts.
        "issuer.created": ("name", "region_code"),
        "funder.created": ("name", "kind", "issuer_id"),
        "program.created": ("name", "timezone", "starts_at", "ends_at"),
        "program.active": ("from", "to"),
        "program.paused": ("from", "to"),
        "program.closed": ("from", "to"),
        "program.draft": ("from", "to"),
        "program.updated": ("name", "timezone", "starts_at", "ends_at"),
        "program.redemption_policy_set": ("daily_cap",),
        "program.reminders": (
            "expiry_offsets_days",
            "on_claim",
            "on_redemption",
            "lottery_results",
            "quiet_hours",
        ),
        "voucher_type.created": ("definition", "unit_fen"),
        "batch.created": (
            "voucher_type_id", "allocation", "quantity", "unit_fen", "per_citizen_limit",
            "claim_opens_at", "claim_closes_at", "eligibility", "reserved",
        ),
        "batch.updated": (
            "voucher_type_id", "allocation", "quantity", "unit_fen", "per_citizen_limit",
            "claim_opens_at", "claim_closes_at", "eligibility", "reserved",
        ),
        "batch.deleted": (),
        "voucher_type.updated": ("definition", "unit_fen"),
        "voucher_type.deleted": (),
        "batch.opened": ("reserved_fen", "quantity", "pools"),
        "batch.closed": ("claim_closes_at",),
        "batch.granted": ("by", "targeted", "issued", "already_granted", "skipped", "unserved"),
        "batch.recycled": ("count", "amount_fen"),
        "batch.share_cap_set": ("cap",),
        "vouchers.expired": ("count", "amount_fen", "run_id"),
        # Money in and out of a program; free-text reasons stay internal.
        "contribution.recorded": _MONEY,
        "contribution.requested": _MONEY,
        "contribution.approved": ("amount_fen",),
        "contribution.rejected": ("amount_fen",),
        "return.recorded": _MONEY,
        "return.requested": _MONEY,
        "return.approved": ("amount_fen",),
        "return.rejected": ("amount_fen",),
        # Vouchers: the holder is a per-program pseudonym; the pool (a priority group) is not said.
        "voucher.claimed": _CLAIM,
        "voucher.issued": (*_CLAIM, "citizen"),
        "voucher.assisted_issued": ("batch_id", "citizen_id", "channel"),
        "voucher.printed": (),
        # A reprint is said with its count (reprints are rare and audited), not its reason.
        "voucher.reprinted": ("reprint", "limit"),
        "voucher.share_claimed": ("batch_id", "link_id", "sharer_id", "share_channel"),
        "voucher.deactivated": ("deactivation_id",),
        "voucher.reactivated": ("deactivation_id",),
        "voucher.redeemed": (
            "redemption_id", "batch_id", "merchant_id", "terminal_id", "channel", "category",
            "scene", "order_amount_fen", "discount_fen", "redeemed_at",
        ),
        "voucher.redemption_reversed": (
            "redemption_id", "reversal_id", "merchant_id", "amount_fen", "outcome", "settled_by",
        ),
        "share_link.created": ("batch_id", "channel"),
        # Lottery: tickets are public (the draw is checked from them); groups are not.
        "lottery.committed": ("commitment", "algorithm"),
        # quan-lottery-v2 registers (pseudonym, tickets): the log fixes the registrant list.
        "lottery.registered": ("registration_id", "tickets", "pseudonym"),
        "lottery.beacon": ("beacon", "source", "close_size", "close_root", "members_digest"),
        "lottery.drawn": (
            "seed", "secret", "algorithm", "commitment", "registrants_digest", "registrants",
            "winners", "issued",
        ),
        # Merchants, terminals, offline redemption, settlement: organisations and money.
        "merchant.applied": ("issuer_id", "region_code", "categories", "scenes"),
        "merchant.appealed": ("appeal_id", "review_id", "issuer_id", "from", "to"),
        **{
            f"merchant.{past}": (
                "review_id", "issuer_id", "decision", "from", "to", "next_review_due_at",
            )
            for past in ("approved", "rejected", "suspended", "reinstated", "renewed")
        },
        "terminal.created": ("merchant_id", "key_id"),
        "terminal.pairing_offered": ("merchant_id", "pairing_id"),
        "terminal.paired": ("merchant_id", "pairing_id", "key_id", "revoked_key_id"),
        "terminal.renamed": ("merchant_id",),
        "terminal.revoked": ("merchant_id", "key_id"),
        "api_key.created": ("key_id",),
        "api_key.revoked": ("key_id",),
        "offline.synced": (
            "sync_id", "merchant_id", "records", "accepted", "duplicates", "rejected", "replayed",
        ),
        "offline_case.flagged": ("voucher_id", "redemption_id", "merchant_id", "amount_fen"),
        "offline_case.resolved": ("resolution", "merchant_id"),
        # Abuse cases: that one was opened or decided, and what money was held; never who is
        # suspected (a suspicion is not a finding) nor why.
        "risk_case.opened": ("subject_type", "rules_version"),
        "risk_case.decided": ("subject_type", "outcome", "held"),
        "risk_case.clawed_back": ("redemptions", "amount_fen"),
        "redemption.held": ("hold_id", "case_id", "merchant_id", "amount_fen"),
        "redemption.hold_released": ("hold_id", "case_id", "amount_fen"),
        "settlement.completed": (
            "cut_off_date", "cut_off", "window_start", "remainder_fen", "merchants",
            "redemption_count", "window_fen", "carried_fen", "held_fen", "payout_fen",
        ),
        "settlement.paid": ("payout_id", "statements", "amount_fen"),
        "settlement.payout_file_exported": ("rows", "amount_fen"),
        # Staff and people: that something happened, by whom on the staff side; never why.
        "staff.created": ("role", "issuer_id"),
        "staff.deactivated": (),
        "staff.reactivated": (),
        "staff.sessions_revoked": (),
        "staff.signed_out": (),
        "staff.password_reset": (),
        "citizen.presence_code_sent": (),
        "citizen.registered": ("via",),
        "citizen.personal_data_revealed": (),
        "citizen.reveal_approved": ("requested_by",),
        "citizen_import.applied": (
            "file_sha256", "rows_total", "created", "duplicates", "errors", "repeat_of",
        ),
        "blacklist.added": ("subject_type", "subject_id", "starts_at", "ends_at"),
        "blacklist.lifted": ("subject_type", "subject_id"),
        "blacklist.appeal_filed": ("appeal_id",),
        "blacklist.appeal_decided": ("outcome",),
        # Announcements: that a notice went out, to what audience and how many; its text is on
        # the disclosure page when public, and a rejection's reason stays internal.
        "announcement.requested": ("audience", "recipients", "public", "needs_approval"),
        "announcement.approved": ("requested_by",),
        "announcement.rejected": ("requested_by",),
        "announcement.published": ("audience", "audience_ref", "recipients", "public"),
        "announcement.sent": ("queued",),
        # Partner clients and their webhook endpoints: organisations, never a URL or secret.
        "partner_client.created": ("name",),
        "partner_client.revoked": (),
        "webhook_subscription.created": ("event_types",),
        "webhook_subscription.stopped": ("gone",),
        # Complaints (issue 22): how many, of what kind, how handled; never who or what was said.
        "complaint.filed": ("category", "channel"),
        "complaint.assigned": ("category",),
        "complaint.response": ("category",),
        "complaint.merchant_answer": ("category",),
        "complaint.escalated": ("category", "level"),
        "complaint.resolved": ("category",),
    }.items()
}  # fmt: skip

NEVER_PUBLIC: Final = frozenset(
    {
        "pool", "pools_of", "group", "groups", "reason", "reason_code", "statement",
        "decision_reason", "lift_reason", "purpose", "fields", "label", "citizen_ids",
    }
)  # fmt: skip
"""Keys whose values describe a person (priority groups, why they were barred or looked up,
free text) and never reach a leaf, even of an event type :data:`DISCLOSED` does not list."""

_CITIZEN_ID = re.compile(r"(?:citizen:)?(cit_[0-9a-z]+)")


class PublicView:
    """Projects events onto their public leaves, under keys derived from the personal-data key.

    Program keys are derived once per program and kept (a few hundred programs at most).
    """

    def __init__(self, master: bytes) -> None:
        self._master = master
        self._event_key = event_key(master)
        self._program_keys: dict[str, bytes] = {}

    def citizen(self, citizen_id: str, program_id: str | None, event_id: int) -> str:
        """How the leaf of event ``event_id`` names citizen ``citizen_id``."""
        if program_id is None:
            return event_pseudonym(self._event_key, event_id, citizen_id)
        key = self._program_keys.get(program_id)
        if key is None:
            key = self._program_keys[program_id] = program_key(self._master, program_id)
        return in_program(key, citizen_id)

    def project(
        self,
        event_id: int,
        type_: str,
        actor: str,
        subject_type: str,
        subject_id: str,
        program_id: str | None,
        payload: Mapping[str, Any],
    ) -> tuple[str, str, dict[str, Any]]:
        """``(actor, subject_id, payload)`` as the public leaf shows them."""
        allowed = DISCLOSED.get(type_)
        if allowed is None:
            kept = {k: v for k, v in payload.items() if k not in NEVER_PUBLIC}
        else:
            kept = {k: v for k, v in payload.items() if k in allowed}
        if actor.startswith("citizen:"):
            actor = self.citizen(actor.removeprefix("citizen:"), program_id, event_id)
        if subject_type == "citizen":
            subject_id = self.citizen(subject_id, program_id, event_id)
        return actor, subject_id, self._names(kept, program_id, event_id)

    def _names(self, value: Any, program_id: str | None, event_id: int) -> Any:
        if isinstance(value, str):
            found = _CITIZEN_ID.fullmatch(value)
            return value if found is None else self.citizen(found[1], program_id, event_id)
        if isinstance(value, Mapping):
            return {k: self._names(v, program_id, event_id) for k, v in value.items()}
        if isinstance(value, list):
            return [self._names(v, program_id, event_id) for v in value]
        return value


def names_a_citizen(text: str) -> bool:
    """Whether leaf bytes (as text) carry a stable citizen id: what format 2 never does."""
    return re.search(r"(?<![0-9a-z_])cit_[0-9a-z]{6,}", text) is not None


__all__ = [
    "DISCLOSED",
    "EVENT_PREFIX",
    "NEVER_PUBLIC",
    "PROGRAM_PREFIX",
    "PublicView",
    "names_a_citizen",
]

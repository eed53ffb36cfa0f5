"""The lean path of ``POST /api/v1/batches/{batch_id}/claims``, the flash-sale hot path.

The contract is the one the FastAPI route in :mod:`quan.api.routes.batches` documents (it stays
mounted: the OpenAPI description is unchanged, and it serves every request this path passes on,
and all claims when ``QUAN_CLAIM_BATCHING=false``). This plain ASGI layer sits in front of the
application and answers the common case itself, with the same bodies, codes and headers:

- a citizen's bearer token is checked by its signature alone; the citizen's row is read in the
  claim's own transaction (a token for a citizen that does not exist is still 401). Anything
  else — staff or API keys, bad tokens, bodies other than ``{}``/``{"channel": …}``, large or
  chunked bodies — goes on to the documented route untouched, which answers it as always;
- refusals that need no database (window over, not open yet for anyone, sold out as this process
  knows) are answered from memory; with an ``Idempotency-Key`` they first look for the earlier
  claim, many requests in one read;
- everything else is queued and committed together with the claims that arrive in the same few
  milliseconds (:mod:`quan.api.microbatch`,
  :func:`quan.services.issuance.claim_batch.claim_together`).

The shared ASGI mechanics (passing on, problems, bodies) are :mod:`quan.api.lean`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union, get_args

import anyio.to_thread

from quan import metrics, refusals
from quan.api.lean import ASGIApp, Call, Lane, LeanPath, PassOn, dumps, is_json, mount
from quan.api.schemas.batches import ClaimCreate, VoucherReceipt
from quan.domain.batches import CLAIM_NOT_OPEN_YET, CLAIM_WINDOW_OVER, Allocation
from quan.domain.claims import SOLD_OUT, WRONG_ALLOCATION, Channel
from quan.domain.errors import QuanError
from quan.services.issuance.claim_batch import claim_together
from quan.services.issuance.claim_cache import DEFAULT_CACHE, ClaimCache, ClaimFacts
from quan.services.issuance.claim_judge import ClaimRequest, ClaimResult, replays_or_refusal
from quan.services.issuance.claims import ClaimOutcome, check_key
from quan.services.issuance.wallet import receipt_qr
from quan.services.merchants.offline_keys import offline_key
from quan.services.runtime import Runtime

_PATH = re.compile(r"/api/v1/batches/([^/]+)/claims")
_CHANNELS = frozenset(get_args(ClaimCreate.model_fields["channel"].annotation))


@dataclass(frozen=True)
class _Group:
    """What a micro-batch shares: claims of one batch, or refusals of one kind looking for
    their replays (``code`` names the refusal; ``None``: claims). Groups compare by batch and
    code only."""

    batch_id: str
    code: str | None
    facts: ClaimFacts = field(compare=False)
    refusal: QuanError | None = field(compare=False)


_Answer = Union["_Ready", Exception]


@dataclass(frozen=True, slots=True)
class _Ready:
    """A claim's answer, rendered in the worker thread (signing the QR token costs)."""

    body: bytes
    replayed: bool


class ClaimLane(Lane[ClaimRequest, _Answer]):
    """What the fast path keeps per server process: the batches' facts besides the lane's."""

    def __init__(self, runtime: Runtime, cache: ClaimCache = DEFAULT_CACHE) -> None:
        super().__init__(runtime)
        self.cache = cache

    def run(self, group: Hashable, requests: Sequence[ClaimRequest]) -> list[_Answer]:
        """In a worker thread: the micro-batch's claims (or replay look-ups), then each
        voucher's receipt rendered here rather than on the event loop."""
        assert isinstance(group, _Group)
        rt = self.runtime
        results: list[ClaimResult]
        if group.refusal is not None:
            results = replays_or_refusal(self.db, group.facts, requests, group.refusal)
        else:
            results = claim_together(self.db, rt.clock, group.facts, requests, self.cache)
        now = rt.clock.now()
        return [
            _ready(rt, group.facts, r, now) if isinstance(r, ClaimOutcome) else r for r in results
        ]


def install(app: Any, runtime: Runtime) -> None:
    """Put the lean claim path in front of the application (when batching is on)."""
    if runtime.settings.claim_batching:
        mount(app, "claim_lane", ClaimLane(runtime), ClaimFastPath)


class ClaimFastPath(LeanPath):
    """ASGI middleware: claims in front, everything else to ``app``."""

    def __init__(self, app: ASGIApp, lane: ClaimLane) -> None:
        super().__init__(app, _PATH)
        self.lane = lane
        self.runtime = lane.runtime
        self.cache = lane.cache

    async def answer(self, call: Call, match: re.Match[str]) -> tuple[int, bytes, bool]:
        """The claim's answer, counted once final (:mod:`quan.metrics`): a refusal by its code,
        a new voucher by its channel (a replayed answer is not counted again)."""
        who: list[str] = []  # the citizen, once the token named them
        try:
            status, body, replayed, channel = await self._answer_claim(call, match, who)
        except QuanError as exc:
            facts = self.cache.known(match.group(1))
            refusals.refused(
                self.runtime.db,
                self.runtime.clock.now(),
                "claim",
                exc.code,
                subject=f"citizen:{who[0]}" if who else "",
                batch_id=match.group(1),
                program_id=facts.program_id if facts else "",
            )
            raise
        if not replayed:
            metrics.claimed(channel.value)
        return status, body, replayed

    async def _answer_claim(
        self, call: Call, match: re.Match[str], who: list[str]
    ) -> tuple[int, bytes, bool, Channel]:
        rt = self.runtime
        batch_id = match.group(1)
        scheme, _, token = call.authorization.partition(" ")
        claims = rt.tokens.verify(token.strip(), rt.clock.now())
        if scheme.lower() != "bearer" or claims is None or claims.subject_kind != "citizen":
            raise PassOn  # 401/403 and staff or API keys: the documented route decides
        who.append(claims.subject_id)
        channel = _channel(call.body, call.content_type)
        if call.key is not None:
            check_key(call.key)
        facts = self.cache.known(batch_id)
        if facts is None:
            facts = await anyio.to_thread.run_sync(self.cache.facts, rt.db, batch_id)
        if facts.rules.allocation is not Allocation.FCFS:
            raise QuanError(WRONG_ALLOCATION, allocation=facts.rules.allocation.value)
        claim = ClaimRequest(citizen_id=claims.subject_id, key=call.key, channel=channel)
        refusal = self._refusal_from_memory(facts, rt.clock.now())
        if refusal is not None and call.key is None:
            raise refusal
        code = refusal.code if refusal is not None else None
        group = _Group(batch_id, code, facts, refusal)
        result = await self.lane.batcher().submit(group, claim)
        if isinstance(result, Exception):
            raise result
        return 201, result.body, result.replayed, channel

    def _refusal_from_memory(self, facts: ClaimFacts, now: datetime) -> QuanError | None:
        """What can be refused without the database, as the per-claim path refuses it. Not
        read first: the citizen (they are never deleted, so a signed token's citizen exists)."""
        rules = facts.rules
        if now >= rules.claim_closes_at:
            return QuanError(CLAIM_WINDOW_OVER, claim_closes_at=rules.claim_closes_at.isoformat())
        if self.cache.sold_out(facts.batch_id):
            return QuanError(SOLD_OUT)
        early = any(q.opens_at and q.opens_at < rules.claim_opens_at for q in rules.quotas)
        if now < rules.claim_opens_at and not early:
            # With reserved pools opening earlier, the answer depends on the citizen's groups
            # and the batch's status: the claim transaction judges it.
            return QuanError(CLAIM_NOT_OPEN_YET, claim_opens_at=rules.claim_opens_at.isoformat())
        return None


def _channel(body: bytes, content_type: str) -> Channel:
    """The channel of an empty body or of a JSON ``{"channel": "<one of them>"}``; any other
    body goes to the documented route, whose validation words the refusal."""
    if not body.strip():
        return Channel.APP
    if not is_json(content_type):
        raise PassOn
    try:
        data = json.loads(body)
    except ValueError:
        raise PassOn from None
    if not isinstance(data, dict) or not set(data) <= {"channel"}:
        raise PassOn
    value = data.get("channel", "app")
    if not isinstance(value, str) or value not in _CHANNELS:
        raise PassOn
    return Channel(value)


def claim_response_body(
    rt: Runtime, facts: ClaimFacts, outcome: ClaimOutcome, now: datetime
) -> Any:
    """The receipt of a claim: the voucher, its QR carrying the signed offline token."""
    voucher = outcome.voucher
    qr = receipt_qr(
        offline_key(rt.settings),
        voucher_id=voucher.id,
        code=voucher.code,
        status=voucher.status,
        issuer_id=facts.issuer_id,
        spec=facts.spec,
        valid_from=voucher.valid_from,
        valid_until=voucher.valid_until,
        now=now,
    )
    return VoucherReceipt.of(voucher, qr_payload=qr).model_dump(mode="json")


def _ready(rt: Runtime, facts: ClaimFacts, outcome: ClaimOutcome, now: datetime) -> _Ready:
    return _Ready(dumps(claim_response_body(rt, facts, outcome, now)), outcome.replayed)

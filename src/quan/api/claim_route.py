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
  milliseconds (:mod:`quan.api.microbatch`, :func:`quan.services.claim_batch.claim_together`).

Why not a route: routing through ~150 routes, the middleware stack and exception handlers cost
several times the claim's own work at flash-sale rates (see docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args

import anyio.to_thread
from sqlalchemy.exc import IntegrityError, OperationalError

from quan.api.errors import (
    BUSY,
    CONFLICT,
    INTERNAL,
    error_headers,
    language_of,
    problem_document,
)
from quan.api.microbatch import MicroBatcher
from quan.api.schemas.batches import ClaimCreate, VoucherReceipt
from quan.domain.batches import CLAIM_NOT_OPEN_YET, CLAIM_WINDOW_OVER, Allocation
from quan.domain.claims import SOLD_OUT, WRONG_ALLOCATION, Channel
from quan.domain.errors import ErrorSpec, QuanError
from quan.services.claim_batch import (
    ClaimRequest,
    ClaimResult,
    claim_together,
    replays_or_refusal,
)
from quan.services.claim_cache import DEFAULT_CACHE, ClaimCache, ClaimFacts
from quan.services.claims import ClaimOutcome, check_key
from quan.services.offline_keys import offline_key
from quan.services.runtime import Runtime
from quan.services.wallet import receipt_qr

log = logging.getLogger("quan.api")

Scope = dict[str, Any]
ASGIApp = Any

_PATH = re.compile(r"/api/v1/batches/([^/]+)/claims")
_MAX_BODY = 4096  # a claim's body is at most {"channel": "partner"}; larger ones go on
_CHANNELS = frozenset(get_args(ClaimCreate.model_fields["channel"].annotation))


@dataclass(frozen=True)
class _Group:
    """What a micro-batch shares: claims of one batch, or refusals of one kind looking for
    their replays. Groups compare by kind, batch and code only."""

    writes: bool
    batch_id: str
    code: str | None
    facts: ClaimFacts = field(compare=False)
    refusal: QuanError | None = field(compare=False)


class _PassOn(Exception):  # noqa: N818 - a decision, not an error
    """This request is for the documented route."""


@dataclass(frozen=True, slots=True)
class _Call:
    batch_id: str
    token: str
    key: str | None
    lang: str
    path: str
    body: bytes


class ClaimLane:
    """What the fast path keeps per server process: the runtime, the batches' facts and one
    micro-batcher per event loop (a server process has one loop; tests may start several)."""

    def __init__(self, runtime: Runtime, cache: ClaimCache = DEFAULT_CACHE) -> None:
        self.runtime = runtime
        self.cache = cache
        # SQLite has one writer: one transaction at a time, the rest queue and join the next.
        self.max_inflight = 1 if runtime.db.dialect == "sqlite" else 3
        self._batchers: weakref.WeakKeyDictionary[
            AbstractEventLoop, MicroBatcher[ClaimRequest, ClaimResult]
        ] = weakref.WeakKeyDictionary()

    def batcher(self) -> MicroBatcher[ClaimRequest, ClaimResult]:
        loop = get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = MicroBatcher[ClaimRequest, ClaimResult](
                self._run,
                max_inflight=self.max_inflight,
                max_items=self.runtime.settings.claim_batch_max,
            )
            self._batchers[loop] = batcher
        return batcher

    def runs(self) -> int:
        """Micro-batches run so far, over every loop (what the tests compare with requests)."""
        return sum(b.runs for b in self._batchers.values())

    def _run(self, group: Hashable, requests: Sequence[ClaimRequest]) -> list[ClaimResult]:
        assert isinstance(group, _Group)
        if group.refusal is not None:
            return replays_or_refusal(self.runtime.db, group.facts, requests, group.refusal)
        return claim_together(
            self.runtime.db, self.runtime.clock, group.facts, requests, self.cache
        )


def install(app: Any, runtime: Runtime) -> None:
    """Put the lean claim path in front of the application (when batching is on)."""
    if runtime.settings.claim_batching:
        lane = ClaimLane(runtime)
        app.state.claim_lane = lane
        app.add_middleware(ClaimFastPath, lane=lane)


class ClaimFastPath:
    """ASGI middleware: claims in front, everything else to ``app``."""

    def __init__(self, app: ASGIApp, lane: ClaimLane) -> None:
        self.app = app
        self.lane = lane
        self.runtime = lane.runtime
        self.cache = lane.cache

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        call = await self._read(scope, receive, match.group(1))
        if call is None:  # a body too large to read here: the documented route handles it
            await self.app(scope, receive, send)
            return
        try:
            status, body, headers = await self._answer(call)
        except _PassOn:
            await self.app(scope, _replaying(call.body, receive), send)
            return
        await _send(send, status, body, headers)

    async def _read(self, scope: Scope, receive: Any, batch_id: str) -> _Call | None:
        token = key = None
        lang_header = ""
        length = 0
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = value.decode("latin-1")
            elif name == b"idempotency-key":
                key = value.decode("latin-1")
            elif name == b"accept-language":
                lang_header = value.decode("latin-1")
            elif name == b"content-length":
                length = int(value) if value.isdigit() else _MAX_BODY + 1
            elif name == b"transfer-encoding":
                return None
        if length > _MAX_BODY:
            return None
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        return _Call(
            batch_id=batch_id,
            token=token or "",
            key=key,
            lang=language_of(lang_header),
            path=scope["path"],
            body=body,
        )

    async def _answer(self, call: _Call) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        try:
            outcome, facts = await self._claim(call)
        except QuanError as error:
            return _problem(call, error.spec, error.params, error_headers(error))
        except IntegrityError:
            log.warning("constraint refused a write on POST %s", call.path)
            return _problem(call, CONFLICT, {}, None)
        except OperationalError:
            log.error("database unavailable or busy on POST %s", call.path)
            return _problem(call, BUSY, {}, {"Retry-After": "1"}, status=503)
        except _PassOn:
            raise
        except Exception:
            log.exception("unexpected error on POST %s", call.path)
            return _problem(call, INTERNAL, {}, None, status=500)
        now = self.runtime.clock.now()
        return _receipt(self.runtime, facts, outcome, now)

    async def _claim(self, call: _Call) -> tuple[ClaimOutcome, ClaimFacts]:
        rt = self.runtime
        scheme, _, token = call.token.partition(" ")
        claims = rt.tokens.verify(token.strip(), rt.clock.now())
        if scheme.lower() != "bearer" or claims is None or claims.subject_kind != "citizen":
            raise _PassOn  # 401/403 and staff or API keys: the documented route decides
        channel = _channel(call.body)
        if call.key is not None:
            check_key(call.key)
        facts = self.cache.known(call.batch_id)
        if facts is None:
            facts = await anyio.to_thread.run_sync(self.cache.facts, rt.db, call.batch_id)
        if facts.rules.allocation is not Allocation.FCFS:
            raise QuanError(WRONG_ALLOCATION, allocation=facts.rules.allocation.value)
        claim = ClaimRequest(citizen_id=claims.subject_id, key=call.key, channel=channel)
        refusal = self._refusal_from_memory(facts, rt.clock.now())
        if refusal is not None and call.key is None:
            raise refusal
        code = refusal.code if refusal is not None else None
        group = _Group(refusal is None, call.batch_id, code, facts, refusal)
        result = await self.lane.batcher().submit(group, claim)
        if isinstance(result, QuanError):
            raise result
        return result, facts

    def _refusal_from_memory(self, facts: ClaimFacts, now: datetime) -> QuanError | None:
        rules = facts.rules
        if now >= rules.claim_closes_at:
            return QuanError(CLAIM_WINDOW_OVER, claim_closes_at=rules.claim_closes_at.isoformat())
        if self.cache.sold_out(facts.batch_id):
            return QuanError(SOLD_OUT)
        opens = min([rules.claim_opens_at] + [q.opens_at for q in rules.quotas if q.opens_at])
        if now < opens:  # not open for anyone yet (reserved pools may open before the rest)
            return QuanError(CLAIM_NOT_OPEN_YET, claim_opens_at=opens.isoformat())
        return None


def _channel(body: bytes) -> Channel:
    """The channel of an empty body or of ``{"channel": "<one of them>"}``; any other body
    goes to the documented route, whose validation words the refusal."""
    if not body.strip():
        return Channel.APP
    try:
        data = json.loads(body)
    except ValueError:
        raise _PassOn from None
    if not isinstance(data, dict) or not set(data) <= {"channel"}:
        raise _PassOn
    value = data.get("channel", "app")
    if not isinstance(value, str) or value not in _CHANNELS:
        raise _PassOn
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


def _receipt(
    rt: Runtime, facts: ClaimFacts, outcome: ClaimOutcome, now: datetime
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    headers = [(b"content-type", b"application/json")]
    if outcome.replayed:
        headers.append((b"idempotent-replayed", b"true"))
    return 201, _dumps(claim_response_body(rt, facts, outcome, now)), headers


def _problem(
    call: _Call,
    spec: ErrorSpec,
    params: dict[str, Any],
    extra_headers: dict[str, str] | None,
    *,
    status: int | None = None,
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    status, body = problem_document(
        spec, lang=call.lang, instance=call.path, status=status, params=params
    )
    headers = [(b"content-type", b"application/problem+json")]
    for name, value in (extra_headers or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return status, _dumps(body), headers


def _dumps(body: Any) -> bytes:
    # As Starlette's JSONResponse renders, so both paths answer byte for byte alike.
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode("latin-1"))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _replaying(body: bytes, receive: Any) -> Any:
    """A ``receive`` that gives the body already read once, then defers to the real one."""
    given = False

    async def replay() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return replay

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
from typing import Any, Union, get_args

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
from quan.store.db import Database

log = logging.getLogger("quan.api")

Scope = dict[str, Any]
ASGIApp = Any

_PATH = re.compile(r"/api/v1/batches/([^/]+)/claims")
_MAX_BODY = 4096  # a claim's body is at most {"channel": "partner"}; larger ones go on
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


class _PassOn(Exception):  # noqa: N818 - a decision, not an error
    """This request is for the documented route."""


@dataclass(slots=True)
class _Call:
    batch_id: str
    token: str
    key: str | None
    lang: str
    path: str
    content_type: str
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class _Ready:
    """A claim's answer, rendered in the worker thread (signing the QR token costs)."""

    body: bytes
    replayed: bool


class ClaimLane:
    """What the fast path keeps per server process: the runtime, the batches' facts and one
    micro-batcher per event loop (a server process has one loop; tests may start several)."""

    def __init__(self, runtime: Runtime, cache: ClaimCache = DEFAULT_CACHE) -> None:
        self.runtime = runtime
        self.cache = cache
        # SQLite has one writer: one transaction at a time, the rest queue and join the next.
        sqlite = runtime.db.dialect == "sqlite"
        self.max_inflight = 1 if sqlite else runtime.settings.claim_batch_inflight
        # PostgreSQL: the lane's own few connections, without the pool's ping before each
        # transaction (a round trip per micro-batch; a lost connection fails one micro-batch,
        # whose requests are answered 503 and may retry with their Idempotency-Key).
        self.db = runtime.db
        if not sqlite:
            self.db = Database(
                runtime.db.url,
                schema=runtime.db.schema,
                pool_size=self.max_inflight + 1,
                pre_ping=False,
            )
        self._batchers: weakref.WeakKeyDictionary[
            AbstractEventLoop, MicroBatcher[ClaimRequest, _Answer]
        ] = weakref.WeakKeyDictionary()

    def batcher(self) -> MicroBatcher[ClaimRequest, _Answer]:
        loop = get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = MicroBatcher[ClaimRequest, _Answer](
                self._run,
                max_inflight=self.max_inflight,
                max_items=self.runtime.settings.claim_batch_max,
            )
            self._batchers[loop] = batcher
        return batcher

    def close(self) -> None:
        """Close the lane's own connections (at server shutdown)."""
        if self.db is not self.runtime.db:
            self.db.dispose()

    def runs(self) -> int:
        """Micro-batches run so far, over every loop (what the tests compare with requests)."""
        return sum(b.runs for b in self._batchers.values())

    def _run(self, group: Hashable, requests: Sequence[ClaimRequest]) -> list[_Answer]:
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
        call = _head(scope, match.group(1)) if match else None
        if call is None:  # not a claim, or a body too large or chunked: the documented route
            await self.app(scope, receive, send)
            return
        body, complete = await _body(receive)
        if body is None:  # the client went away before sending its body: nothing to do
            return
        if not complete:
            await self.app(scope, _replaying(body, receive, more=True), send)
            return
        call.body = body
        try:
            status, content, headers = await self._answer(call)
        except _PassOn:
            await self.app(scope, _replaying(body, receive, more=False), send)
            return
        await _send(send, status, content, headers)

    async def _answer(self, call: _Call) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        try:
            ready = await self._claim(call)
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
        headers = [(b"content-type", b"application/json")]
        if ready.replayed:
            headers.append((b"idempotent-replayed", b"true"))
        return 201, ready.body, headers

    async def _claim(self, call: _Call) -> _Ready:
        rt = self.runtime
        scheme, _, token = call.token.partition(" ")
        claims = rt.tokens.verify(token.strip(), rt.clock.now())
        if scheme.lower() != "bearer" or claims is None or claims.subject_kind != "citizen":
            raise _PassOn  # 401/403 and staff or API keys: the documented route decides
        channel = _channel(call.body, call.content_type)
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
        group = _Group(call.batch_id, code, facts, refusal)
        result = await self.lane.batcher().submit(group, claim)
        if isinstance(result, Exception):
            raise result
        return result

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


def _head(scope: Scope, batch_id: str) -> _Call | None:
    """The headers a claim needs (the first of each, as Starlette reads them); ``None`` when
    the body is declared too large or chunked."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    if b"transfer-encoding" in found:
        return None
    length = found.get(b"content-length", "0")
    if not length.isdigit() or int(length) > _MAX_BODY:
        return None
    return _Call(
        batch_id=batch_id,
        token=found.get(b"authorization", ""),
        key=found.get(b"idempotency-key"),
        lang=language_of(found.get(b"accept-language", "")),
        path=scope["path"],
        content_type=found.get(b"content-type", ""),
    )


_WANTED = frozenset(
    {
        b"authorization",
        b"idempotency-key",
        b"accept-language",
        b"content-length",
        b"content-type",
        b"transfer-encoding",
    }
)


async def _body(receive: Any) -> tuple[bytes | None, bool]:
    """The body, read up to the limit: ``(body, True)``; ``(what was read, False)`` past the
    limit; ``(None, …)`` if the client disconnected first."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, False
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, True
        if len(body) > _MAX_BODY:
            return body, False


def _channel(body: bytes, content_type: str) -> Channel:
    """The channel of an empty body or of a JSON ``{"channel": "<one of them>"}``; any other
    body goes to the documented route, whose validation words the refusal."""
    if not body.strip():
        return Channel.APP
    media = content_type.partition(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise _PassOn
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


def _ready(rt: Runtime, facts: ClaimFacts, outcome: ClaimOutcome, now: datetime) -> _Ready:
    return _Ready(_dumps(claim_response_body(rt, facts, outcome, now)), outcome.replayed)


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


def _replaying(body: bytes, receive: Any, *, more: bool) -> Any:
    """A ``receive`` that gives what was already read once, then defers to the real one."""
    given = False

    async def replay() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": more}
        message: dict[str, Any] = await receive()
        return message

    return replay

"""What the lean hot paths share: a plain ASGI layer in front of the application.

A lean path (:mod:`quan.api.claim_route`, :mod:`quan.api.redeem_route`) answers the common case
of one documented route itself, with the bodies, codes and headers the route would give, and
hands everything else to the application untouched (:class:`PassOn`): the documented route
stays mounted, describes the contract in OpenAPI and answers every uncommon request.

Why not a route: routing through ~150 routes, the middleware stack, dependency solving and two
thread-pool hops cost several times a claim's or a redemption's own work at flash-sale rates
(see docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError

from quan.api.errors import BUSY, CONFLICT, INTERNAL, error_headers, language_of, problem_document
from quan.api.microbatch import MicroBatcher
from quan.domain.errors import ErrorSpec, QuanError
from quan.services.runtime import Runtime
from quan.store.db import Database, log_failure

log = logging.getLogger("quan.api")

Scope = dict[str, Any]
ASGIApp = Any
Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]

MAX_BODY = 4096  # the lean bodies are small; larger ones go to the documented route


Item = TypeVar("Item")
Result = TypeVar("Result")


class PassOn(Exception):  # noqa: N818 - a decision, not an error
    """This request is for the documented route."""


@dataclass(slots=True)
class Call:
    """A request a lean path may answer: the headers it needs and, once read, its body."""

    path: str
    authorization: str
    key: str | None
    lang: str
    content_type: str
    body: bytes = b""


class Lane(Generic[Item, Result]):
    """What a lean path keeps per server process: the runtime, its own database connections
    and one micro-batcher per event loop (a server process has one loop; tests may start
    several). :meth:`run` serves one micro-batch in a worker thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
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
                server_prepare=runtime.db.server_prepare,
            )
        self._batchers: weakref.WeakKeyDictionary[AbstractEventLoop, MicroBatcher[Item, Result]] = (
            weakref.WeakKeyDictionary()
        )

    def run(self, group: Hashable, items: Sequence[Item]) -> list[Result]:
        raise NotImplementedError

    def batcher(self) -> MicroBatcher[Item, Result]:
        loop = get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = MicroBatcher[Item, Result](
                self.run,
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


def mount(app: Any, name: str, lane: Lane[Any, Any], path: type[LeanPath]) -> None:
    """Put a lean path (an ASGI middleware taking ``lane``) in front of ``app``; the lane is
    ``app.state.<name>`` (closed at shutdown; the tests count its runs)."""
    setattr(app.state, name, lane)
    app.add_middleware(path, lane=lane)


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


def call_of(scope: Scope) -> Call | None:
    """The headers a lean path needs (the first of each, as Starlette reads them); ``None``
    when the body is declared too large or chunked."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    if b"transfer-encoding" in found:
        return None
    length = found.get(b"content-length", "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        return None
    return Call(
        path=scope["path"],
        authorization=found.get(b"authorization", ""),
        key=found.get(b"idempotency-key"),
        lang=language_of(found.get(b"accept-language", "")),
        content_type=found.get(b"content-type", ""),
    )


def is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class LeanPath:
    """ASGI middleware: POSTs to ``path`` are offered to :meth:`answer`, the rest go to ``app``."""

    def __init__(self, app: ASGIApp, path: re.Pattern[str]) -> None:
        self.app = app
        self._path = path

    async def answer(self, call: Call, match: re.Match[str]) -> tuple[int, bytes, bool]:
        """A successful answer's status, body and whether it is a replay; raises
        :class:`PassOn` or the refusal. Subclasses say how."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = self._path.fullmatch(scope["path"])
        call = call_of(scope) if match else None
        if match is None or call is None:  # not ours, or a body too large or chunked
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
            status, content, headers = await self._answer(call, match)
        except PassOn:
            await self.app(scope, _replaying(body, receive, more=False), send)
            return
        await _send(send, status, content, headers)

    async def _answer(self, call: Call, match: re.Match[str]) -> Answer:
        try:
            status, body, replayed = await self.answer(call, match)
        except QuanError as error:
            return problem(call, error.spec, error.params, error_headers(error))
        except IntegrityError:
            log.warning("constraint refused a write on POST %s", call.path)
            return problem(call, CONFLICT, {}, None)
        except OperationalError:
            log.error("database unavailable or busy on POST %s", call.path)
            return problem(call, BUSY, {}, {"Retry-After": "1"}, status=503)
        except PassOn:
            raise
        except Exception:
            log_failure(log, "unexpected error on POST %s", call.path)
            return problem(call, INTERNAL, {}, None, status=500)
        headers = [(b"content-type", b"application/json")]
        if replayed:
            headers.append((b"idempotent-replayed", b"true"))
        return status, body, headers


def problem(
    call: Call,
    spec: ErrorSpec,
    params: dict[str, Any],
    extra_headers: dict[str, str] | None,
    *,
    status: int | None = None,
) -> Answer:
    """A problem document as the application's exception handlers render it."""
    headers = [(b"content-type", b"application/problem+json")]
    for name, value in (extra_headers or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    if not params:  # after a sell-out the same refusal goes out thousands of times a second
        status, body = _bare_problem(spec, call.lang, call.path, status)
        return status, body, headers
    status, document = problem_document(
        spec, lang=call.lang, instance=call.path, status=status, params=params
    )
    return status, dumps(document), headers


@lru_cache(maxsize=1024)
def _bare_problem(spec: ErrorSpec, lang: str, path: str, status: int | None) -> tuple[int, bytes]:
    status, document = problem_document(spec, lang=lang, instance=path, status=status)
    return status, dumps(document)


def dumps(body: Any) -> bytes:
    # As Starlette's JSONResponse renders, so both paths answer byte for byte alike.
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


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
        if len(body) > MAX_BODY:
            return body, False


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

"""The edge: one ASGI layer, outermost, that refuses input no route could handle.

Every request passes here before the lean hot paths (:mod:`quan.api.lean`), the API's routes
and the console's form posts, so one check covers them all:

- a NUL character anywhere in the path, the query string or a body (raw, ``%00`` in a form,
  ``\\u0000`` in JSON) or a lone surrogate in JSON: PostgreSQL cannot store NUL in text and
  UTF-8 cannot encode a lone surrogate, so such input could only ever fail later, as a 500;
- JSON nested deeper than :data:`MAX_JSON_DEPTH`: Python's decoder recurses and would raise
  ``RecursionError`` (a 500) at about a thousand levels, well under the body size limit;
- a body that does not arrive within ``body_seconds`` (slow-body attacks hold a connection and
  a worker's attention indefinitely): 408 and the connection is closed.

Refusals are 422 (408) problems; a refused body is read to its end first (within the same
deadline) so that the keep-alive connection stays usable. A body that is too large is still
:class:`quan.api.app.BodyLimit`'s to refuse (413).

The routes read the body through the wrapped ``receive``: a refusal raises there, the framework
may turn it into its own 400, so the scope carries the refusal (``quan.edge``) for the error
handler to answer it as this layer would (:func:`refusal_of`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from itertools import accumulate
from typing import Any

from quan.domain.errors import Kind, define

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_DEPTH = 32  # the deepest legitimate body nests about five levels
SCAN_LIMIT = 1 << 20  # bodies past this are BodyLimit's to refuse; uploads are scanned per chunk

UNSTORABLE_INPUT = define(
    "UNSTORABLE_INPUT",
    Kind.INVALID,
    zh="请求含有无法保存的字符（如 NUL 或不成对的代理字符）",
    en="The request contains characters that cannot be stored (NUL or an unpaired surrogate)",
)
JSON_TOO_DEEP = define(
    "JSON_TOO_DEEP",
    Kind.INVALID,
    zh="JSON 嵌套层数过多（最多 {max_depth} 层）",
    en="The JSON is nested too deeply (at most {max_depth} levels)",
)
REQUEST_TIMEOUT = define(
    "REQUEST_TIMEOUT",
    Kind.BAD_REQUEST,
    zh="请求体未在 {seconds} 秒内送达",
    en="The request body did not arrive within {seconds} seconds",
)

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_BRACKETS_ONLY = bytes(range(256)).translate(None, b"[]{}")


class EdgeRefusalError(Exception):
    """Input refused at the edge: the problem's spec, parameters and status."""

    def __init__(self, spec: Any, status: int, **params: Any) -> None:
        super().__init__(spec.code)
        self.spec = spec
        self.status = status
        self.params = params


def refusal_of(scope: Scope) -> EdgeRefusalError | None:
    """The refusal this layer raised while the route read the body, if any."""
    found: EdgeRefusalError | None = scope.get("quan.edge")
    return found


def _unstorable() -> EdgeRefusalError:
    return EdgeRefusalError(UNSTORABLE_INPUT, 422)


def check_url(scope: Scope) -> None:
    """NUL in the path (decoded or not) or the query string."""
    query: bytes = scope.get("query_string", b"")
    raw: bytes = scope.get("raw_path") or b""
    if "\x00" in scope["path"] or b"%00" in raw or b"%00" in query or b"\x00" in query:
        raise _unstorable()


def json_depth(body: bytes) -> int:
    """How deep the JSON nests (strings, where brackets mean nothing, are skipped)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than it has brackets
    brackets = _STRING.sub(b"", body).translate(None, _BRACKETS_ONLY)
    return max(accumulate(_DEPTH_STEP[b] for b in brackets), default=0)


def check_json(body: bytes) -> None:
    """Depth first (the decoder recurses), then NUL and lone surrogates in its strings."""
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise EdgeRefusalError(JSON_TOO_DEEP, 422, max_depth=MAX_JSON_DEPTH)
    if b"\\u" not in body:
        return  # no escapes: a raw NUL was refused already, and UTF-8 has no lone surrogates
    try:
        data = json.loads(body)
    except ValueError:
        return  # malformed: the route answers that in its own words
    if not _storable(data):
        raise _unstorable()


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: str = value.decode("latin-1").partition(";")[0].strip().lower()
            return media
    return ""


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


class Edge:
    """ASGI middleware (see the module docstring); ``body_seconds`` bounds a body's arrival
    (``upload_seconds`` an upload's)."""

    def __init__(self, app: ASGIApp, body_seconds: float, upload_seconds: float) -> None:
        self.app = app
        self.body_seconds = body_seconds
        self.upload_seconds = upload_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        # Uploads (eligibility lists, as BodyLimit knows them) may take longer to arrive.
        seconds = self.upload_seconds if scope["path"].endswith("/imports") else self.body_seconds
        deadline = loop.time() + seconds
        started = False
        media = _media_type(scope)
        scanned = bytearray()
        finished = False

        async def timed_receive() -> Message:
            remaining = deadline - loop.time()
            try:
                async with asyncio.timeout(max(remaining, 0.0)):
                    return await receive()
            except TimeoutError:
                raise EdgeRefusalError(REQUEST_TIMEOUT, 408, seconds=int(seconds)) from None

        async def guarded_receive() -> Message:
            nonlocal finished
            try:
                message = await timed_receive()
                if message["type"] != "http.request":
                    return message
                chunk: bytes = message.get("body", b"")
                finished = not message.get("more_body", False)
                if b"\x00" in chunk:
                    raise _unstorable()
                if len(scanned) <= SCAN_LIMIT:
                    scanned.extend(chunk)
                    if finished:
                        self._check_body(media, bytes(scanned))
            except EdgeRefusalError as refusal:
                scope["quan.edge"] = refusal
                raise
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            check_url(scope)
            await self.app(scope, guarded_receive, tracking_send)
        except EdgeRefusalError as refusal:
            if started:
                raise
            close = refusal.status == 408
            if not close and not finished:
                close = not await self._drain(timed_receive)
            await answer(send, scope, refusal, close=close)

    @staticmethod
    def _check_body(media: str, body: bytes) -> None:
        if _is_json(media):
            check_json(body)
        elif media == "application/x-www-form-urlencoded" and b"%00" in body:
            raise _unstorable()

    @staticmethod
    async def _drain(receive: Receive) -> bool:
        """Read the rest of a refused body (so the connection can serve the next request);
        ``False`` when it did not arrive in time or the client left."""
        seen = 0
        try:
            while seen <= SCAN_LIMIT * 64:
                message = await receive()
                if message["type"] != "http.request":
                    return False
                seen += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return True
        except EdgeRefusalError:
            return False
        return False


async def answer(send: Send, scope: Scope, refusal: EdgeRefusalError, *, close: bool) -> None:
    # Imported here: quan.api.errors renders problems for the whole application.
    from quan.api.errors import language_of, problem_document

    lang = "zh"
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            lang = language_of(value.decode("latin-1"))
            break
    status, document = problem_document(
        refusal.spec,
        lang=lang,
        instance=scope["path"].replace("\x00", ""),
        status=refusal.status,
        params=refusal.params,
    )
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode("latin-1")),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

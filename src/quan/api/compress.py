"""Gzip for pages, stylesheets, scripts and SVG: a resident on a slow phone link loads a wallet
page in a few KiB instead of tens.

Only a response whose whole body comes in one message is compressed (every rendered page and
every static file smaller than Starlette's 64 KiB chunk): a streamed body (CSV and JSONL
downloads, exports) passes through as it streams, byte for byte and unbuffered, and so does
anything already encoded, anything smaller than :data:`MINIMUM`, and any type not in
:data:`TYPES`. A compressed response's ``ETag`` becomes weak (``W/"…"``): its bytes are not the
bytes the tag was computed on; ``If-None-Match`` compares weakly (RFC 9110 13.1.2), so 304s keep
working (:mod:`quan.api.snapshots`, Starlette's static files).
"""

from __future__ import annotations

import gzip
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TYPES: Final = ("text/html", "text/css", "text/javascript", "application/javascript",
                "image/svg+xml")  # fmt: skip
MINIMUM: Final = 512  # bytes: below this gzip's header costs more than it saves
LEVEL: Final = 6
API: Final = "/api/"  # JSON, and the hot claim and redemption paths: not worth a look


def accepts_gzip(value: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (``gzip;q=0`` refuses it)."""
    for part in value.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            q = params.strip()
            if not q.startswith("q="):
                return True
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
    return False


def _compressible(headers: MutableHeaders) -> bool:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in TYPES and "content-encoding" not in headers


class Compress:
    """ASGI middleware: gzip the single-message bodies of the types above."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(API):
            await self.app(scope, receive, send)
            return
        wanted = accepts_gzip(Headers(scope=scope).get("accept-encoding", ""))
        held: Message | None = None

        async def reply(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            start, held = held, None
            headers = MutableHeaders(raw=list(start["headers"]))
            if not _compressible(headers):
                await send(start)
                await send(message)
                return
            headers.add_vary_header("Accept-Encoding")
            body = message.get("body", b"")
            if not wanted or message.get("more_body", False) or len(body) < MINIMUM:
                await send({**start, "headers": headers.raw})
                await send(message)
                return
            packed = gzip.compress(body, compresslevel=LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(len(packed))
            etag = headers.get("etag")
            if etag and not etag.startswith("W/"):
                headers["ETag"] = f"W/{etag}"
            await send({**start, "headers": headers.raw})
            await send({**message, "body": packed})

        await self.app(scope, receive, reply)

"""The two HTTP ceiling apps: what the server software can do with no application behind it.

- :func:`raw_app`: a bare ASGI callable that reads a small JSON body, parses it and answers JSON
  — the HTTP ceiling (uvicorn, httptools, uvloop and the socket stack, nothing else).
- :data:`fastapi_app`: a trivial FastAPI POST with a pydantic body and response model — the
  framework ceiling (routing, validation, serialisation, no database).

Both take the body a claim takes (``batch_id``, ``citizen_id``) and answer ``/health``, so they
are loaded exactly like the real endpoint they bound.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CLAIM_PATH = "/claim"
SAMPLE_BODY = {"batch_id": "bat_0000000000000000000000000", "citizen_id": "cit_000000000000000"}

_JSON = [(b"content-type", b"application/json")]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The HTTP ceiling: parse the JSON body, answer JSON; ``GET /health`` answers ok."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    if scope["method"] == "GET":
        await _answer(send, 200, {"status": "ok"})
        return
    try:
        data = json.loads(b"".join(chunks))
    except ValueError:
        await _answer(send, 422, {"code": "INVALID_JSON"})
        return
    if not isinstance(data, dict):
        await _answer(send, 422, {"code": "INVALID_BODY"})
        return
    await _answer(send, 200, {"ok": True, "batch_id": data.get("batch_id")})


class ClaimBody(BaseModel):
    batch_id: str
    citizen_id: str


class ClaimReply(BaseModel):
    ok: bool
    batch_id: str


fastapi_app = FastAPI(title="framework ceiling", openapi_url=None, docs_url=None, redoc_url=None)


@fastapi_app.post(CLAIM_PATH, response_model=ClaimReply)
async def claim(body: ClaimBody) -> ClaimReply:
    """The framework ceiling: validate the body, answer a model."""
    return ClaimReply(ok=True, batch_id=body.batch_id)


@fastapi_app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


APPS = {"raw": "quan.bench.ceiling_apps:raw_app", "fastapi": "quan.bench.ceiling_apps:fastapi_app"}

"""Public pages served from snapshots, and anonymous traffic kept from starving everyone else.

A program's public page reads the whole ledger view of the program (0.2–0.45 s, ~100 KB);
forty anonymous clients asking for it at once held every worker thread, and ``/health`` with
signed-in work waited 8 s behind them. Now:

- :class:`Snapshots` keeps each public answer rendered (bytes and an ``ETag``). A fresh one is
  served as is; a stale one is still served while one background refresh (single flight per
  key) renders the next; only a key never rendered makes its first caller wait, and concurrent
  first callers wait for that one rendering. :func:`refresh` is a plain function, so a job
  (``quan worker``) can keep snapshots warm on its own schedule.
- :func:`conditional` answers ``If-None-Match`` with 304 and sets ``Cache-Control``, so
  browsers and proxies in front ask again cheaply.
- :class:`AnonymousLimit` (ASGI) bounds how many requests without credentials one process
  serves at once; past it they get 503 with ``Retry-After`` at once, while requests with a
  token, an API key or a console session that checks out, and ``/health``, are never held
  back (a made-up credential counts as none).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

import anyio.to_thread
from fastapi import Request, Response
from starlette.requests import cookie_parser

from quan.api.schemas.public import ProgramDisclosure
from quan.services.people import api_keys
from quan.services.runtime import Runtime
from quan.services.transparency import disclosure, transparency

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Render = Callable[[], bytes]


@dataclass(frozen=True, slots=True)
class Snapshot:
    body: bytes
    etag: str
    made_at: float  # time.monotonic()


def snapshot_of(body: bytes) -> Snapshot:
    return Snapshot(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', time.monotonic())


class Snapshots:
    """Rendered answers by key (see the module docstring); ``max_age`` seconds until stale."""

    def __init__(self, max_age: float, max_keys: int = 4096) -> None:
        self.max_age = max_age
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._found: dict[str, Snapshot] = {}
        self._rendering: dict[str, threading.Event] = {}

    def get(self, key: str, render: Render) -> Snapshot:
        while True:
            with self._lock:
                found = self._found.get(key)
                busy = self._rendering.get(key)
                if found is None and busy is None:
                    mine = self._rendering[key] = threading.Event()
                    break
                if found is not None:
                    if busy is None and time.monotonic() - found.made_at > self.max_age:
                        self._rendering[key] = threading.Event()
                        threading.Thread(
                            target=self._refresh_claimed, args=(key, render), daemon=True
                        ).start()
                    return found
            assert busy is not None
            busy.wait()  # someone renders the first snapshot of this key: share it
        return self._render_claimed(key, render, mine)

    def refresh(self, key: str, render: Render) -> bool:
        """Render ``key`` now unless a rendering is under way (``False`` then)."""
        with self._lock:
            if key in self._rendering:
                return False
            event = self._rendering[key] = threading.Event()
        self._render_claimed(key, render, event)
        return True

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._found)

    def _refresh_claimed(self, key: str, render: Render) -> None:
        with self._lock:
            event = self._rendering[key]
        try:
            self._render_claimed(key, render, event)
        except Exception:
            return

    def _render_claimed(self, key: str, render: Render, event: threading.Event) -> Snapshot:
        try:
            made = snapshot_of(render())
            with self._lock:
                if len(self._found) >= self.max_keys and key not in self._found:
                    self._found.pop(next(iter(self._found)))
                self._found[key] = made
            return made
        finally:
            with self._lock:
                self._rendering.pop(key, None)
            event.set()


def refresh(snapshots: Snapshots, key: str, render: Render) -> bool:
    """What a job calls to keep a snapshot warm (single flight with the request path)."""
    return snapshots.refresh(key, render)


def _tags(if_none_match: str) -> set[str]:
    """The entity tags of an ``If-None-Match``, compared weakly (RFC 9110 13.1.2): a page sent
    gzipped carries its tag as ``W/"…"`` (:mod:`quan.api.compress`)."""
    return {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}


def conditional(
    request: Request, snapshot: Snapshot, media_type: str, max_age: int
) -> Response:
    """The snapshot, or 304 when the caller already has it."""
    headers = {"ETag": snapshot.etag, "Cache-Control": f"public, max-age={max_age}"}
    wanted = request.headers.get("if-none-match", "")
    if snapshot.etag in _tags(wanted) or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(snapshot.body, media_type=media_type, headers=headers)


def conditional_page(request: Request, page: Response, max_age: int) -> Response:
    """A rendered console page with an ``ETag`` of its bytes; 304 when the browser has it.
    ``private``: the page carries the visitor's own form token."""
    etag = '"' + hashlib.sha256(bytes(page.body)).hexdigest()[:32] + '"'
    page.headers["ETag"] = etag
    page.headers["Cache-Control"] = f"private, max-age={max_age}"
    if etag in _tags(request.headers.get("if-none-match", "")):
        page.status_code = 304
        page.body = b""
        del page.headers["content-length"]
        del page.headers["content-type"]
    return page


def disclosure_snapshot(program_id: str, request: Request, rt: Runtime) -> Snapshot:
    """A program's public answer (``GET /public/programs/{id}``) as a snapshot: the API route
    serves its bytes, the console page reads the same one. Rendered on every call when
    snapshots are off (``QUAN_PUBLIC_SNAPSHOT_SECONDS=0``)."""

    def render() -> bytes:
        pseudonymize = transparency.pseudonymizer(rt.settings)
        with rt.db.read() as tx:
            found = disclosure.program_disclosure(tx, program_id, pseudonymize)
        return json_bytes(ProgramDisclosure.of(found))

    snapshots: Snapshots | None = getattr(request.app.state, "snapshots", None)
    if snapshots is None or snapshots.max_age <= 0:
        return snapshot_of(render())
    return snapshots.get(f"program:{program_id}", render)


def json_bytes(model: Any) -> bytes:
    return json.dumps(
        model.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


_EXEMPT = ("/api/v1/health", "/static/")


class AnonymousLimit:
    """ASGI middleware: at most ``limit`` requests without credentials at once (per process).

    A request counts as signed in only with a credential that is cheap to tell from a made-up
    one (:func:`recogniser`): a bearer token whose signature and expiry hold (one HMAC), or an API
    key this process found genuine recently (one SHA-256). Anything else — no credential, any
    ``Authorization`` header or session cookie that does not check out — counts as anonymous,
    so a bogus header no longer escapes the bound (issue 13). An API key not yet seen by this
    process is anonymous until a request verifies it; when the bound is full, such a key is
    verified at once (:func:`key_verifier`: one indexed read, at most ``VERIFYING`` at a time)
    so that a terminal reaching a fresh process during a flood is still served. The full check
    (account state, token version, revocation) stays with the route.
    """

    VERIFYING: Final = 4

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        session_cookies: tuple[str, ...],
        runtime: Runtime,
    ) -> None:
        self.app = app
        self.limit = limit
        self.cookies = frozenset(session_cookies)
        self.recognise = recogniser(runtime)
        self.verify = key_verifier(runtime)
        self.serving = 0
        self.verifying = 0

    def _credentials(self, scope: Scope) -> list[str]:
        found: list[str] = []
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credential = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    found.append(credential.strip())
            elif name == b"cookie":
                cookies = cookie_parser(value.decode("latin-1"))
                found.extend(v for k, v in cookies.items() if k in self.cookies and v)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        presented = self._credentials(scope)
        if any(self.recognise(c) for c in presented):
            await self.app(scope, receive, send)
            return
        if self.serving >= self.limit:  # one event loop per process: no lock needed
            if await self._verified_now(presented):
                await self.app(scope, receive, send)
                return
            await _busy(send)
            return
        self.serving += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.serving -= 1

    async def _verified_now(self, presented: list[str]) -> bool:
        """An API key not seen yet, checked while anonymous requests are refused."""
        keys = [c for c in presented if c.startswith("qk_")][:1]
        if not keys or self.verifying >= self.VERIFYING:
            return False
        self.verifying += 1
        try:
            return await anyio.to_thread.run_sync(self.verify, keys[0])
        finally:
            self.verifying -= 1


def recogniser(runtime: Runtime) -> Callable[[str], bool]:
    """What :class:`AnonymousLimit` counts as a credential, without a database read: a token
    signed by this server and unexpired, or an API key found genuine recently."""

    def recognise(credential: str) -> bool:
        if credential.startswith("qk_"):
            return api_keys.RECENTLY_GENUINE.knows(credential)
        return runtime.tokens.verify(credential, runtime.clock.now()) is not None

    return recognise


def key_verifier(runtime: Runtime) -> Callable[[str], bool]:
    """The full check of an API key (one indexed read); a genuine one is then remembered."""

    def verify(credential: str) -> bool:
        with runtime.db.read() as tx:
            return api_keys.authenticate(tx, credential) is not None

    return verify


async def _busy(send: Send) -> None:
    body = (
        b'{"type":"urn:quan:problem:SERVICE_BUSY","title":"Service busy","status":503,'
        b'"code":"SERVICE_BUSY","detail":"The service is busy; please retry shortly"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"retry-after", b"1"),
                (b"content-length", str(len(body)).encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

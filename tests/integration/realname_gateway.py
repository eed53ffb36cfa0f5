"""A real local identity-verification gateway for the tests: it speaks the generic HTTP
real-name contract (docs/citizens.md), answers from a script, and records what it received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Gateway:
    token: str = "rn-test-token"
    # What to do with each request, in order (then "match" for ever): a result ("match",
    # "mismatch", "no_record"), an HTTP status (500, 400 …), "slow" (past the client's
    # timeout) or "garbage" (200 with a body that is not the contract's).
    script: list[Any] = field(default_factory=list)
    hold_seconds: float = 1.5
    received: list[dict[str, Any]] = field(default_factory=list)  # body + headers seen
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_action(self) -> Any:
        with self.lock:
            return self.script.pop(0) if self.script else "match"


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with gateway.lock:
                gateway.received.append(
                    {
                        "body": body,
                        "idempotency_key": self.headers.get("Idempotency-Key"),
                        "authorization": self.headers.get("Authorization"),
                    }
                )
            action = gateway.next_action()
            if self.headers.get("Authorization") != f"Bearer {gateway.token}":
                action = 401
            if action == "slow":
                time.sleep(gateway.hold_seconds)
                action = 503
            if isinstance(action, int):
                self._answer(action, b"")
                return
            if action == "garbage":
                self._answer(200, b"<html>ok</html>")
                return
            answer = {
                "request_id": body["request_id"],
                "result": action,
                "reference": f"ref-{len(gateway.received)}",
            }
            self._answer(200, json.dumps(answer).encode())

        def _answer(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def serving(gateway: Gateway) -> Iterator[Gateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/verify"
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

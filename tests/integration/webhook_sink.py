"""A real local HTTP endpoint of a partner: verifies every delivery's Standard Webhooks signature
with ``standardwebhooks.Webhook(secret).verify`` and answers what the test tells it to."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    verified: bool
    payload: dict[str, Any]
    raw: str
    status: int


@dataclass
class PartnerEndpoint:
    secret: str = ""
    default: int = 200
    script: deque[int] = field(default_factory=deque)  # statuses to answer first, in order
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: list[Received] = field(default_factory=list)

    def ids(self, status: int | None = None) -> list[str]:
        with self.lock:
            return [r.webhook_id for r in self.received if status is None or r.status == status]


def serve(endpoint: PartnerEndpoint) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                Webhook(endpoint.secret).verify(raw, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            with endpoint.lock:
                status = endpoint.script.popleft() if endpoint.script else endpoint.default
                if not verified:
                    status = 400
                endpoint.received.append(
                    Received(headers.get("webhook-id", ""), verified, json.loads(raw), raw, status)
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server

"""Real local servers the delivery tests send to: an HTTP SMS gateway that fails on purpose and
checks what it receives, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SinkLog:
    fail_rate: float = 0.3  # share of requests answered 500
    timeout_rate: float = 0.05  # share held longer than the client waits, then 503
    hold_seconds: float = 0.5
    refuse: set[str] = field(default_factory=set)  # recipients answered 400
    seed: int = 7
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accepted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    in_flight: set[str] = field(default_factory=set)
    overlaps: list[str] = field(default_factory=list)  # ids received while already in flight
    mismatches: list[str] = field(default_factory=list)  # key header != body id, bad shape
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rand = random.Random(self.seed)


def http_sink(log: SinkLog) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            message_id = body.get("message_id", "")
            with log.lock:
                log.requests[message_id] += 1
                if message_id in log.in_flight:
                    log.overlaps.append(message_id)
                log.in_flight.add(message_id)
                if self.headers.get("Idempotency-Key") != message_id or set(body) != {
                    "message_id",
                    "to",
                    "template",
                    "params",
                    "text",
                }:
                    log.mismatches.append(message_id)
                draw = log.rand.random()
            try:
                if body.get("to") in log.refuse:
                    status = 400
                elif draw < log.timeout_rate:
                    time.sleep(log.hold_seconds)
                    status = 503
                elif draw < log.timeout_rate + log.fail_rate:
                    status = 500
                else:
                    status = 200
                    with log.lock:
                        log.accepted[message_id] += 1
                        log.bodies[message_id] = body
            finally:
                with log.lock:
                    log.in_flight.discard(message_id)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class MailLog:
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class MailHandler:
    def __init__(self, log: MailLog) -> None:
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content)
        with self.log.lock:
            self.log.received[str(mail["X-Quan-Message-Id"])].extend(envelope.rcpt_tos)
        return "250 OK"

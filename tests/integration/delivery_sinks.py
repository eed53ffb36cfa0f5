"""Real local servers the delivery tests send to: an HTTP SMS gateway that fails on purpose and
checks what it receives, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


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

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Server(ThreadingHTTPServer):
    """Its listen backlog holds every relay connection at once: with the default of 5 a loaded
    machine refused some connects, and an attempt the relay counted never reached the sink."""

    request_queue_size = 128
    daemon_threads = True


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


@dataclass
class DrillLog:
    """The done-when drill's gateway: it deduplicates by ``Idempotency-Key`` as a provider
    should. A timed-out request is held past the client's timeout and then *delivered* (the SMS
    went out, the answer came too late), so the relay's retry arrives as a duplicate under the
    same key and is dropped. ``mismatches``: a key different from the body's id, or a retry
    whose recipient or parameters differ from the first request under its key."""

    fail_rate: float = 0.3
    timeout_rate: float = 0.05
    hold_seconds: float = 0.3
    refuse: set[str] = field(default_factory=set)  # recipients answered 400
    seed: int = 25
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> first body
    duplicates: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first: dict[str, dict[str, Any]] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rand = random.Random(self.seed)

    def deliver(self, key: str, body: dict[str, Any]) -> None:
        with self.lock:
            if key in self.delivered:
                self.duplicates[key] += 1
            else:
                self.delivered[key] = body


class DrillSink:
    """The drill's gateway as an asyncio HTTP/1.1 server in a thread of its own (one thread for
    every connection, not one each: the test process also runs the SMTP server)."""

    def __init__(self, log: DrillLog) -> None:
        self.log = log
        self.loop = asyncio.new_event_loop()
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=256)
        )
        self.port = int(server.sockets[0].getsockname()[1])
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _answer(self, key: str, body: dict[str, Any]) -> int:
        log = self.log
        with log.lock:
            log.requests[key] += 1
            same = {k: body.get(k) for k in ("to", "params", "template")}
            if key != body.get("message_id") or log.first.setdefault(key, same) != same:
                log.mismatches.append(key)
            draw = log.rand.random()
        if body.get("to") in log.refuse:
            return 400
        if draw < log.timeout_rate:
            await asyncio.sleep(log.hold_seconds)
            log.deliver(key, body)
            return 200
        if draw < log.timeout_rate + log.fail_rate:
            return 500
        log.deliver(key, body)
        return 200

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in head[1:])
                }
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                status = await self._answer(headers.get("idempotency-key", ""), json.loads(raw))
                writer.write(b"HTTP/1.1 %d -\r\nContent-Length: 0\r\n\r\n" % status)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@dataclass
class DrillMail:
    """The drill's SMTP side: answers ``451`` (try later) to a share of messages, ``550`` to
    refused addresses, and records each ``X-Quan-Message-Id`` with its recipients once
    (a repeat under the same id is a duplicate, as a mail system's Message-ID dedup sees it)."""

    fail_rate: float = 0.1
    refuse: set[str] = field(default_factory=set)
    seed: int = 26
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: dict[str, list[str]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    logins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rand = random.Random(self.seed)


class DrillMailHandler:
    def __init__(self, log: DrillMail) -> None:
        self.log = log

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.log.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content)
        key = str(mail["X-Quan-Message-Id"])
        with self.log.lock:
            self.log.attempts[key] += 1
            if self.log.rand.random() < self.log.fail_rate:
                return "451 4.3.0 Try again later"
            if key in self.log.received:
                self.log.duplicates[key] += 1
            else:
                self.log.received[key] = list(envelope.rcpt_tos)
        return "250 OK"


SMTP_USER, SMTP_PASSWORD = "quan-relay", "s3cret-pass"


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (subject alternative name) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def starttls_controller(
    handler: Any, port: int, cert: Path, key: Path, logins: list[str]
) -> Controller:
    """aiosmtpd on 127.0.0.1 that requires STARTTLS before anything and AUTH before mail."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            logins.append(mechanism)
        return AuthResult(success=ok)

    return Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )

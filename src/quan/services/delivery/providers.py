"""Providers: the adapters that hand one message to an SMS gateway or a mail server.

Each answers an :class:`Outcome`: accepted, retry later (5xx, timeout, connection trouble) or
permanent failure (4xx, a refused address). The error text they return is a status code or an
exception class, never the recipient or the text, because it is stored and shown to staff.
Providers are called from several relay threads at once; each keeps one connection per thread.
"""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from quan.config import ConfigError, Settings
from quan.config_sms import sms_problems
from quan.services.delivery.outcomes import Outcome, Outgoing, Provider, Result

__all__ = ["Outcome", "Outgoing", "Provider", "Result"]  # where the relay and tests take them

log = logging.getLogger("quan.delivery")


class LogProvider:
    """Development: writes the message's id and kind to the server log, never its text."""

    name = "log"
    keeps_body = True

    def send(self, message: Outgoing) -> Result:
        log.info(
            "%s message %s (%s) kept in the development outbox",
            message.channel,
            message.message_id,
            message.kind,
        )
        return Result(Outcome.ACCEPTED)

    def close(self) -> None:
        pass


@dataclass
class HttpSmsProvider:
    """The generic HTTP gateway: ``POST url`` JSON ``{message_id, to, template, params, text}``
    with ``Idempotency-Key: <message_id>``; 2xx accepted, 4xx permanent, anything else retried."""

    url: str
    timeout: float = 5.0
    name: str = "http"
    keeps_body: bool = False
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("QUAN_SMS_HTTP_URL must be an http:// or https:// URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout)
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _post(self, body: bytes, headers: dict[str, str]) -> int:
        reused = getattr(self._local, "conn", None) is not None
        try:
            return self._exchange(body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # The gateway closed an idle kept-alive connection: once more on a new one (the
            # idempotency key covers the case where the first request did arrive).
            self._drop()
            return self._exchange(body, headers)

    def _exchange(self, body: bytes, headers: dict[str, str]) -> int:
        conn = self._connection()
        conn.request("POST", self._path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.will_close:
            self._drop()
        return response.status

    def send(self, message: Outgoing) -> Result:
        body = json.dumps(
            {
                "message_id": message.message_id,
                "to": message.to,
                "template": message.template,
                "params": dict(message.params),
                "text": message.text,
            },
            ensure_ascii=False,
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.message_id,
        }
        try:
            status = self._post(body, headers)
        except TimeoutError:
            self._drop()
            return Result(Outcome.RETRY, "timeout")
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            return Result(Outcome.RETRY, type(exc).__name__)
        if 200 <= status < 300:
            return Result(Outcome.ACCEPTED)
        if 400 <= status < 500 and status not in (408, 429):
            return Result(Outcome.PERMANENT, f"http {status}")
        return Result(Outcome.RETRY, f"http {status}")

    def close(self) -> None:
        self._drop()


@dataclass
class SmtpProvider:
    """E-mail over SMTP: ``smtp://[user:password@]host[:port][?starttls=true]`` or ``smtps://``
    (TLS from the start). The message id travels as ``Message-ID`` and ``X-Quan-Message-Id``."""

    url: str
    sender: str
    timeout: float = 10.0
    name: str = "smtp"
    keeps_body: bool = False
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("QUAN_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
        query = parse_qs(parts.query)
        self._ssl = parts.scheme == "smtps"
        self._starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self._host = parts.hostname
        self._port = parts.port or (465 if self._ssl else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    def _connection(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        context = ssl.create_default_context()
        if self._ssl:
            conn = smtplib.SMTP_SSL(self._host, self._port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self._host, self._port, timeout=self.timeout)
            if self._starttls:
                conn.starttls(context=context)
        if self._user is not None:
            conn.login(self._user, self._password or "")
        self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def send(self, message: Outgoing) -> Result:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.text.split("\n", 1)[0][:78]
        mail["Message-ID"] = make_msgid(idstring=message.message_id, domain="quan.invalid")
        mail["X-Quan-Message-Id"] = message.message_id
        mail.set_content(message.text)
        try:
            self._connection().send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(500 <= code < 600 for code in codes)
            return Result(
                Outcome.PERMANENT if permanent else Outcome.RETRY,
                f"smtp {codes[0] if codes else '?'}",
            )
        except smtplib.SMTPResponseException as exc:
            self._drop()
            if 500 <= exc.smtp_code < 600 and exc.smtp_code not in (530, 535):
                return Result(Outcome.PERMANENT, f"smtp {exc.smtp_code}")
            return Result(Outcome.RETRY, f"smtp {exc.smtp_code}")
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            self._drop()
            return Result(Outcome.RETRY, type(exc).__name__)
        return Result(Outcome.ACCEPTED)

    def close(self) -> None:
        self._drop()


def from_settings(settings: Settings) -> dict[str, Provider]:
    """The provider of each channel the settings configure (a channel without one waits)."""
    providers: dict[str, Provider] = {}
    problems = sms_problems(settings)
    if problems:
        raise ConfigError("; ".join(problems))
    if settings.sms_provider == "http":
        assert settings.sms_http_url is not None  # sms_problems
        providers["sms"] = HttpSmsProvider(
            settings.sms_http_url, timeout=settings.sms_http_timeout_seconds
        )
    elif settings.sms_provider in ("aliyun", "tencent"):
        from quan.services.delivery import cloud_sms  # the SDKs load only when chosen

        providers["sms"] = cloud_sms.from_settings(settings)
    else:
        providers["sms"] = LogProvider()
    if settings.smtp_url is not None:
        providers["email"] = SmtpProvider(
            settings.smtp_url.get_secret_value(), sender=settings.smtp_from
        )
    elif not settings.is_production:
        providers["email"] = LogProvider()
    if settings.alert_webhook_secret is not None:  # alert notifications (issue 17)
        from quan.services.delivery.alert_webhook import AlertWebhookProvider

        providers["webhook"] = AlertWebhookProvider(
            settings.alert_webhook_secret.get_secret_value(),
            timeout=settings.alert_webhook_timeout_seconds,
        )
    elif not settings.is_production:
        providers["webhook"] = LogProvider()
    return providers

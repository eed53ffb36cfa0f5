"""Real-name checks: does this name, resident ID number and phone belong to one person?

Chinese identity-verification services (运营商三要素核验) answer that question for a name, an ID
number and a mobile number; self-registration asks it before it creates an account. Two
providers, chosen by ``QUAN_REALNAME_PROVIDER``:

- ``dev`` (development and tests): deterministic, from the ID number's three sequence digits
  (positions 15–17): ``999`` → mismatch, ``998`` → no record, ``997`` → the service is
  unavailable; every other valid identity matches. Production refuses to start with it.
- ``http``: the generic gateway at ``QUAN_REALNAME_HTTP_URL`` (contract in docs/citizens.md):
  ``POST`` JSON ``{"request_id", "name", "id_number", "phone"}`` with
  ``Idempotency-Key: <request_id>`` (and ``Authorization: Bearer`` when a token is set); the
  answer ``200 {"request_id", "result": "match"|"mismatch"|"no_record", "reference"}``. A timeout,
  a connection error, 408, 429 or 5xx is tried once more under the same request id; 4xx and
  malformed answers are not retried. Whatever fails is *unavailable* to the citizen ("try
  later"), never a mismatch.

What a check returns (:class:`Verdict`) and what is logged carry the request id, the outcome and
a status code or error class: never the name, the number or the phone.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from quan.config import ConfigError, Settings

log = logging.getLogger("quan.realname")

RETRY_PAUSE_SECONDS = 0.5
ATTEMPTS = 2


class Outcome(enum.StrEnum):
    MATCH = "match"  # the three belong to one person
    MISMATCH = "mismatch"  # they do not
    NO_RECORD = "no_record"  # the register knows no such person or phone
    UNAVAILABLE = "unavailable"  # no answer could be had: try later


@dataclass(frozen=True, slots=True)
class Identity:
    """What is checked, normalized (a validated ID number, name and mainland mobile)."""

    name: str
    id_number: str
    phone: str

    def __repr__(self) -> str:
        return "Identity(<personal data>)"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reference: str | None = None  # the provider's own id of the check, for disputes
    error: str | None = None  # why unavailable: a status code or an error class


class Provider(Protocol):
    name: str

    def check(self, request_id: str, identity: Identity) -> Verdict: ...


DEV_SEQUENCES = {"999": Outcome.MISMATCH, "998": Outcome.NO_RECORD, "997": Outcome.UNAVAILABLE}


class DevProvider:
    """Development: the answer follows from the ID number's sequence digits (see the module)."""

    name = "dev"

    def check(self, request_id: str, identity: Identity) -> Verdict:
        outcome = DEV_SEQUENCES.get(identity.id_number[14:17], Outcome.MATCH)
        if outcome is Outcome.UNAVAILABLE:
            return Verdict(outcome, error="dev unavailable")
        return Verdict(outcome, reference=f"dev-{request_id}")


class HttpProvider:
    """The generic identity-verification gateway (contract in the module docstring)."""

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError("QUAN_REALNAME_HTTP_URL must be an http:// or https:// URL")
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def check(self, request_id: str, identity: Identity) -> Verdict:
        body = {
            "request_id": request_id,
            "name": identity.name,
            "id_number": identity.id_number,
            "phone": identity.phone,
        }
        headers = {**self._headers, "Idempotency-Key": request_id}
        verdict = Verdict(Outcome.UNAVAILABLE, error="not tried")
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(RETRY_PAUSE_SECONDS)
            verdict, retry = self._once(request_id, body, headers)
            if not retry:
                break
        log.info(
            "real-name check %s: %s%s",
            request_id,
            verdict.outcome.value,
            f" ({verdict.error})" if verdict.error else "",
        )
        return verdict

    def _once(
        self, request_id: str, body: dict[str, str], headers: dict[str, str]
    ) -> tuple[Verdict, bool]:
        try:
            response = self._client.post(self.url, json=body, headers=headers)
        except httpx.TimeoutException:
            return Verdict(Outcome.UNAVAILABLE, error="timeout"), True
        except httpx.HTTPError as exc:
            return Verdict(Outcome.UNAVAILABLE, error=type(exc).__name__), True
        status = response.status_code
        if status in (408, 429) or status >= 500:
            return Verdict(Outcome.UNAVAILABLE, error=f"http {status}"), True
        if not 200 <= status < 300:
            return Verdict(Outcome.UNAVAILABLE, error=f"http {status}"), False
        return _read_answer(request_id, response), False

    def close(self) -> None:
        self._client.close()


def _read_answer(request_id: str, response: httpx.Response) -> Verdict:
    try:
        answer: Any = response.json()
    except ValueError:
        return Verdict(Outcome.UNAVAILABLE, error="bad answer")
    if not isinstance(answer, dict) or answer.get("request_id") != request_id:
        return Verdict(Outcome.UNAVAILABLE, error="bad answer")
    try:
        outcome = Outcome(str(answer.get("result")))
    except ValueError:
        return Verdict(Outcome.UNAVAILABLE, error="bad answer")
    if outcome is Outcome.UNAVAILABLE:
        return Verdict(outcome, error="provider unavailable")
    reference = answer.get("reference")
    return Verdict(outcome, reference=str(reference)[:128] if reference is not None else None)


_built: dict[tuple[str, str | None, float], Provider] = {}


def enabled(settings: Settings) -> bool:
    """Whether self-registration is on: a provider is configured (or development's default)."""
    return settings.realname_provider is not None or not settings.is_production


def from_settings(settings: Settings) -> Provider:
    """The configured provider, built once per configuration (the HTTP one keeps its pool)."""
    kind = settings.realname_provider or "dev"
    if kind == "dev":
        if settings.is_production:
            raise ConfigError("QUAN_REALNAME_PROVIDER=dev is refused in production")
        return DevProvider()
    url = settings.realname_http_url
    if not url:
        raise ConfigError("QUAN_REALNAME_PROVIDER=http needs QUAN_REALNAME_HTTP_URL")
    key = (url, _token(settings), settings.realname_http_timeout_seconds)
    provider = _built.get(key)
    if provider is None:
        provider = _built.setdefault(
            key,
            HttpProvider(url, token=key[1], timeout=settings.realname_http_timeout_seconds),
        )
    return provider


def _token(settings: Settings) -> str | None:
    token = settings.realname_http_token
    return token.get_secret_value() if token is not None else None

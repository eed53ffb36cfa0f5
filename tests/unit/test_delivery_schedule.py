"""The relay's retry schedule and the providers' settings (pure)."""

from __future__ import annotations

import random

import pytest

from quan.config import ConfigError
from quan.services.delivery.providers import HttpSmsProvider, SmtpProvider
from quan.services.delivery.relay import Schedule


def test_backoff_doubles_with_jitter_between_half_and_all_and_stops_at_the_cap() -> None:
    schedule = Schedule(max_attempts=10, base=2.0, cap=600.0)
    rand = random.Random(1)
    for attempt, ceiling in ((1, 2.0), (2, 4.0), (5, 32.0), (9, 512.0), (10, 600.0), (40, 600.0)):
        draws = [schedule.backoff(attempt, rand).total_seconds() for _ in range(200)]
        assert min(draws) >= ceiling / 2
        assert max(draws) <= ceiling
        assert max(draws) - min(draws) > ceiling / 10  # jittered, not one value


def test_the_default_schedule_ends_well_inside_the_retention() -> None:
    schedule = Schedule()
    worst = sum(
        min(schedule.cap, schedule.base * 2 ** (n - 1)) for n in range(1, schedule.max_attempts)
    )
    assert worst < 24 * 3600


@pytest.mark.parametrize("url", ["ftp://x", "http://", "localhost:8080"])
def test_the_http_gateway_needs_an_http_url(url: str) -> None:
    with pytest.raises(ConfigError):
        HttpSmsProvider(url)


def test_smtp_urls_carry_tls_and_credentials() -> None:
    plain = SmtpProvider("smtp://mail.example:587?starttls=true", sender="q@x")
    assert (plain._host, plain._port, plain._starttls, plain._ssl) == (
        "mail.example",
        587,
        True,
        False,
    )
    tls = SmtpProvider("smtps://user%40x:p%3Ass@mail.example", sender="q@x")
    assert (tls._port, tls._ssl, tls._user, tls._password) == (465, True, "user@x", "p:ss")
    with pytest.raises(ConfigError):
        SmtpProvider("http://mail.example", sender="q@x")

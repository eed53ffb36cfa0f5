"""Guessing limits (issue 13, A4/A5): counters are taken atomically before a secret is checked,
so concurrent guesses cannot slip past a limit; they are shared by every process (Redis, or the
database); they limit per address and per account; and they slow an attacker down without ever
locking the owner out."""

from __future__ import annotations

import multiprocessing
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis

from quan.cache.throttle import DatabaseThrottle, MemoryThrottle, RedisThrottle, Throttle
from quan.domain.errors import QuanError
from quan.services.people import guesses, staff
from quan.services.runtime import Runtime
from tests.conftest import PASSWORD, World

LIMITS = guesses.GuessLimits(
    "test", per_ip=1000, free_failures=10, max_delay_seconds=30, window_seconds=900
)


@pytest.fixture(autouse=True)
def _fewer_checks(request: pytest.FixtureRequest) -> None:
    """Lower limits than production's: each checked password costs an argon2 verification."""
    if "runtime" not in request.fixturenames:
        return
    runtime: Runtime = request.getfixturevalue("runtime")
    runtime.settings.login_ip_attempts = 8
    runtime.settings.login_attempts = 5


@pytest.fixture(params=["database", "redis"])
def throttle(request: pytest.FixtureRequest, runtime: Runtime) -> Iterator[Throttle]:
    if request.param == "database":
        assert isinstance(runtime.throttle, DatabaseThrottle)  # no Redis configured: the database
        yield runtime.throttle
        return
    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    prefix = f"quan:test:{secrets.token_hex(4)}:"
    yield RedisThrottle(client, prefix)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


def _race(count: int, attempt: Callable[[int], str]) -> list[str]:
    barrier = threading.Barrier(count)
    results: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcome = attempt(i)
        except QuanError as exc:
            outcome = exc.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _sign_in(runtime: Runtime, throttle: Throttle, username: str, password: str, ip: str) -> str:
    staff.sign_in(
        runtime.db,
        runtime.clock.now(),
        throttle,
        runtime.tokens,
        username=username,
        password=password,
        limits=staff.login_limits(runtime.settings),
        ip=ip,
    )
    return "signed_in"


def test_sixty_concurrent_wrong_passwords_are_checked_at_most_the_limit(
    world: World, throttle: Throttle
) -> None:
    """From 60 addresses at once (no per-address limit applies): the free failures and one
    through the gate are checked; the rest are refused unchecked."""
    rt = world.runtime
    results = _race(60, lambda i: _sign_in(rt, throttle, "op2", f"wrong{i}", f"198.51.100.{i}"))
    checked = results.count("INVALID_CREDENTIALS")
    assert checked <= rt.settings.login_attempts + 1, results
    assert results.count("TOO_MANY_ATTEMPTS") == 60 - checked


def test_sixty_concurrent_guesses_from_one_address_are_checked_at_most_its_limit(
    world: World, throttle: Throttle
) -> None:
    """One address spreading guesses over many accounts is stopped by its own limit."""
    rt = world.runtime
    results = _race(60, lambda i: _sign_in(rt, throttle, f"user{i}", "wrong", "203.0.113.9"))
    assert results.count("INVALID_CREDENTIALS") == rt.settings.login_ip_attempts
    assert results.count("TOO_MANY_ATTEMPTS") == 60 - rt.settings.login_ip_attempts


def test_the_owner_gets_in_from_a_fresh_address_after_a_short_delay(world: World) -> None:
    rt = world.runtime
    for _ in range(rt.settings.login_ip_attempts):  # an attacker's address uses up its limit
        with pytest.raises(QuanError):
            _sign_in(rt, rt.throttle, "admin", "guess", "203.0.113.66")
    with pytest.raises(QuanError) as attacker:
        _sign_in(rt, rt.throttle, "admin", PASSWORD, "203.0.113.66")
    assert attacker.value.code == "TOO_MANY_ATTEMPTS"  # the attacker's address, even when right
    with pytest.raises(QuanError) as waiting:
        _sign_in(rt, rt.throttle, "admin", PASSWORD, "192.0.2.1")
    delay = waiting.value.params["retry_after_seconds"]
    assert delay <= rt.settings.login_max_delay_seconds  # slowed, not locked out
    rt.clock.advance(timedelta(seconds=delay))  # type: ignore[attr-defined]
    assert _sign_in(rt, rt.throttle, "admin", PASSWORD, "192.0.2.1") == "signed_in"


def test_a_success_gives_its_address_attempt_back(world: World) -> None:
    rt = world.runtime
    for _ in range(rt.settings.login_ip_attempts * 2):
        assert _sign_in(rt, rt.throttle, "op1", PASSWORD, "203.0.113.5") == "signed_in"


def test_a_client_cannot_choose_its_address_with_forwarded_headers(world: World) -> None:
    """Only a proxy listed in FORWARDED_ALLOW_IPS may set the client address (uvicorn's proxy
    headers, as ``quan serve`` runs it); the test client is no such proxy."""
    limit = world.runtime.settings.login_ip_attempts
    answers = [
        world.client.post(
            "/api/v1/auth/token",
            json={"username": f"u{i}", "password": "x"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        ).status_code
        for i in range(limit + 1)
    ]
    assert answers[-1] == 429


# --- two processes sharing Redis --------------------------------------------------------


def _guess_in_process(kind: str, url: str, prefix: str, barrier: Any, out: Any) -> None:
    throttle: Throttle = (
        RedisThrottle(redis.Redis.from_url(url), prefix) if kind == "redis" else MemoryThrottle()
    )
    through = 0

    def one() -> None:
        nonlocal through
        try:
            guesses.begin(
                throttle, LIMITS, account="acct", ip="x", refusal=_SPEC, ip_refusal=_SPEC
            )
        except QuanError:
            return
        with lock:
            through += 1

    lock = threading.Lock()
    threads = [threading.Thread(target=one) for _ in range(30)]
    barrier.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(through)


_SPEC = staff.TOO_MANY_ATTEMPTS


def _two_processes(kind: str, url: str) -> int:
    ctx = multiprocessing.get_context("spawn")
    prefix = f"quan:test:{secrets.token_hex(4)}:"
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_guess_in_process, args=(kind, url, prefix, barrier, out))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    total = out.get(timeout=60) + out.get(timeout=60)
    for p in procs:
        p.join(30)
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    return int(total)


def test_two_processes_sharing_redis_let_through_at_most_the_limit(redis_url: str) -> None:
    assert _two_processes("redis", redis_url) <= LIMITS.free_failures + 1


def test_per_process_counters_would_let_twice_as_many_through(redis_url: str) -> None:
    """What the test above guards against: each process counting on its own."""
    assert _two_processes("memory", redis_url) > LIMITS.free_failures + 1

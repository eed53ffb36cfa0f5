"""Limits on guessing a secret (a staff password, a citizen's sign-in code) that slow an
attacker down without locking the owner out.

Two counters, both taken atomically *before* the secret is checked (see
:mod:`quan.cache.throttle`), so concurrent guesses cannot slip past a limit:

- **per address**: every attempt from one client address counts, and a successful one is
  given back; past ``per_ip`` in the window that address is refused (429) until the window ends.
  This is what stops one attacker, and it never touches the account.
- **per account**: ``free_failures`` failures are free; after that every attempt on the account,
  from anywhere, needs the account's gate, which lets one attempt through per delay (1, 2, 4 …
  seconds, at most ``max_delay_seconds``) and answers the others 429 with ``Retry-After``. An
  attacker spread over many addresses gets a guess per delay; the owner, even while attacked,
  gets in after waiting at most ``max_delay_seconds``: the account is never locked.

A success resets the account's failures.
"""

from __future__ import annotations

from dataclasses import dataclass

from quan.cache.throttle import Throttle
from quan.domain.errors import ErrorSpec, QuanError


@dataclass(frozen=True, slots=True)
class GuessLimits:
    name: str  # what is guessed: "login", "otp.login", "otp.register"
    per_ip: int
    free_failures: int
    max_delay_seconds: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Guess:
    """An attempt let through: report its outcome with :meth:`succeeded`."""

    limits: GuessLimits
    account_key: str
    ip_key: str
    failures_before: int

    def succeeded(self, throttle: Throttle) -> None:
        throttle.reset(self.account_key)
        throttle.release(self.ip_key)


def delay_after(failures: int, limits: GuessLimits) -> int:
    """Seconds the account waits between attempts after ``failures`` failures."""
    over = failures - limits.free_failures
    if over < 0:
        return 0
    return int(min(2 ** min(over, 16), limits.max_delay_seconds))


def begin(
    throttle: Throttle,
    limits: GuessLimits,
    *,
    account: str,
    ip: str,
    refusal: ErrorSpec,
    ip_refusal: ErrorSpec,
) -> Guess:
    """Let one guess on ``account`` from ``ip`` through, or raise ``ip_refusal`` (the address
    is over its limit) or ``refusal`` (the account's gate is taken: wait ``retry_after_seconds``).
    ``account`` must not be personal data in clear (a phone goes in as its keyed hash)."""
    ip_key = f"{limits.name}:ip:{ip}"
    if throttle.hit(ip_key, limits.window_seconds) > limits.per_ip:
        raise QuanError(ip_refusal, retry_after_seconds=limits.window_seconds)
    account_key = f"{limits.name}:failures:{account}"
    failures_before = throttle.hit(account_key, limits.window_seconds) - 1
    delay = delay_after(failures_before, limits)
    if delay and not throttle.acquire(f"{limits.name}:gate:{account}", delay):
        throttle.release(account_key)  # not tried: not a failure
        throttle.release(ip_key)
        raise QuanError(refusal, retry_after_seconds=delay)
    return Guess(limits, account_key, ip_key, failures_before)

"""Limits on public, anonymous endpoints: so many attempts per key in a time window.

Keys name *what* is limited and *whom* by (``citizens.register:ip:203.0.113.7``); a personal value
is never part of a key (a phone is limited by its keyed hash), because throttle keys live in Redis
and show up in its tooling.
"""

from __future__ import annotations

from dataclasses import dataclass

from quan.cache.throttle import Throttle
from quan.domain.errors import Kind, QuanError, define

RATE_LIMITED = define(
    "RATE_LIMITED",
    Kind.TOO_MANY,
    zh="请求过于频繁，请 {retry_after_seconds} 秒后再试",
    en="Too many requests; try again in {retry_after_seconds} seconds",
)


@dataclass(frozen=True, slots=True)
class RateLimit:
    name: str
    attempts: int  # allowed within one window
    window_seconds: int

    def key(self, who: str) -> str:
        return f"{self.name}:{who}"


def spend(throttle: Throttle, limit: RateLimit, who: str) -> None:
    """Count one attempt by ``who``; refuse with ``RATE_LIMITED`` once over the limit."""
    if throttle.hit(limit.key(who), limit.window_seconds) > limit.attempts:
        raise QuanError(RATE_LIMITED, retry_after_seconds=limit.window_seconds)

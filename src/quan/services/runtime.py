"""What every edge (API, CLI, jobs) builds once at start-up and hands to the use cases."""

from __future__ import annotations

from dataclasses import dataclass

from quan.cache.throttle import Throttle, make_throttle
from quan.clock import Clock, OffsetClock, SystemClock, parse_offset
from quan.config import Settings, dev_clock_path
from quan.services.people.tokens import TokenSigner
from quan.store.db import Database


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    throttle: Throttle
    tokens: TokenSigner

    @classmethod
    def build(
        cls, settings: Settings, *, clock: Clock | None = None, db: Database | None = None
    ) -> Runtime:
        db = db or Database(
            settings.resolved_database_url,
            pool_size=settings.db_pool_size,
            server_prepare=settings.db_server_prepare,
        )
        clock = clock or runtime_clock(settings)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            throttle=make_throttle(settings.redis_url, db, clock),
            tokens=TokenSigner(settings.secret_bytes("secret_key"), settings.token_ttl_seconds),
        )


def runtime_clock(settings: Settings) -> Clock:
    """The system clock in production; elsewhere the development clock, which is the system clock
    until ``QUAN_DEV_CLOCK_OFFSET`` or ``quan dev clock advance`` moves it."""
    if settings.is_production:
        return SystemClock()
    return OffsetClock(parse_offset(settings.dev_clock_offset or "0"), dev_clock_path(settings))

"""What every edge (API, CLI, jobs) builds once at start-up and hands to the use cases."""

from __future__ import annotations

from dataclasses import dataclass

from quan.cache.throttle import Throttle, make_throttle
from quan.clock import Clock, SystemClock
from quan.config import Settings
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
        return cls(
            settings=settings,
            db=db or Database(settings.resolved_database_url, pool_size=settings.db_pool_size),
            clock=clock or SystemClock(),
            throttle=make_throttle(settings.redis_url),
            tokens=TokenSigner(settings.secret_bytes("secret_key"), settings.token_ttl_seconds),
        )

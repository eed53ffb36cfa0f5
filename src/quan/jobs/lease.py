"""Database leases: at most one worker runs a given job at a time, across processes and hosts.

A lease is a row ``(name, holder, expires_at)``. Taking it is one conditional write that
succeeds only if the row is absent, expired, or already ours, so two workers can never both hold
it; a worker that dies simply lets it expire.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from quan.store.db import Database
from quan.store.tables import job_leases


def acquire(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; ``True`` if ``holder`` now holds it until ``now + ttl``."""
    expires = now + ttl
    try:
        with db.write() as tx:
            taken = tx.execute(
                update(job_leases)
                .where(
                    job_leases.c.name == name,
                    or_(job_leases.c.holder == holder, job_leases.c.expires_at <= now),
                )
                .values(holder=holder, expires_at=expires)
            ).rowcount
            if taken == 1:
                return True
            exists = tx.execute(select(job_leases.c.name).where(job_leases.c.name == name)).first()
            if exists:
                return False
            tx.execute(job_leases.insert().values(name=name, holder=holder, expires_at=expires))
            return True
    except IntegrityError:
        return False  # another worker inserted the row first: it holds the lease


def release(db: Database, name: str, holder: str, now: datetime) -> None:
    with db.write() as tx:
        tx.execute(
            update(job_leases)
            .where(job_leases.c.name == name, job_leases.c.holder == holder)
            .values(expires_at=now)
        )

"""What each API process remembers about first-come batches: their fixed facts, and which of
their pools it has seen empty.

Both are caches of facts that cannot revert. An open batch's rules, eligibility, validity and
time zone are fixed when it opens; a pool found empty stays empty, because vouchers never return
to the stock. So a cached answer is never wrong, only possibly late: another process learns of a
sell-out on its own first miss — or at once, when Redis is configured, from the process that
found it (:mod:`quan.cache.pools_empty`). That is what lets late requests after a sell-out be
refused from memory, without a database write.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from quan.domain.batches import BatchRules, BatchStatus
from quan.domain.eligibility import Rule
from quan.domain.voucher_type_json import parse_voucher_type
from quan.domain.voucher_types import Validity, VoucherTypeSpec
from quan.services.issuance.batches import get_batch
from quan.store.db import Database
from quan.store.tables import programs
from quan.store.voucher_tables import voucher_types


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What a claim needs to know about a batch that cannot change once it is open."""

    batch_id: str
    program_id: str
    voucher_type_id: str
    status_when_read: BatchStatus
    rules: BatchRules
    eligibility: Rule
    spec: VoucherTypeSpec
    issuer_id: str
    timezone: str

    @property
    def validity(self) -> Validity:
        return self.spec.validity

    @property
    def pools(self) -> tuple[str, ...]:
        return tuple(self.rules.pool_sizes())


def load_facts(tx: Connection, batch_id: str) -> ClaimFacts:
    batch = get_batch(tx, batch_id)
    row = tx.execute(
        select(voucher_types.c.definition, programs.c.timezone, programs.c.issuer_id)
        .select_from(voucher_types.join(programs, programs.c.id == voucher_types.c.program_id))
        .where(voucher_types.c.id == batch.voucher_type_id)
    ).one()
    return ClaimFacts(
        batch_id=batch.id,
        program_id=batch.program_id,
        voucher_type_id=batch.voucher_type_id,
        status_when_read=batch.status,
        rules=batch.rules,
        eligibility=batch.eligibility,
        spec=parse_voucher_type(json.loads(row.definition)),
        issuer_id=row.issuer_id,
        timezone=row.timezone,
    )


class ClaimCache:
    """Per-process memory of open batches' facts and of pools seen empty (thread-safe)."""

    def __init__(self) -> None:
        self._facts: dict[str, ClaimFacts] = {}
        self._empty: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()
        # Told of each pool this process finds empty itself (the Redis share's publish).
        self.on_found_empty: Callable[[str, str], None] | None = None

    def facts(self, db: Database, batch_id: str) -> ClaimFacts:
        cached = self._facts.get(batch_id)
        if cached is not None:
            return cached
        with db.read() as tx:
            facts = load_facts(tx, batch_id)
        if facts.status_when_read is not BatchStatus.DRAFT:
            self._facts[batch_id] = facts
        return facts

    def known(self, batch_id: str) -> ClaimFacts | None:
        """The facts if this process has them, without touching the database."""
        return self._facts.get(batch_id)

    def is_empty(self, batch_id: str, pool: str) -> bool:
        return pool in self._empty.get(batch_id, frozenset())

    def mark_empty(self, batch_id: str, pool: str, *, share: bool = True) -> None:
        """Remember the pool as empty; ``share=False`` for what another process found."""
        with self._lock:
            known = self._empty.get(batch_id, frozenset())
            if pool in known:
                return
            self._empty[batch_id] = known | {pool}
        hook = self.on_found_empty
        if share and hook is not None:
            hook(batch_id, pool)

    def sold_out(self, batch_id: str) -> bool:
        """Every pool of a known batch has been seen empty."""
        facts = self._facts.get(batch_id)
        return facts is not None and all(self.is_empty(batch_id, p) for p in facts.pools)


DEFAULT_CACHE = ClaimCache()

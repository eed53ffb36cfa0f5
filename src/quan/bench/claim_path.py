"""The claim benchmarks' access to Quan's claim path (:mod:`quan.services.issuance.claims`, route
``POST /api/v1/batches/{id}/claims``): seeding a batch and its claimants, reading the outcome.

Seeding goes through the real services for what carries rules (program, funding, voucher type,
batch opening — which generates the vouchers and reserves their money), and through bulk SQL
for what is only volume (hundreds of thousands of citizens; for ``scale``, millions of claimed
vouchers in other batches). Citizens get ids spelled in letters (see :mod:`quan.bench.seed`) and
a bearer token minted with the server's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from quan.bench import seed
from quan.bench.load import RequestItem
from quan.domain.batches import Allocation
from quan.services.issuance import batches, voucher_types
from quan.services.runtime import Runtime
from quan.store.voucher_tables import vouchers

VOUCHER_TYPE: dict[str, Any] = {
    "name": "基准测试满100减30",
    "kind": "fixed",
    "face_value_fen": 3000,
    "min_spend_fen": 10000,
    "categories": ["catering"],
    "scenes": ["offline"],
    "validity_preset": "short",
}


@dataclass(frozen=True)
class FloodSetup:
    """A batch open for claims, and one claim request per distinct citizen."""

    program_id: str
    batch_id: str
    quantity: int
    requests: list[RequestItem]  # path, citizen token, idempotency key (no body: channel app)
    late_requests: list[RequestItem]  # more distinct citizens, for the refusal phase


@dataclass(frozen=True)
class FloodOutcome:
    """What the database says after the flood."""

    claimed: int
    oversold: int  # vouchers claimed (or existing) beyond the batch quantity
    duplicate: int  # vouchers beyond the first held by one citizen in the batch
    first_claim_at: datetime | None
    last_claim_at: datetime | None

    @property
    def sellout_s(self) -> float | None:
        if self.first_claim_at is None or self.last_claim_at is None:
            return None
        return (self.last_claim_at - self.first_claim_at).total_seconds()


_LETTERS = "abcdefghjk"


def _letters(n: int, width: int = 10) -> str:
    return str(n).zfill(width).translate(str.maketrans("0123456789", _LETTERS))


def insert_citizens(rt: Runtime, prefix: str, count: int) -> list[str]:
    """``count`` registered citizens (adults, general income) in one statement; their ids."""
    now = rt.clock.now()
    ids = [f"cit_{prefix}{_letters(i)}" for i in range(count)]
    rows = [
        {
            "id": cid,
            "h": f"bench-{cid}",
            "at": now if rt.db.dialect == "postgresql" else now.replace(tzinfo=None).isoformat(" "),
        }
        for cid in ids
    ]
    statement = (
        "INSERT INTO citizens (id, resident_id_hash, resident_id_enc, resident_id_masked,"
        " name_enc, name_masked, region_code, birth_date, income_group, disabled,"
        " registered_via, registered_by, created_at) VALUES (%(id)s, %(h)s, 'bench', '3301**',"
        " 'bench', '*', '330106', '1990-05-17', 'normal', false, 'operator', 'system:quan',"
        " %(at)s)"
    )
    if rt.db.dialect != "postgresql":
        statement = (
            statement.replace("%(id)s", ":id").replace("%(h)s", ":h").replace("%(at)s", ":at")
        )
        statement = statement.replace("false", "0")
    with rt.db.write() as tx:
        for start in range(0, len(rows), 10_000):
            tx.exec_driver_sql(statement, rows[start : start + 10_000])
    return ids


def open_batch(
    rt: Runtime,
    program: seed.FundedProgram,
    quantity: int,
    *,
    allocation: Allocation = Allocation.FCFS,
) -> tuple[str, str]:
    """A funded batch of ``quantity`` vouchers (first-come unless said), opened:
    ``(voucher type, batch)``."""
    now = rt.clock.now()
    with rt.db.write() as tx:
        vt = voucher_types.create_voucher_type(
            tx, now, program.operator, program.program_id, VOUCHER_TYPE
        )
    seed.contribute(rt, program, quantity * vt.spec.discount.unit_fen)
    with rt.db.write() as tx:
        batch = batches.create_batch(
            tx,
            now,
            program.operator,
            batches.NewBatch(
                program_id=program.program_id,
                voucher_type_id=vt.id,
                name="基准测试抢券",
                quantity=quantity,
                allocation=allocation,
                claim_opens_at=now,
                claim_closes_at=now + timedelta(days=1),
            ),
        )
        batches.open_batch(tx, now, program.operator, batch.id)
    return vt.id, batch.id


def claim_requests(rt: Runtime, batch_id: str, citizen_ids: list[str]) -> list[RequestItem]:
    now = rt.clock.now()
    path = f"/api/v1/batches/{batch_id}/claims"
    return [
        RequestItem(path, token=rt.tokens.issue("citizen", cid, now)[0], key=f"bench-{cid}")
        for cid in citizen_ids
    ]


def prepare_flood(
    rt: Runtime,
    *,
    vouchers: int,
    citizens: int,
    late: int,
    program: seed.FundedProgram | None = None,
) -> FloodSetup:
    program = program or seed.active_program(rt)
    _, batch_id = open_batch(rt, program, vouchers)
    ids = insert_citizens(rt, "f", citizens + late)
    return FloodSetup(
        program_id=program.program_id,
        batch_id=batch_id,
        quantity=vouchers,
        requests=claim_requests(rt, batch_id, ids[:citizens]),
        late_requests=claim_requests(rt, batch_id, ids[citizens:]),
    )


def read_back(rt: Runtime, batch_id: str, quantity: int) -> FloodOutcome:
    v = vouchers.c
    with rt.db.read() as tx:
        rows, claimed, first, last = tx.execute(
            select(
                func.count(),
                func.count(v.citizen_id),
                func.min(v.claimed_at),
                func.max(v.claimed_at),
            ).where(v.batch_id == batch_id)
        ).one()
        per_citizen = (
            select(func.count().label("n"))
            .where(v.batch_id == batch_id, v.citizen_id.is_not(None))
            .group_by(v.citizen_id)
            .having(func.count() > 1)
            .subquery()
        )
        duplicate = tx.execute(select(func.coalesce(func.sum(per_citizen.c.n - 1), 0))).scalar_one()
    return FloodOutcome(
        claimed=int(claimed),
        oversold=max(0, int(claimed) - quantity) + max(0, int(rows) - quantity),
        duplicate=int(duplicate),
        first_claim_at=_aware(first),
        last_claim_at=_aware(last),
    )


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite through a plain column read
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value

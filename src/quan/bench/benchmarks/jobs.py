"""The bulk jobs: ``grant-1m`` and ``lottery-10m`` (seconds for the whole job).

- ``grant-1m``: grant vouchers to 1,000,000 citizens of a segment (R5.4) — target ≤ 30 s. The
  grant job whole: choosing the segment among more citizens, issuing, one event per voucher.
- ``lottery-10m``: draw the winners among 10,000,000 registrants — target ≤ 10 s. The draw job
  whole (:func:`quan.services.issuance.lottery_draw.draw`): registrants seeded in bulk SQL are read,
  digested, scored (quan-lottery-v2: v1's scores with the seed derived from the secret, the close
  checkpoint and the beacon a second person entered before the timed draw), the winners recorded
  and their vouchers issued.

Each seeds its input in bulk SQL (not timed), runs the job in one transaction the way its route
runs it, times it, and reads the outcome back (every segment citizen granted once and nobody
else; winners = places, every winner a registrant; the ledger checks). ``settle-10m`` lives
in :mod:`quan.bench.benchmarks.settle`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import text

from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import POSTGRES
from quan.bench.registry import Benchmark, Params

if TYPE_CHECKING:
    from quan.services.runtime import Runtime

GRANT_MODULES = ("quan.services.issuance.grants",)


def run_grant(ctx: BenchContext, params: Params) -> BenchResult:
    """Time the grant job: :func:`quan.services.issuance.grants.grant` of a segment (a region) to
    ``citizens`` citizens among ``citizens + others``, in one transaction as the grant route runs
    it: choosing the segment in SQL, assigning vouchers, writing one event per voucher."""
    from quan.bench import claim_path, seed
    from quan.bench.stats import median
    from quan.domain.batches import Allocation
    from quan.services.issuance import grants

    count, others = int(params["citizens"]), int(params["others"])
    runs = max(1, min(ctx.options.runs, int(params["runs"])))
    times: list[float] = []
    checks: dict[str, int] = {}
    issued = 0
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
            say(f"    seeding {count:,} citizens in the segment and {others:,} outside it")
            started = time.perf_counter()
            _seed_citizens(rt, "g", count, region=GRANT_REGION)
            _seed_citizens(rt, "o", others, region="110101")
            say(f"    seeded in {time.perf_counter() - started:.0f} s")
            for run in range(runs):
                say(f"    run {run + 1}: opening a grant batch of {count:,} vouchers")
                _, batch_id = claim_path.open_batch(rt, program, count, allocation=Allocation.GRANT)
                _analyze(rt)
                started = time.perf_counter()
                with rt.db.write() as tx:
                    report = grants.grant(
                        tx,
                        rt.clock.now(),
                        program.operator,
                        batch_id,
                        segment={"region_in": [GRANT_REGION]},
                    )
                times.append(time.perf_counter() - started)
                issued = report.issued
                say(f"    {issued:,} vouchers granted in {times[-1]:.1f} s")
                outcome = claim_path.read_back(rt, batch_id, count)
                outside = _granted_outside(rt, batch_id, GRANT_REGION)
                for name, value in {
                    # Every segment citizen holds one voucher, nobody outside it holds one.
                    "not_granted": count - outcome.claimed,
                    "granted_outside_segment": outside,
                    "duplicate": outcome.duplicate,
                    "oversold": outcome.oversold,
                }.items():
                    checks[name] = max(checks.get(name, 0), value)
            checks["ledger_violations"] = seed.ledger_violations(rt)
        finally:
            rt.db.dispose()
    seconds = median(times)
    return BenchResult(
        benchmark="grant-1m",
        database=ctx.database,
        figures={
            "seconds": round(seconds, 2),
            "vouchers_per_s": round(issued / seconds if seconds > 0 else 0.0, 1),
            "granted": float(issued),
        },
        throughput="vouchers_per_s",
        checks=checks,
        params=params,
        runs=[{"seconds": round(t, 2)} for t in times],
        notes=[
            "the whole grant job: quan.services.issuance.grants.grant with a segment rule, in one"
            " transaction as POST /batches/{id}/grants runs it (segment chosen in SQL, vouchers"
            " assigned and voucher.issued events written set-based), in-process",
            f"{others:,} citizens outside the segment; each run grants a fresh batch",
        ],
    )


GRANT_REGION = "330106"


def _seed_citizens(rt: Runtime, prefix: str, count: int, *, region: str) -> None:
    """``count`` adult citizens of ``region`` in one ``INSERT … SELECT`` (placeholder PII)."""
    if count <= 0:
        return
    now = rt.clock.now()
    if rt.db.dialect == "postgresql":
        statement = text(
            "INSERT INTO citizens (id, resident_id_hash, resident_id_enc, resident_id_masked,"
            " name_enc, name_masked, region_code, birth_date, income_group, disabled,"
            " registered_via, registered_by, created_at)"
            " SELECT 'cit_' || :prefix || lpad(i::text, 9, '0'), 'bench-' || :prefix || i,"
            " 'bench', '3301**', 'bench', '*', :region, DATE '1990-05-17', 'normal', false,"
            " 'operator', 'system:quan', :now FROM generate_series(1, :count) AS i"
        )
        at: object = now
    else:
        statement = text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
            " INSERT INTO citizens (id, resident_id_hash, resident_id_enc, resident_id_masked,"
            " name_enc, name_masked, region_code, birth_date, income_group, disabled,"
            " registered_via, registered_by, created_at)"
            " SELECT 'cit_' || :prefix || substr('000000000' || i, -9), 'bench-' || :prefix || i,"
            " 'bench', '3301**', 'bench', '*', :region, '1990-05-17', 'normal', 0,"
            " 'operator', 'system:quan', :now FROM n"
        )
        at = now.replace(tzinfo=None).isoformat(" ")
    with rt.db.write() as tx:
        tx.execute(statement, {"prefix": prefix, "count": count, "region": region, "now": at})


def _analyze(rt: Runtime, *tables: str) -> None:
    """Fresh planner statistics after bulk seeding (autovacuum would get there in time)."""
    if rt.db.dialect == "postgresql":
        with rt.db.write() as tx:
            for table in tables or ("citizens", "vouchers"):
                tx.execute(text(f"ANALYZE {table}"))


def _vacuum(rt: Runtime, table: str) -> None:
    """VACUUM ANALYZE after bulk seeding, as autovacuum does to a table filled over days of
    registration before its draw (PostgreSQL; VACUUM runs outside a transaction)."""
    if rt.db.dialect != "postgresql":
        return
    with rt.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"VACUUM ANALYZE {table}"
        )


def _granted_outside(rt: Runtime, batch_id: str, region: str) -> int:
    from sqlalchemy import func, select

    from quan.store.citizen_tables import citizens
    from quan.store.voucher_tables import vouchers

    v, c = vouchers.c, citizens.c
    with rt.db.read() as tx:
        return int(
            tx.execute(
                select(func.count())
                .select_from(vouchers.join(citizens, c.id == v.citizen_id))
                .where(v.batch_id == batch_id, c.region_code != region)
            ).scalar_one()
        )


GRANT = Benchmark(
    name="grant-1m",
    summary="grant vouchers to 1,000,000 citizens (seconds)",
    run=run_grant,
    params={"citizens": 1_000_000, "others": 250_000, "runs": 1},
    quick_params={"citizens": 1_000, "others": 250},
    # The target is PostgreSQL's, and a million rows on SQLite would add minutes to the suite.
    databases=(POSTGRES,),
    requires=GRANT_MODULES,
    http=False,
)

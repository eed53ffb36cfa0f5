"""The bulk jobs: ``grant-1m`` and ``lottery-10m`` (seconds for the whole job).

- ``grant-1m``: grant vouchers to 1,000,000 citizens of a segment (R5.4) — target ≤ 30 s. The
  grant job whole: choosing the segment among more citizens, issuing, one event per voucher.
- ``lottery-10m``: draw the winners among 10,000,000 registrants — target ≤ 10 s. The draw job
  whole (:func:`quan.services.issuance.lottery.draw`): registrants seeded in bulk SQL are read,
  digested, scored (quan-lottery-v2: v1's scores with the seed derived from the secret, the close
  checkpoint and the beacon a second person entered before the timed draw), the winners recorded
  and their vouchers issued.

Each seeds its input in bulk SQL (not timed), runs the job in one transaction the way its route
runs it, times it, and reads the outcome back (every segment citizen granted once and nobody
else; winners = places, every winner a registrant; the ledger checks). ``settle-10m`` lives
in :mod:`quan.bench.benchmarks.settle`.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import POSTGRES
from quan.bench.registry import Benchmark, Params

if TYPE_CHECKING:
    from quan.services.runtime import Runtime

GRANT_MODULES = ("quan.services.issuance.grants",)
LOTTERY_MODULES = ("quan.services.issuance.lottery",)


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


def run_lottery(ctx: BenchContext, params: Params) -> BenchResult:
    """Time the draw job: :func:`quan.services.issuance.lottery.draw` over ``registrants``
    registrations seeded in bulk SQL (every ``member_every``-th in the elderly group, which has a
    reserved quota), in one transaction as the draw route runs it: digest, scores (the lottery's
    algorithm, quan-lottery-v2 by default), winners recorded, winners' vouchers issued. A v2
    lottery's beacon is entered first, untimed, by a second staff account
    (:func:`_enter_beacon`)."""
    from quan.bench import seed
    from quan.services.issuance import lottery as lottery_service

    count, winners = int(params["registrants"]), int(params["winners"])
    every, quota = int(params["member_every"]), int(params["reserved"])
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
            say(f"    opening a lottery batch of {winners:,} places ({quota:,} reserved)")
            batch_id, closes_at = _lottery_batch(rt, program, winners, quota)
            say(f"    seeding {count:,} citizens and their registrations")
            started = time.perf_counter()
            _seed_citizens(rt, "l", count, region=GRANT_REGION)
            _seed_registrations(rt, batch_id, "l", count, every)
            _vacuum(rt, "lottery_registrations")
            say(f"    seeded in {time.perf_counter() - started:.0f} s")
            at = closes_at + timedelta(seconds=1)
            _enter_beacon(rt, program, batch_id, at)
            started = time.perf_counter()
            with rt.db.write() as tx:
                outcome = lottery_service.draw(tx, at, rt.settings, program.operator, batch_id)
            seconds = time.perf_counter() - started
            say(f"    drawn and issued in {seconds:.1f} s")
            checks = _lottery_checks(rt, batch_id, count, winners, outcome.issued)
            checks["ledger_violations"] = seed.ledger_violations(rt)
        finally:
            rt.db.dispose()
    return BenchResult(
        benchmark="lottery-10m",
        database=ctx.database,
        figures={
            "seconds": round(seconds, 2),
            "registrants_per_s": round(count / seconds if seconds > 0 else 0.0, 1),
            "winners": float(outcome.issued),
        },
        throughput="registrants_per_s",
        checks=checks,
        params=params,
        notes=[
            "the whole draw job: quan.services.issuance.lottery.draw in one transaction as"
            " POST /batches/{id}/lottery/draw runs it (stream the registrants, digest,"
            f" {rt.settings.lottery_algorithm} scores, record the winners, issue the winners'"
            " vouchers), in-process",
            f"registrants seeded in bulk SQL, then VACUUM ANALYZE; 1 in {every} in the elderly"
            f" group, reserved quota {quota:,}; seeded registrations are not logged (what"
            " logging costs a registration is QUAN_REGISTRATION_BENCH's figure)",
        ],
    )


def _enter_beacon(rt: Runtime, program: Any, batch_id: str, at: datetime) -> None:
    """quan-lottery-v2: the log sequenced (the commitment), then the public value entered by a
    second staff account after the close, as the draw requires; nothing for a v1 lottery."""
    from quan.domain import lottery_v2 as v2
    from quan.domain.auth import Role
    from quan.jobs import sequencer
    from quan.services.issuance import lottery as lottery_service
    from quan.services.people import staff

    if rt.settings.lottery_algorithm != v2.ALGORITHM:
        return
    sequencer.run_once(rt, holder="bench-lottery")
    with rt.db.write() as tx:
        checker = staff.create_user(
            tx,
            rt.clock.now(),
            username="bench-checker",
            password=secrets.token_urlsafe(16),
            role=Role.OPERATOR,
            issuer_id=program.issuer_id,
        )
        lottery_service.record_beacon(
            tx,
            at,
            rt.settings,
            checker.actor(),
            batch_id,
            value="bench-beacon-0001",
            source="benchmark (no public beacon is needed to measure the draw)",
        )


def _lottery_batch(rt: Runtime, program: Any, places: int, reserved: int) -> tuple[str, datetime]:
    """An open lottery batch of ``places`` vouchers, ``reserved`` of them for the elderly."""
    from quan.bench import claim_path, seed
    from quan.domain.batches import Allocation, Quota
    from quan.domain.citizens import PriorityGroup
    from quan.services.issuance import batches, voucher_types

    now = rt.clock.now()
    with rt.db.write() as tx:
        vt = voucher_types.create_voucher_type(
            tx, now, program.operator, program.program_id, claim_path.VOUCHER_TYPE
        )
    seed.contribute(rt, program, places * vt.spec.discount.unit_fen)
    closes_at = now + timedelta(days=1)
    quotas = (Quota(PriorityGroup.ELDERLY, reserved, release_at=closes_at),) if reserved else ()
    with rt.db.write() as tx:
        batch = batches.create_batch(
            tx,
            now,
            program.operator,
            batches.NewBatch(
                program_id=program.program_id,
                voucher_type_id=vt.id,
                name="基准测试摇号",
                quantity=places,
                allocation=Allocation.LOTTERY,
                claim_opens_at=now,
                claim_closes_at=closes_at,
                reserved=quotas,
            ),
            settings=rt.settings,
        )
        batches.open_batch(tx, now, program.operator, batch.id)
    return batch.id, closes_at


def _seed_registrations(rt: Runtime, batch_id: str, prefix: str, count: int, every: int) -> None:
    """One registration per seeded citizen, in one ``INSERT … SELECT``; pseudonyms are 32 hex
    digits (an MD5 stands in for the HMAC: only their spread matters here)."""
    now = rt.clock.now()
    postgres = rt.db.dialect == "postgresql"
    statement = _REGISTRATIONS_PG if postgres else _REGISTRATIONS_SQLITE
    at: object = now if postgres else now.replace(tzinfo=None).isoformat(" ")
    with rt.db.write() as tx:
        tx.execute(
            statement,
            {"batch_id": batch_id, "prefix": prefix, "count": count, "every": every, "now": at},
        )


_REGISTRATIONS_PG = text(
    "INSERT INTO lottery_registrations"
    " (id, batch_id, citizen_id, pseudonym, tickets, groups, registered_at)"
    " SELECT 'lreg_' || i, :batch_id, 'cit_' || :prefix || lpad(i::text, 9, '0'),"
    " md5(:batch_id || i), 1, CASE WHEN i % :every = 0 THEN 'elderly' ELSE '' END, :now"
    " FROM generate_series(1, :count) AS n(i)"
)
_REGISTRATIONS_SQLITE = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
    " INSERT INTO lottery_registrations"
    " (id, batch_id, citizen_id, pseudonym, tickets, groups, registered_at)"
    " SELECT 'lreg_' || i, :batch_id, 'cit_' || :prefix || substr('000000000' || i, -9),"
    " lower(hex(randomblob(16))), 1, CASE WHEN i % :every = 0 THEN 'elderly' ELSE '' END, :now"
    " FROM n"
)


def _lottery_checks(
    rt: Runtime, batch_id: str, count: int, places: int, issued: int
) -> dict[str, int]:
    from sqlalchemy import and_, func, select

    from quan.store.lottery_tables import lottery_registrations, lottery_winners
    from quan.store.voucher_tables import vouchers

    r, w, v = lottery_registrations.c, lottery_winners.c, vouchers.c
    with rt.db.read() as tx:
        won = int(tx.execute(select(func.count()).where(w.batch_id == batch_id)).scalar_one())
        registered = int(
            tx.execute(
                select(func.count())
                .select_from(
                    lottery_winners.join(
                        lottery_registrations,
                        and_(r.batch_id == w.batch_id, r.pseudonym == w.pseudonym),
                    )
                )
                .where(w.batch_id == batch_id)
            ).scalar_one()
        )
        holders, held = tx.execute(
            select(func.count(func.distinct(v.citizen_id)), func.count(v.citizen_id)).where(
                v.batch_id == batch_id
            )
        ).one()
    expected = min(places, count)
    return {
        # Every place drawn and issued; every winner a registrant (the others have lost: only
        # winners are recorded); one voucher each.
        "winners_short": max(0, expected - won),
        "not_issued": won - issued,
        "winner_not_registered": won - registered,
        "duplicate": int(held) - int(holders),
        "oversold": max(0, int(held) - places),
    }


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

LOTTERY = Benchmark(
    name="lottery-10m",
    summary="draw among 10,000,000 registrants (seconds)",
    run=run_lottery,
    params={
        "registrants": 10_000_000,
        "winners": 1_000_000,
        "reserved": 50_000,
        "member_every": 100,
    },
    quick_params={"registrants": 20_000, "winners": 2_000, "reserved": 100},
    # The target is PostgreSQL's; ten million rows on SQLite would add many minutes.
    databases=(POSTGRES,),
    requires=LOTTERY_MODULES,
    http=False,
)

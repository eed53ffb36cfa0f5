"""The lottery-10m benchmark: draw the winners among 10,000,000 registrants, the draw job whole
(see :mod:`quan.bench.benchmarks.jobs` for how the job benchmarks seed and time)."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from quan.bench.benchmarks.jobs import GRANT_REGION, _seed_citizens, _vacuum
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import POSTGRES
from quan.bench.registry import Benchmark, Params

if TYPE_CHECKING:
    from quan.services.runtime import Runtime

LOTTERY_MODULES = ("quan.services.issuance.lottery",)


def run_lottery(ctx: BenchContext, params: Params) -> BenchResult:
    """Time the draw job: :func:`quan.services.issuance.lottery_draw.draw` over ``registrants``
    registrations seeded in bulk SQL (every ``member_every``-th in the elderly group, which has a
    reserved quota), in one transaction as the draw route runs it: digest, scores (the lottery's
    algorithm, quan-lottery-v2 by default), winners recorded, winners' vouchers issued. A v2
    lottery's beacon is entered first, untimed, by a second staff account
    (:func:`_enter_beacon`)."""
    from quan.bench import seed
    from quan.services.issuance import lottery_draw

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
                outcome = lottery_draw.draw(tx, at, rt.settings, program.operator, batch_id)
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
            "the whole draw job: quan.services.issuance.lottery_draw.draw in one transaction as"
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

"""The reminders benchmark: choose and queue the expiry reminders of 1,000,000 vouchers (issue 25,
target ≤ 60 s on PostgreSQL), the reminders job's sweep whole, in one transaction as the job runs
it (:func:`quan.services.delivery.reminder_choose.choose_all`).

Seeded in bulk SQL (not timed): ``vouchers`` active vouchers of one program held by as many
citizens, nine in ten expiring within the 7-day window (between one and seven days from now),
one in ten later (not due); one citizen in 97 opted out of SMS. The sweep must choose
exactly the due vouchers of the others, and a second sweep nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from quan.bench.benchmarks.jobs import GRANT_REGION, _seed_citizens, _vacuum
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import POSTGRES, SQLITE
from quan.bench.registry import Benchmark, Params

if TYPE_CHECKING:
    from quan.services.runtime import Runtime

MODULES = ("quan.services.delivery.reminder_choose",)


def run_reminders(ctx: BenchContext, params: Params) -> BenchResult:
    from quan.bench import seed
    from quan.services.delivery.reminder_choose import choose_all

    count, later_every, opted_every = (
        int(params["vouchers"]),
        int(params["later_every"]),
        int(params["opted_every"]),
    )
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
            batch_id, type_id = _batch(rt, program)
            say(f"    seeding {count:,} citizens and their active vouchers")
            started = time.perf_counter()
            _seed_citizens(rt, "r", count, region=GRANT_REGION)
            _seed_vouchers(rt, program.program_id, batch_id, type_id, count, later_every)
            _seed_opt_outs(rt, count, opted_every)
            _vacuum(rt, "vouchers")
            _vacuum(rt, "notice_opt_outs")
            say(f"    seeded in {time.perf_counter() - started:.0f} s")
            now = rt.clock.now()
            started = time.perf_counter()
            with rt.db.write() as tx:
                chosen = choose_all(tx, now)
            seconds = time.perf_counter() - started
            say(f"    chose {chosen.total:,} reminders in {seconds:.1f} s")
            with rt.db.write() as tx:
                again = choose_all(tx, now + timedelta(minutes=1))
            checks = _checks(rt, count, later_every, opted_every, chosen.total, again.total)
        finally:
            rt.db.dispose()
    return BenchResult(
        benchmark="reminders",
        database=ctx.database,
        figures={
            "seconds": round(seconds, 2),
            "vouchers_per_s": round(count / seconds if seconds > 0 else 0.0, 1),
            "chosen": float(chosen.total),
        },
        throughput="vouchers_per_s",
        checks=checks,
        params=params,
        notes=[
            "the reminders job's sweep whole: quan.services.delivery.reminder_choose.choose_all"
            " in one transaction (INSERT … SELECT … ON CONFLICT DO NOTHING per program and"
            " offset into reminders), in-process",
            f"1 in {later_every} vouchers expires after the window (not chosen), 1 in"
            f" {opted_every} holders opted out of SMS; vouchers and citizens seeded in bulk SQL,"
            " then VACUUM ANALYZE; sending (one sealed outbox message each) is the relay's"
            " benchmark's business",
        ],
    )


def _batch(rt: Runtime, program: Any) -> tuple[str, str]:
    """A draft batch and its voucher type, for the seeded vouchers to belong to."""
    from quan.bench import claim_path
    from quan.bench.seed import contribute
    from quan.domain.batches import Allocation
    from quan.services.issuance import batches, voucher_types

    now = rt.clock.now()
    with rt.db.write() as tx:
        vt = voucher_types.create_voucher_type(
            tx, now, program.operator, program.program_id, claim_path.VOUCHER_TYPE
        )
    contribute(rt, program, 3000)
    with rt.db.write() as tx:
        batch = batches.create_batch(
            tx,
            now,
            program.operator,
            batches.NewBatch(
                program_id=program.program_id,
                voucher_type_id=vt.id,
                name="基准测试提醒",
                quantity=1,
                allocation=Allocation.GRANT,
                claim_opens_at=now,
                claim_closes_at=now + timedelta(days=1),
            ),
            settings=rt.settings,
        )
    return batch.id, vt.id


def _seed_vouchers(
    rt: Runtime, program_id: str, batch_id: str, type_id: str, count: int, later_every: int
) -> None:
    """One active voucher per seeded citizen, claimed 30 days ago; validity ends spread over
    (now + 1 day, now + 7 days), or 30 days from now for every ``later_every``-th."""
    now = rt.clock.now()
    postgres = rt.db.dialect == "postgresql"
    statement = _VOUCHERS_PG if postgres else _VOUCHERS_SQLITE
    values: dict[str, Any] = {
        "program_id": program_id,
        "batch_id": batch_id,
        "type_id": type_id,
        "count": count,
        "every": later_every,
    }
    if postgres:
        values |= {"claimed": now - timedelta(days=30), "base": now + timedelta(days=1, hours=1)}
    else:
        values |= {
            "claimed": (now - timedelta(days=30)).replace(tzinfo=None).isoformat(" "),
            "base": (now + timedelta(days=1, hours=1)).replace(tzinfo=None).isoformat(" "),
        }
    with rt.db.write() as tx:
        tx.execute(statement, values)


_VOUCHERS_PG = text(
    "INSERT INTO vouchers (id, code, program_id, batch_id, voucher_type_id, pool, status,"
    " citizen_id, claim_seq, channel, claimed_at, valid_from, valid_until, status_changed_at)"
    " SELECT 'vch_r' || i, 'REM-' || lpad(i::text, 10, '0'), :program_id, :batch_id, :type_id,"
    " 'general', 'active', 'cit_r' || lpad(i::text, 9, '0'), 1, 'web', :claimed, :claimed,"
    " CASE WHEN i % :every = 0 THEN :base + interval '29 days'"
    " ELSE :base + make_interval(secs => (i % 500000) * 1.0) END, :claimed"
    " FROM generate_series(1, :count) AS n(i)"
)

_VOUCHERS_SQLITE = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
    " INSERT INTO vouchers (id, code, program_id, batch_id, voucher_type_id, pool, status,"
    " citizen_id, claim_seq, channel, claimed_at, valid_from, valid_until, status_changed_at)"
    " SELECT 'vch_r' || i, 'REM-' || substr('0000000000' || i, -10), :program_id, :batch_id,"
    " :type_id, 'general', 'active', 'cit_r' || substr('000000000' || i, -9), 1, 'web', :claimed,"
    " :claimed, CASE WHEN i % :every = 0 THEN datetime(:base, '+29 days')"
    " ELSE datetime(:base, '+' || (i % 500000) || ' seconds') END, :claimed FROM n"
)


def _seed_opt_outs(rt: Runtime, count: int, every: int) -> None:
    now = rt.clock.now()
    postgres = rt.db.dialect == "postgresql"
    at: object = now if postgres else now.replace(tzinfo=None).isoformat(" ")
    pad = "lpad(i::text, 9, '0')" if postgres else "substr('000000000' || i, -9)"
    series = (
        "FROM generate_series(1, :count) AS n(i) WHERE i % :every = 0"
        if postgres
        else "FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
        " WHERE i < :count) SELECT i FROM n) WHERE i % :every = 0"
    )
    with rt.db.write() as tx:
        tx.execute(
            text(
                "INSERT INTO notice_opt_outs (citizen_id, channel, created_at)"
                f" SELECT 'cit_r' || {pad}, 'sms', :now {series}"
            ),
            {"count": count, "every": every, "now": at},
        )


def _checks(
    rt: Runtime, count: int, later_every: int, opted_every: int, chosen: int, again: int
) -> dict[str, int]:
    from sqlalchemy import func, select

    from quan.store.reminder_tables import reminders

    due = {i for i in range(1, count + 1) if i % later_every and i % opted_every}
    with rt.db.read() as tx:
        rows = int(tx.execute(select(func.count()).select_from(reminders)).scalar_one())
        distinct = int(
            tx.execute(select(func.count(func.distinct(reminders.c.subject_id)))).scalar_one()
        )
    return {
        # Exactly the due vouchers of holders who take SMS, each once; a second sweep adds none.
        "wrong_count": abs(chosen - len(due)),
        "rows_not_chosen": abs(rows - chosen),
        "duplicate": rows - distinct,
        "chosen_again": again,
    }


BENCHMARK = Benchmark(
    name="reminders",
    summary="choose and queue the expiry reminders of 1,000,000 vouchers (seconds)",
    run=run_reminders,
    params={"vouchers": 1_000_000, "later_every": 10, "opted_every": 97},
    quick_params={"vouchers": 20_000},
    per_database={SQLITE: {"vouchers": 100_000}},
    databases=(POSTGRES, SQLITE),
    requires=MODULES,
    http=False,
    storage_ratio=False,
)

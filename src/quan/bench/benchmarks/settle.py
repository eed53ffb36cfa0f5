"""``settle-10m``: settle 10,000,000 redemptions with their merchants — target ≤ 60 s.

Seeding (not timed), PostgreSQL, with the books whole so that ``quan ledger check`` can pass:

1. Through the services: an active funded program, a voucher type and a first-come batch of one
   voucher (:func:`quan.bench.claim_path.open_batch`), and the contribution that funds the rest.
2. In bulk SQL (foreign-key triggers off, ``session_replication_role = replica``, as in
   ``tests/scale/settle_many.py``): ``batches`` batches sharing ``redemptions`` vouchers cloned
   from that one, with their opening entries scaled from the small batch's; ``merchants``
   approved merchants; the vouchers, all ``redeemed``; one live redemption each, spread over the
   merchants
   (three discounts, so a remainder is released); and each redemption's journal entry
   (``reserved:<batch> → payable:<merchant>``) with its two postings.

Timed: the settlement job as its scheduler runs it (``quan settle``: the job lease, then
:func:`quan.services.settlement.running.settle` — plan, barrier, one run transaction) for the
day the
redemptions were recorded. Read back: the statements' redemption count equals the redemptions
(``unsettled`` must be 0), and ``quan ledger check`` over the whole database (``ledger_violations``
must be 0; its duration is reported as ``ledger_check_s``, not part of ``seconds``).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, func, select, text

from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import POSTGRES
from quan.bench.registry import Benchmark, Params
from quan.services.runtime import Runtime

SETTLE_MODULES = ("quan.services.settlement.settlement",)
_K = "lpad(k::text, 4, '0')"  # the k-th bulk batch's id suffix
_G = "lpad((g % :b)::text, 4, '0')"  # ... of the batch of voucher (redemption) g
DISCOUNT_SQL = "(3000 - (g % 3) * 500)"  # 3000, 2500, 2000 fen of a 3000-fen unit


def _clone(
    tx: Connection,
    table: Table,
    overrides: dict[str, str],
    where: str,
    params: dict[str, object],
    extra_from: str = "",
) -> None:
    """``INSERT INTO table SELECT …`` copying every column of the source rows but ``overrides``
    (SQL expressions)."""
    columns = [c.name for c in table.columns]
    exprs = [overrides.get(c, f"src.{c}") for c in columns]
    tx.execute(
        text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - fixed fragments
            f"SELECT {', '.join(exprs)} FROM {table.name} src {extra_from} WHERE {where}"
        ),
        params,
    )


BULK_TABLES = ("merchants", "vouchers", "redemptions", "journal_entries", "postings")


def _drop_secondary_indexes(conn: Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' indexes and unique constraints other than primary keys (this is a
    throwaway benchmark database); the statements that make them again, to run after the load."""
    again: list[str] = []
    constraints = conn.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'u' AND conrelid::regclass::text = ANY(:t)"
            " AND connamespace = current_schema()::regnamespace"
        ),
        {"t": list(tables)},
    ).all()
    for table, name, definition in constraints:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    indexes = conn.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE NOT i.indisprimary AND i.indrelid::regclass::text = ANY(:t)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        ),
        {"t": list(tables)},
    ).all()
    for name, definition in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
        again.append(definition)
    return again


def seed_settlement(
    rt: Runtime, count: int, merchant_count: int, batch_count: int
) -> tuple[str, str]:
    """The program and the bulk batch (see the module docstring); returns their ids."""
    from quan.bench import claim_path, seed
    from quan.store.voucher_tables import batches, vouchers

    program = seed.active_program(rt)
    _, small = claim_path.open_batch(rt, program, 1)
    seed.contribute(rt, program, count * 3000)
    bulk = "bat_bulk" + secrets.token_hex(9)
    now = rt.clock.now()
    params: dict[str, object] = {
        "n": count,
        "b": batch_count,
        "per": count // batch_count,
        "m": merchant_count,
        "small": small,
        "bulk": bulk,
        "program": program.program_id,
        "issuer": program.issuer_id,
        "now": now,
        "day": now.date(),
    }
    with rt.db.write() as tx:
        _clone(
            tx,
            batches,
            {"id": f":bulk || {_K}", "quantity": ":per"},
            "src.id = :small",
            params,
            "CROSS JOIN generate_series(0, :b - 1) k",
        )
        # The opening entries, scaled: the small batch reserved one unit, each bulk one ``per``.
        tx.execute(
            text(
                "INSERT INTO journal_entries (id, program_id, kind, source_type, source_id, memo,"  # noqa: S608 - fixed fragments, values bound
                " created_by, created_at) SELECT id || 'b' || k, program_id, kind, source_type,"
                f" :bulk || {_K}, memo, created_by, created_at FROM journal_entries"
                " CROSS JOIN generate_series(0, :b - 1) k"
                " WHERE source_type = 'batch' AND source_id = :small"
            ),
            params,
        )
        tx.execute(
            text(
                "INSERT INTO postings (entry_id, program_id, bucket, ref, amount_fen)"  # noqa: S608 - fixed fragments, values bound
                " SELECT p.entry_id || 'b' || k, p.program_id, p.bucket,"
                f" CASE WHEN p.ref = :small THEN :bulk || {_K} ELSE p.ref END,"
                " p.amount_fen * :per"
                " FROM postings p JOIN journal_entries j ON j.id = p.entry_id"
                " CROSS JOIN generate_series(0, :b - 1) k"
                " WHERE j.source_type = 'batch' AND j.source_id = :small"
            ),
            params,
        )
    with rt.db.engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        started = time.perf_counter()
        secondary = _drop_secondary_indexes(conn, BULK_TABLES)
        conn.execute(
            text(
                "INSERT INTO merchants (id, issuer_id, name, uscc, region_code, accepts_offline,"
                " accepts_online, bank_name, bank_account_token, bank_account_masked,"
                " contact_phone_token, contact_phone_masked, status, created_at, updated_at)"
                " SELECT 'mch_bulk' || lpad(g::text, 22, '0'), :issuer, 'm', 'u' || g, '330106',"
                " true, false, 'b', 't', '****', 't', '***', 'approved', :now, :now"
                " FROM generate_series(1, :m) g"
            ),
            params,
        )
        _clone(
            conn,
            vouchers,
            {
                "id": "'vch_bulk' || lpad(g::text, 22, '0')",
                "code": "'BULK-' || g",
                "batch_id": f":bulk || {_G}",
                "status": "'redeemed'",
                "citizen_id": "'cit_bulk' || lpad(g::text, 22, '0')",
                "claim_seq": "1",
                "channel": "'app'",
                "claimed_at": ":now",
                "valid_from": ":now",
                "valid_until": ":now + interval '30 days'",
                "status_changed_at": ":now",
            },
            "src.batch_id = :small",
            params,
            "CROSS JOIN generate_series(1, :n) g",
        )
        conn.execute(
            text(
                "INSERT INTO redemptions (id, program_id, batch_id, voucher_id, merchant_id,"  # noqa: S608 - fixed fragments, values bound
                " terminal_id, citizen_id, channel, category, scene, order_amount_fen,"
                " discount_fen, unit_fen, min_spend_fen, max_per_order, local_day, redeemed_at,"
                " recorded_at, status)"
                f" SELECT 'rdm_bulk' || lpad(g::text, 22, '0'), :program, :bulk || {_G},"
                " 'vch_bulk' || lpad(g::text, 22, '0'),"
                " 'mch_bulk' || lpad((g % :m + 1)::text, 22, '0'), 'trm_x',"
                " 'cit_bulk' || lpad(g::text, 22, '0'), 'online',"
                f" 'catering', 'offline', 12000, {DISCOUNT_SQL}, 3000, 10000, 1, :day,"
                " :now - (g % 3600) * interval '1 millisecond',"
                " :now - (g % 3600) * interval '1 millisecond', 'redeemed'"
                " FROM generate_series(1, :n) g"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO journal_entries (id, program_id, kind, source_type, source_id, memo,"
                " created_by, created_at)"
                " SELECT 'je_bulk' || lpad(g::text, 22, '0'), :program, 'redemption',"
                " 'redemption', 'rdm_bulk' || lpad(g::text, 22, '0'), 'bulk', 'bench', :now"
                " FROM generate_series(1, :n) g"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO postings (entry_id, program_id, bucket, ref, amount_fen)"  # noqa: S608 - fixed fragments, values bound
                " SELECT 'je_bulk' || lpad(g::text, 22, '0'), :program, leg.bucket,"
                f" CASE WHEN leg.bucket = 'reserved' THEN :bulk || {_G}"
                " ELSE 'mch_bulk' || lpad((g % :m + 1)::text, 22, '0') END,"
                f" leg.sign * {DISCOUNT_SQL}"
                " FROM generate_series(1, :n) g"
                " CROSS JOIN (VALUES ('reserved', -1), ('payable', 1)) AS leg(bucket, sign)"
            ),
            params,
        )
        for statement in secondary:  # built once over all the rows: much faster than row by row
            conn.execute(text(statement))
        say(f"    seeded {count:,} redemptions in {time.perf_counter() - started:.0f} s")
    with rt.db.engine.begin() as conn:
        for name in BULK_TABLES:
            conn.execute(text(f"ANALYZE {name}"))
    return program.program_id, bulk


def run_settle(ctx: BenchContext, params: Params) -> BenchResult:
    from quan.bench import seed
    from quan.cli.settlement import LEASE
    from quan.clock import FixedClock
    from quan.domain.auth import SYSTEM
    from quan.jobs.lease import acquire, release
    from quan.services.money.ledger_check import check_ledger
    from quan.services.settlement import running
    from quan.store.redemption_tables import redemptions, settlement_statements

    count, merchant_count = int(params["redemptions"]), int(params["merchants"])
    batch_count = int(params["batches"])  # a batch holds at most MAX_QUANTITY vouchers
    count -= count % batch_count
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            say(f"    seeding {count:,} redemptions at {merchant_count:,} merchants")
            program_id, _ = seed_settlement(rt, count, merchant_count, batch_count)
            now = rt.clock.now()
            day = now.astimezone(ZoneInfo("Asia/Shanghai")).date()  # the program's zone
            clock = FixedClock(now + timedelta(days=1))  # the next morning: the day is over
            holder = f"bench-{secrets.token_hex(4)}"
            started = time.perf_counter()
            if not acquire(rt.db, LEASE, holder, clock.now(), timedelta(minutes=30)):
                raise RuntimeError("the settlement lease is held")
            try:
                done = running.settle(rt.db, clock, SYSTEM, program_id, day)
            finally:
                release(rt.db, LEASE, holder, clock.now())
            seconds = time.perf_counter() - started
            say(f"    settled {done.redemption_count:,} redemptions in {seconds:.1f} s")
            with rt.db.read() as tx:
                redeemed = int(
                    tx.execute(
                        select(func.count())
                        .select_from(redemptions)
                        .where(redemptions.c.status == "redeemed")
                    ).scalar_one()
                )
                settled = int(
                    tx.execute(
                        select(func.coalesce(func.sum(settlement_statements.c.redemption_count), 0))
                    ).scalar_one()
                )
            checked = time.perf_counter()
            with rt.db.read() as tx:
                violations = len(check_ledger(tx).violations)
            check_s = time.perf_counter() - checked
        finally:
            rt.db.dispose()
    return BenchResult(
        benchmark="settle-10m",
        database=ctx.database,
        figures={
            "seconds": round(seconds, 2),
            "redemptions_per_s": round(settled / seconds, 1) if seconds > 0 else 0.0,
            "settled": float(settled),
            "merchants": float(done.merchants),
            "ledger_check_s": round(check_s, 1),
        },
        throughput="redemptions_per_s",
        checks={
            "unsettled": redeemed - settled,
            "ledger_violations": violations,
        },
        params=params,
        notes=[
            "quan.services.settlement.running.settle under the job lease, as `quan settle`"
            " runs it; seeding in bulk SQL (not timed); `ledger_check_s` is quan ledger check"
            " afterwards"
        ],
    )


SETTLE = Benchmark(
    name="settle-10m",
    summary="settle 10,000,000 redemptions (seconds)",
    run=run_settle,
    params={"redemptions": 10_000_000, "merchants": 10_000, "batches": 100},
    quick_params={"redemptions": 10_000, "merchants": 100, "batches": 10},
    requires=SETTLE_MODULES,
    http=False,
    storage_ratio=False,
    databases=(POSTGRES,),  # bulk seeding in PostgreSQL SQL; the target is PostgreSQL's
)

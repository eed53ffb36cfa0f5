"""``scale``: does a claim get slower when the vouchers table is large?

The same moderate load (``claims`` distinct citizens, ``connections`` connections, each request
once) claims from a fresh first-come batch twice: with ``small`` claimed vouchers already in the
database, then with ``large``. The filler vouchers are bulk-inserted as claimed (status
``active``, up to 10 per filler citizen) into draft *filler* batches of the same program, without
ledger entries — only their number and the indexes they fill matter here. The figure is
``p50_ratio`` = p50 at large / p50 at small (target ≤ 1.2 on PostgreSQL).
"""

from __future__ import annotations

import time
from datetime import timedelta

from quan.bench import claim_path, seed
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.load import LoadResult
from quan.bench.registry import Params
from quan.domain.batches import MAX_PER_CITIZEN, MAX_QUANTITY, Allocation
from quan.services.issuance import batches
from quan.services.runtime import Runtime

FILLER_CITIZENS = 100_000
_LETTERS = "abcdefghjk"


def _fill_statement(dialect: str) -> str:
    """The bulk insert of filler vouchers. Each row's claim time is ``at`` less ``ago`` seconds:
    position ``p`` (``offset`` + row, newest first) of ``total`` puts the first ``burst`` rows
    within the last hour and spreads the rest evenly over the ``span`` seconds before it (all at
    ``at`` when ``span`` is 0); validity runs ``valid`` seconds from the claim."""
    citizen_pg = (
        "translate(lpad(mod(g, %(citizens)s)::text, 10, '0'), '0123456789', '" + _LETTERS + "')"
    )
    if dialect == "postgresql":
        ago = (
            "CASE WHEN %(span)s = 0 THEN 0.0"
            " WHEN %(offset)s + g < %(burst)s THEN 3600.0 * (%(offset)s + g) / %(burst)s"
            " ELSE 3600.0 + %(span)s::float8 * (%(offset)s + g - %(burst)s)"
            " / GREATEST(%(total)s - %(burst)s, 1) END"
        )
        return (
            "INSERT INTO vouchers (id, code, program_id, batch_id, voucher_type_id, pool, status,"  # noqa: S608 - fixed fragments, values bound
            " citizen_id, claim_seq, channel, claimed_at, valid_from, valid_until,"
            " status_changed_at) SELECT 'vch_fill_' || %(tag)s || '_' || g,"
            " 'FILL-' || %(tag)s || '-' || g, %(program)s, %(batch)s, %(vt)s, 'general', 'active',"
            " 'cit_s' || " + citizen_pg + ", g / %(citizens)s + 1, 'app', t, t,"
            " t + make_interval(secs => %(valid)s), t FROM (SELECT g, %(at)s::timestamptz"
            " - make_interval(secs => " + ago + ") AS t"
            " FROM generate_series(0, %(rows)s - 1) AS g) AS c"
        )
    digits = "printf('%010d', x % :citizens)"
    letters = digits
    for d, letter in zip("0123456789", _LETTERS, strict=True):
        letters = f"replace({letters}, '{d}', '{letter}')"
    ago = (
        "CASE WHEN :span = 0 THEN 0.0"
        " WHEN :offset + x < :burst THEN 3600.0 * (:offset + x) / :burst"
        " ELSE 3600.0 + 1.0 * :span * (:offset + x - :burst) / max(:total - :burst, 1) END"
    )
    stamp = "strftime('%Y-%m-%d %H:%M:%f', :at, '-' || (" + ago + ") || ' seconds') || '000'"
    until = (
        "strftime('%Y-%m-%d %H:%M:%f', :at, '-' || (" + ago + ") || ' seconds',"
        " '+' || :valid || ' seconds') || '000'"
    )
    return (
        "WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < :rows - 1)"  # noqa: S608 - fixed fragments, values bound
        " INSERT INTO vouchers (id, code, program_id, batch_id, voucher_type_id, pool, status,"
        " citizen_id, claim_seq, channel, claimed_at, valid_from, valid_until,"
        " status_changed_at) SELECT 'vch_fill_' || :tag || '_' || x, 'FILL-' || :tag || '-' || x,"
        " :program, :batch, :vt, 'general', 'active', 'cit_s' || " + letters + ","
        f" x / :citizens + 1, 'app', {stamp}, {stamp}, {until}, {stamp} FROM g"
    )


def fill(
    rt: Runtime, program: seed.FundedProgram, vt_id: str, count: int, tag: str, *,
    spread: timedelta = timedelta(0), burst: float = 0.0, valid: timedelta = timedelta(days=90),
) -> None:  # fmt: skip
    """``count`` claimed vouchers in filler batches (one per ``FILLER_CITIZENS × 10`` rows),
    each valid for ``valid`` from its claim. All claimed now by default; with ``spread``, a
    ``burst`` share of them within the last hour and the rest evenly over ``spread`` before it,
    newest batch first (a program some weeks old with a busy last hour)."""
    now = rt.clock.now()
    per_batch = min(FILLER_CITIZENS * MAX_PER_CITIZEN, MAX_QUANTITY)
    sqlite = rt.db.dialect != "postgresql"
    at = now.replace(tzinfo=None).isoformat(" ") if sqlite else now
    span = max(int(spread.total_seconds()) - 3600, 0) if spread else 0
    burst_rows = max(round(count * burst), 1)
    done = 0
    while done < count:
        rows = min(per_batch, count - done)
        with rt.db.write() as tx:
            batch = batches.create_batch(
                tx,
                now,
                program.operator,
                batches.NewBatch(
                    program_id=program.program_id,
                    voucher_type_id=vt_id,
                    name=f"filler {tag}-{done}",
                    quantity=rows,
                    allocation=Allocation.FCFS,
                    claim_opens_at=now,
                    claim_closes_at=now + timedelta(days=1),
                    per_citizen_limit=MAX_PER_CITIZEN,
                ),
            )
            tx.exec_driver_sql(
                _fill_statement(rt.db.dialect),
                {
                    "tag": f"{tag}{done}",
                    "program": program.program_id,
                    "batch": batch.id,
                    "vt": vt_id,
                    "citizens": FILLER_CITIZENS,
                    "rows": rows,
                    "at": at,
                    "valid": int(valid.total_seconds()),
                    "span": span,
                    "offset": done,
                    "burst": burst_rows,
                    "total": count,
                },
            )
        done += rows
        say(f"    filler: {done:,} / {count:,} vouchers")


def run(ctx: BenchContext, params: Params) -> BenchResult:
    small, large = int(params["small"]), int(params["large"])
    claims, connections = int(params["claims"]), int(params["connections"])
    loads: dict[str, LoadResult] = {}
    fill_s: dict[str, float] = {}
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
            claim_path.insert_citizens(rt, "s", min(FILLER_CITIZENS, max(large, 1)))
            vt_id, _ = claim_path.open_batch(rt, program, 1)
            existing = 0
            for label, size in (("small", small), ("large", large)):
                started = time.perf_counter()
                fill(rt, program, vt_id, size - existing, label)
                fill_s[label] = round(time.perf_counter() - started, 1)
                existing = size
                _, batch_id = claim_path.open_batch(rt, program, claims)
                citizens = claim_path.insert_citizens(rt, label[0] + "m", claims)
                feed = claim_path.claim_requests(rt, batch_id, citizens)
                with ctx.serve(db) as server:
                    spec = ctx.spec(
                        server.spec.base_url,
                        method="POST",
                        feed=feed,
                        once=True,
                        count_statuses=True,
                        connections=connections,
                        duration_s=300,
                    )
                    loads[label] = ctx.load(spec)
                    server.stop()
                p50 = loads[label].latency_ms["p50"]
                say(
                    f"    {label} ({size:,} vouchers): p50 {p50:.2f} ms, "
                    f"{loads[label].requests_per_s:,.0f} claims/s"
                )
        finally:
            rt.db.dispose()
    p50_small = loads["small"].latency_ms["p50"]
    p50_large = loads["large"].latency_ms["p50"]
    return BenchResult(
        benchmark="scale",
        database=ctx.database,
        figures={
            "p50_ratio": round(p50_large / p50_small, 3) if p50_small else 0.0,
            "p50_small_ms": p50_small,
            "p50_large_ms": p50_large,
            "p99_small_ms": loads["small"].latency_ms["p99"],
            "p99_large_ms": loads["large"].latency_ms["p99"],
            "claims_per_s_small": round(loads["small"].requests_per_s, 1),
            "claims_per_s_large": round(loads["large"].requests_per_s, 1),
            "fill_s": fill_s["small"] + fill_s["large"],
        },
        throughput=None,
        checks={
            "not_created": sum(r.requests - r.count(201) for r in loads.values()),
        },
        params=params,
        server={"command": server.spec.label, "peak_rss_mib": server.memory_report()},
        notes=[
            "filler vouchers bulk-inserted (claimed, in draft filler batches, no ledger entries)"
        ],
    )

"""``claim-flood`` and ``scale``: the flash-sale claim path (``POST /batches/{id}/claims``).

``claim-flood``: a batch of ``vouchers`` (S) and ``citizens`` (N ≫ S) distinct citizens, each
sending one claim with its own token and Idempotency-Key (wrk, every request exactly once).
Successful claims/s is S over the time the batch took to sell out (first to last ``claimed_at``
in the database); p50/p99 are over the whole flood. Then ``late_citizens`` more distinct
citizens hit the sold-out batch, split over the usual runs: refusals/s and their p50/p99. The
database is read back: ``oversold`` (vouchers claimed beyond S) and ``duplicate`` (a citizen
holding two vouchers of the batch) must be 0, and so must ``lost_claims`` (a 201 whose voucher is
not in the database) and answers other than 201/409.

``scale``: p50 claim latency on a fresh batch with ``small`` vs ``large`` claimed vouchers
already in the database (bulk-inserted into other batches), at the same moderate load; the
figure ``p50_ratio`` is large over small.
"""

from __future__ import annotations

from dataclasses import replace

from quan.bench import claim_path, seed
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import POSTGRES, SQLITE
from quan.bench.load import LoadResult, LoadSpec, RequestItem
from quan.bench.registry import Benchmark, Params
from quan.bench.server import ServerProcess
from quan.bench.stats import median

CLAIMS_MODULES = ("quan.services.issuance.claims", "quan.api.routes.batches")
CREATED = 201
REFUSED = 409  # SOLD_OUT (ALREADY_CLAIMED would be a harness error: every citizen is new)


def _once(
    ctx: BenchContext, server: ServerProcess, feed: list[RequestItem], max_s: float
) -> LoadSpec:
    return ctx.spec(
        server.spec.base_url,
        method="POST",
        feed=feed,
        once=True,
        count_statuses=True,
        duration_s=max_s,
    )


def _warm_up(ctx: BenchContext, server: ServerProcess) -> None:
    # Opens every worker's database connections before the flood, as a server that has been
    # up for a while would have them; no claim is spent on it.
    if ctx.options.warmup_s > 0:
        spec = ctx.spec(server.spec.base_url, method="GET", path="/api/v1/health")
        ctx.load(replace(spec, duration_s=ctx.options.warmup_s))


def flood_figures(
    flood: LoadResult, refusals: list[LoadResult], outcome: claim_path.FloodOutcome
) -> dict[str, float]:
    sellout_s = outcome.sellout_s or flood.duration_s
    figures = {
        "claims_per_s": round(outcome.claimed / max(sellout_s, 1e-3), 1),
        "sellout_s": round(sellout_s, 3),
        "flood_requests_per_s": round(flood.requests_per_s, 1),
        "flood_p50_ms": flood.latency_ms["p50"],
        "flood_p99_ms": flood.latency_ms["p99"],
        "claimed": float(outcome.claimed),
        "refusals_in_flood": float(flood.count(REFUSED)),
    }
    if refusals:
        figures["refusals_per_s"] = median([r.requests_per_s for r in refusals])
        figures["refusal_p50_ms"] = median([r.latency_ms["p50"] for r in refusals])
        figures["refusal_p99_ms"] = median([r.latency_ms["p99"] for r in refusals])
    return figures


def _refusal_runs(
    ctx: BenchContext, server: ServerProcess, late: list[RequestItem]
) -> list[LoadResult]:
    """Distinct late citizens against the sold-out batch, ``runs`` loads of ``duration_s`` at
    most (each chunk of citizens once)."""
    runs = max(1, ctx.options.runs)
    per_run = max(1, len(late) // runs)
    results = []
    for i in range(runs):
        chunk = late[i * per_run : (i + 1) * per_run]
        results.append(ctx.load(_once(ctx, server, chunk, ctx.options.duration_s)))
        say(f"    refusals run {i + 1}/{runs}: {results[-1].requests_per_s:,.0f} req/s")
    return results


def run_flood(ctx: BenchContext, params: Params) -> BenchResult:
    max_s = float(params["max_seconds"])
    notes: list[str] = []
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            say("    seeding the batch and citizens")
            setup = claim_path.prepare_flood(
                rt,
                vouchers=int(params["vouchers"]),
                citizens=int(params["citizens"]),
                late=int(params["late_citizens"]),
            )
            with ctx.serve(db) as server:
                _warm_up(ctx, server)
                say(f"    flood: {len(setup.requests):,} citizens for {setup.quantity:,} vouchers")
                flood = ctx.load(_once(ctx, server, setup.requests, max_s))
                say(
                    f"    flood done: {flood.count(CREATED):,} claimed, "
                    f"{flood.count(REFUSED):,} refused in {flood.duration_s:.1f} s"
                )
                sold_out = claim_path.read_back(rt, setup.batch_id, setup.quantity)
                refusals: list[LoadResult] = []
                if sold_out.claimed >= setup.quantity:
                    refusals = _refusal_runs(ctx, server, setup.late_requests)
                else:
                    notes.append(
                        f"not sold out within max_seconds={max_s:.0f} "
                        f"({sold_out.claimed:,}/{setup.quantity:,}): no refusal phase"
                    )
                server.stop()
            outcome = claim_path.read_back(rt, setup.batch_id, setup.quantity)
        finally:
            rt.db.dispose()
    every = [flood, *refusals]
    result = BenchResult(
        benchmark="claim-flood",
        database=ctx.database,
        figures=flood_figures(flood, refusals, outcome),
        throughput="claims_per_s",
        params=params,
        runs=[
            {"refusals_per_s": round(r.requests_per_s, 1), "p99_ms": r.latency_ms["p99"]}
            for r in refusals
        ],
        load={
            **ctx.describe_load(_once(ctx, server, [], max_s)),
            "path": "POST /api/v1/batches/{id}/claims",
        },
        server={
            "command": server.spec.label,
            "workers": server.spec.workers,
            "peak_rss_mib": server.memory_report(),
        },
        notes=notes,
    )
    result.checks = {
        "oversold": outcome.oversold,
        "duplicate": outcome.duplicate,
        "lost_claims": max(0, flood.count(CREATED) - outcome.claimed),
        "other_answers": sum(r.requests - r.count(CREATED, REFUSED) for r in every),
        "late_claims": sum(r.count(CREATED) for r in refusals),
    }
    # In flight when a load hit its time bound: not an error, but worth seeing.
    result.figures["unanswered"] = float(sum(max(0, (r.sent or 0) - r.requests) for r in every))
    return result


def run_scale(ctx: BenchContext, params: Params) -> BenchResult:
    from quan.bench import scale

    return scale.run(ctx, params)


CLAIM_FLOOD = Benchmark(
    name="claim-flood",
    summary="S vouchers, N ≫ S citizens: claims/s, refusals/s, p50/p99, oversold/duplicate",
    run=run_flood,
    params={"vouchers": 50_000, "citizens": 200_000, "late_citizens": 100_000, "max_seconds": 120},
    quick_params={"vouchers": 200, "citizens": 1_000, "late_citizens": 1_000, "max_seconds": 60},
    per_database={SQLITE: {"vouchers": 20_000, "citizens": 80_000, "late_citizens": 40_000}},
    requires=CLAIMS_MODULES,
)

SCALE = Benchmark(
    name="scale",
    summary="claim p50 latency with 10,000 vs 10,000,000 vouchers already in the database",
    run=run_scale,
    params={"small": 10_000, "large": 10_000_000, "claims": 20_000, "connections": 16},
    quick_params={"small": 100, "large": 2_000, "claims": 300, "connections": 4},
    requires=CLAIMS_MODULES,
    http=False,
    # The target is PostgreSQL's; ten million rows on SQLite would only add minutes.
    databases=(POSTGRES,),
)

"""``redeem``: concurrent redemptions of distinct vouchers (redemptions/s, p50/p99).

``vouchers`` claimed vouchers and one merchant with ``terminals`` terminals are seeded (see
:mod:`quan.bench.redeem_path`); each run then redeems its own share of the vouchers, each once,
through ``POST /api/v1/redemptions`` with the terminal's API key and an Idempotency-Key, for at
most the run's duration. Read back: ``double_spent`` (a voucher with two live redemptions) must
be 0, every 201 must have its redeemed voucher, and the ledger must check.
"""

from __future__ import annotations

from quan.bench import redeem_path, seed
from quan.bench.benchmarks.common import http_result
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.load import LoadResult, LoadSpec, RequestItem
from quan.bench.registry import Benchmark, Params

REDEEM_MODULES = ("quan.services.issuance.claims", "quan.services.redemption.redemption")
CREATED = 201


def _spec(ctx: BenchContext, base_url: str, feed: list[RequestItem]) -> LoadSpec:
    return ctx.spec(
        base_url,
        method="POST",
        feed=feed,
        once=True,
        count_statuses=True,
        headers={"Content-Type": "application/json"},
    )


def run(ctx: BenchContext, params: Params) -> BenchResult:
    runs = max(1, ctx.options.runs)
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            with ctx.serve(db) as server:
                say("    seeding vouchers, a merchant and its terminals")
                setup = redeem_path.prepare(
                    rt,
                    server.spec.base_url,
                    vouchers=int(params["vouchers"]),
                    terminals=int(params["terminals"]),
                )
                # A few redemptions first, not measured: every worker's first ones pay for
                # connections and lazily built state.
                warm = min(len(setup.requests) // 10, 50 * ctx.options.connections)
                if ctx.options.warmup_s > 0 and warm > 0:
                    ctx.load(_spec(ctx, server.spec.base_url, setup.requests[:warm]))
                measured = setup.requests[warm:] if ctx.options.warmup_s > 0 else setup.requests
                per_run = max(1, len(measured) // runs)

                def make(index: int) -> LoadSpec:
                    return _spec(
                        ctx, server.spec.base_url, measured[index * per_run : (index + 1) * per_run]
                    )

                results: list[LoadResult] = []
                for index in range(runs):
                    done = ctx.load(make(index))
                    results.append(done)
                    rate = done.count(CREATED) / max(done.duration_s, 1e-3)
                    say(
                        f"    run {index + 1}/{runs}: {rate:,.0f} redemptions/s, "
                        f"p99 {done.latency_ms['p99']:.1f} ms"
                    )
                server.stop()
            outcome = redeem_path.read_back(rt, setup.batch_id)
            violations = seed.ledger_violations(rt)
        finally:
            rt.db.dispose()
    redeemed_per_s = [
        {"redemptions_per_s": round(r.count(CREATED) / r.duration_s, 1) if r.duration_s else 0.0}
        for r in results
    ]
    result = http_result("redeem", ctx, params, results, make(0), server, extra_runs=redeemed_per_s)
    result.throughput = "redemptions_per_s"
    answered = sum(r.count(CREATED) for r in results)
    result.checks = {
        "double_spent": outcome.double_spent,
        "lost_redemptions": max(0, answered - outcome.redeemed),
        "refused": sum(r.requests - r.count(CREATED) for r in results),
        "ledger_violations": violations,
    }
    result.figures["redeemed"] = float(outcome.redeemed)
    return result


BENCHMARK = Benchmark(
    name="redeem",
    summary="concurrent redemptions of distinct vouchers: redemptions/s, p50/p99",
    run=run,
    params={"vouchers": 30_000, "terminals": 10},
    quick_params={"vouchers": 300, "terminals": 2},
    requires=REDEEM_MODULES,
)

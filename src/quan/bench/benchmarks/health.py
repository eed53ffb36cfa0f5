"""``health``: GET /api/v1/health (one read transaction) — validates the harness end to end."""

from __future__ import annotations

from quan.bench.benchmarks.common import http_result
from quan.bench.context import BenchContext
from quan.bench.contract import BenchResult
from quan.bench.load import LoadSpec
from quan.bench.registry import Benchmark, Params

PATH = "/api/v1/health"


def run(ctx: BenchContext, params: Params) -> BenchResult:
    with ctx.fresh_database() as db, ctx.serve(db) as server:

        def make() -> LoadSpec:
            return ctx.spec(server.spec.base_url, method="GET", path=PATH)

        results = ctx.repeat(make)
        server.stop()
    result = http_result("health", ctx, params, results, make(), server)
    result.checks["non_2xx"] = sum(r.errors.get("status", 0) for r in results)
    return result


BENCHMARK = Benchmark(
    name="health",
    summary="GET /api/v1/health: liveness with one database round trip",
    run=run,
)

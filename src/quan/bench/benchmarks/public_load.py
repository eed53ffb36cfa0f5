"""``health-under-public-load``: GET /api/v1/health while anonymous clients load a program's
public page (issue 13, A3).

Forty anonymous clients on ``GET /public/programs/{id}`` once pushed every other request,
``/health`` included, to 8 s. The public page is now a snapshot and anonymous requests are
bounded per process; the figure is ``/health``'s p99 (target: under 100 ms) with
``public_clients`` connections loading the public page at the same time. The public load's own
throughput and how many of its requests were turned away (503) are reported beside it.
"""

from __future__ import annotations

import threading

from quan.bench import seed
from quan.bench.benchmarks.common import http_result
from quan.bench.context import BenchContext
from quan.bench.contract import BenchResult
from quan.bench.load import LoadResult, LoadSpec
from quan.bench.registry import Benchmark, Params

HEALTH = "/api/v1/health"


def run(ctx: BenchContext, params: Params) -> BenchResult:
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
        finally:
            rt.db.dispose()
        public_path = f"/api/v1/public/programs/{program.program_id}"
        with ctx.serve(db) as server:
            base = server.spec.base_url

            def make() -> LoadSpec:
                return ctx.spec(
                    base, method="GET", path=HEALTH, connections=int(params["health_clients"])
                )

            def crowd(duration_s: float) -> LoadSpec:
                return ctx.spec(
                    base,
                    method="GET",
                    path=public_path,
                    connections=int(params["public_clients"]),
                    duration_s=duration_s,
                    count_statuses=True,
                )

            healths: list[LoadResult] = []
            crowds: list[LoadResult] = []
            for _ in range(ctx.options.runs):
                # The crowd starts first and outlasts the measured load on both ends.
                background = crowd(ctx.options.duration_s + 2.0)
                thread = threading.Thread(
                    target=lambda spec=background: crowds.append(ctx.load(spec))
                )
                thread.start()
                threading.Event().wait(1.0)
                healths.append(ctx.load(make()))
                thread.join()
            server.stop()
    result = http_result(
        "health-under-public-load",
        ctx,
        params,
        healths,
        make(),
        server,
        extra_runs=[
            {
                "public_requests_per_s": round(c.requests_per_s, 1),
                "public_503": float(c.count(503)),
                "public_p99_ms": c.latency_ms["p99"],
            }
            for c in crowds
        ],
    )
    result.checks["health_non_2xx"] = sum(r.errors.get("status", 0) for r in healths)
    result.checks["public_transport_errors"] = sum(c.transport_errors for c in crowds)
    result.load = {**result.load, "background": f"GET {public_path} x{params['public_clients']}"}
    return result


BENCHMARK = Benchmark(
    name="health-under-public-load",
    summary="GET /api/v1/health p99 while 40 anonymous clients load a public program page",
    run=run,
    params={"public_clients": 40, "health_clients": 4},
    quick_params={"public_clients": 8, "health_clients": 2},
)

"""``contribution``: POST /programs/{id}/contributions, each with its own Idempotency-Key.

A money-moving write through the whole stack (staff token check, idempotency record, program
row lock, journal entry, event) — all on one program, so it also shows what one hot row costs.
Afterwards the movements are counted back (none lost) and the ledger is checked.
"""

from __future__ import annotations

import json

from quan.bench import seed
from quan.bench.benchmarks.common import http_result
from quan.bench.context import BenchContext
from quan.bench.contract import BenchResult
from quan.bench.load import LoadSpec
from quan.bench.registry import Benchmark, Params


def run(ctx: BenchContext, params: Params) -> BenchResult:
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
            path = f"/api/v1/programs/{program.program_id}/contributions"
            body = json.dumps(
                {"funder_id": program.funder_id, "amount_fen": int(params["amount_fen"])},
                separators=(",", ":"),
            )
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {program.operator_token}",
            }
            with ctx.serve(db) as server:

                def make() -> LoadSpec:
                    return ctx.spec(
                        server.spec.base_url,
                        method="POST",
                        path=path,
                        body=body,
                        headers=headers,
                        unique_keys=True,
                        count_statuses=True,
                    )

                results = ctx.repeat(make)
                server.stop()
            created = seed.movement_count(rt, program.program_id)
            violations = seed.ledger_violations(rt)
        finally:
            rt.db.dispose()
    answered_201 = sum(r.count(201) for r in results)
    result = http_result("contribution", ctx, params, results, make(), server)
    result.checks = {
        # A 201 whose movement is not in the database would be a lost write. (More rows than
        # 201s is normal: requests in flight when a load stops are committed but not counted.)
        "lost_writes": max(0, answered_201 - created),
        "ledger_violations": violations,
        "non_2xx": sum(r.errors.get("status", 0) for r in results),
    }
    result.figures["movements_written"] = float(created)
    return result


BENCHMARK = Benchmark(
    name="contribution",
    summary="POST contributions (idempotent, ledger-posting write) on one program",
    run=run,
    params={"amount_fen": 100},
)

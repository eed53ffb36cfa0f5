"""``log-sequence``: the log sequencer job appending queued events, in events per second.

Claim-like events are inserted in bulk (the events trigger queues them, as in production), then
the real job (:func:`quan.jobs.sequencer.run_once`, what ``quan log sequence`` runs) appends them
in batches of ``batch`` with a signed checkpoint per batch. This repeats for each run on the
growing log; the figure is the median rate. Afterwards the log size must equal the events
inserted and the queue must be empty.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select

from quan.bench import seed
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.registry import Benchmark, Params
from quan.bench.stats import median, percentile
from quan.jobs import sequencer
from quan.store import log as log_store
from quan.store.log_tables import log_queue


def run(ctx: BenchContext, params: Params) -> BenchResult:
    per_run = int(params["events"]) // max(1, ctx.options.runs)
    batch_size = int(params["batch"])
    runs: list[dict[str, float]] = []
    batch_seconds: list[float] = []
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
            holder = sequencer.new_holder()
            sequencer.run_once(rt, holder=holder)  # the seeding's own events
            for index in range(ctx.options.runs):
                seed.queue_events(rt, program.program_id, per_run, first=index * per_run)
                last = time.perf_counter()

                def timed(_batch: object) -> None:
                    nonlocal last
                    now = time.perf_counter()
                    batch_seconds.append(now - last)
                    last = now

                started = time.perf_counter()
                result = sequencer.run_once(
                    rt, holder=holder, batch_size=batch_size, on_batch=timed
                )
                seconds = time.perf_counter() - started
                runs.append(
                    {"events_per_s": round(result.appended / seconds, 1), "seconds": seconds}
                )
                say(f"    run {index + 1}: {result.appended:,} events in {seconds:.2f} s")
            with rt.db.read() as tx:
                queued = int(tx.execute(select(func.count()).select_from(log_queue)).scalar_one())
                head = log_store.latest_checkpoint(tx)
                entries = log_store.entry_count(tx)
        finally:
            rt.db.dispose()
    rates = [r["events_per_s"] for r in runs]
    return BenchResult(
        benchmark="log-sequence",
        database=ctx.database,
        figures={
            "events_per_s": median(rates),
            "batch_p50_ms": round(percentile(batch_seconds, 50) * 1000, 2),
            "batch_p99_ms": round(percentile(batch_seconds, 99) * 1000, 2),
            "log_size": float(entries),
        },
        throughput="events_per_s",
        checks={
            "left_in_queue": queued,
            "checkpoint_behind_entries": entries - (head.tree_size if head else 0),
        },
        params={**params, "events_per_run": per_run},
        runs=runs,
        notes=["in-process run of the sequencer job (quan.jobs.sequencer.run_once)"],
    )


BENCHMARK = Benchmark(
    name="log-sequence",
    summary="the log sequencer appending queued events (events/s)",
    run=run,
    params={"events": 1_000_000, "batch": 10_000},
    quick_params={"events": 3_000, "batch": 1_000},
    requires=("quan.services.transparency.transparency", "quan.jobs.sequencer"),
    http=False,
    storage_ratio=False,  # events appended in batches of thousands: no claim-shaped ceiling
)

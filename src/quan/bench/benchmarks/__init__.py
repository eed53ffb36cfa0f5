"""Every benchmark of the suite, by name (the order is the suite's order)."""

from __future__ import annotations

from quan.bench.benchmarks import (
    claims,
    contribution,
    health,
    jobs,
    log_proof,
    log_sequence,
    redeem,
)
from quan.bench.registry import Benchmark

ALL: dict[str, Benchmark] = {
    b.name: b
    for b in (
        health.BENCHMARK,
        contribution.BENCHMARK,
        claims.CLAIM_FLOOD,
        redeem.BENCHMARK,
        claims.SCALE,
        jobs.GRANT,
        jobs.LOTTERY,
        jobs.SETTLE,
        log_sequence.BENCHMARK,
        log_proof.BENCHMARK,
    )
}

"""Every benchmark of the suite, by name (the order is the suite's order)."""

from __future__ import annotations

from quan.bench.benchmarks.alert_rules import BENCHMARK as ALERT_RULES
from quan.bench.benchmarks.claims import CLAIM_FLOOD, SCALE
from quan.bench.benchmarks.contribution import BENCHMARK as CONTRIBUTION
from quan.bench.benchmarks.failover import BENCHMARK as FAILOVER
from quan.bench.benchmarks.health import BENCHMARK as HEALTH
from quan.bench.benchmarks.jobs import GRANT
from quan.bench.benchmarks.log_proof import BENCHMARK as LOG_PROOF
from quan.bench.benchmarks.log_sequence import BENCHMARK as LOG_SEQUENCE
from quan.bench.benchmarks.lottery_job import LOTTERY
from quan.bench.benchmarks.public_load import BENCHMARK as PUBLIC_LOAD
from quan.bench.benchmarks.redeem import BENCHMARK as REDEEM
from quan.bench.benchmarks.relay import BENCHMARK as RELAY
from quan.bench.benchmarks.reminders import BENCHMARK as REMINDERS
from quan.bench.benchmarks.settle import SETTLE
from quan.bench.registry import Benchmark

ALL: dict[str, Benchmark] = {
    b.name: b
    for b in (
        HEALTH,
        PUBLIC_LOAD,
        CONTRIBUTION,
        CLAIM_FLOOD,
        REDEEM,
        SCALE,
        GRANT,
        LOTTERY,
        SETTLE,
        LOG_SEQUENCE,
        LOG_PROOF,
        RELAY,
        REMINDERS,
        FAILOVER,
        ALERT_RULES,
    )
}

"""Turning repeated loads into a :class:`~quan.bench.contract.BenchResult`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quan.bench.context import BenchContext
from quan.bench.contract import BenchResult
from quan.bench.load import LoadResult, LoadSpec
from quan.bench.server import ServerProcess
from quan.bench.stats import medians


def http_result(
    name: str,
    ctx: BenchContext,
    params: dict[str, Any],
    results: Sequence[LoadResult],
    spec: LoadSpec,
    server: ServerProcess,
    *,
    extra_runs: Sequence[dict[str, float]] | None = None,
) -> BenchResult:
    """Medians over the runs of each figure; ``requests_per_s`` is the throughput."""
    runs = [r.figures() for r in results]
    if extra_runs is not None:
        for run, extra in zip(runs, extra_runs, strict=True):
            run.update(extra)
    return BenchResult(
        benchmark=name,
        database=ctx.database,
        figures=medians(runs),
        throughput="requests_per_s",
        params=params,
        runs=runs,
        load={**ctx.describe_load(spec), "path": f"{spec.method} {spec.path}"},
        server={
            "command": server.spec.label,
            "workers": server.spec.workers,
            "peak_rss_mib": server.memory_report(),
        },
    )

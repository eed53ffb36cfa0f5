"""``claim-flood`` and ``scale``: the flash-sale claim path.

``claim-flood``: a batch of ``vouchers`` (S) and ``citizens`` (N ≫ S) distinct citizens, each
sending one claim. Phase 1 is the flood itself (wrk, each request once, per-request token and
Idempotency-Key): successful claims/s over the time to sell out, p50/p99. Phase 2 loads the
sold-out batch with further distinct citizens for the usual runs: refusals/s, p50/p99. Then the
database is read back: ``oversold`` (vouchers claimed beyond S) and ``duplicate`` (a citizen
holding two vouchers of the batch) must both be 0.

``scale``: p50 claim latency with ``small`` vs ``large`` vouchers already in the database.

Both need the claim code path; they reach it through :class:`ClaimPath`, whose one
implementation (:func:`claim_path`) is to be written against ``quan.services.claims`` and
``quan.api.routes.batches`` when they land. Until then they are reported as pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from quan.bench.context import BenchContext
from quan.bench.contract import BenchResult
from quan.bench.load import LoadResult, RequestItem
from quan.bench.registry import Benchmark, Params, Pending
from quan.bench.stats import median
from quan.services.runtime import Runtime

CLAIMS_MODULES = ("quan.services.claims", "quan.api.routes.batches")


@dataclass(frozen=True)
class FloodSetup:
    """A batch open for claims, and one claim request per distinct citizen."""

    batch_id: str
    quantity: int
    requests: list[RequestItem]  # path, citizen token, idempotency key, JSON body
    late_requests: list[RequestItem]  # more distinct citizens, for the refusal phase


@dataclass(frozen=True)
class FloodOutcome:
    """What the database says after the flood."""

    claimed: int
    oversold: int  # claimed beyond the batch quantity (and any negative remaining stock)
    duplicate: int  # citizens holding more than one voucher of the batch
    first_claim_at: float | None = None  # epoch seconds, for the server-side sell-out time
    last_claim_at: float | None = None


class ClaimPath(Protocol):
    """What the claim benchmarks need from the claim code path."""

    def prepare(self, rt: Runtime, *, vouchers: int, citizens: int, late: int) -> FloodSetup:
        """Seed a funded program, an open batch of ``vouchers`` and ``citizens + late`` citizens
        (bulk SQL), and mint one token per citizen with ``rt.tokens``."""
        ...

    def existing_vouchers(self, rt: Runtime, count: int) -> None:
        """Put ``count`` claimed vouchers in the database (bulk SQL) before ``scale`` measures."""
        ...

    def read_back(self, rt: Runtime, setup: FloodSetup) -> FloodOutcome: ...


SUCCESS = (200, 201)
REFUSED = (409, 410, 422, 429)


def claim_path() -> ClaimPath:
    """The claim path of this code base — to be written when claims land."""
    missing = [m for m in CLAIMS_MODULES if not _exists(m)]
    if missing:
        raise Pending(f"waiting for the claim path ({', '.join(missing)})")
    raise Pending(
        "the claim path exists; quan.bench.benchmarks.claims.claim_path() still has to be "
        "written against it (seed a batch and citizens, read back oversold/duplicate)"
    )


def _exists(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def flood_figures(flood: LoadResult, refusals: list[LoadResult], outcome: FloodOutcome) -> dict[str, float]:
    """Claims/s over the sell-out, refusals/s once sold out, latencies of both phases."""
    succeeded = flood.count(*SUCCESS)
    sellout_s = flood.duration_s
    if outcome.first_claim_at is not None and outcome.last_claim_at is not None:
        sellout_s = max(outcome.last_claim_at - outcome.first_claim_at, 1e-3)
    return {
        "claims_per_s": round(succeeded / sellout_s, 1) if sellout_s > 0 else 0.0,
        "sellout_s": round(sellout_s, 3),
        "flood_p50_ms": flood.latency_ms["p50"],
        "flood_p99_ms": flood.latency_ms["p99"],
        "refusals_per_s": median([r.requests_per_s for r in refusals]),
        "refusal_p50_ms": median([r.latency_ms["p50"] for r in refusals]),
        "refusal_p99_ms": median([r.latency_ms["p99"] for r in refusals]),
        "claimed": float(outcome.claimed),
    }


def run_flood(ctx: BenchContext, params: Params) -> BenchResult:
    path = claim_path()
    with ctx.fresh_database() as db:
        from quan.bench import seed

        rt = seed.runtime(db)
        try:
            setup = path.prepare(
                rt,
                vouchers=int(params["vouchers"]),
                citizens=int(params["citizens"]),
                late=int(params["late_citizens"]),
            )
            with ctx.serve(db) as server:
                flood = ctx.load(
                    ctx.spec(
                        server.spec.base_url,
                        method="POST",
                        feed=setup.requests,
                        once=True,
                        count_statuses=True,
                        headers={"Content-Type": "application/json"},
                        duration_s=float(params["max_seconds"]),
                    )
                )
                per_run = max(1, len(setup.late_requests) // max(1, ctx.options.runs))
                refusals = [
                    ctx.load(
                        ctx.spec(
                            server.spec.base_url,
                            method="POST",
                            feed=setup.late_requests[i * per_run : (i + 1) * per_run],
                            once=True,
                            count_statuses=True,
                            headers={"Content-Type": "application/json"},
                        )
                    )
                    for i in range(ctx.options.runs)
                ]
                server.stop()
            outcome = path.read_back(rt, setup)
        finally:
            rt.db.dispose()
    result = BenchResult(
        benchmark="claim-flood",
        database=ctx.database,
        figures=flood_figures(flood, refusals, outcome),
        throughput="claims_per_s",
        params=params,
        server={"command": server.spec.label, "peak_rss_mib": server.memory_report()},
    )
    result.checks = {
        "oversold": outcome.oversold,
        "duplicate": outcome.duplicate,
        "server_errors": sum(v for k, v in flood.statuses.items() if k >= 500),
        "transport_errors": flood.transport_errors,
    }
    return result


def run_scale(ctx: BenchContext, params: Params) -> BenchResult:
    claim_path()
    raise Pending("scale: written together with claim_path()")


CLAIM_FLOOD = Benchmark(
    name="claim-flood",
    summary="S vouchers, N ≫ S distinct citizens: claims/s, refusals/s, p50/p99, oversold/duplicate",
    run=run_flood,
    params={"vouchers": 50_000, "citizens": 200_000, "late_citizens": 200_000, "max_seconds": 180},
    quick_params={"vouchers": 200, "citizens": 1_000, "late_citizens": 1_000, "max_seconds": 30},
    requires=CLAIMS_MODULES,
)

SCALE = Benchmark(
    name="scale",
    summary="claim p50 latency with 10,000 vs 10,000,000 vouchers already in the database",
    run=run_scale,
    params={"small": 10_000, "large": 10_000_000},
    quick_params={"small": 100, "large": 10_000},
    requires=CLAIMS_MODULES,
)

"""The three ceilings, measured in the same run as the benchmarks they bound.

- ``raw_asgi``: the HTTP ceiling (:func:`quan.bench.ceiling_apps.raw_app`);
- ``fastapi``: the framework ceiling (:data:`quan.bench.ceiling_apps.fastapi_app`);
- ``storage``: the claim's raw database transaction (:mod:`quan.bench.storage`, ``hot-row``),
  with the ``split-16`` and ``batch-100`` shapes alongside as the storage headroom.

The HTTP ceilings run under uvicorn with the worker count ``quan serve`` uses on that database,
loaded like the benchmarks (same generator, threads and connections, a POST of a claim-sized
JSON body).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from quan.bench import databases, storage
from quan.bench.ceiling_apps import CLAIM_PATH, SAMPLE_BODY
from quan.bench.context import BenchContext, say, shorten_log
from quan.bench.server import ServerProcess, ceiling_serve
from quan.bench.stats import median, ratio

RAW_ASGI = "raw_asgi"
FASTAPI = "fastapi"
STORAGE = "storage"
HTTP_CEILINGS = (RAW_ASGI, FASTAPI)


@dataclass
class Ceiling:
    name: str
    label: str
    per_s: float
    unit: str
    runs: list[float] = field(default_factory=list)
    p50_ms: float | None = None
    p99_ms: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ceilings:
    database: str
    workers: int
    measured: dict[str, Ceiling] = field(default_factory=dict)
    storage_shapes: dict[str, Ceiling] = field(default_factory=dict)

    def ratios(self, value: float | None, *, http: bool, storage: bool = True) -> dict[str, float]:
        """``value / ceiling`` for each ceiling that bounds it (HTTP ones for HTTP throughputs,
        storage for anything that writes like a claim)."""
        names = [*(HTTP_CEILINGS if http else ()), *((STORAGE,) if storage else ())]
        out = {}
        for name in names:
            found = self.measured.get(name)
            r = ratio(value, found.per_s if found else None)
            if r is not None:
                out[name] = round(r, 3)
        return out

    def values(self) -> dict[str, float]:
        return {name: round(c.per_s, 1) for name, c in self.measured.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ceilings:
        return cls(
            database=data["database"],
            workers=data["workers"],
            measured={k: Ceiling(**v) for k, v in data.get("measured", {}).items()},
            storage_shapes={k: Ceiling(**v) for k, v in data.get("storage_shapes", {}).items()},
        )


def measure_http(ctx: BenchContext, app: str) -> Ceiling:
    """Requests/s of a ceiling app (median of the runs), as the benchmarks are loaded."""
    log_path = ctx.work_dir / f"ceiling-{app}-{ctx.workers}w.log"
    spec = ceiling_serve(app, ctx.workers, log_path)
    body = json.dumps(SAMPLE_BODY, separators=(",", ":"))
    with ServerProcess(spec) as server:
        results = ctx.repeat(
            lambda: ctx.spec(
                server.spec.base_url,
                method="POST",
                path=CLAIM_PATH,
                body=body,
                headers={"Content-Type": "application/json"},
            )
        )
        bad = [r for r in results if r.errors.get("status", 0) or r.transport_errors]
    if not ctx.options.keep_logs:
        shorten_log(log_path)
    if bad:
        raise RuntimeError(f"ceiling {app} answered errors: {bad[0].errors}")
    label = {"raw": "raw ASGI", "fastapi": "trivial FastAPI"}[app]
    return Ceiling(
        name=RAW_ASGI if app == "raw" else FASTAPI,
        label=f"{label} POST, uvicorn {ctx.workers} worker(s)",
        per_s=median([r.requests_per_s for r in results]),
        unit="req/s",
        runs=[round(r.requests_per_s, 1) for r in results],
        p50_ms=median([r.latency_ms["p50"] for r in results]),
        p99_ms=median([r.latency_ms["p99"] for r in results]),
        detail={"server_peak_rss_mib": server.memory_report()},
    )


def _storage_runs(ctx: BenchContext, bench_db: databases.BenchDatabase, shape: str) -> Ceiling:
    opts = ctx.options
    runs: list[storage.StorageRun] = []
    for _ in range(opts.storage_runs):
        if bench_db.kind == databases.POSTGRES:
            runs.append(
                storage.postgres(
                    databases.libpq_url(bench_db.url),
                    shape,
                    threads=opts.storage_threads,
                    duration_s=opts.storage_duration_s,
                )
            )
        else:
            runs.append(
                storage.sqlite(
                    Path(bench_db.url.removeprefix("sqlite:///")),
                    shape,
                    threads=1,
                    duration_s=opts.storage_duration_s,
                )
            )
    rows, per_tx = storage.SHAPES[shape]
    threads = runs[0].threads
    label = (
        f"{bench_db.kind}: UPDATE stock … WHERE remaining > 0 + INSERT, {per_tx} claim(s)/tx, "
        f"{rows} stock row(s), {threads} connection(s)"
    )
    return Ceiling(
        name=STORAGE if shape == storage.HOT_ROW else f"{STORAGE}:{shape}",
        label=label,
        per_s=median([r.claims_per_s for r in runs]),
        unit="claims/s",
        runs=[round(r.claims_per_s, 1) for r in runs],
        detail={
            "shape": shape,
            "transactions_per_s": round(median([r.transactions_per_s for r in runs]), 1),
        },
    )


def measure(ctx: BenchContext, *, http: bool = True) -> Ceilings:
    """Every ceiling for ``ctx.database`` and its worker count."""
    out = Ceilings(ctx.database, ctx.workers)
    if http:
        for app in ("raw", "fastapi"):
            say(f"  ceiling: {app} ({ctx.workers} worker(s))")
            ceiling = measure_http(ctx, app)
            out.measured[ceiling.name] = ceiling
    with ctx.fresh_database() as bench_db:
        for shape in storage.SHAPES:
            say(f"  ceiling: storage {shape} ({ctx.database})")
            ceiling = _storage_runs(ctx, bench_db, shape)
            out.storage_shapes[shape] = ceiling
            if shape == storage.HOT_ROW:
                out.measured[STORAGE] = ceiling
    for c in out.measured.values():
        say(f"    {c.name}: {c.per_s:,.0f} {c.unit}")
    return out

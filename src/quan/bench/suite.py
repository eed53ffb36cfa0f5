"""Running benchmarks: per database, the ceilings first, then each benchmark, then the targets.

:func:`run` returns a :class:`RunRecord` — machine, options, ceilings, results, verdicts — which
is what the JSON file of the run holds and what ``docs/benchmarks.md`` is written from. A
benchmark that raises :class:`~quan.bench.registry.Pending` is recorded as pending; one that
breaks is recorded as failed with the reason, and the others still run.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quan.bench import ceilings as ceilings_module
from quan.bench import databases, load, machine
from quan.bench.benchmarks import ALL
from quan.bench.ceilings import Ceilings
from quan.bench.context import BenchContext, Options, say
from quan.bench.contract import BenchResult, Status
from quan.bench.registry import Benchmark, Pending
from quan.bench.targets import Verdict, judge_all

DATABASE_ORDER = (databases.POSTGRES, databases.SQLITE)


@dataclass
class RunRecord:
    machine: dict[str, Any]
    options: dict[str, Any]
    generator: dict[str, Any]
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    ceilings: dict[str, Ceilings] = field(default_factory=dict)
    results: list[BenchResult] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    started_at: str = ""
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """No benchmark failed and every check is zero (pending ones do not count against)."""
        return all(r.status is not Status.FAILED and not r.failed_checks for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "options": self.options,
            "generator": self.generator,
            "databases": self.databases,
            "ceilings": {kind: c.to_dict() for kind, c in self.ceilings.items()},
            "results": [r.to_dict() for r in self.results],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 1),
            "ok": self.ok,
        }


def run_one(
    bench: Benchmark, ctx: BenchContext, params: dict[str, Any], ceilings: Ceilings | None
) -> BenchResult:
    """One benchmark on ``ctx.database``, never raising: pending and failures become results."""
    database = ctx.database or None
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    say(f"== {bench.name} ({database or 'no database'})")
    missing = bench.missing()
    if missing:
        result = BenchResult(
            bench.name, database, Status.PENDING, f"waiting for {', '.join(missing)}"
        )
    else:
        try:
            result = bench.run(ctx, params)
        except Pending as exc:
            result = BenchResult(bench.name, database, Status.PENDING, str(exc))
        except Exception as exc:  # one broken benchmark must not sink the suite
            traceback.print_exc()
            result = BenchResult(
                bench.name, database, Status.FAILED, f"{type(exc).__name__}: {exc}"
            )
    result.params = result.params or params
    result.started_at = started_at
    result.elapsed_s = round(time.monotonic() - started, 1)
    if ceilings is not None and result.throughput and result.throughput in result.figures:
        result.ratios = ceilings.ratios(
            result.figures[result.throughput], http=bench.http, storage=bench.storage_ratio
        )
        result.ceilings = ceilings.values()
    if result.status is not Status.OK:
        say(f"   {result.status}: {result.reason}")
    elif result.failed_checks:
        say(f"   CHECKS FAILED: {result.failed_checks}")
    return result


def _skipped(bench: Benchmark, kind: str, reason: str, params: dict[str, Any]) -> BenchResult:
    return BenchResult(bench.name, kind, Status.SKIPPED, reason, params=params)


def run(
    names: Sequence[str],
    kinds: Sequence[str],
    options: Options,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    *,
    with_ceilings: bool = True,
) -> RunRecord:
    """Run ``names`` on each database of ``kinds`` (and the database-less ones once)."""
    started = time.monotonic()
    overrides = overrides or {}
    benches = [ALL[name] for name in names]

    def params_for(bench: Benchmark, kind: str | None) -> dict[str, Any]:
        return bench.resolve(overrides.get(bench.name, {}), quick=options.quick, database=kind)

    for bench in benches:  # refuse an unknown --set before anything runs
        params_for(bench, None)
    generator = load.choose_generator(options.generator)
    record = RunRecord(
        machine=machine.describe(),
        options={k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        generator=load.describe_generator(generator, _default_spec(options)),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    say(f"load generator: {record.generator['tool']} (same host)")
    options.work_dir.mkdir(parents=True, exist_ok=True)
    for kind in [k for k in DATABASE_ORDER if k in kinds]:
        todo = [b for b in benches if kind in b.databases]
        if not todo:
            continue
        ctx = BenchContext(options, kind, generator)
        reason = unavailable(kind, options)
        if reason is not None:
            say(f"== {kind}: {reason}")
            record.results += [_skipped(b, kind, reason, params_for(b, kind)) for b in todo]
            continue
        record.databases[kind] = _database_info(kind, options, ctx.workers)
        measured: Ceilings | None = None
        if with_ceilings and any(not b.missing() for b in todo):
            say(f"== ceilings on {kind}")
            measured = ceilings_module.measure(ctx, http=any(b.http for b in todo))
            record.ceilings[kind] = measured
        for bench in todo:
            record.results.append(run_one(bench, ctx, params_for(bench, kind), measured))
    for bench in [b for b in benches if not b.databases]:
        ctx = BenchContext(options, "", generator)
        record.results.append(run_one(bench, ctx, params_for(bench, None), None))
    # Only the targets of what ran: a single benchmark's record does not list the others.
    record.verdicts = [
        v for v in judge_all(record.results, record.ceilings) if v.target.benchmark in names
    ]
    record.elapsed_s = time.monotonic() - started
    record.machine["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    return record


def _default_spec(options: Options) -> load.LoadSpec:
    return load.LoadSpec(
        "http://127.0.0.1", connections=options.connections, threads=options.threads
    )


def unavailable(kind: str, options: Options) -> str | None:
    if kind != databases.POSTGRES:
        return None
    url = options.postgres_url or databases.postgres_admin_url()
    if not databases.postgres_reachable(url):
        return f"PostgreSQL not reachable at {_safe(url)} (set QUAN_BENCH_POSTGRES_URL)"
    return None


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _database_info(kind: str, options: Options, workers: int) -> dict[str, Any]:
    info: dict[str, Any] = {"workers": workers}
    if kind == databases.POSTGRES:
        url = options.postgres_url or databases.postgres_admin_url()
        info["url"] = _safe(url)
        try:
            info["settings"] = databases.postgres_info(url)
        except Exception as exc:  # informative only
            info["settings"] = {"error": str(exc)}
    else:
        import sqlite3

        info["settings"] = {
            "sqlite_version": sqlite3.sqlite_version,
            "pragmas": "WAL, synchronous=FULL",
        }
    return info


def load_record(path: Path) -> RunRecord:
    """A saved run, with its ratios and verdicts worked out again from its own ceilings (so a
    report can be rendered again from the figures of that run, never from new ones)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    record = RunRecord(
        machine=data["machine"],
        options=data["options"],
        generator=data["generator"],
        databases=data.get("databases", {}),
        ceilings={k: Ceilings.from_dict(v) for k, v in data.get("ceilings", {}).items()},
        results=[BenchResult.from_dict(r) for r in data.get("results", [])],
        started_at=data.get("started_at", ""),
        elapsed_s=float(data.get("elapsed_s", 0.0)),
    )
    for result in record.results:
        bench = ALL.get(result.benchmark)
        ceilings = record.ceilings.get(result.database or "")
        if result.carried_from is not None:
            continue  # its ratios are its own run's
        if bench is None or ceilings is None or result.throughput not in result.figures:
            continue
        assert result.throughput is not None
        result.ratios = ceilings.ratios(
            result.figures[result.throughput], http=bench.http, storage=bench.storage_ratio
        )
    names = {r.benchmark for r in record.results}
    record.verdicts = [
        v for v in judge_all(record.results, record.ceilings) if v.target.benchmark in names
    ]
    return record


def carry_over(record: RunRecord, earlier: RunRecord, name: str) -> None:
    """Add to ``record`` the results of ``earlier`` (the run saved as ``name``) for the
    benchmarks and databases ``record`` did not run, marked with where they come from: a run of
    a few benchmarks then still reports every figure, each with its own run's ceilings."""
    ran = {(r.benchmark, r.database) for r in record.results}
    commit = (earlier.machine.get("git", {}).get("commit") or "nogit")[:8]
    origin = f"{name} ({earlier.started_at[:16]}, commit {commit})"
    for result in earlier.results:
        if (result.benchmark, result.database) not in ran and result.status is Status.OK:
            result.carried_from = result.carried_from or origin
            own = earlier.ceilings.get(result.database or "")
            if not result.ceilings and own is not None:
                result.ceilings = own.values()  # what its verdicts are judged against
            record.results.append(result)
    names = {r.benchmark for r in record.results}
    record.verdicts = [
        v for v in judge_all(record.results, record.ceilings) if v.target.benchmark in names
    ]


def write_outputs(record: RunRecord, results_dir: Path | None, report: Path | None) -> Path | None:
    """The run's JSON file (and the Markdown report); returns the JSON file's path."""
    path = None
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        commit = (record.machine.get("git", {}).get("commit") or "nogit")[:8]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = results_dir / f"{stamp}-{commit}.json"
        path.write_text(json.dumps(record.to_dict(), ensure_ascii=False, indent=1) + "\n", "utf-8")
    if report is not None:
        from quan.bench.report import render

        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render(record, json_path=path), encoding="utf-8")
    return path

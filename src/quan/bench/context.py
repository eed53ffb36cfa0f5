"""What every benchmark is handed: the options of the run, the database kind, the helpers to get
a fresh database, a server on it, and repeated loads against it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from quan.bench import databases, load
from quan.bench.databases import BenchDatabase
from quan.bench.load import LoadResult, LoadSpec
from quan.bench.server import ServerProcess, quan_serve

WORKERS = {databases.POSTGRES: 2, databases.SQLITE: 1}
"""Worker processes per database, as ``quan serve`` chooses them by default."""


@dataclass(frozen=True)
class Options:
    """How long and how hard to load; ``quick`` shrinks everything for the harness's own test."""

    runs: int = 5
    duration_s: float = 4.0
    warmup_s: float = 1.0
    connections: int = 64
    threads: int = 2
    generator: str = "auto"
    storage_threads: int = 16
    storage_duration_s: float = 3.0
    storage_runs: int = 3
    quick: bool = False
    postgres_url: str | None = None
    work_dir: Path = Path("var/bench/work")
    keep_logs: bool = False

    def quick_version(self) -> Options:
        return replace(
            self,
            runs=1,
            duration_s=1.0,
            warmup_s=0.0,
            connections=16,
            storage_duration_s=0.5,
            storage_runs=1,
            storage_threads=4,
            quick=True,
        )


def say(message: str) -> None:
    """Progress goes to stderr: stdout is kept for the result's JSON line."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class BenchContext:
    """``database`` is ``postgresql``, ``sqlite``, or ``""`` for a benchmark that uses none."""

    options: Options
    database: str
    generator: str

    @property
    def workers(self) -> int:
        """``quan serve``'s worker count on this database (0 for a benchmark without one)."""
        return WORKERS.get(self.database, 0)

    @property
    def work_dir(self) -> Path:
        return self.options.work_dir

    @contextmanager
    def fresh_database(self) -> Iterator[BenchDatabase]:
        """A new migrated database (PostgreSQL: a database; SQLite: a file), dropped after."""
        db = databases.create(self.database, self.work_dir, admin_url=self.options.postgres_url)
        try:
            yield db
        finally:
            db.drop()

    @contextmanager
    def serve(self, db: BenchDatabase, **env: str) -> Iterator[ServerProcess]:
        """``quan serve`` on ``db`` with the production worker count, stopped after the block."""
        # Migrate again first: a migration that landed after the database was made (the tree
        # can change during a long run) would make ``quan serve`` refuse to start.
        databases.migrate(db)
        spec = quan_serve(db.server_env(**env), self.workers, db.var_dir / "server.log")
        with ServerProcess(spec) as server:
            yield server
        if not self.options.keep_logs:
            shorten_log(spec.log_path)

    def load(self, spec: LoadSpec) -> LoadResult:
        return load.run_load(spec, self.generator, self.work_dir)

    def spec(self, base_url: str, **fields: object) -> LoadSpec:
        """A LoadSpec with this run's duration, connections and threads unless given."""
        values: dict[str, object] = {
            "duration_s": self.options.duration_s,
            "connections": self.options.connections,
            "threads": self.options.threads,
        }
        values.update(fields)
        return LoadSpec(base_url, **values)  # type: ignore[arg-type]

    def repeat(self, make: Callable[[], LoadSpec]) -> list[LoadResult]:
        """A warm-up load (discarded), then ``runs`` measured loads; a fresh spec for each."""
        if self.options.warmup_s > 0:
            warm = make()
            self.load(replace(warm, duration_s=self.options.warmup_s))
        results = []
        for index in range(self.options.runs):
            result = self.load(make())
            say(
                f"    run {index + 1}/{self.options.runs}: {result.requests_per_s:,.0f} req/s, "
                f"p50 {result.latency_ms['p50']:.1f} ms, p99 {result.latency_ms['p99']:.1f} ms"
            )
            results.append(result)
        return results

    def describe_load(self, spec: LoadSpec) -> dict[str, object]:
        return load.describe_generator(self.generator, spec)


def shorten_log(path: Path, keep: int = 60) -> None:
    """Keep the head and tail of a server log: access lines of millions of requests say nothing."""
    try:
        if path.stat().st_size < 1 << 20:
            return
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return
    cut = len(lines) - 2 * keep
    text = [*lines[:keep], f"... {cut} lines cut by the benchmark harness ...", *lines[-keep:]]
    path.write_text("\n".join(text) + "\n")

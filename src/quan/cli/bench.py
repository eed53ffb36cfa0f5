"""``quan bench``: the benchmark suite from the command line.

``quan bench list`` names the benchmarks and their parameters; ``quan bench NAME`` runs one
(with the ceilings, on PostgreSQL and SQLite unless ``--db`` says otherwise);
``quan bench ceilings`` only measures the ceilings; ``quan bench suite`` runs everything and
writes ``docs/benchmarks.md`` and ``bench/results/<time>-<commit>.json`` (``make bench``).
Progress goes to stderr; the last line on stdout is always the run's JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from quan.bench.context import Options
    from quan.bench.suite import RunRecord

app = typer.Typer(
    help="Benchmarks against this machine's ceilings.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

KEPT_RESULTS = Path("bench/results")
KEPT_REPORT = Path("docs/benchmarks.md")
SCRATCH = Path("var/bench")

Db = Annotated[str, typer.Option("--db", help="postgresql | sqlite | all")]
Quick = Annotated[bool, typer.Option("--quick", help="Tiny sizes and 1 short run (harness test)")]
Runs = Annotated[int | None, typer.Option(min=1, help="Measured runs per figure (median)")]
Duration = Annotated[float | None, typer.Option(min=0.5, help="Seconds per run")]
Connections = Annotated[int | None, typer.Option(min=1, help="Concurrent connections")]
Generator = Annotated[str, typer.Option(help="auto | wrk | httpx")]
Sets = Annotated[
    list[str] | None, typer.Option("--set", help="Parameter override NAME=VALUE (repeatable)")
]
Json = Annotated[bool, typer.Option("--json", help="Only the JSON line on stdout")]
OutDir = Annotated[Path | None, typer.Option("--out", help="Folder for the run's JSON file")]
Report = Annotated[Path | None, typer.Option(help="Write the Markdown report here")]
NoCeilings = Annotated[
    bool, typer.Option("--no-ceilings", help="Skip the ceilings (no ratios; faster)")
]


def _interruptible() -> None:
    """Ctrl-C and SIGTERM unwind the run, so its servers stop and its databases are dropped.

    A background job's shell starts it with SIGINT ignored, and SIGTERM would end the process
    without running any cleanup; both become KeyboardInterrupt here.
    """
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _kinds(db: str) -> list[str]:
    from quan.bench.databases import POSTGRES, SQLITE

    choice = {"postgres": POSTGRES, "pg": POSTGRES}.get(db, db)
    if choice == "all":
        return [POSTGRES, SQLITE]
    if choice not in (POSTGRES, SQLITE):
        raise typer.BadParameter(f"unknown database {db!r}: postgresql, sqlite or all")
    return [choice]


def _options(
    quick: bool, runs: int | None, duration: float | None, connections: int | None, generator: str
) -> Options:
    from dataclasses import replace

    from quan.bench.context import Options

    options = Options(generator=generator, work_dir=SCRATCH / "work")
    if quick:
        options = options.quick_version()
    changes: dict[str, object] = {}
    if runs is not None:
        changes["runs"] = runs
    if duration is not None:
        changes["duration_s"] = duration
    if connections is not None:
        changes["connections"] = connections
    return replace(options, **changes)  # type: ignore[arg-type]


def _parse_sets(values: list[str] | None) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for value in values or []:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"--set takes NAME=VALUE, got {value!r}")
        parsed[name.strip()] = text.strip()
    return parsed


def _finish(
    record: RunRecord, *, as_json: bool, results_dir: Path | None, report: Path | None
) -> None:
    from quan.bench.contract import json_line
    from quan.bench.suite import write_outputs

    path = write_outputs(record, results_dir, report)
    if not as_json:
        _summary(record)
        if path is not None:
            out.print(f"run saved to {path}", highlight=False)
        if report is not None:
            out.print(f"report written to {report}", highlight=False)
    # The contract: the last line on stdout is the run as one JSON object.
    print(json_line(record.to_dict()), flush=True)
    if not record.ok:
        raise typer.Exit(1)


def _summary(record: RunRecord) -> None:
    table = Table(title="Quan benchmarks")
    for column in ("benchmark", "database", "status", "throughput", "ratios", "checks"):
        table.add_column(column, overflow="fold")
    for kind, ceilings in record.ceilings.items():
        for c in ceilings.measured.values():
            table.add_row(f"ceiling {c.name}", kind, "ok", f"{c.per_s:,.0f} {c.unit}", "", "")
    for r in record.results:
        figure = (
            f"{r.figures[r.throughput]:,.1f} {r.throughput}" if r.throughput in r.figures else ""
        )
        ratios = ", ".join(f"{k} {v:.3f}" for k, v in r.ratios.items())
        checks = ", ".join(f"{k}={v}" for k, v in r.checks.items())
        table.add_row(r.benchmark, r.database or "–", r.status.value, figure, ratios, checks)
    out.print(table)


@app.command("list")
def list_benchmarks() -> None:
    """The benchmarks, their parameters (defaults; --quick sizes) and whether their path exists."""
    from quan.bench.benchmarks import ALL

    table = Table(title="quan bench NAME")
    for column in ("name", "what", "parameters", "state"):
        table.add_column(column, overflow="fold")
    for bench in ALL.values():
        params = ", ".join(
            f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in bench.params.items()
        )
        missing = bench.missing()
        table.add_row(
            bench.name,
            bench.summary,
            params,
            f"waits for {', '.join(missing)}" if missing else "ready",
        )
    out.print(table)


@app.command()
def suite(
    db: Db = "all",
    only: Annotated[str | None, typer.Option(help="Comma-separated benchmark names")] = None,
    quick: Quick = False,
    runs: Runs = None,
    duration: Duration = None,
    connections: Connections = None,
    generator: Generator = "auto",
    sets: Sets = None,
    as_json: Json = False,
    out_dir: OutDir = None,
    report: Report = None,
    no_ceilings: NoCeilings = False,
) -> None:
    """Run every benchmark (or --only some) and write the report and the run's JSON file.

    Defaults: bench/results/ and docs/benchmarks.md; with --quick, var/bench/ (not kept).
    --set takes BENCHMARK.NAME=VALUE here.
    """
    from quan.bench import suite as suite_module
    from quan.bench.benchmarks import ALL

    _interruptible()
    names = [n.strip() for n in only.split(",")] if only else list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise typer.BadParameter(f"unknown benchmark(s): {', '.join(unknown)}")
    overrides: dict[str, dict[str, str]] = {}
    for key, value in _parse_sets(sets).items():
        bench, _, name = key.partition(".")
        overrides.setdefault(bench, {})[name] = value
    options = _options(quick, runs, duration, connections, generator)
    record = suite_module.run(names, _kinds(db), options, overrides, with_ceilings=not no_ceilings)
    _finish(
        record,
        as_json=as_json,
        results_dir=out_dir or (SCRATCH / "results" if quick else KEPT_RESULTS),
        report=report or (SCRATCH / "benchmarks.md" if quick else KEPT_REPORT),
    )


@app.command()
def ceilings(
    db: Db = "all",
    quick: Quick = False,
    runs: Runs = None,
    duration: Duration = None,
    connections: Connections = None,
    generator: Generator = "auto",
    as_json: Json = False,
    out_dir: OutDir = None,
) -> None:
    """Measure only the three ceilings (raw ASGI, FastAPI, storage) on each database."""
    from quan.bench import ceilings as ceilings_module
    from quan.bench import load, machine
    from quan.bench.context import BenchContext
    from quan.bench.suite import RunRecord, unavailable

    _interruptible()
    options = _options(quick, runs, duration, connections, generator)
    options.work_dir.mkdir(parents=True, exist_ok=True)
    chosen = load.choose_generator(options.generator)
    record = RunRecord(
        machine=machine.describe(),
        options={"runs": options.runs, "duration_s": options.duration_s, "quick": options.quick},
        generator=load.describe_generator(
            chosen,
            load.LoadSpec(
                "http://127.0.0.1", connections=options.connections, threads=options.threads
            ),
        ),
    )
    for kind in _kinds(db):
        reason = unavailable(kind, options)
        if reason is not None:
            err.print(f"{kind}: {reason}")
            continue
        record.ceilings[kind] = ceilings_module.measure(BenchContext(options, kind, chosen))
    _finish(record, as_json=as_json, results_dir=out_dir or SCRATCH / "results", report=None)


@app.command()
def report(
    run_file: Annotated[
        Path, typer.Argument(help="A saved run: bench/results/<time>-<commit>.json")
    ],
    output: Annotated[Path, typer.Option("--output", help="Where to write")] = KEPT_REPORT,
    carry_over: Annotated[
        Path | None,
        typer.Option(
            "--carry-over",
            help="An earlier saved run whose results fill in the benchmarks this run did not "
            "run (marked, with that run's own ceilings); the merged run is saved next to it",
        ),
    ] = None,
) -> None:
    """Render the Markdown report again from a saved run (its own figures and ceilings)."""
    from quan.bench import suite
    from quan.bench.report import render

    record = suite.load_record(run_file)
    source = run_file
    if carry_over is not None:
        suite.carry_over(record, suite.load_record(carry_over), carry_over.name)
        source = run_file.with_name(run_file.stem + "-merged.json")
        source.write_text(json.dumps(record.to_dict(), ensure_ascii=False, indent=1) + "\n")
        out.print(f"merged run saved to {source}", highlight=False)
    output.write_text(render(record, json_path=source), encoding="utf-8")
    out.print(f"report written to {output}", highlight=False)


def _benchmark_command(name: str) -> Callable[..., None]:
    def command(
        db: Db = "all",
        quick: Quick = False,
        runs: Runs = None,
        duration: Duration = None,
        connections: Connections = None,
        generator: Generator = "auto",
        sets: Sets = None,
        as_json: Json = False,
        out_dir: OutDir = None,
        report: Report = None,
        no_ceilings: NoCeilings = False,
    ) -> None:
        from quan.bench import suite as suite_module

        _interruptible()
        options = _options(quick, runs, duration, connections, generator)
        try:
            overrides = {name: _parse_sets(sets)}
            record = suite_module.run(
                [name], _kinds(db), options, overrides, with_ceilings=not no_ceilings
            )
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        _finish(record, as_json=as_json, results_dir=out_dir or SCRATCH / "results", report=report)

    return command


def _register() -> None:
    from quan.bench.benchmarks import ALL

    for name, bench in ALL.items():
        app.command(name=name, help=f"{bench.summary}.")(_benchmark_command(name))


_register()

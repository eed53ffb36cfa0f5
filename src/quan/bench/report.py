"""``docs/benchmarks.md``, written from a :class:`~quan.bench.suite.RunRecord` (never by hand)."""

from __future__ import annotations

import math
from pathlib import Path

from quan.bench.ceilings import FASTAPI, RAW_ASGI, STORAGE, Ceiling
from quan.bench.contract import BenchResult, Status
from quan.bench.suite import RunRecord
from quan.bench.targets import HIT, MISS, TARGETS

RATIO_COLUMNS = ((RAW_ASGI, "× raw ASGI"), (FASTAPI, "× FastAPI"), (STORAGE, "× storage"))


def _cell(text: str, limit: int = 300) -> str:
    """Text on one Markdown line: lines joined with " / ", pipes escaped, cut at ``limit``."""
    joined = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(joined) > limit:
        joined = joined[: limit - 1] + "…"
    return joined.replace("|", "\\|")


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if digits == 0 and abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{max(digits, 1) if abs(value) < 100 else digits}f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _machine(record: RunRecord) -> list[str]:
    m = record.machine
    git = m.get("git", {})
    commit = (git.get("commit") or "unknown")[:12] + (
        " (uncommitted changes)" if git.get("dirty") else ""
    )
    libs = ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items() if v)
    lines = [
        "## Machine and run",
        "",
        "| | |",
        "|---|---|",
        f"| date | {m.get('date')} |",
        f"| commit | `{commit}` |",
        f"| CPU | {m.get('cpu')} ({m.get('logical_cpus')} logical,"
        f" {m.get('usable_cpus')} usable) |",
        f"| memory | {m.get('memory_gib')} GiB |",
        f"| OS | {m.get('os')}, kernel {m.get('kernel')}, Python {m.get('python')} |",
        f"| libraries | {libs} |",
    ]
    if "load_average" in m:
        lines.append(
            f"| load average (1/5/15 min) | at start {m['load_average']}, at end"
            f" {m.get('load_average_at_end', '?')} (other work on this shared machine) |"
        )
    for kind, info in record.databases.items():
        settings = ", ".join(f"{k}={v}" for k, v in info.get("settings", {}).items())
        lines.append(
            f"| {kind} | {settings}; server: `quan serve --workers {info.get('workers')}` |"
        )
    g = record.generator
    o = record.options
    lines += [
        f"| load generator | {g.get('tool')}, {g.get('threads')} thread(s), {g.get('connections')}"
        " connections, **on the same machine** as the server |",
        f"| runs | {o.get('runs')} × {o.get('duration_s')} s per figure after a"
        f" {o.get('warmup_s')} s"
        " warm-up; figures are medians over the runs"
        + (
            " — **quick mode: sizes and runs shrunk, figures not comparable**"
            if o.get("quick")
            else ""
        )
        + " |",
        f"| total time | {record.elapsed_s / 60:.1f} min |",
        "",
    ]
    return lines


def _ceiling_row(kind: str, c: Ceiling) -> str:
    runs = ", ".join(_num(r) for r in c.runs)
    return (
        f"| {kind} | {c.name} | {c.label} | **{_num(c.per_s)}** {c.unit} | {_ms(c.p50_ms)} | "
        f"{_ms(c.p99_ms)} | {runs} |"
    )


def _ceilings(record: RunRecord) -> list[str]:
    lines = [
        "## Ceilings (same run, same server software and worker count)",
        "",
        "| database | ceiling | what | median | p50 ms | p99 ms | runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, ceilings in record.ceilings.items():
        for c in ceilings.measured.values():
            lines.append(_ceiling_row(kind, c))
        for shape, c in ceilings.storage_shapes.items():
            if f"{STORAGE}" != c.name:
                lines.append(
                    _ceiling_row(kind, c).replace(
                        f"| {c.name} |", f"| storage headroom ({shape}) |"
                    )
                )
    lines += [
        "",
        "The HTTP ceilings are a raw ASGI app that parses the claim-sized JSON body and answers"
        " JSON,"
        " and a trivial FastAPI POST with a pydantic body, both under uvicorn with `quan serve`'s"
        " options (access log on) and worker count. The storage ceiling is the claim's own database"
        " work without the application: `UPDATE stock … WHERE remaining > 0` + `INSERT`, one"
        " transaction per claim on one stock row; the headroom rows spread the stock over 16 rows"
        " or commit 100 claims per transaction.",
        "",
    ]
    return lines


def _main_figures(result: BenchResult) -> str:
    f = result.figures
    parts = []
    if result.throughput and result.throughput in f:
        parts.append(
            f"**{_num(f[result.throughput])}** {result.throughput.replace('_per_s', '/s')}"
        )
    for name in (
        "p50_ms",
        "p99_ms",
        "flood_p99_ms",
        "refusals_per_s",
        "server_p50_ms",
        "server_p99_ms",
        "draw_s",
        "seconds",
        "p50_ratio",
    ):
        if name in f:
            parts.append(f"{name} {_num(f[name], 3) if name.endswith('ms') else _num(f[name], 2)}")
    return ", ".join(parts) or "–"


def _sizes(result: BenchResult) -> str:
    return (
        ", ".join(
            f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in result.params.items()
        )
        or "–"
    )


def _memory(result: BenchResult) -> str:
    peak = result.server.get("peak_rss_mib") or {}
    return ", ".join(f"{k} {v:.0f}" for k, v in peak.items()) or "–"


def _results(record: RunRecord) -> list[str]:
    lines = [
        "## Results",
        "",
        "| benchmark | database | status | sizes | figures (medians) | "
        + " | ".join(label for _, label in RATIO_COLUMNS)
        + " | checks (must be 0) | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in record.results:
        ratios = " | ".join(
            _num(r.ratios.get(name), 3) if name in r.ratios else "–" for name, _ in RATIO_COLUMNS
        )
        checks = ", ".join(f"{k}={v}" for k, v in r.checks.items()) or "–"
        if r.failed_checks:
            checks = "**FAILED** " + checks
        status = r.status.value if r.status is Status.OK else f"**{r.status.value}**"
        lines.append(
            f"| {r.benchmark}{' ↩' if r.carried_from else ''} | {r.database or '–'} | {status} "
            f"| {_sizes(r)} | {_main_figures(r)} "
            f"| {ratios} | "
            f"{checks} | {_memory(r)} |"
        )
    lines.append("")
    carried = [
        f"carried over from `{r.carried_from}`: not rerun in this run; its ratios and verdicts"
        " are against that run's ceilings"
        for r in record.results
        if r.carried_from
    ]
    notes = [
        (r, n)
        for r in record.results
        for n in [*r.notes, *([carried.pop(0)] if r.carried_from else [])]
    ]
    if notes:
        lines += [f"- {r.benchmark} ({r.database or 'no database'}): {_cell(n)}" for r, n in notes]
        lines.append("")
    return lines


def _targets(record: RunRecord) -> list[str]:
    lines = [
        "## Targets (PostgreSQL, this machine, same run)",
        "",
        "| target | measured | needed | verdict | |",
        "|---|---|---|---|---|",
    ]
    for v in record.verdicts:
        verdict = {HIT: "✅ hit", MISS: "❌ miss"}.get(v.verdict, f"… {v.verdict}")
        lines.append(
            f"| {v.target.text} | {_num(v.measured, 2)} | {_num(v.needed, 2)} | {verdict} "
            f"| {_cell(v.detail)} |"
        )
    ran = {r.benchmark for r in record.results}
    for target in TARGETS:
        if target.benchmark not in ran:
            lines.append(f"| {target.text} | – | – | … not run | not in this run (`--only`) |")
    lines.append("")
    missed = [v for v in record.verdicts if v.verdict == MISS and v.target.bound]
    if missed:
        lines += ["### What bounds the misses", ""]
        lines += [f"- **{v.target.text}**: {v.target.bound}" for v in missed]
        lines.append("")
    return lines


def _pending(record: RunRecord) -> list[str]:
    waiting = [
        r for r in record.results if r.status in (Status.PENDING, Status.SKIPPED, Status.FAILED)
    ]
    if not waiting:
        return []
    lines = ["## Not measured in this run", ""]
    seen: set[tuple[str, str]] = set()
    for r in waiting:
        key = (r.benchmark, r.reason or "")
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"- **{r.benchmark}** ({r.status.value}): {_cell(r.reason or '')}")
    lines.append("")
    return lines


def _busy(record: RunRecord) -> str | None:
    """A warning when other work loaded the machine: figures and ceilings then swing by run."""
    cpus = record.machine.get("logical_cpus") or 1
    loads = [record.machine.get("load_average"), record.machine.get("load_average_at_end")]
    worst = max((max(x) for x in loads if x), default=0.0)
    if worst <= 1.5 * cpus:
        return None
    return (
        f"> **The machine was busy during this run** (load average up to {worst:.0f} on {cpus}"
        " CPUs, from other work on this shared machine): ceilings and figures were measured"
        " under contention and swing from run to run; compare ratios, and rerun `make bench`"
        " on a quiet machine before reading absolute figures."
    )


def render(record: RunRecord, *, json_path: Path | None = None) -> str:
    source = f" Raw figures: `{json_path.as_posix()}`." if json_path is not None else ""
    lines: list[str] = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`quan bench suite`): do not edit by hand. Every figure comes from"
        " one run on the machine below, with the server started as production runs it (its own"
        " processes, `quan serve`), loaded over loopback from the same machine, and set against the"
        " ceilings measured in the same run. Absolute figures belong to this machine; the ratios"
        " are what carries over." + source,
        "",
    ]
    busy = _busy(record)
    if busy:
        lines += [busy, ""]
    lines += _machine(record)
    lines += _ceilings(record)
    lines += _targets(record)
    lines += _results(record)
    lines += _pending(record)
    lines += [
        "## How to run",
        "",
        "```sh",
        "make bench                                  # the suite: this page + bench/results/*.json",
        "quan bench list                             # benchmarks and their parameters",
        "quan bench health --db sqlite --json        # one benchmark; the last line is its JSON",
        "quan bench claim-flood --set vouchers=10000 --set citizens=40000",
        "quan bench suite --quick                    # a fast pass (var/bench/), as the test does",
        "quan bench report bench/results/RUN.json    # render this page again from a saved run",
        "quan bench report NEW.json --carry-over OLD.json  # a partial run, the rest carried over",
        "```",
        "",
    ]
    return "\n".join(lines)

"""``quan worker`` (run every scheduled job) and ``quan jobs status`` (what each did last).

``worker`` is registered at the top level, ``jobs status`` in the ``jobs`` group of
:mod:`quan.cli.issuance` (next to ``jobs recycle``).
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from quan.cli.issuance import _runtime, jobs_app
from quan.config import ConfigError

app = typer.Typer(add_completion=False)
out = Console()


@app.command("worker")
def worker(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only these jobs (repeatable); default: every job"),
    ] = None,
) -> None:
    """Run every scheduled job (outbox relay, log sequencer, recycling, outbox purge) until
    Ctrl-C or SIGTERM. Start as many workers as you like, on any hosts: each exclusive job runs
    in one of them at a time (its database lease), the relay in all of them."""
    from quan.jobs.registry import default_jobs
    from quan.jobs.worker import run_worker
    from quan.store.migrate import current_revision, head_revision

    rt = _runtime()
    if current_revision(rt.db) != head_revision():
        Console(stderr=True).print(
            "[red]the database schema is not current:[/red] run `quan db upgrade` first"
        )
        raise typer.Exit(2)
    try:  # a provider set up wrong stops the worker now, not at every relay run
        from quan.services.delivery.providers import from_settings

        from_settings(rt.settings)
    except ConfigError as exc:
        Console(stderr=True).print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    jobs = default_jobs()
    if only:
        unknown = set(only) - {job.name for job in jobs}
        if unknown:
            raise typer.BadParameter(f"unknown jobs: {', '.join(sorted(unknown))}")
        jobs = [job for job in jobs if job.name in only]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    out.print(f"Quan worker: {', '.join(job.name for job in jobs)} ({rt.db.dialect})")
    run_worker(rt, stop, jobs=jobs)
    out.print("Quan worker stopped")


@jobs_app.command("status")
def status() -> None:
    """Each job's last and next run, lag and failures (as GET /api/v1/jobs shows them)."""
    from quan.jobs.registry import statuses

    rt = _runtime()
    with rt.db.read() as tx:
        rows = statuses(tx, rt.clock.now())
    table = Table("job", "every", "last run", "next run", "lag", "runs", "failures", "last error")
    for s in rows:
        table.add_row(
            s.name,
            f"{s.interval_seconds:g} s",
            s.last_finished_at.isoformat(timespec="seconds") if s.last_finished_at else "never",
            s.next_run_at.isoformat(timespec="seconds") if s.next_run_at else "now",
            f"{s.lag_seconds:.0f} s",
            str(s.runs),
            f"{s.failures} ({s.consecutive_failures} in a row)",
            s.last_error or "",
        )
    out.print(table)

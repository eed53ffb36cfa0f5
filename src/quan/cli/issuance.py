"""``quan jobs recycle`` (return unclaimed and expired money) and ``quan batches show ID``.

Registered in :mod:`quan.cli` as one unnamed sub-app, so both groups appear at the top level.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from quan.config import ConfigError, load_settings
from quan.domain.errors import QuanError
from quan.services.runtime import Runtime

app = typer.Typer(add_completion=False)
jobs_app = typer.Typer(help="Scheduled work, run once or continuously.", no_args_is_help=True)
batches_app = typer.Typer(help="Issuance rounds (batches).", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(batches_app, name="batches")

out = Console()
err = Console(stderr=True)


def _runtime() -> Runtime:
    try:
        return Runtime.build(load_settings())
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


@jobs_app.command("recycle")
def recycle(
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep running, every --interval seconds")
    ] = False,
    interval: Annotated[float, typer.Option(min=1.0, help="Seconds between runs")] = 60.0,
) -> None:
    """Return the money of unclaimed vouchers (batches whose window is over, or closed) and of
    vouchers expired unused to the available budget. Safe to run again at any time."""
    from quan.jobs.recycling import run_once
    from quan.jobs.sequencer import new_holder

    rt = _runtime()
    holder = new_holder()
    while True:
        run = run_once(rt, holder=holder)
        if not run.ran:
            out.print("another worker holds the recycling lease; nothing done")
        else:
            out.print(
                f"recycled {len(run.recycled)} batches "
                f"({sum(r.count for r in run.recycled)} unclaimed vouchers), "
                f"expired {sum(r.count for r in run.expired)} vouchers; "
                f"{run.returned_fen} fen returned to available budgets",
                highlight=False,
            )
        if not follow:
            return
        time.sleep(interval)


@batches_app.command("show")
def show(batch_id: Annotated[str, typer.Argument(help="Batch id (bat_…)")]) -> None:
    """A batch's rules, in words, and what remains in each pool."""
    from quan.domain.eligibility import render
    from quan.services.issuance.batches import get_batch, remaining_by_pool

    rt = _runtime()
    try:
        with rt.db.read() as tx:
            batch = get_batch(tx, batch_id)
            remaining = remaining_by_pool(tx, batch_id)
    except QuanError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message('en')}")
        raise typer.Exit(1) from exc
    r = batch.rules
    table = Table(title=f"batch {batch.id} ({batch.status.value})", show_header=False)
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")  # ids and dates whole, never cut
    rows = [
        ("allocation", r.allocation.value),
        ("quantity", f"{r.quantity} × {batch.unit_fen} fen"),
        ("per citizen", str(r.per_citizen_limit)),
        ("claim window", f"{r.claim_opens_at.isoformat()} – {r.claim_closes_at.isoformat()}"),
        ("eligibility", render(batch.eligibility, "zh")),
        ("", render(batch.eligibility, "en")),
    ]
    rows += [
        (f"reserved: {q.group.value}", f"{q.quantity}, released {q.release_at.isoformat()}")
        for q in r.quotas
    ]
    rows += [(f"remaining: {pool}", str(n)) for pool, n in sorted(remaining.items())]
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)

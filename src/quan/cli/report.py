"""``quan report fairness --program ID [--batch ID] [--json]``: the fairness report (R1.6).

Registered in :mod:`quan.cli` as ``quan report``. Reads only; the same figures as
``GET /api/v1/programs/{id}/fairness`` and ``/batches/{id}/fairness`` (see docs/fairness.md).
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from quan.config import ConfigError, load_settings
from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.services.issuance import fairness
from quan.services.runtime import Runtime

app = typer.Typer(help="Reports.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def _runtime() -> Runtime:
    try:
        return Runtime.build(load_settings())
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


@app.command("fairness")
def fairness_report(
    program: Annotated[str, typer.Option("--program", help="Program id")],
    batch: Annotated[
        str | None, typer.Option("--batch", help="One batch of the program only")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Eligible population, vouchers, wins and redemptions by priority group and by region
    against population share; Gini of vouchers across regions; under-served flags."""
    rt = _runtime()
    actor = Actor(kind="system", id=f"cli:{getpass.getuser()}", role="system")
    try:
        with rt.db.read() as tx:
            now = rt.clock.now()
            if batch is None:
                report = fairness.program_report(tx, now, actor, program)
            else:
                report = fairness.batch_report(tx, now, actor, batch)
                if report.program_id != program:
                    err.print(f"[red]batch {batch} is not in program {program}[/red]")
                    raise typer.Exit(1)
    except QuanError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message('en')}")
        raise typer.Exit(1) from exc
    data = report.to_json()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print(data)


def _print(data: dict[str, Any]) -> None:
    scope = f"{data['scope']} " + (
        data["batch_ids"][0] if data["scope"] == "batch" else data["program_id"]
    )
    out.print(
        f"fairness of {scope} on {data['local_date']}: eligible {data['eligible_population']}, "
        f"vouchers {data['vouchers']} (claims {data['claims']}, wins {data['wins']}), "
        f"redeemed {data['redemptions']}, Gini across regions {data['gini_regions']:.3f}"
    )
    groups = Table(title="priority groups")
    for column in (
        "group",
        "population",
        "pop. share",
        "vouchers",
        "voucher share",
        "wins",
        "redeemed",
        "flag",
    ):
        groups.add_column(column, overflow="fold")
    for g in data["groups"]:
        groups.add_row(
            g["group"],
            str(g["population"]),
            _pct(g["population_share"]),
            str(g["vouchers"]),
            _pct(g["voucher_share"]),
            str(g["wins"]),
            str(g["redemptions"]),
            "[red]under-served[/red]" if g["under_served"] else "",
        )
    out.print(groups)
    regions = Table(title="regions")
    for column in (
        "region",
        "population",
        "pop. share",
        "vouchers",
        "voucher share",
        "per 1000",
        "redeemed",
        "flag",
    ):
        regions.add_column(column, overflow="fold")
    for r in data["regions"]:
        regions.add_row(
            r["region_code"],
            str(r["population"]),
            _pct(r["population_share"]),
            str(r["vouchers"]),
            _pct(r["voucher_share"]),
            f"{r['vouchers_per_1000']:.1f}",
            str(r["redemptions"]),
            "[red]under-served[/red]" if r["under_served"] else "",
        )
    out.print(regions)
    ratio = data["under_served_ratio"]
    out.print(f"under-served: voucher share below {ratio} × population share")

"""``quan citizens import FILE`` (an eligibility list, with progress) and ``quan citizens imports``.

The import runs on the server with the service's own limits (64 MiB), not the API's body limit,
so this is the way to load a city's full list. The person at the terminal is recorded as the
importer (``cli:<login name>``). Reports name rows, fields and codes, never a value from the file.
"""

from __future__ import annotations

import getpass
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from quan.config import ConfigError, load_settings
from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.services.runtime import Runtime

citizens_app = typer.Typer(help="Citizens and eligibility lists.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)

SHOWN_ROWS = 20  # rows listed on screen; --report FILE keeps the whole report


def _runtime() -> Runtime:
    try:
        return Runtime.build(load_settings())
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _operator() -> Actor:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        login = "unknown"
    return Actor(kind="cli", id=login, role="system")


@citizens_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Apply a file that was already imported once")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and classify every row; write nothing")
    ] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write the full report (JSON) to this file")
    ] = None,
) -> None:
    """Import an eligibility list (CSV, UTF-8): every row validated, valid rows applied at once."""
    from quan.services.people.citizen_import import MAX_FILE_BYTES, import_citizens
    from quan.services.people.citizens import CitizenKeys

    if file.stat().st_size > MAX_FILE_BYTES:
        err.print(f"[red]IMPORT_TOO_LARGE[/red]: at most {MAX_FILE_BYTES} bytes; split the file")
        raise typer.Exit(1)
    rt = _runtime()
    keys = CitizenKeys.from_settings(rt.settings)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    started = time.perf_counter()
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as progress:
        tasks = {
            "validate": progress.add_task("validating", total=None),
            "write": progress.add_task("writing", total=None, visible=False),
        }

        def advance(phase: str, done: int, total: int) -> None:
            progress.update(tasks[phase], completed=done, total=total, visible=True)

        try:
            result = import_citizens(
                rt.db,
                rt.clock,
                keys,
                _operator(),
                data=file.read_bytes(),
                file_name=file.name,
                confirm=confirm,
                dry_run=dry_run,
                progress=advance,
            )
        except QuanError as exc:
            err.print(f"[red]{exc.code}[/red]: {exc.message('en')} / {exc.message('zh')}")
            raise typer.Exit(1) from exc
    elapsed = time.perf_counter() - started
    if report is not None:
        body = {**asdict(result), "truncated": result.truncated}
        report.write_text(json.dumps(body, default=str, ensure_ascii=False, indent=2))
    _print_summary(result.rows_total, result.created, result.duplicates, result.errors, elapsed)
    if result.import_id:
        out.print(f"import {result.import_id} (sha256 {result.file_sha256[:16]}…)")
    else:
        out.print("dry run: nothing written")
    if result.error_rows:
        table = Table(title="rows refused")
        for column in ("row", "field", "code", "reason"):
            table.add_column(column, overflow="fold")
        for row in result.error_rows[:SHOWN_ROWS]:
            table.add_row(str(row.row), row.field, row.code, row.reason or "")
        out.print(table)
        if result.errors > SHOWN_ROWS:
            out.print(f"… {result.errors - SHOWN_ROWS} more (use --report FILE)")


def _print_summary(total: int, created: int, duplicates: int, errors: int, elapsed: float) -> None:
    rate = total / elapsed if elapsed > 0 else float(total)
    out.print(
        f"{total} rows: {created} created, {duplicates} duplicates, {errors} refused "
        f"in {elapsed:.1f} s ({rate:,.0f} rows/s)",
        highlight=False,
    )


@citizens_app.command("imports")
def list_imports(limit: Annotated[int, typer.Option(min=1, max=200)] = 20) -> None:
    """The most recent imports: the version history of the eligibility lists."""
    from sqlalchemy import select

    from quan.store.citizen_tables import citizen_imports

    rt = _runtime()
    with rt.db.read() as tx:
        rows = tx.execute(
            select(citizen_imports).order_by(citizen_imports.c.id.desc()).limit(limit)
        ).all()
    table = Table(title="citizen imports")
    for column in ("id", "when", "by", "file", "rows", "created", "dup", "refused", "repeat of"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r.id,
            r.created_at.isoformat(timespec="seconds"),
            r.created_by,
            r.file_name,
            str(r.rows_total),
            str(r.created_count),
            str(r.duplicate_count),
            str(r.error_count),
            r.repeat_of or "",
        )
    out.print(table)

"""``quan backup create|restore`` and ``quan keys …``: operating Quan safely over time.

Registered in :mod:`quan.cli` as one unnamed sub-app, so both groups appear at the top level.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from quan.config import Settings
    from quan.store.db import Database

app = typer.Typer(add_completion=False)
backup_app = typer.Typer(help="Back up and restore the whole database.", no_args_is_help=True)
app.add_typer(backup_app, name="backup")

out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    from quan.config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _database() -> Database:
    from quan.store.db import Database

    return Database(_settings().resolved_database_url, pool_size=1)


@backup_app.command("create")
def backup_create(
    path: Annotated[Path, typer.Argument(help="The backup file to write (must not exist yet)")],
) -> None:
    """A consistent copy of the whole database, taken while the server keeps writing."""
    from quan.services.operations import backup

    db = _database()
    try:
        info = backup.create(db, path)
    except backup.BackupError as exc:
        err.print(f"[red]backup failed:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    out.print(f"backed up the {info.dialect} database to {info.path} ({info.size_bytes} bytes)")


@backup_app.command("restore")
def backup_restore(
    path: Annotated[Path, typer.Argument(help="A file written by `quan backup create`")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace the database without asking (scripts)")
    ] = False,
) -> None:
    """Replace the whole database with a backup. Stop the servers and the sequencer first."""
    from quan.services.operations import backup

    db = _database()
    if not yes:
        typer.confirm(f"Replace every row of the {db.dialect} database with {path}?", abort=True)
    try:
        backup.restore(db, path)
    except backup.BackupError as exc:
        err.print(f"[red]restore failed:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    out.print(
        f"restored {path}; now run `quan db upgrade`, `quan ledger check` and "
        "`quan audit verify --state …` before serving"
    )

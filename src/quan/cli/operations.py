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

    settings = _settings()
    return Database(
        settings.resolved_database_url, pool_size=1, server_prepare=settings.db_server_prepare
    )


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


keys_app = typer.Typer(
    help="Rotate the personal-data and log signing keys (docs/operations.md).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@keys_app.command("status")
def keys_status() -> None:
    """Each encrypted column: rows holding a value, and rows still sealed under a retired key."""
    from quan.services.operations import pii_rotation

    settings = _settings()
    db = _database()
    try:
        columns = pii_rotation.status(db, settings)
    finally:
        db.dispose()
    for column in columns:
        out.print(f"{column.name}: {column.total} sealed, {column.stale} under a retired key")
    stale = sum(c.stale for c in columns)
    done = "all personal data is sealed under the current key"
    out.print(done if not stale else f"{stale} to re-encrypt: run `quan keys reencrypt`")


@keys_app.command("reencrypt")
def keys_reencrypt(
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction")] = 500,
    max_batches: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many batches (run again to resume)")
    ] = None,
) -> None:
    """Re-seal personal data under the current key (QUAN_PII_SEALING_KEY), batch by batch."""
    from quan.services.operations import pii_rotation

    settings = _settings()
    db = _database()

    def show(column: pii_rotation.ColumnProgress) -> None:
        out.print(f"{column.name}: {column.reencrypted}/{column.stale} re-encrypted")

    try:
        report = pii_rotation.reencrypt(
            db, settings, batch_size=batch_size, max_batches=max_batches, progress=show
        )
    finally:
        db.dispose()
    unreadable = [(c.name, key) for c in report for key in c.unreadable]
    for name, key in unreadable:
        err.print(f"[red]{name} of {key}: no configured key opens it[/red]")
    left = sum(c.stale - c.reencrypted for c in report) - len(unreadable)
    out.print(f"re-encrypted {sum(c.reencrypted for c in report)}; {max(left, 0)} left to do")
    if unreadable:
        raise typer.Exit(1)


@keys_app.command("rotate-log")
def keys_rotate_log(
    new_key_file: Annotated[
        Path,
        typer.Option(
            help="File holding the new key (base64 of 32 bytes); created (mode 0600) if missing"
        ),
    ],
) -> None:
    """Endorse a new log signing key with the current one (QUAN_LOG_SIGNING_KEY).

    From then on the sequencer refuses the current key: set QUAN_LOG_SIGNING_KEY to the new key
    and restart the servers and the sequencer (events queue meanwhile; nothing is lost).
    """
    import base64
    import os
    import secrets

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from quan.clock import SystemClock
    from quan.config import ConfigError
    from quan.services.operations import log_keys

    settings = _settings()
    if not new_key_file.exists():
        fd = os.open(new_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    try:
        seed = base64.b64decode(new_key_file.read_text().strip(), validate=True)
        new_key = Ed25519PrivateKey.from_private_bytes(seed)
    except ValueError as exc:
        err.print(f"[red]{new_key_file} does not hold a base64 Ed25519 seed of 32 bytes[/red]")
        raise typer.Exit(2) from exc
    db = _database()
    try:
        with db.write() as tx:
            verifier_key = log_keys.rotate(tx, SystemClock().now(), settings, new_key)
    except ConfigError as exc:
        err.print(f"[red]cannot rotate:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    out.print(f"endorsed the new log key {verifier_key}", soft_wrap=True)
    out.print(
        f"now set QUAN_LOG_SIGNING_KEY to the contents of {new_key_file} and restart the "
        "servers and the sequencer; the log signs nothing until then",
        soft_wrap=True,
    )

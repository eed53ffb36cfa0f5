"""Whole-database backups that can be taken while the server writes, and their restore.

- SQLite: the online backup API (:meth:`sqlite3.Connection.backup`) copies every page inside one
  read transaction, so the copy is the database as of one commit even while writers go on (WAL
  mode lets them). The copy is an ordinary SQLite file; restoring copies it back page by page.
- PostgreSQL: ``pg_dump --format=custom`` dumps in one ``REPEATABLE READ`` snapshot (consistent
  while the server writes); ``pg_restore --clean --if-exists --single-transaction`` replaces the
  objects in the target database, all or nothing. pg_dump refuses a newer server than itself, so
  the installed client tools must be at least the server's major version (checked first, with a
  clear message).

Restoring replaces the whole database: stop the servers and the sequencer first.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from quan.store.db import Database


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    dialect: str
    size_bytes: int


def create(db: Database, target: Path) -> BackupInfo:
    """Write a consistent backup of ``db`` to ``target`` (a new file; never overwritten)."""
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name for the backup")
    target.parent.mkdir(parents=True, exist_ok=True)
    if db.dialect == "sqlite":
        _sqlite_copy(_sqlite_path(db), target)
        _sqlite_check(target)
    else:
        _pg_check_tools(db, "pg_dump")
        schema = _schema(db)
        command = [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={target}",
            *([f"--schema={schema}"] if schema else []),
        ]
        _pg_run(db, command, "pg_dump")
    return BackupInfo(path=target, dialect=db.dialect, size_bytes=target.stat().st_size)


def restore(db: Database, source: Path) -> None:
    """Replace the contents of ``db`` with the backup ``source`` (all or nothing)."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    db.dispose()  # no pooled connection may keep the old database open
    if db.dialect == "sqlite":
        _sqlite_check(source)
        _sqlite_copy(source, _sqlite_path(db))
    else:
        _pg_check_tools(db, "pg_restore")
        command = [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={db.engine.url.database}",
            str(source),
        ]
        _pg_run(db, command, "pg_restore")
    db.dispose()


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_path(db: Database) -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(name)


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=15)
    dst = sqlite3.connect(target, timeout=15)
    try:
        # pages=-1: everything in one step, so one read transaction (one snapshot) covers it.
        src.backup(dst, pages=-1)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup from {source} to {target} failed: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _sqlite_check(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database of Quan's (before it replaces one)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (verdict,) = conn.execute("PRAGMA integrity_check").fetchone()
            has_schema = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not an SQLite database: {exc}") from exc
    if verdict != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {verdict}")
    if has_schema is None:
        raise BackupError(f"{path} holds no Quan schema (no alembic_version table)")


# --- PostgreSQL ----------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools of the server's "
            "major version (Debian: apt-get install postgresql-client)"
        )
    return found


def _major(version: str) -> int:
    """``pg_dump (PostgreSQL) 15.20 (Debian …)`` → 15; ``15.20 (Debian …)`` → 15."""
    match = re.search(r"(?:^|\s)(\d+)(?:\.\d+)?", version)
    if match is None:
        raise BackupError(f"cannot read a version from {version!r}")
    return int(match.group(1))


def _pg_check_tools(db: Database, name: str) -> None:
    """The client tool must be at least the server's major version (pg_dump refuses otherwise)."""
    output = subprocess.run(  # noqa: S603 - a fixed tool path and argument
        [_tool(name), "--version"], capture_output=True, text=True, check=False
    ).stdout
    with db.engine.connect() as conn:
        server = str(conn.execute(text("SHOW server_version")).scalar_one())
    if _major(output) < _major(server):
        raise BackupError(
            f"{name} is version {output.strip()}, older than the server ({server}); install "
            "the client tools of the server's major version"
        )


def _schema(db: Database) -> str | None:
    """The schema Quan's tables live in when it is not ``public`` (then only it is dumped)."""
    if db.schema:
        return db.schema
    with db.engine.connect() as conn:
        current = conn.execute(text("SELECT current_schema()")).scalar_one_or_none()
    return None if current in (None, "public") else str(current)


def _pg_run(db: Database, command: list[str], name: str) -> None:
    """Run a libpq tool against ``db``: connection by PG* variables, so no password in ``ps``."""
    url = db.engine.url
    env = dict(os.environ)
    env.update(
        {
            "PGHOST": url.host or "",
            "PGPORT": str(url.port or 5432),
            "PGUSER": url.username or "",
            "PGDATABASE": url.database or "",
        }
    )
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if db.schema:
        env["PGOPTIONS"] = f"-csearch_path={db.schema}"
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

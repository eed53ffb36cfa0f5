"""A fresh, migrated database for each benchmark, and the settings a server under test runs with.

PostgreSQL: a database of its own (``quan_bench_<time>_<random>``) created through the admin
URL and dropped afterwards, so a benchmark never meets another one's rows (or the tests'). SQLite:
a new file in the run's folder. Either way the schema comes from the real migrations.

The server runs with ``QUAN_ENV=production`` (as deployed: no development routes, no in-process
sequencer) and fresh random secrets that the harness also holds, so it can mint the bearer
tokens its load generator presents.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString

from sqlalchemy.engine import make_url

from quan.config import SECRET_NAMES, Settings
from quan.store.db import Database
from quan.store.migrate import upgrade

POSTGRES = "postgresql"
SQLITE = "sqlite"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    """Where to create benchmark databases: QUAN_BENCH_POSTGRES_URL, the tests' URL, or local."""
    return (
        os.environ.get("QUAN_BENCH_POSTGRES_URL")
        or os.environ.get("QUAN_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES_ADMIN_URL
    )


def postgres_reachable(url: str, timeout: float = 1.0) -> bool:
    parsed = make_url(url)
    host = parsed.host or "127.0.0.1"
    if host.startswith("/"):
        return True  # a Unix socket path: let the connection attempt tell
    try:
        with socket.create_connection((host, parsed.port or 5432), timeout=timeout):
            return True
    except OSError:
        return False


def _secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class BenchDatabase:
    """One benchmark's database: its URL for the server, and the settings the server gets."""

    kind: str
    url: str
    name: str
    var_dir: Path
    admin_url: str | None = None
    secrets: dict[str, str] = field(default_factory=lambda: {n: _secret() for n in SECRET_NAMES})

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "production",
            "var_dir": self.var_dir,
            "database_url": self.url,
            **self.secrets,
            **overrides,
        }
        return Settings(**values)

    def server_env(self, **extra: str) -> dict[str, str]:
        """QUAN_* variables of the server process (the harness's own settings stay out)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUAN_")}
        env.update(
            {
                "QUAN_ENV": "production",
                "QUAN_VAR_DIR": str(self.var_dir),
                "QUAN_DATABASE_URL": self.url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update({f"QUAN_{name.upper()}": value for name, value in self.secrets.items()})
        env.update(extra)
        return env

    def open(self, pool_size: int = 10) -> Database:
        return Database(self.url, pool_size=pool_size)

    def drop(self) -> None:
        if self.kind == SQLITE:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)
            return
        assert self.admin_url is not None
        _admin_execute(self.admin_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)


def libpq_url(url: str) -> str:
    """A libpq URL (psycopg's own) from a SQLAlchemy one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_execute(admin_url: str, template: LiteralString, name: str) -> None:
    import psycopg
    from psycopg import sql

    # CREATE/DROP DATABASE cannot run inside a transaction block.
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL(template).format(sql.Identifier(name)))


def create(kind: str, run_dir: Path, *, admin_url: str | None = None) -> BenchDatabase:
    """A new empty database of ``kind``, migrated to head."""
    name = f"quan_bench_{time.strftime('%Y%m%d%H%M%S')}_{secrets.token_hex(3)}"
    var_dir = run_dir / name
    var_dir.mkdir(parents=True, exist_ok=True)
    if kind == SQLITE:
        bench = BenchDatabase(
            SQLITE, f"sqlite:///{(var_dir / 'quan.db').as_posix()}", name, var_dir
        )
    elif kind == POSTGRES:
        admin_url = admin_url or postgres_admin_url()
        _admin_execute(admin_url, "CREATE DATABASE {}", name)
        url = make_url(admin_url).set(drivername="postgresql", database=name)
        bench = BenchDatabase(
            POSTGRES, url.render_as_string(hide_password=False), name, var_dir, admin_url
        )
    else:
        raise ValueError(f"unknown database kind {kind!r}")
    migrate(bench)
    return bench


def migrate(bench: BenchDatabase) -> None:
    """Bring the database to the migrations' head (nothing to do when it is there)."""
    db = bench.open(pool_size=1)
    try:
        upgrade(db)
    finally:
        db.dispose()


def postgres_info(admin_url: str) -> dict[str, str]:
    """Server settings that decide commit cost, recorded next to the figures."""
    import psycopg
    from psycopg import sql

    names = ("server_version", "synchronous_commit", "fsync", "shared_buffers", "max_connections")
    out: dict[str, str] = {}
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        for name in names:
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            out[name] = str(row[0]) if row else "?"
    return out

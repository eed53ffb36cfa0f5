"""A PostgreSQL primary with a synchronous streaming standby, made by a test on this machine.

Two clusters of the installed PostgreSQL (``initdb`` under a temporary folder, the standby cloned
with ``pg_basebackup -R``), on loopback ports of their own, so that the shared test server on
5432 is never touched. The primary has ``synchronous_standby_names`` set to the standby, so a
commit returns only once the standby has the WAL on disk: an acknowledged claim is on two
servers. The standby's own configuration leaves synchronous replication off, so that once
promoted it accepts writes without waiting for a standby it does not have yet (the documented
trade-off: after a failover, until a new standby attaches, commits are on one server).

Run as root (CI), each command runs as the ``postgres`` user; otherwise as the current user.
Used by ``quan bench failover`` and ``tests/integration/test_failover_drill.py``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    data: Path
    port: int

    @property
    def pidfile(self) -> Path:
        return self.data / "postmaster.pid"

    def pid(self) -> int:
        return int(self.pidfile.read_text().split("\n", 1)[0])


class Pair:
    """``primary`` and ``standby``; :meth:`url` is the multi-host URL a node connects with."""

    def __init__(self, root: Path) -> None:
        found = binaries()
        if found is None:
            raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
        self.bin = found
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = Server("primary", root / "primary", free_port())
        self.standby = Server("standby", root / "standby", free_port())

    def _run(self, *args: str) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        # PostgreSQL's own tools with arguments this module builds; no shell.
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def _conf(self, server: Server, lines: str) -> None:
        with (server.data / "postgresql.conf").open("a", encoding="utf-8") as f:
            f.write(lines)

    def start(self, server: Server) -> None:
        self._run("pg_ctl", "-D", str(server.data), "-l", str(self.root / f"{server.name}.log"),
                  "-w", "-t", "60", "start")  # fmt: skip

    def create(self) -> Pair:
        p = self.primary
        self._run("initdb", "-D", str(p.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        common = (
            f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
            "fsync = on\nsynchronous_commit = on\nshared_buffers = 32MB\nmax_connections = 60\n"
        )
        self._conf(
            p,
            f"port = {p.port}\n{common}wal_level = replica\nmax_wal_senders = 4\n"
            "synchronous_standby_names = 'standby'\n",
        )
        with (p.data / "pg_hba.conf").open("a", encoding="utf-8") as f:
            f.write("host replication all 127.0.0.1/32 trust\n")
        self.start(p)
        s = self.standby
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(p.port), "-U", "postgres",
                  "-D", str(s.data), "-X", "stream", "-R")  # fmt: skip
        self._conf(s, f"port = {s.port}\nsynchronous_standby_names = ''\n")
        auto = s.data / "postgresql.auto.conf"
        text = auto.read_text(encoding="utf-8")
        auto.write_text(
            text.replace("primary_conninfo = '", "primary_conninfo = 'application_name=standby "),
            encoding="utf-8",
        )
        self.start(s)
        self.wait_sync()
        return self

    def query(
        self, server: Server, sql: str, database: str = "postgres"
    ) -> list[tuple[object, ...]]:
        dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname={database} connect_timeout=5"
        with psycopg.connect(dsn, autocommit=True) as conn:
            cursor = conn.execute(sql.encode())
            return list(cursor.fetchall()) if cursor.description else []

    def wait_sync(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = self.query(self.primary, "SELECT sync_state FROM pg_stat_replication")
            if state == [("sync",)]:
                return
            time.sleep(0.1)
        raise RuntimeError("the standby did not become synchronous")

    def url(self, database: str) -> str:
        """Both servers; libpq takes the first that accepts writes (``read-write``)."""
        return (
            f"postgresql://postgres@/{database}?host=127.0.0.1:{self.primary.port}"
            f"&host=127.0.0.1:{self.standby.port}&target_session_attrs=read-write"
            "&connect_timeout=2"
        )

    def kill_primary(self) -> None:
        """The host is lost: SIGKILL to the postmaster (its backends die with it)."""
        os.kill(self.primary.pid(), 9)

    def promote_standby(self) -> None:
        self._run("pg_ctl", "-D", str(self.standby.data), "-w", "-t", "60", "promote")

    def stop(self) -> None:
        for server in (self.standby, self.primary):
            if server.pidfile.exists():
                with contextlib.suppress(RuntimeError):
                    self._run("pg_ctl", "-D", str(server.data), "-m", "immediate", "stop")

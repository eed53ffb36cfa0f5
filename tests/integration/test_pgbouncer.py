"""Quan through PgBouncer in transaction mode (Debian's pgbouncer 1.18, which cannot carry
prepared statements between transactions): with ``QUAN_DB_SERVER_PREPARE=false`` migrations,
claims racing from many threads and the ledger check work through a pool of four server
connections; with psycopg's server-side prepared statements on, the same race breaks, which is
why the setting exists (docs/operations.md)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from quan.api.app import create_app
from quan.clock import FixedClock
from quan.domain.errors import QuanError
from quan.services.issuance import claims
from quan.services.issuance.claim_cache import ClaimCache
from quan.services.runtime import Runtime
from quan.store.db import Database
from quan.store.migrate import upgrade
from tests.conftest import POSTGRES_URL, REQUIRE_SERVICES, START, World, make_settings, need_service
from tests.integration.issuance_fixtures import assert_ledger_ok, open_fcfs_batch, register_many

pytestmark = pytest.mark.postgres

THREADS = 12
VOUCHERS = 60
CITIZENS = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def bouncer() -> Iterator[str]:
    """A fresh database behind PgBouncer (transaction pooling, 4 server connections); its URL."""
    admin_url = need_service("postgres", POSTGRES_URL)
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        message = "pgbouncer is not installed (.ci/run installs Debian's package)"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (QUAN_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    name = f"quan_bouncer_{secrets.token_hex(4)}"
    admin = Database(admin_url, pool_size=1)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    target = make_url(admin_url)
    folder = Path(tempfile.mkdtemp(prefix="quan-pgbouncer-"))
    port = _free_port()
    (folder / "users.txt").write_text(f'"{target.username or "postgres"}" ""\n', encoding="utf-8")
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
quan = host={target.host or "127.0.0.1"} port={target.port or 5432} dbname={name}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
""",
        encoding="utf-8",
    )
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        shutil.chown(folder, "postgres")
        for child in folder.iterdir():
            shutil.chown(child, "postgres")
        command = [binary, "-u", "postgres", str(folder / "pgbouncer.ini")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.05)
        yield f"postgresql://{target.username or 'postgres'}@127.0.0.1:{port}/quan"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _race(db: Database, batch_id: str, citizens: list[str]) -> tuple[int, int, list[str]]:
    """Every citizen claims twice with one key (the replay runs the same statements again):
    vouchers given, SOLD_OUT refusals, and any database error's text."""
    clock = FixedClock(START + timedelta(minutes=1))
    cache = ClaimCache()
    lock = threading.Lock()
    given: set[str] = set()
    refusals: list[str] = []
    errors: list[str] = []

    def run(mine: list[str]) -> None:
        for citizen in mine:
            for _ in range(2):
                try:
                    outcome = claims.claim_first_come(
                        db, clock, citizen, batch_id, key=f"k-{batch_id}-{citizen}", cache=cache
                    )
                except QuanError as exc:
                    with lock:
                        refusals.append(exc.code)
                    break
                except DBAPIError as exc:
                    with lock:
                        errors.append(str(exc.orig))
                    break
                with lock:
                    given.add(outcome.voucher.id)

    threads = [threading.Thread(target=run, args=(citizens[i::THREADS],)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(refusals) <= {"SOLD_OUT"}, refusals
    return len(given), len(refusals), errors


def _world(url: str, tmp_path: Path, *, server_prepare: bool) -> tuple[Runtime, Database]:
    db = Database(url, pool_size=THREADS, server_prepare=server_prepare)
    settings = make_settings(tmp_path, url, db_server_prepare=server_prepare)
    return Runtime.build(settings, clock=FixedClock(START), db=db), db


def test_through_pgbouncer_in_transaction_mode_claims_race_correctly_without_server_prepare(
    bouncer: str, tmp_path: Path
) -> None:
    """And the control, on a second batch: with psycopg's server-side prepared statements on,
    the same race breaks (a statement prepared on one server connection is run on another:
    "prepared statement … does not exist"), which is what ``QUAN_DB_SERVER_PREPARE=false``
    prevents."""
    runtime, db = _world(bouncer, tmp_path, server_prepare=False)
    upgrade(db)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        world = World(runtime, client)
        _, batch_id = open_fcfs_batch(world, quantity=VOUCHERS)
        _, control_batch = open_fcfs_batch(world, quantity=VOUCHERS)
        citizens = register_many(world, CITIZENS)
        given, sold_out, errors = _race(db, batch_id, citizens)
        assert errors == []
        assert given == VOUCHERS
        assert sold_out == CITIZENS - VOUCHERS
        assert_ledger_ok(world)
    db.dispose()

    _, prepared = _world(bouncer, tmp_path, server_prepare=True)
    _, _, errors = _race(prepared, control_batch, citizens)
    prepared.dispose()
    assert any("prepared statement" in e for e in errors), errors[:3]

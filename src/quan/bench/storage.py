"""The storage ceiling: the claim's database work with no application around it.

One claim is ``UPDATE stock SET remaining = remaining - 1 WHERE id = ? AND remaining > 0`` then
``INSERT`` of the voucher row, committed (durably: the server's own commit settings). Three
shapes are measured, because they bound three designs of the claim path:

- ``hot-row``: one transaction per claim on a single stock row — the straightforward design and
  the figure called *the storage ceiling*;
- ``split-16``: the stock spread over 16 rows, a random one per claim (no hot row);
- ``batch-100``: 100 claims per transaction (micro-batched commits): one conditional UPDATE
  takes 100 from a random one of 16 rows, then the 100 voucher rows go in; reported per claim,
  it is the headroom a batching design can reach.

PostgreSQL runs N threads, each with its own psycopg connection, in a schema of its own inside
the benchmark's database. SQLite runs the same statements through ``sqlite3`` with the
application's pragmas (WAL, synchronous=FULL); it has one writer at a time, so its figure is one
connection writing back to back (more threads only add lock waits).
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quan.store.db import SQLITE_PRAGMAS

HOT_ROW = "hot-row"
SPLIT_16 = "split-16"
BATCH_100 = "batch-100"
SHAPES = {HOT_ROW: (1, 1), SPLIT_16: (16, 1), BATCH_100: (16, 100)}
"""shape → (stock rows, claims per transaction)."""

_STOCK = 10**12  # never runs out within a run: the ceiling is about the write, not sell-out

# Literal statements (no formatting): psycopg takes them as they are, nothing is interpolated.
_PG_SETUP = (
    "DROP SCHEMA IF EXISTS bench_ceiling CASCADE",
    "CREATE SCHEMA bench_ceiling",
    "CREATE TABLE bench_ceiling.stock (id int PRIMARY KEY, remaining bigint NOT NULL)",
    "CREATE TABLE bench_ceiling.voucher (id bigserial PRIMARY KEY, stock_id int NOT NULL,"
    " citizen text NOT NULL UNIQUE, claimed_at timestamptz NOT NULL DEFAULT now())",
)
_PG_STOCK = "INSERT INTO bench_ceiling.stock VALUES (%s, %s)"
_PG_TAKE = (
    "UPDATE bench_ceiling.stock SET remaining = remaining - 1"
    " WHERE id = %s AND remaining > 0 RETURNING remaining"
)
_PG_TAKE_MANY = (
    "UPDATE bench_ceiling.stock SET remaining = remaining - %s"
    " WHERE id = %s AND remaining >= %s RETURNING remaining"
)
_PG_INSERT = "INSERT INTO bench_ceiling.voucher (stock_id, citizen) VALUES (%s, %s)"
_PG_DROP = "DROP SCHEMA bench_ceiling CASCADE"

_SQLITE_SETUP = (
    "DROP TABLE IF EXISTS bench_voucher",
    "DROP TABLE IF EXISTS bench_stock",
    "CREATE TABLE bench_stock (id INTEGER PRIMARY KEY, remaining INTEGER NOT NULL)",
    "CREATE TABLE bench_voucher (id INTEGER PRIMARY KEY, stock_id INTEGER NOT NULL,"
    " citizen TEXT NOT NULL UNIQUE, claimed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
)
_SQLITE_TAKE = (
    "UPDATE bench_stock SET remaining = remaining - 1 WHERE id = ? AND remaining > 0"
    " RETURNING remaining"
)
_SQLITE_TAKE_MANY = (
    "UPDATE bench_stock SET remaining = remaining - ? WHERE id = ? AND remaining >= ?"
    " RETURNING remaining"
)
_SQLITE_INSERT = "INSERT INTO bench_voucher (stock_id, citizen) VALUES (?, ?)"


@dataclass(frozen=True, slots=True)
class StorageRun:
    shape: str
    threads: int
    claims: int
    transactions: int
    seconds: float

    @property
    def claims_per_s(self) -> float:
        return self.claims / self.seconds if self.seconds > 0 else 0.0

    @property
    def transactions_per_s(self) -> float:
        return self.transactions / self.seconds if self.seconds > 0 else 0.0


def _drive(
    threads: int, duration_s: float, work: Callable[[int, threading.Event], tuple[int, int]]
) -> tuple[int, int, float]:
    """``work(thread_index, stop)`` in ``threads`` threads released together, for ``duration_s``."""
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()
    totals: list[tuple[int, int]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def body(index: int) -> None:
        barrier.wait()
        try:
            done = work(index, stop)
        except Exception as exc:  # re-raised in the caller's thread below
            stop.set()
            with lock:
                failures.append(exc)
            return
        with lock:
            totals.append(done)

    pool = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    stop.wait(duration_s)
    stop.set()
    for thread in pool:
        thread.join(timeout=duration_s + 30)
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return sum(c for c, _ in totals), sum(t for _, t in totals), seconds


def postgres(url: str, shape: str, *, threads: int = 16, duration_s: float = 3.0) -> StorageRun:
    """Claims/s of ``shape`` on PostgreSQL at ``url`` (a libpq URL; the schema is recreated)."""
    import psycopg

    rows, per_tx = SHAPES[shape]
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in _PG_SETUP:
            conn.execute(statement)
        with conn.cursor() as cur:
            cur.executemany(_PG_STOCK, [(i, _STOCK) for i in range(rows)])

    def work(index: int, stop: threading.Event) -> tuple[int, int]:
        rng = random.Random(index)  # noqa: S311 - spreads load, not a secret
        claims = transactions = 0
        with psycopg.connect(url) as conn:
            while not stop.is_set():
                stock_id = rng.randrange(rows)
                with conn.transaction(), conn.cursor() as cur:
                    if per_tx == 1:
                        cur.execute(_PG_TAKE, (stock_id,))
                    else:
                        cur.execute(_PG_TAKE_MANY, (per_tx, stock_id, per_tx))
                    if cur.fetchone() is not None:
                        citizens = [(stock_id, f"t{index}-{claims + i}") for i in range(per_tx)]
                        cur.executemany(_PG_INSERT, citizens)
                        claims += per_tx
                transactions += 1
        return claims, transactions

    claims, transactions, seconds = _drive(threads, duration_s, work)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_PG_DROP)
    return StorageRun(shape, threads, claims, transactions, seconds)


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


def sqlite(path: Path, shape: str, *, threads: int = 1, duration_s: float = 3.0) -> StorageRun:
    """Claims/s of ``shape`` in the SQLite file at ``path`` (its bench tables are recreated)."""
    rows, per_tx = SHAPES[shape]
    setup = _sqlite_connect(path)
    try:
        for statement in _SQLITE_SETUP:
            setup.execute(statement)
        setup.executemany(
            "INSERT INTO bench_stock VALUES (?, ?)", [(i, _STOCK) for i in range(rows)]
        )
    finally:
        setup.close()

    def work(index: int, stop: threading.Event) -> tuple[int, int]:
        rng = random.Random(index)  # noqa: S311 - spreads load, not a secret
        claims = transactions = 0
        conn = _sqlite_connect(path)
        try:
            while not stop.is_set():
                stock_id = rng.randrange(rows)
                conn.execute("BEGIN IMMEDIATE")
                if per_tx == 1:
                    taken = conn.execute(_SQLITE_TAKE, (stock_id,)).fetchone()
                else:
                    taken = conn.execute(_SQLITE_TAKE_MANY, (per_tx, stock_id, per_tx)).fetchone()
                if taken is not None:
                    citizens = [(stock_id, f"t{index}-{claims + i}") for i in range(per_tx)]
                    conn.executemany(_SQLITE_INSERT, citizens)
                    claims += per_tx
                conn.execute("COMMIT")
                transactions += 1
        finally:
            conn.close()
        return claims, transactions

    claims, transactions, seconds = _drive(threads, duration_s, work)
    cleanup = _sqlite_connect(path)
    try:
        cleanup.execute("DROP TABLE bench_voucher")
        cleanup.execute("DROP TABLE bench_stock")
    finally:
        cleanup.close()
    return StorageRun(shape, threads, claims, transactions, seconds)

"""Engines and transactions: one code path over SQLite (embedded) and PostgreSQL (production).

``Database.write()`` opens a write transaction; on SQLite it starts with ``BEGIN IMMEDIATE`` so
that the write lock is taken up front: two writers never both read and then fail to upgrade
(which SQLite answers with SQLITE_BUSY at once, bypassing the busy timeout). ``Database.read()``
opens a read transaction that sees one consistent snapshot (WAL snapshot on SQLite, REPEATABLE
READ on PostgreSQL), which is what whole-database checks such as ``quan ledger check`` need.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers never block the writer
    "PRAGMA synchronous=FULL",  # money: a committed transaction survives power loss
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=15000",  # wait for the write lock instead of failing at once
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",  # 64 MiB page cache
)


def normalize_url(url: str) -> str:
    """Accept the plain ``postgresql://`` URLs operators have and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# Where PostgreSQL's primary messages quote a value: ``…for type integer: "x"`` and
# ``value "x" is out of range…``.
_QUOTED_TAIL = re.compile(r':\s*"(?:[^"\\]|\\.)*"\s*$')
_QUOTED_VALUE = re.compile(r'value "(?:[^"\\]|\\.)*"')


def _hide_driver_values(context: ExceptionContext) -> None:
    """Take the values out of a database error's message, whoever prints it later.

    PostgreSQL's message repeats the refused row (``DETAIL: Failing row contains (…)``,
    ``Key (x)=(…)``) and some primary messages end with the value (``invalid input syntax for
    type integer: "…"``): personal data. The message keeps the driver's class and primary text;
    ``exc.orig`` (SQLSTATE, constraint name) is untouched for code that branches on it.
    """
    exc = context.sqlalchemy_exception
    orig = context.original_exception
    if exc is None or not isinstance(exc, DBAPIError):
        return
    primary = str(orig).split("\n", 1)[0]
    if type(orig).__module__.startswith("psycopg"):
        primary = _QUOTED_TAIL.sub(': "…"', _QUOTED_VALUE.sub('value "…"', primary))
    exc.args = (f"({type(orig).__module__}.{type(orig).__name__}) {primary}", *exc.args[1:])


def describe_db_error(exc: BaseException) -> str | None:
    """What may be logged of a database error: its class, SQLSTATE and constraint, no values.

    ``None`` when ``exc`` (or an exception it was raised from) is not a database error. The
    driver's own message is left out on purpose: PostgreSQL's DETAIL repeats the refused row
    (``Failing row contains (…)``) and the key (``Key (x)=(…)``), i.e. personal data.
    """
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, DBAPIError):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return None
    orig = seen.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    table = getattr(diag, "table_name", None) if diag is not None else None
    return (
        f"{type(seen).__name__} ({type(orig).__name__}) sqlstate={sqlstate} "
        f"table={table} constraint={constraint}"
    )


def log_failure(
    logger: logging.Logger,
    message: str,
    *args: object,
    exc: BaseException | None = None,
    level: int = logging.ERROR,
) -> None:
    """``logger.exception`` for ``exc`` (default: the one being handled), minus its values.

    Every place that logs an exception goes through here (a test holds the code to it): a
    database error is logged as its class, SQLSTATE, constraint and stack frames, never its
    message; anything else with its usual traceback.
    """
    if exc is None:
        exc = sys.exc_info()[1]
    described = describe_db_error(exc) if exc is not None else None
    if described is None:
        logger.log(level, message, *args, exc_info=exc)
        return
    frames = "".join(traceback.format_tb(exc.__traceback__ if exc else None))
    logger.log(level, message + ": %s\n%s", *args, described, frames)


class Database:
    """An engine plus the two kinds of transaction the services use."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        schema: str | None = None,
        pre_ping: bool = True,
        server_prepare: bool = True,
    ) -> None:
        self.url = normalize_url(url)
        self.schema = schema
        self.server_prepare = server_prepare
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(parsed.database)
        elif self.dialect == "postgresql":
            connect_args: dict[str, Any] = {}
            if schema:
                # Tests give every run its own schema; production uses the default search path.
                connect_args["options"] = f"-csearch_path={schema}"
            if not server_prepare:
                # psycopg prepares a statement on the server after five runs; behind PgBouncer
                # in transaction mode (before 1.21) the next transaction may land on a server
                # connection that never saw it. None: never prepare (docs/operations.md).
                connect_args["prepare_threshold"] = None
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                # A round trip before each checkout, so a connection the server closed is
                # replaced rather than failing a request. Hot paths that retry on their own may
                # turn it off (a dead connection still invalidates the pool on first use).
                pool_pre_ping=pre_ping,
                connect_args=connect_args,
                # Parameters are personal data (names, phones, sealed tokens): never in an
                # exception's text, so never in a log line (see log_failure).
                hide_parameters=True,
            )
        else:
            raise ValueError(f"unsupported database: {self.dialect}")
        event.listen(self.engine, "handle_error", _hide_driver_values)

    @staticmethod
    def _sqlite_engine(path: str | None) -> Engine:
        if not path or path == ":memory:":
            raise ValueError("Quan needs a SQLite file, not an in-memory database")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": 15},
            pool_size=20,
            max_overflow=20,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            # Let SQLAlchemy's begin event decide how a transaction starts (see _on_begin).
            dbapi_conn.isolation_level = None
            for pragma in SQLITE_PRAGMAS:
                dbapi_conn.execute(pragma)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("quan_write", True):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on any exception."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(quan_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction over one consistent snapshot."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn = conn.execution_options(quan_write=False)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A connection for one read statement, no more. On PostgreSQL the statement runs on
        its own (autocommit): one round trip instead of four (begin, read only, the statement,
        commit), and a single statement reads one snapshot anyway. Hot paths only."""
        if self.dialect != "postgresql":
            with self.read() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def dispose(self) -> None:
        self.engine.dispose()

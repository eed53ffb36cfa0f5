"""What differs between a migrated database and the tables the code declares.

* :func:`schema_diff`: alembic's autogenerate comparison (columns, types, plain indexes), used by
  the tests that check their own tables.
* :func:`catalog`: the whole schema as the database itself describes it — every table's columns,
  every index (unique or not, partial predicate, expressions), every constraint (primary key,
  unique, check, foreign key with its actions) and every trigger — read from PostgreSQL's
  catalogue (``pg_get_indexdef``, ``pg_get_constraintdef``, ``pg_get_triggerdef``) or SQLite's
  (``sqlite_master`` and the pragmas). tests/integration/test_migrations.py compares the catalogue
  of a migrated database with that of one built by ``metadata.create_all`` plus
  :func:`declared_triggers`: alembic's comparison does not see predicates, checks or triggers,
  so a migration that made a unique index plain or dropped a check would pass it.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from quan.store import log_tables, merchant_tables, redemption_tables, tables
from quan.store.db import Database
from quan.store.schema import metadata

# Every table whose rows are history (written once): a BEFORE UPDATE and a BEFORE DELETE trigger.
APPEND_ONLY = (
    *tables.APPEND_ONLY,
    *log_tables.APPEND_ONLY,
    *merchant_tables.APPEND_ONLY,
    *redemption_tables.APPEND_ONLY,
)


def schema_diff(db: Database, *, compare_type: bool = False) -> list[Any]:
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (the lottery's PostgreSQL-only covering
        # index): alembic skips them there and says so; the PostgreSQL run compares them.
        warnings.filterwarnings(
            "ignore", message="autogenerate skipping metadata-specified expression-based index"
        )
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        return list(compare_metadata(context, metadata))


def declared_triggers(dialect: str) -> dict[str, str]:
    """The triggers the code relies on, by name, as the database shows their definition: the
    append-only refusals, and the trigger that queues every new event for the log."""
    found: dict[str, str] = {}
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"{table}_no_{verb.lower()}"
            if dialect == "postgresql":
                found[name] = (
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION quan_refuse_change()"
                )
            else:
                found[name] = (
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'quan: {table} is append-only'); END"
                )
    if dialect == "postgresql":
        found["events_log_enqueue"] = (
            "CREATE TRIGGER events_log_enqueue AFTER INSERT ON events "
            "REFERENCING NEW TABLE AS new_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION quan_log_enqueue()"
        )
    else:
        found["events_log_enqueue"] = (
            "CREATE TRIGGER events_log_enqueue AFTER INSERT ON events "
            "BEGIN INSERT INTO log_queue (event_id) VALUES (NEW.id); END"
        )
    return found


def catalog(db: Database) -> dict[str, Any]:
    """``{"tables": {name: {...}}, "triggers": {name: definition}}`` of the database (its own
    schema on PostgreSQL), without Alembic's bookkeeping table."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return _postgres(conn, db.schema or "public")
        return _sqlite(conn)


def _squash(sql: str, schema: str | None = None) -> str:
    """One spelling per definition: whitespace collapsed, identifiers unquoted, no schema."""
    if schema:
        sql = sql.replace(f"{schema}.", "")
    sql = sql.replace('"', "")
    sql = re.sub(r"\s+", " ", sql).strip()
    return re.sub(r"\( ", "(", re.sub(r" \)", ")", sql))


def _postgres(conn: Connection, schema: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    columns = conn.execute(
        text(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = :s"
        ),
        {"s": schema},
    ).all()
    for table, column, type_, nullable, default in columns:
        entry = found.setdefault(table, {"columns": {}, "indexes": {}, "constraints": {}})
        entry["columns"][column] = (type_, nullable, default)
    indexes = conn.execute(
        text(
            "SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class c ON c.oid = x.indrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s"
        ),
        {"s": schema},
    ).all()
    for table, name, definition in indexes:
        found[table]["indexes"][name] = _squash(definition, schema)
    constraints = conn.execute(
        text(
            "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)"
            " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s"
        ),
        {"s": schema},
    ).all()
    for table, name, kind, definition in constraints:
        found[table]["constraints"][name] = (kind, _squash(definition, schema))
    triggers = conn.execute(
        text(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :s AND NOT t.tgisinternal"
        ),
        {"s": schema},
    ).all()
    found.pop("alembic_version", None)
    return {
        "tables": found,
        "triggers": {name: _squash(definition, schema) for name, definition in triggers},
    }


def _split_top_level(body: str) -> list[str]:
    """The comma-separated items of a CREATE TABLE body (commas inside parentheses stay)."""
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [_squash(item) for item in items if item.strip()]


def _sqlite(conn: Connection) -> dict[str, Any]:
    found: dict[str, Any] = {}
    rows = conn.execute(
        text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    ).all()
    triggers: dict[str, str] = {}
    for type_, name, table, sql in rows:
        if table == "alembic_version" or name.startswith("sqlite_"):
            continue
        if type_ == "table":
            body = sql[sql.index("(") + 1 : sql.rindex(")")]
            items = _split_top_level(body)
            # Columns by name (a column added later comes last in the text, not in the model),
            # every constraint clause (CHECK, UNIQUE, FOREIGN KEY, PRIMARY KEY) as written.
            columns = {item.split(" ", 1)[0]: item for item in items if not _is_clause(item)}
            clauses = sorted(item for item in items if _is_clause(item))
            entry = found.setdefault(table, {"indexes": {}})
            entry["columns"] = columns
            entry["constraints"] = clauses
            entry["foreign_keys"] = sorted(
                tuple(row[2:])
                for row in conn.execute(text(f"PRAGMA foreign_key_list('{table}')")).all()
            )
        elif type_ == "index":
            found.setdefault(table, {"indexes": {}})["indexes"][name] = _squash(sql)
        elif type_ == "trigger":
            triggers[name] = _squash(sql)
    return {"tables": found, "triggers": triggers}


def _is_clause(item: str) -> bool:
    head = item.split(" ", 1)[0].upper()
    return head in {"CONSTRAINT", "CHECK", "UNIQUE", "FOREIGN", "PRIMARY"}

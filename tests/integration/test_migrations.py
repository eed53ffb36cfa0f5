"""Migrations: head builds the schema the code expects, and the chain goes down and up again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from quan.store.db import Database
from quan.store.migrate import current_revision, head_revision, upgrade
from quan.store.schema import metadata
from tests.conftest import POSTGRES_URL, need_service
from tests.schema_diff import catalog, declared_triggers


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    url = need_service("postgres", POSTGRES_URL)
    schema = f"quan_mig_{secrets.token_hex(4)}"
    admin = Database(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    database = Database(url, schema=schema)
    yield database
    database.dispose()
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names()) - {"alembic_version"}


def test_head_creates_every_table_the_code_knows(empty_db: Database) -> None:
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision()
    assert _tables(empty_db) == {t.name for t in metadata.sorted_tables}
    upgrade(empty_db)  # running it again changes nothing
    assert current_revision(empty_db) == head_revision()


def test_the_chain_goes_down_to_nothing_and_back_up(empty_db: Database) -> None:
    from alembic import command

    from quan.store.migrate import alembic_config

    upgrade(empty_db)
    config = alembic_config()
    with empty_db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert _tables(empty_db) == set()
    upgrade(empty_db)
    assert _tables(empty_db) == {t.name for t in metadata.sorted_tables}


def _declared(empty_db: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of the same kind built from the declared tables (``metadata.create_all``)
    and the declared triggers, never from the migrations."""
    if empty_db.dialect == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'declared.db'}")
        yield database
        database.dispose()
        return
    schema = f"quan_decl_{secrets.token_hex(4)}"
    admin = Database(empty_db.url)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    database = Database(empty_db.url, schema=schema)
    yield database
    database.dispose()
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _build_declared(database: Database) -> None:
    dialect = database.dialect
    with database.engine.begin() as conn:
        metadata.create_all(conn)
        if dialect == "postgresql":
            # The functions the triggers call are part of the migrations' schema, not of the
            # tables; the comparison is of the triggers that call them.
            conn.execute(
                text(
                    "CREATE FUNCTION quan_refuse_change() RETURNS trigger LANGUAGE plpgsql AS"
                    " $$ BEGIN RAISE EXCEPTION 'append-only'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE FUNCTION quan_log_enqueue() RETURNS trigger LANGUAGE plpgsql AS"
                    " $$ BEGIN RETURN NULL; END $$"
                )
            )
        for definition in declared_triggers(dialect).values():
            conn.execute(text(definition))


def test_the_migrated_schema_is_exactly_the_declared_one_in_every_index_constraint_and_trigger(
    empty_db: Database, tmp_path: Path
) -> None:
    """Every table, column, index (unique or not, its predicate), constraint (primary, unique,
    check, foreign key) and trigger: the migrations build what the code declares, nothing less
    (a unique index made plain, a dropped check or trigger) and nothing more."""
    upgrade(empty_db)
    migrated = catalog(empty_db)
    for declared_db in _declared(empty_db, tmp_path):
        _build_declared(declared_db)
        declared = catalog(declared_db)
    assert set(migrated["tables"]) == {t.name for t in metadata.sorted_tables}
    assert set(migrated["tables"]) == set(declared["tables"])
    for name in sorted(declared["tables"]):
        assert migrated["tables"][name] == declared["tables"][name], name
    assert migrated["triggers"] == declared["triggers"]
    # The comparison sees the guards: the live-voucher index is unique and partial.
    live = migrated["tables"]["redemptions"]["indexes"]["uq_redemptions_live_voucher"]
    assert live.startswith("CREATE UNIQUE INDEX"), live
    assert "WHERE" in live, live

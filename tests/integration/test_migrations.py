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

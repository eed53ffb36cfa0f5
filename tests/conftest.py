"""Shared fixtures: real databases (SQLite and PostgreSQL), a movable clock, an API client.

Integration tests take the ``db`` fixture (or anything built on it) and so run once per
database. PostgreSQL comes from ``QUAN_TEST_POSTGRES_URL`` and Redis from ``QUAN_TEST_REDIS_URL``;
without them those tests skip with a message, unless ``QUAN_REQUIRE_SERVICES=1`` (CI), where a
missing service fails the run.

Each session migrates once: SQLite into a template file that every test copies, PostgreSQL into
a schema of its own that is truncated between tests.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import Phase, settings
from sqlalchemy import text

from quan.api.app import create_app
from quan.clock import FixedClock
from quan.config import Settings
from quan.domain.auth import SYSTEM, Role
from quan.services.money import issuers
from quan.services.people import staff
from quan.services.runtime import Runtime
from quan.store.db import Database
from quan.store.migrate import upgrade
from quan.store.schema import metadata

# `make mutants` (tests/mutants/run.py) only needs to know that a property fails, not its
# smallest counterexample: shrinking a stateful run against a database takes minutes.
settings.register_profile("mutants", phases=[Phase.explicit, Phase.reuse, Phase.generate])

POSTGRES_URL = os.environ.get("QUAN_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("QUAN_TEST_REDIS_URL")
REQUIRE_SERVICES = os.environ.get("QUAN_REQUIRE_SERVICES") == "1"

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
PASSWORD = "correct horse battery"


def need_service(name: str, url: str | None) -> str:
    if url:
        return url
    message = f"{name} not configured: set QUAN_TEST_{name.upper()}_URL to run this test"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (QUAN_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def _secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def make_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "var_dir": tmp_path,
        "database_url": url,
        "secret_key": _secret(),
        "pii_key": _secret(),
        "log_signing_key": _secret(),
        "approval_threshold_fen": 1_000_000,  # ¥10,000
        # The suite written for quan-lottery-v1 keeps testing it (v1 draws stay verifiable);
        # the v2 tests (tests/integration/test_lottery_v2.py) ask for v2, the default.
        "lottery_algorithm": "quan-lottery-v1",
        # Every test applies from one address; test_merchants checks the production limit.
        "merchant_applications_per_hour": 1000,
        # Tests read figures right after changing them; test_public_snapshots turns these on.
        "public_snapshot_seconds": 0,
        "anonymous_concurrency": 1000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 with production cost makes every signed-in test slow; the mechanism is the same."""
    from argon2 import PasswordHasher

    from quan.services.people import staff as staff_module

    original = staff_module._hasher
    staff_module._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    staff_module._hasher = original


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[tuple[str, str]]:
    url = need_service("postgres", POSTGRES_URL)
    schema = f"quan_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = Database(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    db = Database(url, schema=schema)
    upgrade(db)
    db.dispose()
    yield url, schema
    admin = Database(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


_USED_TABLES = " UNION ALL ".join(
    f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})" for t in metadata.sorted_tables
)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "quan.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        database = Database(url, schema=schema)
        with database.engine.begin() as conn:
            # Only the tables the last test wrote: TRUNCATE costs per table (new files), and
            # a test writes a few of the ~50. The schema has no sequences to restart.
            used = conn.execute(text(_USED_TABLES)).scalars().all()
            if used:
                conn.execute(text(f"TRUNCATE {', '.join(used)} CASCADE"))
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return make_settings(tmp_path, db.url)


@pytest.fixture
def runtime(settings: Settings, db: Database, clock: FixedClock) -> Runtime:
    return Runtime.build(settings, clock=clock, db=db)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as c:
        yield c


class World:
    """An issuer with one account per role (two operators, for maker-checker), signed in."""

    def __init__(self, runtime: Runtime, client: TestClient) -> None:
        self.runtime = runtime
        self.client = client
        now = runtime.clock.now()
        with runtime.db.write() as tx:
            self.issuer = issuers.create_issuer(
                tx, now, SYSTEM, name="杭州市商务局", region_code="330100"
            )
            self.other_issuer = issuers.create_issuer(
                tx, now, SYSTEM, name="宁波市商务局", region_code="330200"
            )
            self.users = {
                "admin": staff.create_user(
                    tx, now, username="admin", password=PASSWORD, role=Role.ADMIN, issuer_id=None
                ),
                "operator": staff.create_user(
                    tx,
                    now,
                    username="op1",
                    password=PASSWORD,
                    role=Role.OPERATOR,
                    issuer_id=self.issuer.id,
                ),
                "checker": staff.create_user(
                    tx,
                    now,
                    username="op2",
                    password=PASSWORD,
                    role=Role.OPERATOR,
                    issuer_id=self.issuer.id,
                ),
                "outsider": staff.create_user(
                    tx,
                    now,
                    username="op-ningbo",
                    password=PASSWORD,
                    role=Role.OPERATOR,
                    issuer_id=self.other_issuer.id,
                ),
                "auditor": staff.create_user(
                    tx,
                    now,
                    username="auditor",
                    password=PASSWORD,
                    role=Role.AUDITOR,
                    issuer_id=None,
                ),
                "agent": staff.create_user(
                    tx,
                    now,
                    username="agent",
                    password=PASSWORD,
                    role=Role.AGENT,
                    issuer_id=self.issuer.id,
                ),
            }
        self._tokens: dict[str, str] = {}

    def token(self, who: str) -> str:
        if who not in self._tokens:
            token, _ = self.runtime.tokens.issue(
                "staff", self.users[who].id, self.runtime.clock.now()
            )
            self._tokens[who] = token
        return self._tokens[who]

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}", **extra}

    def post(self, who: str, path: str, json: Any = None, **headers: str) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers(who, **headers))

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params=params, headers=self.headers(who))

    def program(self, who: str = "operator", **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "2026 春季餐饮券",
            "timezone": "Asia/Shanghai",
            "starts_at": "2026-11-25T00:00:00+08:00",
            "ends_at": "2027-03-01T00:00:00+08:00",
        }
        body.update(overrides)
        response = self.post(who, "/programs", body)
        assert response.status_code == 201, response.text
        program: dict[str, Any] = response.json()
        return program

    def funder(self, name: str = "杭州市财政局", kind: str = "department") -> dict[str, Any]:
        response = self.post("operator", "/funders", {"name": name, "kind": kind})
        assert response.status_code == 201, response.text
        funder: dict[str, Any] = response.json()
        return funder

    def budget(self, program_id: str) -> dict[str, Any]:
        response = self.get("auditor", f"/programs/{program_id}/budget")
        assert response.status_code == 200, response.text
        budget: dict[str, Any] = response.json()
        return budget


@pytest.fixture
def world(runtime: Runtime, client: TestClient) -> World:
    return World(runtime, client)


@pytest.fixture
def redis_url() -> str:
    return need_service("redis", REDIS_URL)

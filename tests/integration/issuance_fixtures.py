"""Helpers for issuance tests: a funded active program, voucher types, batches, citizens, claims.

Citizens are registered through the citizens service (as an operator would), with generated
resident ID numbers; each gets a signed citizen token for the API.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select

from quan.domain.citizens import RegistrationInput, validate_registration
from quan.services.money.ledger_check import check_ledger
from quan.services.people import citizens as citizen_service
from quan.store.tables import events
from quan.store.voucher_tables import vouchers
from tests.citizen_samples import resident_id
from tests.conftest import START, World

DAY = timedelta(days=1)
_SEQUENCE = itertools.count(secrets.randbelow(500))


def iso(at: datetime) -> str:
    return at.isoformat()


def advance(world: World, delta: timedelta) -> None:
    """Move the test clock; staff tokens are reissued since they expire after hours."""
    world.runtime.clock.advance(delta)  # type: ignore[attr-defined]
    world._tokens.clear()


def funded_program(world: World, amount_fen: int = 1_000_000, **overrides: Any) -> str:
    """An active program with ``amount_fen`` available (approved when above the threshold)."""
    program = world.program(**overrides)
    pid = program["id"]
    response = world.post("operator", f"/programs/{pid}/activate")
    assert response.status_code == 200, response.text
    funder = world.funder(name=f"财政局-{secrets.token_hex(3)}")
    response = world.post(
        "operator",
        f"/programs/{pid}/contributions",
        {"funder_id": funder["id"], "amount_fen": amount_fen},
    )
    assert response.status_code == 201, response.text
    if response.json()["status"] == "pending_approval":
        approved = world.post("checker", f"/contributions/{response.json()['id']}/approve")
        assert approved.status_code == 200, approved.text
    return str(pid)


FIXED: dict[str, Any] = {
    "name": "餐饮满100减30",
    "kind": "fixed",
    "face_value_fen": 3000,
    "min_spend_fen": 10000,
    "categories": ["catering"],
    "scenes": ["offline"],
    "validity_preset": "short",
}


def voucher_type(world: World, pid: str, **overrides: Any) -> dict[str, Any]:
    body = {**FIXED, **overrides}
    body = {k: v for k, v in body.items() if v is not None}
    response = world.post("operator", f"/programs/{pid}/voucher-types", body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def batch_body(vtid: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "voucher_type_id": vtid,
        "name": "第一轮",
        "quantity": 10,
        "allocation": "fcfs",
        "claim_opens_at": iso(START),
        "claim_closes_at": iso(START + DAY),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def batch(world: World, pid: str, vtid: str, **overrides: Any) -> dict[str, Any]:
    response = world.post("operator", f"/programs/{pid}/batches", batch_body(vtid, **overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def open_batch(world: World, bid: str) -> dict[str, Any]:
    response = world.post("operator", f"/batches/{bid}/open")
    assert response.status_code == 200, response.text
    opened: dict[str, Any] = response.json()
    return opened


def open_fcfs_batch(world: World, quantity: int = 10, **overrides: Any) -> tuple[str, str]:
    """A funded program with an open first-come batch: ``(program_id, batch_id)``."""
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=quantity, **overrides)
    open_batch(world, created["id"])
    return pid, created["id"]


def register(
    world: World,
    *,
    birth: date = date(1990, 5, 17),
    region: str = "330106",
    income: str = "normal",
    disabled: bool = False,
) -> str:
    """A registered citizen; returns the citizen id."""
    return register_many(world, 1, birth=birth, region=region, income=income, disabled=disabled)[0]


def register_many(
    world: World,
    count: int,
    *,
    birth: date = date(1990, 5, 17),
    region: str = "330106",
    income: str = "normal",
    disabled: bool = False,
) -> list[str]:
    rt = world.runtime
    keys = citizen_service.CitizenKeys.from_settings(rt.settings)
    now = rt.clock.now()
    actor = world.users["operator"].actor()
    ids = []
    with rt.db.write() as tx:
        for _ in range(count):
            n = next(_SEQUENCE)
            number = resident_id(region, birth + timedelta(days=n // 1000), n % 1000)
            registration = validate_registration(
                RegistrationInput(
                    resident_id=number,
                    name="测试居民",
                    region_code=region,
                    income_group=income,
                    disabled=disabled,
                ),
                today=now.date(),
            )
            ids.append(citizen_service.register(tx, now, actor, keys, registration).id)
    return ids


def citizen_headers(world: World, citizen_id: str, **extra: str) -> dict[str, str]:
    token, _ = world.runtime.tokens.issue("citizen", citizen_id, world.runtime.clock.now())
    return {"Authorization": f"Bearer {token}", **extra}


def claim(world: World, citizen_id: str, bid: str, body: Any = None, **headers: str) -> Any:
    headers = citizen_headers(world, citizen_id, **headers)
    return world.client.post(f"/api/v1/batches/{bid}/claims", json=body, headers=headers)


def voucher_count(world: World, bid: str, **where: Any) -> int:
    query = select(func.count()).select_from(vouchers).where(vouchers.c.batch_id == bid)
    for column, value in where.items():
        query = query.where(vouchers.c[column] == value)
    with world.runtime.db.read() as tx:
        return int(tx.execute(query).scalar_one())


def event_count(world: World, type_: str) -> int:
    with world.runtime.db.read() as tx:
        return int(
            tx.execute(
                select(func.count()).select_from(events).where(events.c.type == type_)
            ).scalar_one()
        )


def assert_ledger_ok(world: World) -> None:
    """``quan ledger check`` passes (it also holds each batch's reserve to its vouchers)."""
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert report.ok, report.violations


@contextmanager
def statements(world: World, containing: str = "") -> Iterator[list[str]]:
    """The SQL statements the runtime's engine sends while the block runs (only those that
    contain ``containing``, e.g. ``"UPDATE vouchers"``, when given)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if containing in sql:
            seen.append(sql)

    engine = world.runtime.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)

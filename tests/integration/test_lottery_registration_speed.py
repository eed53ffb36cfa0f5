"""A quick figure for registration throughput (not a timed test; set QUAN_REGISTRATION_BENCH=N).

Each registration is one write transaction through
:func:`quan.services.issuance.lottery.register`, as the registration route runs it, one after
another from one thread, for a quan-lottery-v1 and a quan-lottery-v2 lottery. v2 logs every
registration (an event the log sequences before the close) and takes the batch's registration
lock; this prints what a registration costs and how many statements it runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from quan.config import Settings
from quan.services.issuance import lottery as lottery_service
from quan.store.db import Database
from tests.conftest import World, make_settings
from tests.integration.issuance_fixtures import batch, funded_program, open_batch, voucher_type
from tests.integration.test_grants import bulk_citizens


@pytest.fixture(params=["quan-lottery-v1", "quan-lottery-v2"])
def settings(db: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(tmp_path, db.url, lottery_algorithm=request.param)


@pytest.mark.skipif(
    not os.environ.get("QUAN_REGISTRATION_BENCH"), reason="set QUAN_REGISTRATION_BENCH=N"
)
def test_measure_registration_throughput(world: World) -> None:
    from sqlalchemy import event, select

    from quan.store.citizen_tables import citizens

    n = int(os.environ["QUAN_REGISTRATION_BENCH"])
    pid = funded_program(world, amount_fen=1_000_000)
    vt = voucher_type(world, pid)
    bid = str(batch(world, pid, vt["id"], quantity=10, allocation="lottery")["id"])
    open_batch(world, bid)
    bulk_citizens(world, n)
    rt = world.runtime
    with rt.db.read() as tx:
        ids = list(tx.execute(select(citizens.c.id).order_by(citizens.c.id)).scalars())[-n:]
    now = rt.clock.now()
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    event.listen(rt.db.engine, "before_cursor_execute", count)
    started = time.perf_counter()
    for citizen in ids:
        with rt.db.write() as tx:
            lottery_service.register(tx, now, rt.settings, citizen, bid)
    elapsed = time.perf_counter() - started
    event.remove(rt.db.engine, "before_cursor_execute", count)
    label = f"{rt.db.engine.dialect.name} {rt.settings.lottery_algorithm}"
    print(
        f"\n{label}: {n} registrations in {elapsed:.2f} s = "
        f"{n / elapsed:,.0f}/s ({1000 * elapsed / n:.2f} ms each), "
        f"{statements[0] / n:.1f} statements each"
    )

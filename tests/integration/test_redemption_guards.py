"""The database's own guards on redemptions, each proven at the service level (no HTTP, so no
micro-batch folds two attempts into one transaction — as with ``redeem_batching`` off).

* ``uq_redemptions_live_voucher``: one live redemption per voucher even when everything above it
  (the row lock, the status check, the conditional ``UPDATE``) has been got round;
* ``uq_redemptions_order_seq`` and ``uq_redemptions_day_seq``: two terminals that both read "the
  order has nothing yet" / "the holder has spent nothing today" cannot both record. The tests
  hold both transactions after that read (a barrier), so the race is lost every time, not 2 in 5.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.merchants import Scene as Channel
from quan.services.merchants.offline_keys import offline_key
from quan.services.redemption import redemption
from quan.store.db import Database
from quan.store.redemption_tables import redemptions
from quan.store.voucher_tables import vouchers
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import (
    Shop,
    another_terminal,
    assert_books_ok,
    open_shop,
    rows,
    scene,
)
from tests.race import race


def terminal(shop: Shop) -> Actor:
    return Actor(
        kind="terminal", id=shop.terminal_id, role="terminal", merchant_id=shop.merchant_id
    )


@pytest.fixture
def wide(db: Database) -> Iterator[Database]:
    """A second engine on the same database with room for every racing thread."""
    database = Database(db.url, pool_size=6, schema=db.schema)
    yield database
    database.dispose()


def service_redeem(
    world: World,
    database: Database,
    shop: Shop,
    code: str,
    *,
    order_ref: str | None = None,
    amount_fen: int = 12000,
) -> redemption.Redeemed:
    """What the route does, without the micro-batch: one transaction per redemption."""
    req = redemption.RedeemRequest(
        order_amount_fen=amount_fen,
        category="catering",
        scene=Channel.OFFLINE,
        voucher_code=code,
        order_ref=order_ref,
    )
    keyring = offline_key(world.runtime.settings).keyring
    with database.write() as tx:
        redemption.begin_recording(tx)
        now = world.runtime.clock.now()
        return redemption.redeem(tx, now, terminal(shop), keyring, req)


def outcome(results: list[Any]) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in results:
        if isinstance(r, redemption.Redeemed):
            out["redeemed"] += 1
        elif isinstance(r, QuanError):
            out[r.code] += 1
        else:
            raise AssertionError(repr(r))
    return out


def test_the_database_refuses_a_second_live_redemption_when_the_status_check_is_got_round(
    world: World, wide: Database
) -> None:
    s = scene(world, holders=1)
    service_redeem(world, wide, s.shop, s.codes[0])
    # Everything above the index is got round: the voucher looks unspent again.
    with wide.write() as tx:
        tx.execute(
            update(vouchers).where(vouchers.c.id == s.vouchers[0]["id"]).values(status="active")
        )
    # PostgreSQL names the index; SQLite names the column it guards.
    with pytest.raises(
        IntegrityError, match=r"uq_redemptions_live_voucher|redemptions\.voucher_id"
    ):
        service_redeem(world, wide, open_shop(world), s.codes[0])
    assert rows(world, "redemptions", voucher_id=s.vouchers[0]["id"]) == 1
    assert rows(world, "journal_entries", kind="redemption") == 1


def test_terminals_racing_on_one_voucher_at_the_service_level_redeem_it_once(
    world: World, wide: Database
) -> None:
    s = scene(world, holders=1)
    shops = [s.shop] + [open_shop(world) for _ in range(3)]
    results = race(
        *(lambda shop=shop: service_redeem(world, wide, shop, s.codes[0]) for shop in shops)
    )
    assert outcome(results) == Counter({"redeemed": 1, "ALREADY_REDEEMED": 3})
    assert rows(world, "redemptions", voucher_id=s.vouchers[0]["id"]) == 1
    assert rows(world, "journal_entries", kind="redemption") == 1
    assert_books_ok(world)


def _after_first_read(monkeypatch: pytest.MonkeyPatch, name: str, parties: int) -> None:
    """Make ``redemption.<name>`` wait, on each thread's first call, until every racing thread
    has read: all of them then act on the same stale facts (a retry reads fresh, unhindered)."""
    original: Callable[..., Any] = getattr(redemption, name)
    barrier = threading.Barrier(parties, timeout=30)
    seen = threading.local()

    def held(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait()
        return found

    monkeypatch.setattr(redemption, name, held)


def test_two_terminals_stacking_on_one_order_after_reading_it_empty_record_one(
    world: World, db: Database, wide: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: both cannot hold a read of the order")
    s = scene(world, holders=2)  # max_per_order is 1
    tills = [s.shop, another_terminal(world, s.shop)]
    _after_first_read(monkeypatch, "_order_so_far", 2)
    results = race(
        *(
            lambda i=i: service_redeem(
                world, wide, tills[i], s.codes[i], order_ref="R-1", amount_fen=30000
            )
            for i in range(2)
        )
    )
    assert outcome(results) == Counter({"redeemed": 1, "MAX_PER_ORDER_EXCEEDED": 1})
    assert rows(world, "redemptions") == 1
    assert_books_ok(world)


def test_a_holder_spending_two_vouchers_after_reading_an_empty_day_passes_no_daily_cap(
    world: World, db: Database, wide: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: both cannot hold a read of the day")
    pid = issuance.funded_program(world)
    vt = issuance.voucher_type(world, pid)
    created = issuance.batch(world, pid, vt["id"], quantity=2, per_citizen_limit=2)
    issuance.open_batch(world, created["id"])
    citizen = issuance.register(world)
    codes = [issuance.claim(world, citizen, created["id"]).json()["code"] for _ in range(2)]
    response = world.client.put(
        f"/api/v1/programs/{pid}/redemption-policy",
        json={"daily_cap": 1},
        headers=world.headers("operator"),
    )
    assert response.status_code == 200, response.text
    tills = [open_shop(world), open_shop(world)]
    _after_first_read(monkeypatch, "_day_seqs", 2)
    results = race(*(lambda i=i: service_redeem(world, wide, tills[i], codes[i]) for i in range(2)))
    assert outcome(results) == Counter({"redeemed": 1, "DAILY_CAP_REACHED": 1})
    with world.runtime.db.read() as tx:
        live = tx.execute(
            select(func.count())
            .select_from(redemptions)
            .where(redemptions.c.citizen_id == citizen, redemptions.c.status == "redeemed")
        ).scalar_one()
    assert live == 1
    assert_books_ok(world)


def test_a_redemption_that_waited_on_a_deactivation_is_refused_by_the_write(
    world: World, db: Database, wide: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The redemption's locking read starts while a deactivation holds the voucher: it then
    reads the deactivations as they were (none). Only the write's fresh look refuses it."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the redemption starts after the commit")
    from quan.services.people.citizens import CitizenKeys
    from quan.services.redemption import deactivation

    s = scene(world, holders=1)
    voucher_id = s.vouchers[0]["id"]
    inside = threading.Event()
    original = deactivation._notify

    def notify_then_linger(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        inside.set()
        time.sleep(1.0)  # the lock is held while the redemption's locking read starts and waits
        return found

    monkeypatch.setattr(deactivation, "_notify", notify_then_linger)
    operator = world.users["operator"].actor()
    keys = CitizenKeys.from_settings(world.runtime.settings)

    def deactivate() -> Any:
        with wide.write() as tx:
            return deactivation.deactivate(
                tx, world.runtime.clock.now(), operator, keys, voucher_id, "核查"
            )

    def redeem_after() -> Any:
        assert inside.wait(30)
        return service_redeem(world, wide, s.shop, s.codes[0])

    done, refused = race(deactivate, redeem_after)
    assert isinstance(done, deactivation.Deactivation), done
    assert isinstance(refused, QuanError), refused
    assert refused.code == "VOUCHER_DEACTIVATED"
    assert rows(world, "redemptions") == 0
    assert_books_ok(world)

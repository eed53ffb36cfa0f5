"""Concurrent reviews and applications on both databases: the database decides, exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.domain.errors import QuanError
from quan.domain.merchants import Decision, MerchantStatus, Scene
from quan.edge.status import STATUS
from quan.services.merchants import merchant_reviews as merchant_reviews_service
from quan.services.merchants import merchants as merchant_service
from quan.services.people.citizens import CitizenKeys
from quan.store.db import Database
from quan.store.merchant_tables import merchant_reviews, merchants
from quan.store.tables import events
from tests.conftest import World
from tests.integration.merchant_fixtures import apply, uscc
from tests.schema_diff import schema_diff

MERCHANT_TABLES = {"merchants", "merchant_categories", "merchant_reviews", "terminals"}


def _race(*work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread, released together; return results or exceptions."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _key(world: World) -> bytes:
    return merchant_service.pii_key(world.runtime.settings.secret_bytes("pii_key"))


@pytest.mark.parametrize(
    "decisions", [(Decision.APPROVE, Decision.APPROVE), (Decision.APPROVE, Decision.REJECT)]
)
def test_two_operators_reviewing_one_application_at_once_one_wins_the_other_gets_409(
    world: World, decisions: tuple[Decision, Decision]
) -> None:
    merchant, _ = apply(world)
    rt, key = world.runtime, _key(world)
    reviewers = [world.users["operator"].actor(), world.users["checker"].actor()]

    def decide(i: int) -> Callable[[], merchant_service.Merchant]:
        def work() -> merchant_service.Merchant:
            with rt.db.write() as tx:
                return merchant_reviews_service.review(
                    tx,
                    rt.clock.now(),
                    reviewers[i],
                    key,
                    merchant["id"],
                    decisions[i],
                    "理由",
                    outbox_keys=CitizenKeys.from_settings(rt.settings).outbox,
                )

        return work

    results = _race(decide(0), decide(1))
    winners = [r for r in results if isinstance(r, merchant_service.Merchant)]
    losers = [r for r in results if isinstance(r, QuanError)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert losers[0].code == "MERCHANT_TRANSITION_NOT_ALLOWED"
    assert STATUS[losers[0].kind] == 409
    with rt.db.read() as tx:
        status = tx.execute(
            select(merchants.c.status).where(merchants.c.id == merchant["id"])
        ).scalar_one()
        history = tx.execute(
            select(merchant_reviews.c.decided_by).where(
                merchant_reviews.c.merchant_id == merchant["id"]
            )
        ).all()
        decided = tx.execute(
            select(func.count())
            .select_from(events)
            .where(
                events.c.subject_id == merchant["id"],
                events.c.type.in_(["merchant.approved", "merchant.rejected"]),
            )
        ).scalar_one()
    assert status == winners[0].status.value
    assert status in (MerchantStatus.APPROVED, MerchantStatus.REJECTED)
    assert [h.decided_by for h in history] == [winners[0].reviewed_by]
    assert decided == 1


def test_two_concurrent_applications_by_one_body_create_one_merchant(world: World) -> None:
    rt, key = world.runtime, _key(world)
    code = uscc()

    def submit() -> merchant_service.Merchant:
        cmd = merchant_service.NewMerchant(
            issuer_id=world.issuer.id,
            name="并发小吃店",
            uscc=code,
            categories=["catering"],
            region_code="330106",
            scenes=[Scene.OFFLINE],
            bank_name="工商银行",
            account_number="62220212345678",
            contact_phone="13812345678",
        )
        with rt.db.write() as tx:
            merchant, _ = merchant_service.apply(tx, rt.clock.now(), key, cmd)
            return merchant

    results = _race(submit, submit)
    created = [r for r in results if isinstance(r, merchant_service.Merchant)]
    refused = [r for r in results if isinstance(r, QuanError)]
    assert len(created) == 1, results
    assert len(refused) == 1, results
    assert refused[0].code == "MERCHANT_EXISTS"
    with rt.db.read() as tx:
        count = tx.execute(
            select(func.count()).select_from(merchants).where(merchants.c.uscc == code)
        ).scalar_one()
    assert count == 1


def test_the_migration_builds_exactly_the_merchant_tables_the_code_declares(db: Database) -> None:
    diff = schema_diff(db)

    def touches_merchants(change: Any) -> bool:
        text = repr(change)
        # Changes name their table as 'terminals' (columns) or <merchants> (indexes).
        return any(f"'{name}'" in text or f"<{name}>" in text for name in MERCHANT_TABLES)

    assert [d for d in diff if touches_merchants(d)] == []

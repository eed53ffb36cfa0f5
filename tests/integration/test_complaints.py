"""Complaints as tickets (issue 22): a missed deadline escalates — once, whoever runs the job —
on the development clock, and the complainant is told of each step through the sealed outbox;
the merchant concerned may answer (and only it); no phone number is kept in clear."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from quan.api.app import create_app
from quan.cli import app as cli
from quan.clock import OffsetClock
from quan.domain.auth import Actor, PartnerRole
from quan.domain.errors import QuanError
from quan.jobs.registry import default_jobs
from quan.jobs.worker import run_job
from quan.services.feedback import complaints as service
from quan.services.feedback import escalation, queries
from quan.services.feedback.escalation import escalate_due
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.store.db import Database
from quan.store.feedback_tables import complaint_steps, complaints
from quan.store.tables import outbox
from tests.conftest import World, make_settings
from tests.integration import citizen_fixtures as people
from tests.integration.redemption_fixtures import open_shop
from tests.race import race


@pytest.fixture
def dev(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A development runtime on the development clock, which reads its file at every call."""
    settings = make_settings(tmp_path, db.url, env="development")
    runtime = Runtime.build(settings, db=db)
    assert isinstance(runtime.clock, OffsetClock)
    monkeypatch.setattr(OffsetClock, "REREAD_SECONDS", 0.0)
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield World(runtime, client)


def _advance(offset: str) -> None:
    moved = CliRunner().invoke(cli, ["dev", "clock", "advance", offset])
    assert moved.exit_code == 0, moved.output


def _escalation_job(world: World) -> None:
    job = next(j for j in default_jobs() if j.name == "complaint-escalation")
    run_job(world.runtime, job, "test-worker")


def _staff(world: World, who: str = "operator") -> Actor:
    user = world.users[who]
    return Actor(kind="staff", id=user.id, role=user.role, issuer_id=user.issuer_id)


def _keys(world: World) -> CitizenKeys:
    return CitizenKeys.from_settings(world.runtime.settings)


def _file(world: World, filing: service.Filing, actor: Actor) -> str:
    with world.runtime.db.write() as tx:
        return service.file_complaint(tx, world.runtime.clock.now(), _keys(world), actor, filing)


def _row(world: World, complaint_id: str) -> Any:
    with world.runtime.db.read() as tx:
        return tx.execute(select(complaints).where(complaints.c.id == complaint_id)).one()


def _told(world: World, phone: str) -> list[str]:
    """The kinds of the messages queued for ``phone``, oldest first."""
    keys = _keys(world).outbox
    with world.runtime.db.read() as tx:
        return list(
            tx.execute(
                select(outbox.c.subject)
                .where(outbox.c.recipient_hash == keys.recipient_hash(phone))
                .order_by(outbox.c.id)
            ).scalars()
        )


def _citizen(world: World, n: int) -> tuple[Actor, str]:
    person = people.person(60 + n)
    citizen = people.register(world, person)
    return Actor(kind="citizen", id=citizen["id"], role="citizen"), person.phone


def test_a_missed_deadline_escalates_once_per_level_on_the_development_clock(dev: World) -> None:
    world = dev
    shop = open_shop(world)
    citizen, phone = _citizen(world, 0)
    filed = _file(
        world,
        service.Filing(
            "merchant_refused",
            "商户拒收消费券，态度很差，电话 138 0013 8000",
            "wallet",
            citizen_id=citizen.id,
            merchant_id=shop.merchant_id,
        ),
        citizen,
    )
    row = _row(world, filed)
    assert row.body == "商户拒收消费券，态度很差，电话 ***"  # numbers masked before storing
    assert row.due_at - row.filed_at == timedelta(hours=24)
    _escalation_job(world)
    assert _row(world, filed).escalation_level == 0

    _advance("+25h")
    _escalation_job(world)
    _escalation_job(world)  # a second run, off schedule, escalates nothing more
    row = _row(world, filed)
    assert (row.escalation_level, row.status) == (1, "open")
    assert row.due_at > world.runtime.clock.now() + timedelta(hours=23)

    # The first answer sets the resolution's deadline (72 hours for this category).
    with world.runtime.db.write() as tx:
        service.respond(
            tx,
            world.runtime.clock.now(),
            _keys(world),
            _staff(world),
            filed,
            "已联系商户核实，将在三日内处理。",
        )
    row = _row(world, filed)
    assert row.status == "answered"
    assert row.due_at - row.first_response_at == timedelta(hours=72)
    _advance("+73h")
    _escalation_job(world)
    assert _row(world, filed).escalation_level == 2

    with world.runtime.db.write() as tx:
        service.respond(
            tx,
            world.runtime.clock.now(),
            _keys(world),
            _staff(world),
            filed,
            "商户已道歉并承诺受理消费券。",
            resolve=True,
        )
    _advance("+30d")
    _escalation_job(world)
    row = _row(world, filed)
    assert (row.status, row.escalation_level, row.due_at) == ("resolved", 2, None)
    # Each step was told (the outbox erases recipients after a day: follow the steps' messages).
    assert _told(world, phone)[-1] == "complaint.resolved"
    with world.runtime.db.read() as tx:
        sent = (
            tx.execute(
                select(outbox.c.subject)
                .join(complaint_steps, complaint_steps.c.message_id == outbox.c.id)
                .where(complaint_steps.c.complaint_id == filed)
                .order_by(complaint_steps.c.id)
            )
            .scalars()
            .all()
        )
    assert sent == [
        "complaint.filed",
        "complaint.escalated",
        "complaint.response",
        "complaint.escalated",
        "complaint.resolved",
    ]
    with world.runtime.db.read() as tx:
        kinds = [s.kind for s in queries.steps(tx, filed)]
        measured = queries.measures(queries.for_staff(tx, _staff(world)), world.runtime.clock.now())
    assert kinds == ["filed", "escalated", "response", "escalated", "resolved"]
    assert measured.first_response_hours is not None
    assert measured.first_response_hours >= 25
    assert measured.resolution_hours is not None
    assert measured.resolution_hours >= 98


def test_two_workers_escalate_a_missed_deadline_once(world: World) -> None:
    citizen, _phone = _citizen(world, 1)
    filed = _file(
        world,
        service.Filing("other", "消费券页面打不开", "wallet", citizen_id=citizen.id),
        citizen,
    )
    later = world.runtime.clock.now() + timedelta(hours=73)
    keys = _keys(world)

    def step() -> int:
        with world.runtime.db.write() as tx:
            return escalate_due(tx, later, keys)

    results = race(step, step)
    assert sorted(results) == [0, 1], results
    with world.runtime.db.read() as tx:
        escalated = tx.execute(
            select(complaint_steps.c.id).where(
                complaint_steps.c.complaint_id == filed, complaint_steps.c.kind == "escalated"
            )
        ).all()
    assert len(escalated) == 1
    assert _row(world, filed).escalation_level == 1


def test_only_the_merchant_concerned_answers_and_its_answer_is_a_first_response(
    world: World,
) -> None:
    shop, other = open_shop(world), open_shop(world)
    citizen, phone = _citizen(world, 2)
    filed = _file(
        world,
        service.Filing(
            "overcharge",
            "用券之前先涨价，变相加价",
            "wallet",
            citizen_id=citizen.id,
            merchant_id=shop.merchant_id,
        ),
        citizen,
    )
    now = world.runtime.clock.now()
    stranger = Actor(
        kind="merchant",
        id=other.merchant_id,
        role=PartnerRole.MERCHANT,
        merchant_id=other.merchant_id,
    )
    with pytest.raises(QuanError), world.runtime.db.write() as tx:
        service.merchant_answer(tx, now, _keys(world), stranger, filed, "与我店无关的说明")
    owner = Actor(
        kind="merchant",
        id=shop.merchant_id,
        role=PartnerRole.MERCHANT,
        merchant_id=shop.merchant_id,
    )
    with world.runtime.db.write() as tx:
        service.merchant_answer(tx, now, _keys(world), owner, filed, "价格系统出错，已退还差价。")
    assert _row(world, filed).status == "answered"
    assert _told(world, phone) == ["complaint.filed", "complaint.merchant_answer"]
    with world.runtime.db.read() as tx:
        mine = queries.for_merchant(tx, shop.merchant_id)
        theirs = queries.for_merchant(tx, other.merchant_id)
    assert [r.id for r in mine] == [filed]
    assert theirs == []


def test_a_hotline_caller_is_told_without_the_phone_kept_in_clear(world: World) -> None:
    operator = _staff(world)
    stranger_phone = "13900139000"
    filed = _file(
        world,
        service.Filing(
            "voucher_problem",
            "来电反映：领券后券包里看不到券",
            "hotline",
            caller_phone=stranger_phone,
        ),
        operator,
    )
    row = _row(world, filed)
    assert row.citizen_id is None
    assert row.caller_phone_hash
    assert row.issuer_id == world.issuer.id
    assert stranger_phone not in (row.caller_phone_enc or "") + row.caller_phone_hash
    assert _told(world, stranger_phone) == ["complaint.filed"]
    # A caller who is a registered citizen is linked to the citizen instead.
    citizen, phone = _citizen(world, 3)
    linked = _file(
        world,
        service.Filing("other", "来电咨询后投诉：客服电话打不通", "hotline", caller_phone=phone),
        operator,
    )
    assert _row(world, linked).citizen_id == citizen.id
    assert _row(world, linked).caller_phone_enc is None
    # Another issuer's operator does not see it; an auditor may not answer.
    with world.runtime.db.read() as tx:
        assert filed not in [r.id for r in queries.for_staff(tx, _staff(world, "outsider"))]
    with pytest.raises(QuanError), world.runtime.db.write() as tx:
        service.respond(
            tx,
            world.runtime.clock.now(),
            _keys(world),
            _staff(world, "auditor"),
            filed,
            "审计员不应答复",
        )
    with pytest.raises(QuanError), world.runtime.db.write() as tx:
        service.respond(
            tx,
            world.runtime.clock.now(),
            _keys(world),
            _staff(world, "outsider"),
            filed,
            "其他市的答复",
        )


def test_a_stale_read_of_a_missed_deadline_does_not_escalate_twice(world: World) -> None:
    """Gets round the row lock and the serialised read: both steps act on the same read."""
    citizen, _phone = _citizen(world, 4)
    filed = _file(
        world,
        service.Filing("other", "页面一直打不开，领不了券", "wallet", citizen_id=citizen.id),
        citizen,
    )
    later = world.runtime.clock.now() + timedelta(hours=73)
    with world.runtime.db.write() as tx:  # the read's transaction ends: its lock goes
        (stale,) = [r for r in escalation.due(tx, later) if r.id == filed]
    for expected in (True, False):
        with world.runtime.db.write() as tx:
            assert escalation.escalate_one(tx, later, _keys(world), stale) is expected
    assert _row(world, filed).escalation_level == 1


def test_a_burst_of_negative_complaints_about_one_shop_is_a_finding_naming_it_and_the_topic(
    world: World,
) -> None:
    shop, calm = open_shop(world), open_shop(world)
    texts = [
        "用券前先涨价，太坑人了",
        "结账时多收了钱，非常不满",
        "价格虚高，用了券还更贵",
        "收银员态度很差，还乱收费",
    ]
    for n, text in enumerate(texts):
        citizen, _phone = _citizen(world, 10 + n)
        _file(
            world,
            service.Filing(
                "overcharge", text, "wallet", citizen_id=citizen.id, merchant_id=shop.merchant_id
            ),
            citizen,
        )
    citizen, _phone = _citizen(world, 20)
    _file(
        world,
        service.Filing(
            "other",
            "店员很热情，用券很方便",
            "wallet",
            citizen_id=citizen.id,
            merchant_id=calm.merchant_id,
        ),
        citizen,
    )
    with world.runtime.db.read() as tx:
        assert queries.spikes(tx, _staff(world), world.runtime.clock.now()) == []  # not analysed
    job = next(j for j in default_jobs() if j.name == "feedback-analysis")
    run_job(world.runtime, job, "test-worker")
    with world.runtime.db.read() as tx:
        (spike,) = queries.spikes(tx, _staff(world), world.runtime.clock.now())
        outsider = queries.spikes(tx, _staff(world, "outsider"), world.runtime.clock.now())
    assert (spike.merchant_id, spike.topic, spike.count) == (shop.merchant_id, "price", 4)
    assert outsider == []

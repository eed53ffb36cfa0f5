"""The blacklist: who may bar whom, when an entry bars, lifting and appeals, and the check that
claims and redemptions will call."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from quan.domain.blacklist import BlacklistEntry, ReasonCode, Subject, SubjectType, is_blocked
from quan.domain.errors import QuanError
from quan.services.people import blacklist, blacklist_decisions
from quan.store.citizen_tables import blacklist_appeals, blacklist_entries
from quan.store.tables import events
from tests.conftest import World
from tests.integration.citizen_fixtures import person, register, sign_in
from tests.integration.merchant_fixtures import apply

DAY = timedelta(days=1)
ALICE, BOB = person(0), person(1)


def bar(world: World, subject_id: str, who: str = "operator", **overrides: Any) -> Any:
    payload: dict[str, Any] = {
        "subject_type": "citizen",
        "subject_id": subject_id,
        "reason_code": "cash_out",
        "reason": "与商户串通套现，见案件 F-2026-017",
    }
    payload.update(overrides)
    return world.post(who, "/blacklist", payload)


def iso(at: datetime) -> str:
    return at.isoformat()


@pytest.fixture
def alice(world: World) -> dict[str, Any]:
    return register(world, ALICE)


def test_an_operator_bars_a_citizen_and_the_check_says_so(
    world: World, alice: dict[str, Any]
) -> None:
    now = world.runtime.clock.now()
    response = bar(world, alice["id"], ends_at=iso(now + 30 * DAY))
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["in_force"] is True
    assert entry["decided_by"] == f"staff:{world.users['operator'].id}"
    with world.runtime.db.read() as tx:
        found = blacklist.active_block(tx, "citizen", alice["id"], now)
        assert found is not None
        assert found.id == entry["id"]
        assert blacklist.active_block(tx, "citizen", alice["id"], now + 30 * DAY) is None
        assert blacklist.active_block(tx, "merchant", alice["id"], now) is None
        with pytest.raises(QuanError) as caught:
            blacklist.ensure_not_blocked(tx, SubjectType.CITIZEN, alice["id"], now)
    assert caught.value.code == "BLACKLISTED"
    assert caught.value.params["entry_id"] == entry["id"]


def test_an_entry_starting_later_does_not_bar_yet(world: World, alice: dict[str, Any]) -> None:
    now = world.runtime.clock.now()
    entry = bar(world, alice["id"], starts_at=iso(now + DAY)).json()
    assert entry["in_force"] is False
    with world.runtime.db.read() as tx:
        assert blacklist.active_block(tx, "citizen", alice["id"], now) is None
        assert blacklist.active_block(tx, "citizen", alice["id"], now + DAY) is not None


def test_a_merchant_of_the_operators_issuer_can_be_barred(world: World) -> None:
    merchant, _ = apply(world)
    response = bar(world, merchant["id"], subject_type="merchant", reason_code="fake_transaction")
    assert response.status_code == 201, response.text
    outsider = bar(world, merchant["id"], who="outsider", subject_type="merchant")
    assert outsider.status_code == 403
    assert outsider.json()["code"] == "OTHER_ISSUER"


@pytest.mark.parametrize(
    ("subject_type", "subject_id"), [("citizen", "cit_nobody"), ("merchant", "mch_nobody")]
)
def test_an_unknown_subject_cannot_be_barred(
    world: World, subject_type: str, subject_id: str
) -> None:
    response = bar(world, subject_id, subject_type=subject_type)
    assert response.status_code == 404


def test_overlapping_entries_for_one_subject_are_refused(
    world: World, alice: dict[str, Any]
) -> None:
    now = world.runtime.clock.now()
    first = bar(world, alice["id"], ends_at=iso(now + 10 * DAY)).json()
    overlapping = bar(world, alice["id"], starts_at=iso(now + 5 * DAY))
    assert overlapping.status_code == 409
    assert overlapping.json()["code"] == "ALREADY_BLACKLISTED"
    assert overlapping.json()["entry_id"] == first["id"]
    after = bar(world, alice["id"], starts_at=iso(now + 10 * DAY))
    assert after.status_code == 201


@pytest.mark.parametrize(
    ("starts", "ends"), [(-1, None), (0, 0), (2, 1)], ids=["backdated", "empty", "reversed"]
)
def test_an_impossible_period_is_refused(
    world: World, alice: dict[str, Any], starts: int, ends: int | None
) -> None:
    now = world.runtime.clock.now()
    response = bar(
        world,
        alice["id"],
        starts_at=iso(now + starts * DAY),
        ends_at=iso(now + ends * DAY) if ends is not None else None,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_BLACKLIST_PERIOD"


def test_a_naive_time_or_an_unknown_reason_is_refused(world: World, alice: dict[str, Any]) -> None:
    assert bar(world, alice["id"], starts_at="2027-01-01T00:00:00").status_code == 422
    assert bar(world, alice["id"], reason_code="dislike").status_code == 422


@pytest.mark.parametrize("who", ["auditor", "agent"])
def test_auditors_and_agents_cannot_decide(world: World, alice: dict[str, Any], who: str) -> None:
    assert bar(world, alice["id"], who=who).status_code == 403


def test_auditors_read_every_entry(world: World, alice: dict[str, Any]) -> None:
    entry = bar(world, alice["id"]).json()
    listed = world.get("auditor", "/blacklist", subject_id=alice["id"], in_force="true").json()
    assert [e["id"] for e in listed["items"]] == [entry["id"]]
    assert world.get("auditor", f"/blacklist/{entry['id']}").json()["reason"] == entry["reason"]


def test_lifting_ends_an_entry_now_and_only_once(world: World, alice: dict[str, Any]) -> None:
    entry = bar(world, alice["id"]).json()
    world.runtime.clock.advance(DAY / 4)  # type: ignore[attr-defined]
    lifted = world.post("operator", f"/blacklist/{entry['id']}/lift", {"reason": "误判"})
    assert lifted.status_code == 200
    assert lifted.json()["in_force"] is False
    now = world.runtime.clock.now()
    with world.runtime.db.read() as tx:
        assert blacklist.active_block(tx, "citizen", alice["id"], now) is None
        # A dispute about this morning is judged by the entry as it stood then.
        assert blacklist.active_block(tx, "citizen", alice["id"], now - DAY / 8) is not None
    again = world.post("operator", f"/blacklist/{entry['id']}/lift", {"reason": "again"})
    assert again.status_code == 409
    assert again.json()["code"] == "BLACKLIST_ENTRY_NOT_IN_FORCE"


def test_an_operator_cannot_lift_another_issuers_entry(world: World, alice: dict[str, Any]) -> None:
    entry = bar(world, alice["id"]).json()
    response = world.post("outsider", f"/blacklist/{entry['id']}/lift", {"reason": "x"})
    assert response.status_code == 403
    assert world.post("admin", f"/blacklist/{entry['id']}/lift", {"reason": "x"}).status_code == 200


# --- appeals ------------------------------------------------------------------------------


def test_a_barred_citizen_sees_their_entry_and_appeals_and_an_upheld_appeal_keeps_it(
    world: World, alice: dict[str, Any]
) -> None:
    entry = bar(world, alice["id"]).json()
    headers = sign_in(world, ALICE.phone)
    mine = world.client.get("/api/v1/me/blacklist", headers=headers).json()
    assert [e["id"] for e in mine] == [entry["id"]]
    filed = world.client.post(
        f"/api/v1/blacklist/{entry['id']}/appeal",
        json={"statement": "我没有套现，消费记录可查"},
        headers=headers,
    )
    assert filed.status_code == 201, filed.text
    (appeal,) = filed.json()["appeals"]
    assert appeal["filed_by"] == f"citizen:{alice['id']}"
    assert appeal["outcome"] is None
    decided = world.post(
        "operator",
        f"/blacklist/{entry['id']}/appeal/decision",
        {"outcome": "upheld", "reason": "交易记录显示异常"},
    )
    assert decided.status_code == 200
    assert decided.json()["appeals"][0]["outcome"] == "upheld"
    assert decided.json()["in_force"] is True


def test_an_overturned_appeal_lifts_the_entry(world: World, alice: dict[str, Any]) -> None:
    entry = bar(world, alice["id"]).json()
    world.post("operator", f"/blacklist/{entry['id']}/appeal", {"statement": "来信申诉"})
    decided = world.post(
        "admin",
        f"/blacklist/{entry['id']}/appeal/decision",
        {"outcome": "overturned", "reason": "核实无误"},
    ).json()
    assert decided["in_force"] is False
    assert decided["lift_reason"] == "核实无误"


def test_staff_can_record_an_appeal_already_heard_with_its_outcome(
    world: World, alice: dict[str, Any]
) -> None:
    entry = bar(world, alice["id"]).json()
    recorded = world.post(
        "operator",
        f"/blacklist/{entry['id']}/appeal",
        {"statement": "到窗口申诉", "outcome": "overturned", "decision_reason": "现场核实"},
    )
    assert recorded.status_code == 201
    assert recorded.json()["appeals"][0]["outcome"] == "overturned"
    assert recorded.json()["in_force"] is False


def test_one_appeal_waits_at_a_time(world: World, alice: dict[str, Any]) -> None:
    entry = bar(world, alice["id"]).json()
    path = f"/blacklist/{entry['id']}/appeal"
    assert world.post("operator", path, {"statement": "一"}).status_code == 201
    second = world.post("operator", path, {"statement": "二"})
    assert second.status_code == 409
    assert second.json()["code"] == "APPEAL_PENDING"
    no_pending = world.post(
        "operator",
        f"/blacklist/{entry['id']}/appeal/decision",
        {"outcome": "upheld", "reason": "r"},
    )
    assert no_pending.status_code == 200
    again = world.post(
        "operator",
        f"/blacklist/{entry['id']}/appeal/decision",
        {"outcome": "upheld", "reason": "r"},
    )
    assert again.json()["code"] == "NO_PENDING_APPEAL"
    assert world.post("operator", path, {"statement": "三"}).status_code == 201


def test_a_citizen_cannot_see_or_appeal_someone_elses_entry_nor_decide(
    world: World, alice: dict[str, Any]
) -> None:
    bob = register(world, BOB)
    entry = bar(world, alice["id"]).json()
    headers = sign_in(world, BOB.phone)
    assert world.client.get(f"/api/v1/blacklist/{entry['id']}", headers=headers).status_code == 404
    appeal = world.client.post(
        f"/api/v1/blacklist/{entry['id']}/appeal", json={"statement": "x"}, headers=headers
    )
    assert appeal.status_code == 404
    own_headers = sign_in(world, ALICE.phone)
    verdict = world.client.post(
        f"/api/v1/blacklist/{entry['id']}/appeal",
        json={"statement": "x", "outcome": "overturned"},
        headers=own_headers,
    )
    assert verdict.status_code == 403
    assert bob["id"] != alice["id"]


def test_concurrent_appeals_leave_exactly_one_pending(world: World, alice: dict[str, Any]) -> None:
    entry_id = bar(world, alice["id"]).json()["id"]
    runtime = world.runtime
    operator = world.users["operator"].actor()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []
    lock = threading.Lock()

    def file(i: int) -> None:
        barrier.wait()
        try:
            with runtime.db.write() as tx:
                blacklist_decisions.file_appeal(
                    tx, runtime.clock.now(), operator, entry_id, f"申诉 {i}"
                )
            result = "filed"
        except QuanError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=file, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("filed") == 1
    assert outcomes.count("APPEAL_PENDING") == 5
    with runtime.db.read() as tx:
        assert len(tx.execute(select(blacklist_appeals)).all()) == 1


def test_concurrent_bars_of_one_citizen_leave_one_entry(
    world: World, alice: dict[str, Any]
) -> None:
    runtime = world.runtime
    operator = world.users["operator"].actor()
    barrier = threading.Barrier(5)
    outcomes: list[str] = []
    lock = threading.Lock()
    cmd = blacklist_decisions.NewEntry(
        subject=Subject(SubjectType.CITIZEN, alice["id"]),
        reason_code=ReasonCode.ABUSE,
        reason="并发",
    )

    def add() -> None:
        barrier.wait()
        try:
            with runtime.db.write() as tx:
                blacklist_decisions.add_entry(tx, runtime.clock.now(), operator, cmd)
            result = "added"
        except QuanError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=add) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("added") == 1
    assert outcomes.count("ALREADY_BLACKLISTED") == 4


def test_events_carry_codes_and_ids_but_not_the_reason_or_the_statement(
    world: World, alice: dict[str, Any]
) -> None:
    entry = bar(world, alice["id"]).json()
    world.post("operator", f"/blacklist/{entry['id']}/appeal", {"statement": "我的申诉理由"})
    world.post("operator", f"/blacklist/{entry['id']}/lift", {"reason": "解除理由"})
    with world.runtime.db.read() as tx:
        rows = tx.execute(select(events).where(events.c.type.like("blacklist.%"))).all()
    assert [r.type for r in rows] == [
        "blacklist.added",
        "blacklist.appeal_filed",
        "blacklist.lifted",
    ]
    for row in rows:
        for secret in ("F-2026-017", "我的申诉理由", "解除理由"):
            assert secret not in row.payload


def test_the_store_query_agrees_with_the_domain_rule(world: World, alice: dict[str, Any]) -> None:
    """Random entries written straight to the table; the SQL and the pure rule must agree."""
    rng = random.Random(20261125)
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    subjects = [Subject(SubjectType.CITIZEN, f"cit_{i}") for i in range(4)]
    entries = []
    for i in range(40):
        starts = t0 + rng.randint(-20, 20) * DAY
        ends = starts + rng.randint(1, 15) * DAY if rng.random() < 0.7 else None
        lifted = starts + rng.randint(0, 20) * DAY if rng.random() < 0.3 else None
        entries.append(
            BlacklistEntry(
                f"blk_{i:03d}", rng.choice(subjects), ReasonCode.OTHER, starts, ends, lifted
            )
        )
    with world.runtime.db.write() as tx:
        for e in entries:
            tx.execute(
                insert(blacklist_entries).values(
                    id=e.id,
                    subject_type=e.subject.type.value,
                    subject_id=e.subject.id,
                    reason_code=e.reason_code.value,
                    reason="r",
                    starts_at=e.starts_at,
                    ends_at=e.ends_at,
                    decided_by="test",
                    created_at=t0,
                    lifted_at=e.lifted_at,
                )
            )
    with world.runtime.db.read() as tx:
        for step in range(-25, 40):
            at = t0 + step * DAY / 2
            for subject in subjects:
                found = blacklist.active_block(tx, subject.type, subject.id, at)
                assert (found is not None) == is_blocked(entries, subject, at), (subject, at)

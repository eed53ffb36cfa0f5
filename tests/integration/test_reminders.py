"""Reminders and lottery results (issue 25): the sweeps choose exactly the due set, each
reminder is written to the sealed outbox once (two workers racing included), never about an
expired, redeemed or deactivated voucher, never in quiet hours, never to a citizen who opted out;
lottery results reach winners and the others with the verification link, once each."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from quan.channels import outbox as box
from quan.jobs import reminders as job
from quan.services.people.citizens import CitizenKeys
from quan.store.reminder_tables import reminders
from quan.store.tables import outbox
from tests.conftest import World
from tests.integration import citizen_fixtures as people
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import CATERING_100_30, open_shop, redeem
from tests.race import race

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Holder:
    citizen_id: str
    phone: str
    voucher: dict[str, Any]


def holders(world: World, count: int, *, valid_days: int = 10, start: int = 0) -> list[Holder]:
    """``count`` citizens with phones, each holding one voucher valid ``valid_days`` days."""
    pid = issuance.funded_program(world)
    definition = {**CATERING_100_30, "validity_preset": None, "valid_days": valid_days}
    vt = issuance.voucher_type(world, pid, **definition)
    created = issuance.batch(world, pid, vt["id"], quantity=count)
    issuance.open_batch(world, created["id"])
    out = []
    for n in range(start, start + count):
        person = people.person(n)
        citizen = people.register(world, person)
        claimed = issuance.claim(world, citizen["id"], created["id"])
        assert claimed.status_code == 201, claimed.text
        out.append(Holder(citizen["id"], person.phone, claimed.json()))
    return out


def quiet_off(world: World, pid: str, **rules: Any) -> None:
    body = {"expiry_offsets_days": [7, 1], "quiet_hours": None, **rules}
    response = world.client.put(
        f"/api/v1/programs/{pid}/reminders", json=body, headers=world.headers("operator")
    )
    assert response.status_code == 200, response.text


def run(world: World) -> job.ReminderRun:
    return job.run_once(world.runtime, "test")


def sms(world: World, phone: str, kind: str | None = None) -> list[box.Message]:
    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    with world.runtime.db.read() as tx:
        found = box.newest(tx, keys, 500, recipient=phone)
    return [m for m in found if kind is None or m.subject == kind]


def chosen(world: World, kind: str) -> Counter[tuple[str, int]]:
    m = reminders.c
    with world.runtime.db.read() as tx:
        rows = tx.execute(select(m.subject_id, m.offset_days).where(m.kind == kind)).all()
    return Counter((r.subject_id, r.offset_days) for r in rows)


def test_expiry_reminders_go_once_per_offset_and_never_about_unusable_vouchers(
    world: World,
) -> None:
    group = holders(world, 5)
    pid = group[0].voucher["program_id"]
    quiet_off(world, pid, on_claim=False)
    late = holders(world, 1, valid_days=5, start=5)[0]  # claimed after its 7-day moment
    quiet_off(world, late.voucher["program_id"], on_claim=False)
    keep, redeemed, deactivated, opted, plain = group
    shop = open_shop(world)
    assert redeem(world, shop, code=redeemed.voucher["code"]).status_code == 201
    assert (
        world.post(
            "operator", f"/vouchers/{deactivated.voucher['id']}/deactivate", {"reason": "核查"}
        ).status_code
        == 200
    )
    put = world.client.put(
        "/api/v1/me/notifications",
        json={"sms": False},
        headers=issuance.citizen_headers(world, opted.citizen_id),
    )
    assert put.status_code == 200
    assert put.json() == {"sms": False, "email": True}

    run(world)  # day 0: nothing is due yet (the claim notices are off)
    assert chosen(world, "expiry") == Counter()
    issuance.advance(world, 3 * DAY + timedelta(hours=1))  # 7 days left (less an hour)
    run(world)
    seven = {keep.voucher["id"], plain.voucher["id"]}
    assert chosen(world, "expiry") == Counter({(v, 7): 1 for v in seven})
    message = sms(world, keep.phone, "reminder.expiry")
    assert len(message) == 1
    assert message[0].body is not None
    assert keep.voucher["code"][-4:] in message[0].body
    assert "还剩 7 天" in message[0].body
    run(world)  # again: nothing new
    assert len(sms(world, keep.phone, "reminder.expiry")) == 1

    issuance.advance(world, DAY)  # ``late`` has less than a day left: its 1-day reminder
    run(world)
    assert chosen(world, "expiry") == Counter(
        {**{(v, 7): 1 for v in seven}, (late.voucher["id"], 1): 1}
    )
    assert len(sms(world, late.phone, "reminder.expiry")) == 1
    # The 1-day reminders: ``plain`` was redeemed meanwhile.
    issuance.advance(world, 5 * DAY)
    assert redeem(world, shop, code=plain.voucher["code"]).status_code == 201
    run(world)
    assert chosen(world, "expiry") == Counter(
        {**{(v, 7): 1 for v in seven}, (keep.voucher["id"], 1): 1, (late.voucher["id"], 1): 1}
    )
    # (the outbox forgets recipients after 24 hours: the 7-day messages are purged by now)
    (last,) = sms(world, keep.phone, "reminder.expiry")
    assert last.body is not None
    assert "还剩 1 天" in last.body
    assert sms(world, plain.phone, "reminder.expiry") == []
    m = reminders.c
    with world.runtime.db.read() as tx:
        sent = Counter(
            tx.execute(select(m.subject_id).where(m.kind == "expiry", m.status == "sent"))
            .scalars()
            .all()
        )
    assert sent == Counter({keep.voucher["id"]: 2, plain.voucher["id"]: 1, late.voucher["id"]: 1})
    for holder in (redeemed, deactivated, opted):
        assert holder.voucher["id"] not in sent


def test_a_reminder_chosen_before_its_voucher_was_redeemed_is_skipped_at_send_time(
    world: World,
) -> None:
    (holder,) = holders(world, 1, valid_days=2)
    pid = holder.voucher["program_id"]
    quiet_off(world, pid, on_claim=False)
    issuance.advance(world, DAY + timedelta(hours=1))
    with world.runtime.db.write() as tx:
        from quan.services.delivery.reminder_choose import choose_all

        assert choose_all(tx, world.runtime.clock.now()).by_kind == {"expiry": 1}
    assert sms(world, holder.phone, "reminder.expiry") == []
    assert redeem(world, open_shop(world), code=holder.voucher["code"]).status_code == 201
    sent = job.send(world.runtime)
    assert (sent.sent, sent.skipped) == (0, {"redeemed": 1})
    assert sms(world, holder.phone, "reminder.expiry") == []


def test_claim_and_redemption_notices_say_what_was_claimed_and_what_remains(
    world: World,
) -> None:
    first, second = holders(world, 2)
    quiet_off(world, first.voucher["program_id"])
    run(world)
    claimed = sms(world, first.phone, "reminder.claimed")
    assert len(claimed) == 1
    assert claimed[0].body is not None
    assert first.voucher["code"][-4:] in claimed[0].body
    assert "有效期至" in claimed[0].body
    assert redeem(world, open_shop(world), code=first.voucher["code"]).status_code == 201
    run(world)
    run(world)
    used = sms(world, first.phone, "reminder.redeemed")
    assert len(used) == 1
    assert used[0].body is not None
    assert "¥30.00" in used[0].body
    assert "还有 0 张" in used[0].body
    assert len(sms(world, second.phone, "reminder.claimed")) == 1
    assert sms(world, second.phone, "reminder.redeemed") == []


def test_quiet_hours_hold_reminders_until_they_end_in_the_programs_time_zone(
    world: World,
) -> None:
    (holder,) = holders(world, 1)
    pid = holder.voucher["program_id"]
    # 10:00 in Asia/Shanghai now: quiet from 09:00 to 12:30 local.
    quiet_off(world, pid, quiet_hours={"start": "09:00", "end": "12:30"})
    held = run(world)
    assert held.chosen.by_kind.get("claimed") == 1
    assert (held.sent, held.deferred) == (0, 1)
    assert sms(world, holder.phone, "reminder.claimed") == []
    issuance.advance(world, timedelta(hours=2, minutes=29))
    assert run(world).sent == 0
    issuance.advance(world, timedelta(minutes=1))
    assert run(world).sent == 1
    assert len(sms(world, holder.phone, "reminder.claimed")) == 1


def test_opting_out_stops_reminders_but_never_sign_in_codes(world: World) -> None:
    (holder,) = holders(world, 1)
    quiet_off(world, holder.voucher["program_id"])
    headers = issuance.citizen_headers(world, holder.citizen_id)
    assert world.client.get("/api/v1/me/notifications", headers=headers).json() == {
        "sms": True,
        "email": True,
    }
    assert world.client.put(
        "/api/v1/me/notifications", json={"sms": False}, headers=headers
    ).json() == {"sms": False, "email": True}
    assert world.client.put(
        "/api/v1/me/notifications", json={"sms": False}, headers=headers
    ).json() == {"sms": False, "email": True}
    run(world)
    assert sms(world, holder.phone, "reminder.claimed") == []
    assert people.ask_code(world, holder.phone).status_code == 202
    assert len(sms(world, holder.phone, "citizen.otp.login")) == 1
    bad = world.client.put("/api/v1/me/notifications", json={"push": False}, headers=headers)
    assert bad.status_code == 422
    assert world.client.get("/api/v1/me/notifications").status_code == 401


def test_reminder_rules_are_per_program_validated_and_for_its_issuer(world: World) -> None:
    pid = issuance.funded_program(world)
    got = world.get("auditor", f"/programs/{pid}/reminders")
    assert got.status_code == 200
    assert got.json()["expiry_offsets_days"] == [7, 1]
    assert got.json()["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    url = f"/api/v1/programs/{pid}/reminders"
    for bad in (
        {"expiry_offsets_days": [0]},
        {"expiry_offsets_days": [3, 3]},
        {"expiry_offsets_days": [91]},
        {"expiry_offsets_days": [1, 2, 3, 4, 5, 6]},
        {"expiry_offsets_days": [1], "quiet_hours": {"start": "24:00", "end": "08:00"}},
    ):
        response = world.client.put(url, json=bad, headers=world.headers("operator"))
        assert response.status_code == 422, bad
        assert response.json()["code"] in ("INVALID_REMINDER_SETTINGS", "VALIDATION_FAILED")
    body = {"expiry_offsets_days": [1, 14, 3], "on_redemption": False}
    assert world.client.put(url, json=body, headers=world.headers("outsider")).status_code == 403
    assert world.client.put(url, json=body, headers=world.headers("auditor")).status_code == 403
    done = world.client.put(url, json=body, headers=world.headers("operator"))
    assert done.status_code == 200
    assert done.json()["expiry_offsets_days"] == [14, 3, 1]
    assert done.json()["quiet_hours"] is None
    assert done.json()["on_redemption"] is False
    assert world.get("operator", f"/programs/{pid}/reminders").json() == done.json()
    assert issuance.event_count(world, "program.reminders") == 1


def test_lottery_results_reach_winners_and_the_others_once_with_the_verification_link(
    world: World,
) -> None:
    from tests.integration.test_lottery import draw, enter, lottery_batch

    bid = lottery_batch(world, quantity=2)
    entrants = []
    for n in range(5):
        person = people.person(20 + n)
        citizen = people.register(world, person)
        assert enter(world, citizen["id"], bid).status_code == 201
        entrants.append((citizen["id"], person.phone))
    issuance.advance(world, DAY)
    with world.runtime.db.read() as tx:
        from quan.store.voucher_tables import batches

        pid = tx.execute(select(batches.c.program_id).where(batches.c.id == bid)).scalar_one()
    quiet_off(world, pid, on_claim=False)
    run(world)
    assert chosen(world, "lottery_won") == Counter() == chosen(world, "lottery_lost")
    assert draw(world, bid).status_code == 200
    first = run(world)
    again = run(world)
    assert first.chosen.by_kind == {"lottery": 5}
    assert again.chosen.total == 0
    link = f"http://127.0.0.1:8000/api/v1/batches/{bid}/lottery"
    results = Counter()
    for _citizen, phone in entrants:
        won = sms(world, phone, "lottery.won")
        lost = sms(world, phone, "lottery.lost")
        assert len(won) + len(lost) == 1
        message = (won or lost)[0]
        assert message.body is not None
        assert link in message.body
        results[message.subject] += 1
    assert results == Counter({"lottery.won": 2, "lottery.lost": 3})


def test_two_workers_racing_send_each_reminder_once(world: World) -> None:
    group = holders(world, 12)
    quiet_off(world, group[0].voucher["program_id"])
    issuance.advance(world, 9 * DAY + timedelta(hours=1))  # claim notices and 1-day reminders
    world.runtime.settings.reminder_send_batch = 5  # many small steps, interleaved
    for _ in range(3):
        outcomes = race(*[lambda: run(world) for _ in range(4)])
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    m, o = reminders.c, outbox.c
    with world.runtime.db.read() as tx:
        rows = tx.execute(select(m.kind, m.status, m.message_id)).all()
        messages = tx.execute(select(func.count()).select_from(outbox)).scalar_one()
        kinds = Counter(tx.execute(select(o.subject)).scalars())
    assert Counter(r.kind for r in rows) == Counter({"claimed": 12, "expiry": 12})
    assert {r.status for r in rows} == {"sent"}
    assert len({r.message_id for r in rows}) == 24
    assert kinds["reminder.claimed"] == 12
    assert kinds["reminder.expiry"] == 12
    assert messages == sum(kinds.values())

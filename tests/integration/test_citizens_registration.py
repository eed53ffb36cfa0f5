"""Registering citizens: by staff or by the citizen, one person one account, refusals write
nothing, and the views show what each reader may see."""

from __future__ import annotations

import re
import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.domain.auth import Role
from quan.domain.citizens import RegistrationInput, validate_registration
from quan.domain.errors import QuanError
from quan.domain.resident_id import check_character
from quan.services.people import citizens
from quan.services.people.citizens import CITIZEN_ALREADY_REGISTERED, CitizenKeys
from quan.store.citizen_tables import citizens as citizens_table
from quan.store.db import Database
from quan.store.tables import events
from tests.citizen_samples import resident_id
from tests.conftest import World
from tests.integration.citizen_fixtures import (
    ask_code,
    body,
    last_code,
    person,
    register,
    sms_to,
)

ALICE, BOB = person(0), person(1)


def count(db: Database, table: Any = citizens_table) -> int:
    with db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(table)).scalar_one())


# --- by staff -----------------------------------------------------------------------------


def test_an_agent_registers_a_citizen_and_the_registration_is_attributed(world: World) -> None:
    citizen = register(world, ALICE, who="agent")
    assert citizen["registered_via"] == "agent"
    assert citizen["registered_by"] == f"staff:{world.users['agent'].id}"
    with world.runtime.db.read() as tx:
        (event,) = tx.execute(select(events).where(events.c.type == "citizen.registered")).all()
    assert event.actor == f"staff:{world.users['agent'].id}"
    assert event.subject_id == citizen["id"]


def test_staff_see_the_id_number_name_and_phone_masked(world: World) -> None:
    citizen = register(world, ALICE, who="operator")
    assert citizen["registered_via"] == "operator"
    assert citizen["resident_id_masked"] == ALICE.resident_id[:3] + "*" * 15
    assert citizen["phone_masked"] == ALICE.phone[:3] + "****" + ALICE.phone[-4:]
    assert citizen["name_masked"] == ALICE.name[0] + "*" * (len(ALICE.name) - 1)
    shown = world.get("auditor", f"/citizens/{citizen['id']}").text
    for value in (ALICE.resident_id, ALICE.phone, ALICE.name):
        assert value not in shown


def test_age_and_priority_groups_derive_from_the_id_number_and_attributes(world: World) -> None:
    number = resident_id("330106", date(1950, 1, 1), 11)
    citizen = register(
        world,
        ALICE,
        resident_id=number,
        attributes={"income_group": "subsistence", "disabled": True, "disability_grade": 2},
    )
    assert citizen["age"] == 76
    assert citizen["priority_groups"] == ["disabled", "elderly", "low_income"]
    assert (citizen["disabled"], citizen["disability_grade"]) == (True, 2)


def test_an_agent_may_register_someone_without_a_phone(world: World) -> None:
    citizen = register(world, ALICE, who="agent", phone=None)
    assert citizen["phone_masked"] is None


def test_registering_the_same_person_twice_is_refused_and_writes_nothing(world: World) -> None:
    first = register(world, ALICE)
    # Same person, typed differently (lower-case x, spaces), another phone and name.
    again = world.post(
        "agent",
        "/citizens",
        body(
            ALICE, resident_id=" " + ALICE.resident_id.lower() + " ", phone=BOB.phone, name="某某"
        ),
    )
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "CITIZEN_ALREADY_REGISTERED"
    assert again.json()["citizen_id"] == first["id"]  # staff are told which account holds it
    assert count(world.runtime.db) == 1
    with world.runtime.db.read() as tx:
        registered = tx.execute(
            select(func.count()).where(events.c.type == "citizen.registered")
        ).scalar_one()
    assert registered == 1


def test_a_phone_already_used_by_another_citizen_is_refused(world: World) -> None:
    register(world, ALICE)
    taken = world.post("operator", "/citizens", body(BOB, phone=ALICE.phone))
    assert taken.status_code == 409
    assert taken.json()["code"] == "PHONE_ALREADY_REGISTERED"
    assert count(world.runtime.db) == 1


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    ("field", "value", "code", "reason"),
    [
        ("resident_id", ALICE.resident_id[:-1] + "Z", "INVALID_RESIDENT_ID", "format"),
        ("resident_id", "110105194912310025", "INVALID_RESIDENT_ID", "check_digit"),
        ("resident_id", with_check("11010520300101001"), "INVALID_RESIDENT_ID", "birth_date"),
        ("resident_id", with_check("11010519490231002"), "INVALID_RESIDENT_ID", "birth_date"),
        ("resident_id", with_check("99010519800101001"), "INVALID_RESIDENT_ID", "region"),
        ("phone", "1381234567", "INVALID_PHONE", None),
        ("phone", "12812345678", "INVALID_PHONE", None),
        ("region_code", "999999", "UNKNOWN_REGION_CODE", None),
        ("name", "张3", "INVALID_NAME", None),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_nothing_written(
    world: World, field: str, value: str, code: str, reason: str | None
) -> None:
    before = count(world.runtime.db, events)
    response = world.post("operator", "/citizens", body(ALICE, **{field: value}))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert problem["field"] == field
    assert problem.get("reason") == reason
    if field == "resident_id":
        assert value not in response.text  # only the masked form may come back
    assert count(world.runtime.db) == 0
    assert count(world.runtime.db, events) == before


def test_a_disability_grade_without_disability_is_refused(world: World) -> None:
    response = world.post(
        "operator",
        "/citizens",
        body(ALICE, attributes={"disabled": False, "disability_grade": 3}),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_DISABILITY"


@pytest.mark.parametrize("who", ["auditor"])
def test_roles_that_do_not_register_are_refused(world: World, who: str) -> None:
    response = world.post(who, "/citizens", body(ALICE))
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert count(world.runtime.db) == 0


def test_a_bad_token_is_refused_rather_than_taken_for_self_registration(world: World) -> None:
    response = world.client.post(
        "/api/v1/citizens", json=body(ALICE), headers={"Authorization": "Bearer qt1.bad.token"}
    )
    assert response.status_code == 401
    assert count(world.runtime.db) == 0


# --- the race -----------------------------------------------------------------------------


def test_the_same_person_registered_concurrently_gets_exactly_one_account(world: World) -> None:
    runtime = world.runtime
    keys = CitizenKeys.from_settings(runtime.settings)
    agent = world.users["agent"].actor()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        registration = validate_registration(
            RegistrationInput(
                resident_id=ALICE.resident_id,
                name=ALICE.name,
                region_code=ALICE.region_code,
                phone=f"1390000{i:04d}",  # different phones: only the person collides
            ),
            today=date(2026, 11, 25),
        )
        barrier.wait()
        try:
            with runtime.db.write() as tx:
                citizens.register(tx, runtime.clock.now(), agent, keys, registration)
            result = "created"
        except QuanError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("created") == 1
    assert outcomes.count(CITIZEN_ALREADY_REGISTERED.code) == threads_count - 1
    assert count(runtime.db) == 1
    with runtime.db.read() as tx:
        registered = tx.execute(
            select(func.count()).where(events.c.type == "citizen.registered")
        ).scalar_one()
    assert registered == 1


# --- self-registration --------------------------------------------------------------------


def self_register(world: World, **overrides: Any) -> Any:
    assert ask_code(world, ALICE.phone, "register").status_code == 202
    code = last_code(world, ALICE.phone)
    return world.client.post("/api/v1/citizens", json=body(ALICE, otp_code=code, **overrides))


def test_a_citizen_registers_themselves_with_an_sms_code_and_is_signed_in(world: World) -> None:
    response = self_register(world)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["citizen"]["phone"] == ALICE.phone  # their own view
    assert answer["citizen"]["name"] == ALICE.name
    assert ALICE.resident_id not in response.text
    me = world.client.get(
        "/api/v1/me/citizen", headers={"Authorization": f"Bearer {answer['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == answer["citizen"]["id"]
    with world.runtime.db.read() as tx:
        row = tx.execute(select(citizens_table)).one()
    assert row.registered_via == "self"
    assert row.registered_by == f"citizen:{row.id}"


def test_self_registration_without_a_code_is_refused(world: World) -> None:
    response = world.client.post("/api/v1/citizens", json=body(ALICE))
    assert response.status_code == 422
    assert response.json()["code"] == "PHONE_CODE_REQUIRED"
    assert count(world.runtime.db) == 0


def test_self_registration_with_a_wrong_code_is_refused(world: World) -> None:
    assert ask_code(world, ALICE.phone, "register").status_code == 202
    code = last_code(world, ALICE.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = world.client.post("/api/v1/citizens", json=body(ALICE, otp_code=wrong))
    assert response.status_code == 401
    assert response.json()["code"] == "OTP_INVALID"
    assert count(world.runtime.db) == 0


def test_a_registration_code_is_not_a_sign_in_code(world: World) -> None:
    register(world, BOB)
    assert ask_code(world, ALICE.phone, "register").status_code == 202
    code = last_code(world, ALICE.phone)
    signed = world.client.post(
        "/api/v1/citizens/session", json={"phone": ALICE.phone, "code": code}
    )
    assert signed.status_code == 401


def test_self_registering_a_taken_id_number_does_not_say_which_account_holds_it(
    world: World,
) -> None:
    register(world, ALICE, who="agent", phone=None)
    response = self_register(world)
    assert response.status_code == 409
    # Said only after the real-name check matched: the caller is the number's holder.
    assert response.json()["code"] == "ID_REGISTERED_ELSEWHERE"
    assert "citizen_id" not in response.json()


def test_one_registration_code_is_one_attempt_whatever_the_outcome(world: World) -> None:
    """I6: a refused registration rolled the code's consumption back, so one code could test
    ID number after ID number for being registered."""
    register(world, ALICE, who="agent", phone=None)
    assert ask_code(world, ALICE.phone, "register").status_code == 202
    code = last_code(world, ALICE.phone)
    refused = world.client.post("/api/v1/citizens", json=body(ALICE, otp_code=code))
    assert refused.status_code == 409
    # The same code with an unregistered ID number: already used, so nothing is learnt.
    again = world.client.post(
        "/api/v1/citizens",
        json=body(BOB, phone=ALICE.phone, otp_code=code),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "OTP_ALREADY_USED"
    assert count(world.runtime.db) == 1
    # The refusal for a registered number says nothing a fresh number's refusal would not.
    assert set(refused.json()) - {"code", "detail", "title", "status", "type", "instance"} == set()


def test_asking_a_registration_code_for_a_registered_phone_sends_no_code(world: World) -> None:
    register(world, ALICE)
    response = ask_code(world, ALICE.phone, "register")
    assert response.status_code == 202
    (notice,) = sms_to(world, ALICE.phone)
    assert "已注册" in notice["body"]
    assert not re.search(r"\d{6}", notice["body"])


def test_self_registration_is_rate_limited_per_client_ip(world: World) -> None:
    from quan.api.routes.citizens import SELF_REGISTRATION

    for _ in range(SELF_REGISTRATION.attempts):
        world.client.post("/api/v1/citizens", json=body(ALICE, phone="1"))
    response = world.client.post("/api/v1/citizens", json=body(ALICE))
    assert response.status_code == 429
    assert response.json()["code"] == "RATE_LIMITED"
    assert "Retry-After" in response.headers
    # Staff registering people at a service centre are not limited.
    assert world.post("agent", "/citizens", body(ALICE)).status_code == 201


# --- reading ------------------------------------------------------------------------------


def test_staff_list_citizens_filtered_by_region(world: World) -> None:
    register(world, ALICE, region_code="330106")
    register(world, BOB, region_code="330108")
    listed = world.get("auditor", "/citizens", region_code="330108").json()
    assert [c["region_code"] for c in listed["items"]] == ["330108"]
    assert world.get("agent", "/citizens").status_code == 403


def test_an_agent_finds_a_citizen_by_id_number_without_putting_it_in_a_url(world: World) -> None:
    citizen = register(world, ALICE)
    found = world.post("agent", "/citizens/lookup", {"resident_id": ALICE.resident_id})
    assert found.status_code == 200
    assert found.json()["id"] == citizen["id"]
    missing = world.post("agent", "/citizens/lookup", {"resident_id": BOB.resident_id})
    assert missing.status_code == 404


def test_revealing_personal_data_to_staff_is_itself_an_event(world: World) -> None:
    citizen = register(world, ALICE, region_code="330106")  # in the operator's issuer region
    revealed = world.post(
        "operator", f"/citizens/{citizen['id']}/reveal", {"purpose": "identity_check"}
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["resident_id"] == ALICE.resident_id
    assert revealed.json()["phone"] == ALICE.phone
    with world.runtime.db.read() as tx:
        (event,) = tx.execute(
            select(events).where(events.c.type == "citizen.personal_data_revealed")
        ).all()
    assert event.actor == f"staff:{world.users['operator'].id}"
    assert event.subject_id == citizen["id"]
    assert '"purpose":"identity_check"' in event.payload
    for who in ("agent", "auditor"):
        refused = world.post(who, f"/citizens/{citizen['id']}/reveal", {"purpose": "dispute"})
        assert refused.status_code == 403


def test_a_reveal_needs_a_stated_purpose(world: World) -> None:
    citizen = register(world, ALICE)
    before = count(world.runtime.db, events)
    response = world.post("operator", f"/citizens/{citizen['id']}/reveal", {"purpose": "curious"})
    assert response.status_code == 422
    assert count(world.runtime.db, events) == before


def test_citizens_are_not_staff(world: World) -> None:
    assert Role.__members__.get("CITIZEN") is None  # no staff account can hold the role

"""Self-registration with a real-name check (issue 25, item 4): the development provider's test
identities, each refusal in words and with its stable code, consent recorded without personal
data, a resubmitted attempt that follows the first, and one account per ID number under racing
registrations from two phones."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.domain.citizens import RegistrationInput, validate_registration
from quan.domain.consent import SELF_REGISTRATION as CONSENT
from quan.domain.errors import QuanError
from quan.services.people import realname, self_registration
from quan.services.people.citizens import CitizenKeys
from quan.store.citizen_tables import citizens as citizens_table
from quan.store.selfreg_tables import self_registrations
from quan.store.tables import events
from tests.citizen_samples import Person, resident_id
from tests.conftest import World
from tests.integration.citizen_fixtures import ask_code, body, last_code, register


def _person(sequence: int, phone: str, name: str = "林晓明") -> Person:
    return Person(
        resident_id=resident_id("330106", date(1985, 4, 12), sequence),
        name=name,
        phone=phone,
        region_code="330106",
        income_group="normal",
        disability_grade="",
    )


MATCHES = _person(123, "13600000001")
MISMATCH = _person(999, "13600000002")
NO_RECORD = _person(998, "13600000003")
UNAVAILABLE = _person(997, "13600000004")


def self_register(world: World, p: Person, *, key: str | None = None, **overrides: Any) -> Any:
    assert ask_code(world, p.phone, "register").status_code == 202
    code = last_code(world, p.phone)
    headers = {"Idempotency-Key": key} if key else {}
    return world.client.post(
        "/api/v1/citizens", json=body(p, otp_code=code, **overrides), headers=headers
    )


def rows(world: World, table: Any = self_registrations) -> list[Any]:
    with world.runtime.db.read() as tx:
        return list(tx.execute(select(table)).all())


def test_a_matching_identity_is_registered_eligible_and_its_consent_recorded(
    world: World,
) -> None:
    response = self_register(world, MATCHES)
    assert response.status_code == 201, response.text
    citizen_id = response.json()["citizen"]["id"]
    (citizen,) = rows(world, citizens_table)
    assert (citizen.id, citizen.registered_via) == (citizen_id, "self")
    (attempt,) = rows(world)
    assert attempt.status == "registered"
    assert attempt.citizen_id == citizen_id
    assert attempt.consent_version == CONSENT.version
    assert attempt.consent_sha256 == CONSENT.sha256
    assert attempt.consented_at is not None
    assert attempt.channel == "api"
    assert (attempt.realname_provider, attempt.realname_outcome) == ("dev", "match")
    assert attempt.realname_reference == f"dev-{attempt.id}"
    # Signed in: the session works for the wallet.
    token = response.json()["access_token"]
    me = world.client.get("/api/v1/me/citizen", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        (MISMATCH, 422, "REALNAME_MISMATCH"),
        (NO_RECORD, 422, "REALNAME_NO_RECORD"),
        (UNAVAILABLE, 503, "REALNAME_UNAVAILABLE"),
    ],
)
def test_a_failed_real_name_check_is_explained_and_creates_no_account(
    world: World, who: Person, status: int, code: str
) -> None:
    response = self_register(world, who)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    if status == 503:
        assert response.headers["Retry-After"] == "60"
    assert rows(world, citizens_table) == []
    (attempt,) = rows(world)
    assert (attempt.status, attempt.refusal) == ("refused", code)
    assert attempt.citizen_id is None


def test_refusals_have_a_message_in_both_languages(world: World) -> None:
    response = self_register(world, MISMATCH)
    assert "实名核验未通过" in response.json()["detail"]
    assert ask_code(world, "13600000009", "register").status_code == 202
    code = last_code(world, "13600000009")
    english = world.client.post(
        "/api/v1/citizens",
        json=body(_person(999, "13600000009"), otp_code=code),
        headers={"Accept-Language": "en"},
    )
    assert english.json()["code"] == "REALNAME_MISMATCH"
    assert "real-name check failed" in english.json()["detail"]


def test_without_the_current_consent_nothing_happens_and_the_code_stays_good(
    world: World,
) -> None:
    assert ask_code(world, MATCHES.phone, "register").status_code == 202
    code = last_code(world, MATCHES.phone)
    for version in (None, "2020-old"):
        refused = world.client.post(
            "/api/v1/citizens", json=body(MATCHES, otp_code=code, consent_version=version)
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "CONSENT_REQUIRED"
        assert refused.json()["version"] == CONSENT.version
    assert rows(world) == []
    accepted = world.client.post("/api/v1/citizens", json=body(MATCHES, otp_code=code))
    assert accepted.status_code == 201, accepted.text


def test_income_group_and_disability_are_not_self_declared(world: World) -> None:
    response = self_register(world, MATCHES, attributes={"income_group": "subsistence"})
    assert response.status_code == 422
    assert response.json()["code"] == "SELF_DECLARED_ATTRIBUTES"
    assert rows(world, citizens_table) == []


def test_an_id_number_registered_with_another_phone_is_said_without_naming_it(
    world: World,
) -> None:
    register(world, MATCHES, who="agent", phone="13911112222")
    response = self_register(world, MATCHES)
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "ID_REGISTERED_ELSEWHERE"
    assert set(problem) <= {"code", "detail", "title", "status", "type", "instance"}
    assert "1391" not in response.text
    assert "2222" not in response.text
    assert len(rows(world, citizens_table)) == 1


def test_a_retried_request_follows_the_first_attempt(world: World) -> None:
    first = self_register(world, MATCHES, key="retry-key-0001")
    assert first.status_code == 201
    again = world.client.post(
        "/api/v1/citizens",
        json=body(MATCHES, otp_code="000000"),
        headers={"Idempotency-Key": "retry-key-0001"},
    )
    assert again.status_code == 201, again.text
    assert again.json()["citizen"]["id"] == first.json()["citizen"]["id"]
    assert len(rows(world)) == 1
    refused = self_register(world, MISMATCH, key="retry-key-0002")
    replay = world.client.post(
        "/api/v1/citizens",
        json=body(MISMATCH, otp_code="000000"),
        headers={"Idempotency-Key": "retry-key-0002"},
    )
    assert refused.json()["code"] == replay.json()["code"] == "REALNAME_MISMATCH"
    # Another phone under a used key is refused, not followed.
    other = world.client.post(
        "/api/v1/citizens",
        json=body(NO_RECORD, otp_code="000000"),
        headers={"Idempotency-Key": "retry-key-0001"},
    )
    assert other.status_code == 422
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_self_registration_is_off_in_production_without_a_provider(world: World) -> None:
    production = world.runtime.settings.model_copy(update={"env": "production"})
    object.__setattr__(world.runtime, "settings", production)  # the route reads it per request
    assert not realname.enabled(world.runtime.settings)
    asked = ask_code(world, MATCHES.phone, "register")
    assert asked.status_code == 403
    assert asked.json()["code"] == "SELF_REGISTRATION_OFF"
    consent = world.client.get("/api/v1/citizens/self-registration/consent").json()
    assert consent["enabled"] is False
    assert consent["version"] == CONSENT.version


def test_one_id_number_from_two_phones_at_once_gets_one_account(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both real-name checks pass and both transactions meet at the insert: the unique keyed
    hash of the ID number lets one in; the other is told its number has an account."""
    twins = [_person(321, "13600000011"), _person(321, "13600000012")]
    codes = []
    for p in twins:
        assert ask_code(world, p.phone, "register").status_code == 202
        codes.append(last_code(world, p.phone))
    barrier = threading.Barrier(len(twins), timeout=30)
    check = realname.DevProvider.check

    def held(self: realname.DevProvider, request_id: str, identity: Any) -> realname.Verdict:
        verdict = check(self, request_id, identity)
        barrier.wait()  # both have passed the code and the check before either inserts
        return verdict

    monkeypatch.setattr(realname.DevProvider, "check", held)
    rt = world.runtime
    keys = CitizenKeys.from_settings(rt.settings)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        p = twins[i]
        registration = validate_registration(
            RegistrationInput(resident_id=p.resident_id, name=p.name, region_code=p.region_code,
                              phone=p.phone),
            today=rt.clock.now().date(),
        )  # fmt: skip
        try:
            self_registration.register_self(
                rt.db, rt.clock, keys, rt.throttle, rt.tokens, realname.DevProvider(),
                self_registration.Attempt(registration, codes[i], CONSENT.version, None, "api"),
                ip=f"203.0.113.{i}",
            )  # fmt: skip
            result = "201"
        except QuanError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(twins))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["201", "ID_REGISTERED_ELSEWHERE"]
    with world.runtime.db.read() as tx:
        assert tx.execute(select(func.count()).select_from(citizens_table)).scalar_one() == 1
        registered = tx.execute(
            select(func.count()).where(events.c.type == "citizen.registered")
        ).scalar_one()
        statuses = sorted(r.status for r in tx.execute(select(self_registrations)))
    assert registered == 1
    assert statuses == ["refused", "registered"]

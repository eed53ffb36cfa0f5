"""Citizen sign-in by SMS code: one use, five minutes, five tries, and nothing that tells a
stranger whether a phone is registered."""

from __future__ import annotations

import dataclasses
import re
import secrets
import threading
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from quan.api.app import create_app
from quan.cache.throttle import RedisThrottle
from quan.services.people import otp
from quan.store.citizen_tables import citizen_otps
from tests.conftest import World
from tests.integration.citizen_fixtures import (
    ask_code,
    last_code,
    person,
    register,
    session,
    sign_in,
    sms_to,
)

ALICE, STRANGER = person(0), person(5)


def other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_registered_citizen_signs_in_with_the_code_from_the_sms(world: World) -> None:
    citizen = register(world, ALICE)
    answer = ask_code(world, ALICE.phone)
    assert answer.status_code == 202
    assert answer.json() == {"expires_in_seconds": 300, "resend_after_seconds": 60}
    response = session(world, ALICE.phone, last_code(world, ALICE.phone))
    assert response.status_code == 200, response.text
    assert response.json()["citizen_id"] == citizen["id"]
    me = world.client.get(
        "/api/v1/me/citizen",
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
    )
    assert me.status_code == 200
    mine = me.json()
    assert mine["phone"] == ALICE.phone  # unmasked in the citizen's own view
    assert mine["name"] == ALICE.name
    assert mine["resident_id_masked"].startswith(ALICE.resident_id[:3])
    assert ALICE.resident_id not in me.text  # the ID number stays masked even here


def test_an_unknown_phone_gets_the_same_answer_but_no_sms(world: World) -> None:
    register(world, ALICE)
    known = ask_code(world, ALICE.phone)
    unknown = ask_code(world, STRANGER.phone)
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert sms_to(world, STRANGER.phone) == []
    with world.runtime.db.read() as tx:
        assert len(tx.execute(select(citizen_otps)).all()) == 1


def test_wrong_codes_for_known_and_unknown_phones_are_answered_alike(world: World) -> None:
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    ask_code(world, STRANGER.phone)
    code = last_code(world, ALICE.phone)
    known = session(world, ALICE.phone, other(code))
    unknown = session(world, STRANGER.phone, other(code))
    assert known.status_code == unknown.status_code == 401
    assert known.json()["code"] == unknown.json()["code"] == "OTP_INVALID"
    assert known.json()["attempts_left"] == unknown.json()["attempts_left"] == 4


def test_a_code_works_once(world: World) -> None:
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    code = last_code(world, ALICE.phone)
    assert session(world, ALICE.phone, code).status_code == 200
    replay = session(world, ALICE.phone, code)
    assert replay.status_code == 409
    assert replay.json()["code"] == "OTP_ALREADY_USED"


def test_a_code_expires_after_five_minutes(world: World) -> None:
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    code = last_code(world, ALICE.phone)
    world.runtime.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    expired = session(world, ALICE.phone, code)
    assert expired.status_code == 410
    assert expired.json()["code"] == "OTP_EXPIRED"


def test_after_five_wrong_codes_even_the_right_one_is_refused(world: World) -> None:
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    code = last_code(world, ALICE.phone)
    for _ in range(otp.MAX_ATTEMPTS):
        assert session(world, ALICE.phone, other(code)).status_code == 401
    blocked = session(world, ALICE.phone, code)
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "OTP_TOO_MANY_ATTEMPTS"
    assert "Retry-After" in blocked.headers
    with world.runtime.db.read() as tx:
        (row,) = tx.execute(select(citizen_otps)).all()
    assert row.attempts == otp.MAX_ATTEMPTS
    assert row.consumed_at is None


def test_an_unknown_phone_is_locked_out_after_five_tries_just_like_a_known_one(
    world: World,
) -> None:
    for _ in range(otp.MAX_ATTEMPTS + 1):  # the free failures, then one through the gate
        assert session(world, STRANGER.phone, "123456").json()["code"] == "OTP_INVALID"
    blocked = session(world, STRANGER.phone, "123456")
    assert blocked.json()["code"] == "OTP_TOO_MANY_ATTEMPTS"


def test_the_attempt_limit_holds_without_the_throttle(world: World) -> None:
    """With per-process throttles, the count on the code row still burns it after five."""
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    code = last_code(world, ALICE.phone)
    throttle = world.runtime.throttle
    for _ in range(otp.MAX_ATTEMPTS):
        session(world, ALICE.phone, other(code))
        for counter in ("failures", "gate", "ip"):
            name = _phone_hash(world, ALICE.phone) if counter != "ip" else "testclient"
            throttle.reset(f"otp.login:{counter}:{name}")
    assert session(world, ALICE.phone, code).json()["code"] == "OTP_TOO_MANY_ATTEMPTS"


def _phone_hash(world: World, phone: str) -> str:
    from quan.services.people.citizens import CitizenKeys

    return CitizenKeys.from_settings(world.runtime.settings).phone_hash(phone)


def test_asking_again_within_a_minute_is_refused(world: World) -> None:
    register(world, ALICE)
    assert ask_code(world, ALICE.phone).status_code == 202
    again = ask_code(world, ALICE.phone)
    assert again.status_code == 429
    assert again.json()["code"] == "RATE_LIMITED"
    assert len(sms_to(world, ALICE.phone)) == 1


def test_the_code_is_stored_only_as_a_keyed_hash(world: World) -> None:
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    code = last_code(world, ALICE.phone)
    with world.runtime.db.read() as tx:
        (row,) = tx.execute(select(citizen_otps)).all()
    assert code not in repr(tuple(row))
    assert ALICE.phone not in repr(tuple(row))


def test_malformed_input_is_refused_before_anything_happens(world: World) -> None:
    bad_phone = ask_code(world, "12345")
    assert (bad_phone.status_code, bad_phone.json()["code"]) == (422, "INVALID_PHONE")
    bad_code = session(world, ALICE.phone, "12ab56")
    assert (bad_code.status_code, bad_code.json()["code"]) == (422, "VALIDATION_FAILED")


def test_one_code_used_concurrently_signs_in_exactly_once(world: World) -> None:
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    code = last_code(world, ALICE.phone)
    runtime = world.runtime
    from quan.services.people.citizens import CitizenKeys

    keys = CitizenKeys.from_settings(runtime.settings)
    barrier = threading.Barrier(6)
    results: list[str] = []
    lock = threading.Lock()

    def use() -> None:
        barrier.wait()
        try:
            otp.sign_in(
                runtime.db,
                runtime.clock,
                keys,
                runtime.throttle,
                runtime.tokens,
                phone=ALICE.phone,
                code=code,
                ip="203.0.113.7",
            )
            outcome = "signed_in"
        except Exception as exc:  # QuanError expected; anything else fails the count
            outcome = getattr(exc, "code", repr(exc))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("signed_in") == 1
    assert results.count("OTP_ALREADY_USED") == 5


# --- the citizen principal ----------------------------------------------------------------


def test_a_citizen_token_opens_citizen_routes_only(world: World) -> None:
    register(world, ALICE)
    headers = sign_in(world, ALICE.phone)
    assert world.client.get("/api/v1/me/citizen", headers=headers).status_code == 200
    for path in ("/api/v1/citizens", "/api/v1/programs", "/api/v1/blacklist"):
        refused = world.client.get(path, headers=headers)
        assert refused.status_code == 403, path
    staff_only = world.client.post("/api/v1/citizens", json={"resident_id": "x"}, headers=headers)
    assert staff_only.status_code == 403


def test_a_citizen_token_for_no_such_citizen_is_refused(world: World) -> None:
    token, _ = world.runtime.tokens.issue("citizen", "cit_nobody", world.runtime.clock.now())
    response = world.client.get("/api/v1/me/citizen", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_staff_token_cannot_read_a_citizens_own_view(world: World) -> None:
    assert world.get("admin", "/me/citizen").status_code == 403


# --- several API processes share one Redis ------------------------------------------------


def test_wrong_codes_are_counted_across_processes_through_redis(
    world: World, redis_url: str
) -> None:
    register(world, ALICE)
    ask_code(world, ALICE.phone)
    code = last_code(world, ALICE.phone)
    prefix = f"quan:test:{secrets.token_hex(4)}:"
    shared = redis.Redis.from_url(redis_url)
    clients: list[Any] = []
    for _ in range(2):
        runtime = dataclasses.replace(world.runtime, throttle=RedisThrottle(shared, prefix))
        clients.append(TestClient(create_app(runtime=runtime), raise_server_exceptions=False))
    try:
        for i in range(otp.MAX_ATTEMPTS):  # alternate between the two "processes"
            wrong = clients[i % 2].post(
                "/api/v1/citizens/session", json={"phone": ALICE.phone, "code": other(code)}
            )
            assert wrong.status_code == 401
        last = clients[1].post(
            "/api/v1/citizens/session", json={"phone": ALICE.phone, "code": code}
        )
        assert last.json()["code"] == "OTP_TOO_MANY_ATTEMPTS"
    finally:
        for c in clients:
            c.close()
        for key in shared.scan_iter(prefix + "*"):
            shared.delete(key)


@pytest.mark.parametrize("purpose", ["login", "register"])
def test_the_sms_names_its_purpose_and_carries_a_six_digit_code(world: World, purpose: str) -> None:
    if purpose == "login":
        register(world, ALICE)
    ask_code(world, ALICE.phone, purpose)
    (message,) = sms_to(world, ALICE.phone)
    assert message["subject"] == f"citizen.otp.{purpose}"
    assert re.search(r"\d{6}", message["body"])

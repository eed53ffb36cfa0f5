"""quan-lottery-v2 (SQLite and PostgreSQL): registrations in the log, the close checkpoint, the
second person's beacon, the draw, and the outsider's verifier that rebuilds the list from the log
— and fails when a malicious operator changes the database behind it."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import delete, insert, update

from quan.cli.lottery import enter_beacon, run, verify_with
from quan.config import Settings
from quan.domain import lottery as algo
from quan.domain import lottery_v2 as v2
from quan.domain.auth import SYSTEM
from quan.domain.errors import QuanError
from quan.services.issuance import lottery as lottery_service
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.lottery_tables import lottery_draws, lottery_registrations
from tests.conftest import PASSWORD, START, World, make_settings
from tests.integration.issuance_fixtures import DAY, advance, register, register_many
from tests.integration.test_lottery import ELDERLY_BIRTH, draw, elderly_quota, enter, public
from tests.integration.test_lottery import lottery_batch as v1_style_batch
from tests.integration.transparency_fixtures import entry_bytes, sequence
from tests.race import race

BEACON = {"value": "a3f1c9e07d5b2468", "source": "drand quicknet round 1234567"}


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    """New lotteries use quan-lottery-v2, the default (the v1 suite pins v1)."""
    return make_settings(tmp_path, db.url, lottery_algorithm=v2.ALGORITHM)


def lottery_batch(world: World, quantity: int = 3, **overrides: Any) -> str:
    bid = v1_style_batch(world, quantity=quantity, **overrides)
    assert public(world, bid)["algorithm"] == v2.ALGORITHM
    return bid


def beacon(world: World, bid: str, who: str = "checker", **body: str) -> Any:
    return world.post(who, f"/batches/{bid}/lottery/beacon", {**BEACON, **body})


def closed_with_beacon(world: World, quantity: int = 3, entrants: int = 6) -> tuple[str, list[str]]:
    """A v2 lottery with ``entrants`` registrants (two elderly, for the reserved pool), closed,
    logged, and its beacon entered by the second operator."""
    bid = lottery_batch(world, quantity=quantity, reserved=elderly_quota(1))
    people = register_many(world, entrants - 2) + register_many(world, 2, birth=ELDERLY_BIRTH)
    for person in people:
        assert enter(world, person, bid).status_code == 201
    advance(world, DAY)
    sequence(world.runtime)
    recorded = beacon(world, bid)
    assert recorded.status_code == 200, recorded.text
    return bid, people


def leaves_of(world: World, bid: str, kind: str) -> list[tuple[int, bytes, dict[str, Any]]]:
    size = int(world.client.get("/api/v1/audit/checkpoint").text.splitlines()[1])
    found = []
    for start in range(0, size, 1000):
        for i, data in enumerate(entry_bytes(world.client, start, min(size, start + 1000) - 1)):
            doc = json.loads(data)
            if doc["type"] == kind and doc["subject"] == {"type": "batch", "id": bid}:
                found.append((start + i, data, doc))
    return found


def test_a_v2_lottery_is_drawn_from_logged_registrations_and_a_second_persons_beacon(
    world: World,
) -> None:
    bid = lottery_batch(world, quantity=3, reserved=elderly_quota(1))
    people = register_many(world, 4) + register_many(world, 2, birth=ELDERLY_BIRTH)
    for person in people:
        assert enter(world, person, bid).status_code == 201
    refused = beacon(world, bid)
    assert refused.status_code == 409
    assert refused.json()["code"] == "LOTTERY_REGISTRATION_STILL_OPEN"
    advance(world, DAY)
    early = draw(world, bid)
    assert early.status_code == 409
    assert early.json()["code"] == "LOTTERY_BEACON_NOT_RECORDED"
    not_logged = beacon(world, bid)  # the sequencer has not logged the registrations yet
    assert not_logged.status_code == 409
    assert not_logged.json()["code"] == "LOTTERY_CLOSE_NOT_LOGGED"
    sequence(world.runtime)
    maker = beacon(world, bid, who="operator")  # created the batch and its commitment
    assert maker.status_code == 403
    assert maker.json()["code"] == "LOTTERY_BEACON_SAME_PERSON"
    assert beacon(world, bid, who="auditor").status_code == 403
    assert beacon(world, bid, who="outsider").status_code == 403  # another issuer's operator

    recorded = beacon(world, bid)
    assert recorded.status_code == 200, recorded.text
    record = recorded.json()
    assert record["beacon"]["value"] == BEACON["value"]
    assert record["beacon"]["recorded_by"] == world.users["checker"].actor().label
    again = beacon(world, bid, value="another")
    assert again.status_code == 409
    assert again.json()["code"] == "LOTTERY_BEACON_ALREADY_RECORDED"

    # The close checkpoint is the first signed one holding every registration: its tree holds
    # the six registration leaves, and the checkpoint before it (if any) does not hold them all.
    registrations = leaves_of(world, bid, v2.REGISTERED)
    assert len(registrations) == 6
    close = record["close_checkpoint"]
    assert max(i for i, _, _ in registrations) < close["size"]
    assert close["checkpoint"].splitlines()[1] == str(close["size"])
    assert close["checkpoint"].splitlines()[2] == close["root"]

    drawn = draw(world, bid)  # by the batch's creator: the draw needs no second person
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["issued"] == 3
    lot = public(world, bid)
    secret = bytes.fromhex(lot["secret"])
    assert hashlib.sha256(secret).hexdigest() == lot["commitment"]
    expected_seed = hashlib.sha256(
        b"quan-lottery-v2" + secret + base64.b64decode(close["root"]) + BEACON["value"].encode()
    ).hexdigest()
    assert lot["seed"] == expected_seed
    sequence(world.runtime)
    assert verify_with(world.client, bid) == []
    run(world.client, bid)  # exit code 0


def test_a_registration_leaf_carries_the_batch_the_pseudonym_and_the_tickets_only(
    world: World,
) -> None:
    bid = lottery_batch(world)
    elder = register(world, birth=ELDERLY_BIRTH)
    assert enter(world, elder, bid).status_code == 201
    sequence(world.runtime)
    [(_, data, doc)] = leaves_of(world, bid, v2.REGISTERED)
    with world.runtime.db.read() as tx:
        reg = lottery_service.registration_of(tx, bid, elder)
    assert reg is not None
    assert doc["payload"] == {"pseudonym": reg.pseudonym, "tickets": 1}
    assert doc["actor"] == SYSTEM.label  # not the citizen's id
    assert elder.encode() not in data
    assert reg.id.encode() not in data
    key = lottery_service.pseudonym_key(world.runtime.settings, public_program(world, bid))
    assert reg.pseudonym == algo.pseudonym(key, elder)  # the lottery's own keyed pseudonym


def public_program(world: World, bid: str) -> str:
    return str(world.client.get(f"/api/v1/batches/{bid}").json()["program_id"])


def test_the_beacon_must_be_a_value_the_log_carries_unchanged(world: World) -> None:
    bid = lottery_batch(world)
    advance(world, DAY)
    sequence(world.runtime)
    for value in ("13812345678", " padded", "line\nbreak", "x" * 257):
        refused = beacon(world, bid, value=value)
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["code"] in ("INVALID_LOTTERY_BEACON", "VALIDATION_FAILED")
    assert beacon(world, bid).status_code == 200


def test_no_registration_is_accepted_once_the_beacon_fixed_the_close(world: World) -> None:
    bid, _ = closed_with_beacon(world)
    late = register(world)
    # Even with a clock before the close (a request that read the time before it), the beacon
    # recorded under the registration lock refuses it.
    with world.runtime.db.write() as tx, pytest.raises(QuanError) as refused:
        lottery_service.register(
            tx, START + timedelta(hours=1), world.runtime.settings, late, bid
        )
    assert refused.value.code == "LOTTERY_REGISTRATION_CLOSED"


def _insert_registration(world: World, bid: str, *, logged: bool) -> str:
    """What a malicious operator does behind the service: a registration row, and (``logged``)
    its event, written straight into the database after the close."""
    citizen = register(world)
    key = lottery_service.pseudonym_key(world.runtime.settings, public_program(world, bid))
    pseudonym = algo.pseudonym(key, citizen)
    now = world.runtime.clock.now()
    with world.runtime.db.write() as tx:
        tx.execute(
            insert(lottery_registrations).values(
                id=new_id("lreg"),
                batch_id=bid,
                citizen_id=citizen,
                pseudonym=pseudonym,
                tickets=1,
                groups="",
                registered_at=START + timedelta(hours=1),  # back-dated
            )
        )
        if logged:
            record_event(
                tx,
                type=v2.REGISTERED,
                actor=SYSTEM,
                subject_type="batch",
                subject_id=bid,
                program_id=public_program(world, bid),
                at=now,
                payload=v2.registration_payload(pseudonym, 1),
            )
    return pseudonym


def _refused(world: World, bid: str) -> list[str]:
    problems = verify_with(world.client, bid)
    assert problems
    with pytest.raises(typer.Exit) as bad:
        run(world.client, bid)
    assert bad.value.exit_code == 1
    return problems


def test_verify_fails_when_a_registrant_is_added_after_the_close(world: World) -> None:
    bid, _ = closed_with_beacon(world)
    added = _insert_registration(world, bid, logged=True)
    assert draw(world, bid).status_code == 200
    sequence(world.runtime)
    problems = _refused(world, bid)
    assert any(p.startswith(f"{added} registered after the close") for p in problems), problems
    assert f"{added} is in the server's list but was not logged before the close" in problems


def test_verify_fails_when_the_servers_list_differs_from_the_logged_registrations(
    world: World,
) -> None:
    bid, people = closed_with_beacon(world, quantity=2, entrants=8)
    silent = _insert_registration(world, bid, logged=False)  # never logged at all
    with world.runtime.db.write() as tx:
        gone = lottery_service.registration_of(tx, bid, people[0])
        assert gone is not None
        tx.execute(delete(lottery_registrations).where(lottery_registrations.c.id == gone.id))
        changed = lottery_service.registration_of(tx, bid, people[1])
        assert changed is not None
        tx.execute(
            update(lottery_registrations)
            .where(lottery_registrations.c.id == changed.id)
            .values(tickets=3)
        )
    assert draw(world, bid).status_code == 200
    sequence(world.runtime)
    problems = _refused(world, bid)
    assert f"{silent} is in the server's list but was not logged before the close" in problems
    assert (
        f"{gone.pseudonym} was logged before the close but is missing from the server's list"
        in problems
    )
    assert f"{changed.pseudonym}: the server lists 3 tickets, the log 1" in problems
    assert not any("registered after the close" in p for p in problems)


def test_verify_fails_when_the_published_beacon_or_secret_is_not_the_logged_one(
    world: World,
) -> None:
    bid, _ = closed_with_beacon(world)
    assert draw(world, bid).status_code == 200
    sequence(world.runtime)
    assert verify_with(world.client, bid) == []
    with world.runtime.db.write() as tx:
        tx.execute(
            update(lottery_draws)
            .where(lottery_draws.c.batch_id == bid)
            .values(beacon="chosen after seeing the result")
        )
    problems = verify_with(world.client, bid)
    assert "the published beacon differs from the logged one" in problems
    assert any(p.startswith("seed: expected") for p in problems)


def test_a_v1_lottery_made_before_the_switch_still_draws_and_verifies_as_v1(
    world: World,
) -> None:
    bid = lottery_batch(world, quantity=2)
    with world.runtime.db.write() as tx:  # as the migration leaves a lottery made before v2
        tx.execute(
            update(lottery_draws)
            .where(lottery_draws.c.batch_id == bid)
            .values(algorithm=v2.V1)
        )
    for person in register_many(world, 4):
        assert enter(world, person, bid).status_code == 201
    advance(world, DAY)
    assert draw(world, bid).status_code == 200  # no beacon: v1 as before
    lot = public(world, bid)
    assert lot["algorithm"] == v2.V1
    assert lot["secret"] is None
    assert lot["beacon"] is None
    assert verify_with(world.client, bid) == []


@pytest.fixture
def wide(db: Database) -> Iterator[Database]:
    database = Database(db.url, pool_size=18, schema=db.schema)
    yield database
    database.dispose()


def test_registrations_racing_the_beacon_are_logged_before_the_close_or_refused(
    world: World, wide: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests that read the clock before the close race the second person's beacon (after it).
    Each registration either commits before the beacon fixes the close checkpoint — and is in
    it — or is refused; none lands in the log after the close. Registration events are slowed
    down so that transactions are in flight while the beacon is recorded."""
    bid = lottery_batch(world, quantity=3)
    people = register_many(world, 16)
    advance(world, DAY)
    settings = world.runtime.settings
    before, after = START + timedelta(hours=1), world.runtime.clock.now()
    checker = world.users["checker"].actor()
    real_record_event = lottery_service.record_event

    def slow_record_event(tx: Any, **fields: Any) -> Any:
        if fields["type"] == v2.REGISTERED:
            time.sleep(0.2)
        return real_record_event(tx, **fields)

    monkeypatch.setattr(lottery_service, "record_event", slow_record_event)

    def enter_late(citizen: str) -> Any:
        with wide.write() as tx:
            return lottery_service.register(tx, before, settings, citizen, bid)

    def close() -> Any:
        for _ in range(500):
            sequence(world.runtime)
            try:
                with wide.write() as tx:
                    return lottery_service.record_beacon(
                        tx, after, settings, checker, bid, **BEACON
                    )
            except QuanError as exc:
                if exc.code != "LOTTERY_CLOSE_NOT_LOGGED":
                    raise
        raise AssertionError("the close was never logged")

    results = race(close, *[lambda c=c: enter_late(c) for c in people])
    assert isinstance(results[0], lottery_service.PublicLottery), results[0]
    entered = [r for r in results[1:] if isinstance(r, lottery_service.Registration)]
    refused = [r for r in results[1:] if isinstance(r, QuanError)]
    assert len(entered) + len(refused) == len(people), results
    assert {e.code for e in refused} <= {"LOTTERY_REGISTRATION_CLOSED"}
    assert draw(world, bid).status_code == 200
    sequence(world.runtime)
    assert verify_with(world.client, bid) == []
    assert public(world, bid)["registrants"] == len(entered)


def test_the_cli_enters_the_beacon_as_the_signed_in_second_person(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    bid = lottery_batch(world)
    advance(world, DAY)
    sequence(world.runtime)
    with pytest.raises(typer.Exit) as refused:  # op1 created the batch
        enter_beacon(world.client, bid, username="op1", password=PASSWORD, **BEACON)
    assert refused.value.exit_code == 1
    assert "LOTTERY_BEACON_SAME_PERSON" in capsys.readouterr().err
    with pytest.raises(typer.Exit) as unknown:
        enter_beacon(world.client, bid, username="op2", password="wrong password", **BEACON)
    assert unknown.value.exit_code == 2
    enter_beacon(world.client, bid, username="op2", password=PASSWORD, **BEACON)
    assert "OK: the public value" in capsys.readouterr().out
    assert public(world, bid)["beacon"]["recorded_by"] == world.users["checker"].actor().label

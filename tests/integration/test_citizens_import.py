"""Importing eligibility lists: every row validated and reported, imports versioned, a repeated
file needs confirmation, a bad file writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.services.people import citizen_import
from quan.services.people.citizens import CitizenKeys
from quan.store.citizen_tables import citizen_imports, citizens
from quan.store.db import Database
from quan.store.tables import events
from tests.citizen_samples import HEADER, Person, csv_bytes, people
from tests.conftest import World
from tests.integration.citizen_fixtures import register

CROWD = list(people(6))


def upload(world: World, data: bytes, who: str = "operator", **params: Any) -> Any:
    return world.client.post(
        "/api/v1/citizens/imports",
        content=data,
        params=params,
        headers=world.headers(who, **{"Content-Type": "text/csv"}),
    )


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as tx:
        return (
            tx.execute(select(func.count()).select_from(citizens)).scalar_one(),
            tx.execute(select(func.count()).select_from(citizen_imports)).scalar_one(),
            tx.execute(select(func.count()).select_from(events)).scalar_one(),
        )


def test_an_eligibility_list_is_imported_and_recorded_as_a_version(world: World) -> None:
    data = csv_bytes(CROWD[:4])
    response = upload(world, data, file_name="2026-低保名单.csv")
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["rows_total"], report["created"], report["duplicates"], report["errors"]) == (
        4,
        4,
        0,
        0,
    )
    assert report["created_by"] == f"staff:{world.users['operator'].id}"
    stored = world.get("auditor", f"/citizens/imports/{report['import_id']}").json()
    assert stored["file_sha256"] == report["file_sha256"]
    assert stored["file_name"] == "2026-低保名单.csv"
    listed = world.get("operator", "/citizens", import_id=report["import_id"]).json()
    assert {c["registered_via"] for c in listed["items"]} == {"import"}
    assert len(listed["items"]) == 4


def test_bad_rows_are_reported_by_row_field_and_code_and_the_rest_imported(
    world: World,
) -> None:
    good, bad_id, bad_region = CROWD[0], CROWD[1], CROWD[2]
    broken = bad_id.resident_id[:-1] + ("1" if bad_id.resident_id[-1] != "1" else "2")
    rows = [
        good.row(),
        (broken, *bad_id.row()[1:]),
        (bad_region.resident_id, bad_region.name, bad_region.phone, "999999", "normal", ""),
    ]
    data = (",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in rows) + "\n").encode()
    response = upload(world, data)
    assert response.status_code == 201
    report = response.json()
    assert (report["created"], report["errors"]) == (1, 2)
    assert report["error_rows"] == [
        {"row": 3, "field": "resident_id", "code": "INVALID_RESIDENT_ID", "reason": "check_digit"},
        {"row": 4, "field": "region_code", "code": "UNKNOWN_REGION_CODE", "reason": None},
    ]
    assert broken not in response.text
    assert bad_region.resident_id not in response.text


def test_people_already_registered_or_repeated_in_the_file_are_duplicates_not_errors(
    world: World,
) -> None:
    existing = register(world, CROWD[0])
    data = csv_bytes([CROWD[0], CROWD[1], CROWD[1]])
    report = upload(world, data).json()
    assert (report["created"], report["duplicates"], report["errors"]) == (1, 2, 0)
    assert report["duplicate_rows"] == [
        {"row": 2, "reason": "registered", "citizen_id": existing["id"], "first_row": None},
        {"row": 4, "reason": "in_file", "citizen_id": None, "first_row": 3},
    ]


def test_a_phone_held_by_someone_else_is_an_error_of_that_row(world: World) -> None:
    register(world, CROWD[0])
    clash = Person(*CROWD[1].row()[:2], CROWD[0].phone, *CROWD[1].row()[3:])
    report = upload(world, csv_bytes([clash])).json()
    assert report["error_rows"] == [
        {"row": 2, "field": "phone", "code": "PHONE_ALREADY_REGISTERED", "reason": "registered"}
    ]


def test_the_same_file_again_needs_confirmation_and_then_is_recorded_as_a_repeat(
    world: World,
) -> None:
    data = csv_bytes(CROWD[:3])
    first = upload(world, data).json()
    before = counts(world.runtime.db)
    again = upload(world, data)
    assert again.status_code == 409
    assert again.json()["code"] == "IMPORT_ALREADY_APPLIED"
    assert again.json()["import_id"] == first["import_id"]
    assert counts(world.runtime.db) == before
    confirmed = upload(world, data, confirm="true")
    assert confirmed.status_code == 201
    report = confirmed.json()
    assert report["repeat_of"] == first["import_id"]
    assert (report["created"], report["duplicates"]) == (0, 3)
    history = world.get("auditor", "/citizens/imports").json()["items"]
    assert [i["import_id"] for i in history] == [first["import_id"], report["import_id"]]


def test_a_dry_run_classifies_every_row_and_writes_nothing(world: World) -> None:
    register(world, CROWD[0])
    before = counts(world.runtime.db)
    response = upload(world, csv_bytes(CROWD[:3]), dry_run="true")
    assert response.status_code == 200
    report = response.json()
    assert report["import_id"] is None
    assert (report["created"], report["duplicates"]) == (2, 1)
    assert counts(world.runtime.db) == before


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "IMPORT_EMPTY"),
        (b"resident_id,name,region_code\n", "IMPORT_EMPTY"),
        (b"id,full_name,region\n1,2,3\n", "IMPORT_BAD_HEADER"),
        (
            "身份证号,姓名,行政区划代码\n110105194912310021,王芳,110105\n".encode("gbk"),
            "IMPORT_NOT_UTF8",
        ),
        (b'resident_id,name,region_code\n"x,y,z\n', "IMPORT_MALFORMED"),
    ],
)
def test_a_bad_file_is_refused_with_a_stable_code_and_nothing_written(
    world: World, data: bytes, code: str
) -> None:
    before = counts(world.runtime.db)
    response = upload(world, data)
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == code
    assert counts(world.runtime.db) == before


def test_a_huge_file_is_refused_before_it_is_read(world: World) -> None:
    huge = b"resident_id,name,region_code\n" + b"x" * (2 << 20)
    response = upload(world, huge)
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_a_huge_chunked_upload_is_refused_too(world: World) -> None:
    def chunks() -> Any:
        yield b"resident_id,name,region_code\n"
        for _ in range(40):
            yield b"x" * 65536

    response = world.client.post(
        "/api/v1/citizens/imports",
        content=chunks(),
        headers=world.headers("operator", **{"Content-Type": "text/csv"}),
    )
    assert response.status_code == 413
    assert counts(world.runtime.db)[1] == 0


def test_a_form_upload_is_refused_with_a_hint(world: World) -> None:
    response = world.client.post(
        "/api/v1/citizens/imports",
        files={"file": ("list.csv", csv_bytes(CROWD[:1]), "text/csv")},
        headers=world.headers("operator"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "IMPORT_NOT_CSV"


@pytest.mark.parametrize("who", ["agent", "auditor"])
def test_only_operators_and_admins_import(world: World, who: str) -> None:
    response = upload(world, csv_bytes(CROWD[:1]), who=who)
    assert response.status_code == 403
    assert counts(world.runtime.db)[0] == 0


def test_the_import_event_and_the_stored_report_carry_no_personal_data(world: World) -> None:
    broken = CROWD[1].resident_id[:-1] + ("1" if CROWD[1].resident_id[-1] != "1" else "2")
    rows = [CROWD[0].row(), (broken, *CROWD[1].row()[1:])]
    data = (",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in rows) + "\n").encode()
    upload(world, data)
    with world.runtime.db.read() as tx:
        (event,) = tx.execute(select(events).where(events.c.type == "citizen_import.applied"))
        (stored,) = tx.execute(select(citizen_imports.c.report))
    for text in (event.payload, stored.report):
        for p in CROWD[:2]:
            assert p.resident_id not in text
            assert p.phone not in text
            assert p.name not in text
        assert broken not in text
    assert json.loads(event.payload)["created"] == 1


def test_a_list_bigger_than_one_batch_is_imported_whole(world: World) -> None:
    crowd = list(people(citizen_import.CHUNK * 2 + 17, seed=11))
    data = csv_bytes(crowd)
    keys = CitizenKeys.from_settings(world.runtime.settings)
    runtime = world.runtime
    seen: list[tuple[str, int, int]] = []
    report = citizen_import.import_citizens(
        runtime.db,
        runtime.clock,
        keys,
        world.users["operator"].actor(),
        data=data,
        file_name="big.csv",
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )
    assert (report.created, report.errors, report.duplicates) == (len(crowd), 0, 0)
    assert counts(runtime.db)[0] == len(crowd)
    writes = [s for s in seen if s[0] == "write"]
    assert writes[-1] == ("write", len(crowd), len(crowd))
    assert len(writes) == 3

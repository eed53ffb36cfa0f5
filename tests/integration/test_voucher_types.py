"""Voucher types through the API: defined by the issuer's operators, refused with clear codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.store.db import Database
from quan.store.schema import metadata
from quan.store.tables import events
from tests.conftest import World
from tests.integration.issuance_fixtures import FIXED, funded_program, voucher_type
from tests.integration.merchant_fixtures import apply
from tests.schema_diff import schema_diff

ISSUANCE_TABLES = {"voucher_types", "batches", "batch_quotas", "vouchers"}


def _counts(world: World) -> dict[str, int]:
    with world.runtime.db.read() as tx:
        return {
            t.name: int(tx.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def test_the_migration_builds_exactly_the_issuance_tables_the_code_declares(db: Database) -> None:
    diff = schema_diff(db)
    ours = [d for d in diff if any(t in repr(d) for t in ISSUANCE_TABLES)]
    assert ours == []


def test_an_operator_defines_a_fixed_voucher_type_and_the_event_records_it(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    assert vt["kind"] == "fixed"
    assert vt["unit_fen"] == 3000
    assert vt["valid_days"] == 90
    assert vt["validity_preset"] == "short"
    assert vt["summary"] == {"zh": "满 ¥100.00 减 ¥30.00", "en": "¥30.00 off a spend of ¥100.00"}
    assert vt["merchant_scope"] == {"kind": "all"}
    with world.runtime.db.read() as tx:
        payload = tx.execute(
            select(events.c.payload).where(
                events.c.type == "voucher_type.created", events.c.subject_id == vt["id"]
            )
        ).scalar_one()
    assert json.loads(payload)["definition"]["face_value_fen"] == 3000


def test_a_percent_voucher_type_with_windows_reads_back_as_defined(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(
        world,
        pid,
        name="健身8折",
        kind="percent",
        face_value_fen=None,
        min_spend_fen=0,
        percent_off=20,
        cap_fen=5000,
        categories=["sports"],
        scenes=["offline", "online"],
        validity_preset=None,
        valid_from="2026-12-01T00:00:00+08:00",
        valid_until="2027-03-01T00:00:00+08:00",
        weekdays=[6, 7],
        hours=[{"start": "09:00", "end": "21:30"}],
        excluded_dates=["2027-02-17"],
        max_per_order=2,
        merchant_scope={"kind": "regions", "region_codes": ["330106"]},
    )
    fetched = world.get("auditor", f"/voucher-types/{vt['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == vt
    assert vt["unit_fen"] == 5000
    assert vt["valid_from"] == "2026-11-30T16:00:00Z"
    assert vt["hours"] == [{"start": "09:00", "end": "21:30"}]
    listed = world.get("operator", f"/programs/{pid}/voucher-types")
    assert [t["id"] for t in listed.json()["items"]] == [vt["id"]]


def test_an_explicit_merchant_list_must_name_merchants_of_the_issuer(world: World) -> None:
    pid = funded_program(world)
    merchant, _ = apply(world)
    scope = {"kind": "merchants", "merchant_ids": [merchant["id"]]}
    assert voucher_type(world, pid, merchant_scope=scope)["merchant_scope"] == scope
    before = _counts(world)
    response = world.post(
        "operator",
        f"/programs/{pid}/voucher-types",
        {**FIXED, "merchant_scope": {"kind": "merchants", "merchant_ids": ["mch_nope"]}},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "UNKNOWN_MERCHANT_IN_SCOPE"
    assert response.json()["merchant_id"] == "mch_nope"
    assert _counts(world) == before


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("fixed without face value", {"face_value_fen": None}, "INVALID_DISCOUNT"),
    ("face value as text", {"face_value_fen": "3000"}, "VALIDATION_FAILED"),
    ("face value as float", {"face_value_fen": 30.0}, "VALIDATION_FAILED"),
    ("minimum below face value", {"min_spend_fen": 1000}, "MIN_SPEND_BELOW_FACE_VALUE"),
    ("percent on a fixed voucher", {"percent_off": 10}, "INVALID_DISCOUNT"),
    ("unknown category", {"categories": ["gambling"]}, "UNKNOWN_CATEGORY"),
    ("no category", {"categories": []}, "VOUCHER_CATEGORY_REQUIRED"),
    ("unknown scene", {"scenes": ["metaverse"]}, "VALIDATION_FAILED"),
    ("no scene", {"scenes": []}, "VOUCHER_SCENE_REQUIRED"),
    ("two validity forms", {"valid_days": 30, "validity_preset": None,
                            "valid_until": "2027-01-01T00:00:00Z"}, "INVALID_VALIDITY"),
    ("naive validity", {"validity_preset": None, "valid_from": "2026-12-01T00:00:00",
                        "valid_until": "2027-01-01T00:00:00"}, "VALIDATION_FAILED"),
    ("hours out of order", {"hours": [{"start": "22:00", "end": "08:00"}]},
     "INVALID_USAGE_WINDOW"),
    ("scope kind unknown", {"merchant_scope": {"kind": "friends"}}, "VALIDATION_FAILED"),
    ("regions scope without codes", {"merchant_scope": {"kind": "regions"}},
     "INVALID_MERCHANT_SCOPE"),
    ("too many per order", {"max_per_order": 50}, "INVALID_MAX_PER_ORDER"),
    ("unknown field", {"bonus_fen": 1}, "VALIDATION_FAILED"),
]


@pytest.mark.parametrize(("case", "change", "code"), BAD, ids=[b[0] for b in BAD])
def test_an_invalid_voucher_type_is_refused_and_nothing_is_written(
    world: World, case: str, change: dict[str, Any], code: str
) -> None:
    pid = funded_program(world)
    body = {k: v for k, v in {**FIXED, **change}.items() if v is not None}
    before = _counts(world)
    response = world.post("operator", f"/programs/{pid}/voucher-types", body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert _counts(world) == before


def test_another_issuers_operator_can_neither_define_nor_read_types(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    refused = world.post("outsider", f"/programs/{pid}/voucher-types", FIXED)
    assert refused.status_code == 403
    assert refused.json()["code"] == "OTHER_ISSUER"
    assert world.get("outsider", f"/voucher-types/{vt['id']}").status_code == 403


def test_a_closed_program_takes_no_new_voucher_types(world: World) -> None:
    pid = funded_program(world)
    assert world.post("operator", f"/programs/{pid}/close").status_code == 200
    response = world.post("operator", f"/programs/{pid}/voucher-types", FIXED)
    assert response.status_code == 409
    assert response.json()["code"] == "PROGRAM_CLOSED"

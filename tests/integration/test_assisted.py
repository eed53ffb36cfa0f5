"""The assisted channel: an agent registers a citizen, issues a voucher for them (every claim
rule holds, every action attributed to the agent) and prints it as PNG or PDF."""

from __future__ import annotations

import json
import re
import struct
import zlib
from datetime import date
from typing import Any

import segno
from sqlalchemy import select

from quan.domain.voucher_code import validate
from quan.services.people.citizens import CitizenKeys, open_personal_data
from quan.store.tables import events
from tests.conftest import World
from tests.integration.citizen_fixtures import person
from tests.integration.citizen_fixtures import register as register_via_api
from tests.integration.issuance_fixtures import (
    assert_ledger_ok,
    event_count,
    open_fcfs_batch,
    register,
    voucher_count,
)


def present(world: World, citizen_id: str) -> dict[str, str]:
    """The citizen at the desk: the ID card number typed from the card."""
    keys = CitizenKeys.from_settings(world.runtime.settings)
    with world.runtime.db.read() as tx:
        return {"resident_id": open_personal_data(tx, keys, citizen_id).resident_id}


def _issue(world: World, who: str, bid: str, citizen_id: str, **headers: str) -> Any:
    body = {"citizen_id": citizen_id, **present(world, citizen_id)}
    return world.post(who, f"/batches/{bid}/assisted-claims", body, **headers)


def _events(world: World, type_: str) -> list[Any]:
    with world.runtime.db.read() as tx:
        return list(tx.execute(select(events).where(events.c.type == type_)).all())


def _agent_label(world: World) -> str:
    return str(world.users["agent"].actor().label)


def test_agent_registers_a_citizen_and_issues_them_a_voucher_attributed_to_the_agent(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world, quantity=5)
    citizen = register_via_api(world, person(3), who="agent")

    response = _issue(world, "agent", bid, citizen["id"])
    assert response.status_code == 201, response.text
    voucher = response.json()
    assert voucher["channel"] == "assisted"
    assert validate(voucher["code"])
    (issued,) = _events(world, "voucher.assisted_issued")
    assert issued.actor == _agent_label(world)
    assert issued.subject_id == voucher["id"]
    assert json.loads(issued.payload)["citizen_id"] == citizen["id"]
    (claimed,) = _events(world, "voucher.claimed")
    assert json.loads(claimed.payload)["channel"] == "assisted"
    registered = [e for e in _events(world, "citizen.registered") if e.subject_id == citizen["id"]]
    assert registered
    assert registered[0].actor == _agent_label(world)
    assert_ledger_ok(world)


def test_assisted_issuance_keeps_every_claim_rule(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=2, eligibility={"age_between": {"min": 60}})
    young = register(world)
    old, other_old, third_old = (register(world, birth=date(1950, 1, 2)) for _ in range(3))

    refused = _issue(world, "agent", bid, young)
    assert (refused.status_code, refused.json()["code"]) == (403, "NOT_ELIGIBLE")
    assert _issue(world, "agent", bid, old).status_code == 201
    again = _issue(world, "agent", bid, old)
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_CLAIMED")
    assert _issue(world, "agent", bid, other_old).status_code == 201
    sold_out = _issue(world, "agent", bid, third_old)
    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "SOLD_OUT")
    assert voucher_count(world, bid, channel="assisted") == 2
    assert event_count(world, "voucher.assisted_issued") == 2
    assert_ledger_ok(world)


def test_assisted_issuance_is_idempotent_and_for_agents_of_the_issuer(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=3)
    cid = register(world)
    assert _issue(world, "operator", bid, cid).status_code == 403
    assert _issue(world, "outsider", bid, cid).status_code == 403
    first = _issue(world, "agent", bid, cid, **{"Idempotency-Key": "desk-1-0001"})
    again = _issue(world, "agent", bid, cid, **{"Idempotency-Key": "desk-1-0001"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert event_count(world, "voucher.assisted_issued") == 1


def _issued_voucher(world: World) -> dict[str, Any]:
    _, bid = open_fcfs_batch(world, quantity=3)
    response = _issue(world, "agent", bid, register(world))
    assert response.status_code == 201, response.text
    voucher: dict[str, Any] = response.json()
    return voucher


def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        at += 12 + length
    return chunks


def test_printable_png_is_a_valid_image_with_the_qr_and_no_personal_data(world: World) -> None:
    voucher = _issued_voucher(world)
    response = world.get("agent", f"/vouchers/{voucher['id']}/printable", format="png")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    chunks = _png_chunks(response.content)
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    assert len(raw) == height * (width + 1)
    # every module of the code's QR (8 px each) is where it should be, dark or light
    matrix = [list(row) for row in segno.make(voucher["code"], error="m").matrix_iter(border=4)]
    qr_px = len(matrix) * 8
    assert height > qr_px
    assert width >= qr_px
    left = (width - qr_px) // 2
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            pixel = raw[(r * 8 + 4) * (width + 1) + 1 + left + c * 8 + 4]
            assert pixel == (0 if dark else 255)
    assert b"\x00" in raw
    assert b"\xff" in raw
    assert "测试居民".encode() not in response.content
    assert event_count(world, "voucher.printed") == 1


def test_printable_pdf_carries_the_typable_code_value_and_validity(world: World) -> None:
    voucher = _issued_voucher(world)
    response = world.get("agent", f"/vouchers/{voucher['id']}/printable", format="pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert f"({voucher['code']})".encode() in pdf
    assert b"(\\24530.00)" in pdf  # ¥30.00 in WinAnsiEncoding
    assert b"(valid 2026-11-25 - " in pdf
    assert b" re\n" in pdf  # the QR modules, drawn as rectangles
    # the cross-reference table points at each object
    xref = int(re.findall(rb"startxref\n(\d+)", pdf)[-1])
    assert pdf[xref:].startswith(b"xref")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())
    assert "测试居民".encode() not in pdf


def test_printing_is_for_staff_of_the_issuer_and_issued_vouchers_only(world: World) -> None:
    voucher = _issued_voucher(world)
    path = f"/vouchers/{voucher['id']}/printable"
    assert world.get("outsider", path).status_code == 403
    assert world.get("auditor", path).status_code == 403
    assert world.get("operator", path).status_code == 403  # operators see no codes at all
    assert world.get("admin", path).status_code == 403
    assert world.get("agent", "/vouchers/v_missing/printable").status_code == 404
    assert world.get("agent", path, format="gif").status_code == 422
    with world.runtime.db.read() as tx:
        from quan.store.voucher_tables import vouchers

        free = tx.execute(
            select(vouchers.c.id).where(vouchers.c.status == "unclaimed").limit(1)
        ).scalar_one()
    refused = world.get("agent", f"/vouchers/{free}/printable")
    assert (refused.status_code, refused.json()["code"]) == (409, "VOUCHER_NOT_ISSUED")

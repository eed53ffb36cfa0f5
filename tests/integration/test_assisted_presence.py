"""Staff never see a voucher code they did not hand over in person (issue 13, M1).

Issuing at the desk needs the citizen's presence proven (the code sent to their phone, or the ID
card number typed from the card); printing belongs to the agent of that act within its window;
reprints need presence again and a reason, are limited and audited; no other staff role, and no
staff route, ever shows a code or a signed voucher token.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from quan.api.app import API_PREFIX, api_routers
from quan.domain.auth import Role
from quan.services.people import staff
from tests.conftest import PASSWORD, World
from tests.integration.citizen_fixtures import last_code, person, session
from tests.integration.citizen_fixtures import register as register_via_api
from tests.integration.issuance_fixtures import claim, event_count, open_fcfs_batch, register
from tests.integration.test_assisted import present

PATH = "/batches/{}/assisted-claims"


def _second_agent(world: World) -> str:
    with world.runtime.db.write() as tx:
        user = staff.create_user(
            tx,
            world.runtime.clock.now(),
            username="agent2",
            password=PASSWORD,
            role=Role.AGENT,
            issuer_id=world.issuer.id,
        )
    world.users["agent2"] = user
    return "agent2"


def test_without_proof_of_presence_no_voucher_is_issued(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=3)
    cid = register(world)
    bare = world.post("agent", PATH.format(bid), {"citizen_id": cid})
    assert (bare.status_code, bare.json()["code"]) == (422, "PRESENCE_REQUIRED")
    other = register(world)  # someone else's card
    wrong = world.post("agent", PATH.format(bid), {"citizen_id": cid, **present(world, other)})
    assert (wrong.status_code, wrong.json()["code"]) == (403, "PRESENCE_NOT_PROVEN")
    assert "code" not in wrong.json() or wrong.json()["code"] == "PRESENCE_NOT_PROVEN"
    assert event_count(world, "voucher.assisted_issued") == 0
    right = world.post("agent", PATH.format(bid), {"citizen_id": cid, **present(world, cid)})
    assert right.status_code == 201, right.text


def test_the_code_sent_to_the_citizens_phone_proves_presence_and_never_signs_in(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world, quantity=3)
    p = person(5)
    cid = register_via_api(world, p, who="agent")["id"]
    sent = world.post("agent", f"/citizens/{cid}/presence-codes")
    assert sent.status_code == 202, sent.text
    assert p.phone not in sent.text
    code = last_code(world, p.phone)
    assert session(world, p.phone, code).status_code in (401, 410)  # not a sign-in code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = world.post("agent", PATH.format(bid), {"citizen_id": cid, "otp_code": wrong})
    assert (refused.status_code, refused.json()["code"]) == (401, "OTP_INVALID")
    issued = world.post("agent", PATH.format(bid), {"citizen_id": cid, "otp_code": code})
    assert issued.status_code == 201, issued.text
    assert world.post("operator", f"/citizens/{cid}/presence-codes").status_code == 403


def _act(world: World) -> tuple[str, dict[str, Any]]:
    _, bid = open_fcfs_batch(world, quantity=5)
    cid = register(world)
    response = world.post("agent", PATH.format(bid), {"citizen_id": cid, **present(world, cid)})
    assert response.status_code == 201, response.text
    return bid, response.json()


def test_only_the_agent_of_the_act_prints_and_only_within_its_window(world: World) -> None:
    bid, voucher = _act(world)
    path = f"/vouchers/{voucher['id']}/printable"
    other = _second_agent(world)
    assert (world.get(other, path).json()["code"]) == "PRINT_NOT_ALLOWED"
    for who in ("operator", "admin", "auditor"):
        assert world.get(who, path).status_code == 403, who
    for _ in range(3):
        assert world.get("agent", path).status_code == 200
    limit = world.get("agent", path)
    assert (limit.status_code, limit.json()["code"]) == (409, "PRINT_LIMIT_REACHED")

    _, second = _act(world)
    world.runtime.clock.advance(timedelta(minutes=15))
    late = world.get("agent", f"/vouchers/{second['id']}/printable")
    assert (late.status_code, late.json()["code"]) == (403, "PRINT_WINDOW_OVER")
    # A voucher the citizen claimed in the app was never handed over at the desk.
    app_citizen = register(world)
    claimed = claim(world, app_citizen, bid)
    assert claimed.status_code == 201, claimed.text
    refused = world.get("agent", f"/vouchers/{claimed.json()['id']}/printable")
    assert (refused.status_code, refused.json()["code"]) == (403, "PRINT_NOT_ALLOWED")
    assert event_count(world, "voucher.printed") == 3


def test_reprints_need_presence_and_a_reason_are_limited_and_audited(world: World) -> None:
    _, voucher = _act(world)
    world.runtime.clock.advance(timedelta(hours=2))
    path = f"/vouchers/{voucher['id']}/reprints"
    cid = voucher_holder(world, voucher["id"])
    bare = world.post("agent", path, {"reason": "lost"})
    assert (bare.status_code, bare.json()["code"]) == (422, "PRESENCE_REQUIRED")
    no_reason = world.post("agent", path, present(world, cid))
    assert no_reason.status_code == 422
    by_operator = world.post("operator", path, {"reason": "lost", **present(world, cid)})
    assert by_operator.status_code == 403
    for reason in ("lost", "damaged"):
        copy = world.post("agent", path, {"reason": reason, **present(world, cid)})
        assert copy.status_code == 201, copy.text
        assert copy.headers["content-type"] == "application/pdf"
        assert f"({voucher['code']})".encode() in copy.content
    third = world.post("agent", path, {"reason": "printer_fault", **present(world, cid)})
    assert (third.status_code, third.json()["code"]) == (409, "REPRINT_LIMIT_REACHED")
    assert event_count(world, "voucher.reprinted") == 2


def voucher_holder(world: World, voucher_id: str) -> str:
    from quan.store.voucher_tables import vouchers

    with world.runtime.db.read() as tx:
        return str(
            tx.execute(
                vouchers.select().with_only_columns(vouchers.c.citizen_id).where(
                    vouchers.c.id == voucher_id
                )
            ).scalar_one()
        )


_TOKEN = re.compile(r"QV1:[A-Za-z0-9+/=_-]{16,}")  # a signed voucher token, not the prefix


def _fill(path: str, ids: dict[str, str], fallback: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), fallback), path)


def test_no_staff_route_shows_a_voucher_code_or_token(world: World) -> None:
    """Every GET route of the API, called by every staff role with the ids of a world that holds
    an app-claimed and a desk-issued voucher (its print window over), shows no code."""
    bid, desk = _act(world)
    app_citizen = register(world)
    claimed = claim(world, app_citizen, bid).json()
    world.runtime.clock.advance(timedelta(minutes=20))
    codes = {desk["code"], claimed["code"]}
    ids = {
        "program_id": desk["program_id"],
        "batch_id": bid,
        "voucher_id": claimed["id"],
        "voucher_type_id": desk["voucher_type_id"],
        "citizen_id": app_citizen,
        "issuer_id": world.issuer.id,
    }
    seen = 0
    routes = [r for router in api_routers(False) for r in router.routes]
    for route in routes:
        if "GET" not in getattr(route, "methods", ()):
            continue
        for who in ("operator", "admin", "auditor", "agent"):
            for vid in (claimed["id"], desk["id"]):
                path = API_PREFIX + _fill(route.path, {**ids, "voucher_id": vid}, vid)
                response = world.client.get(path, headers=world.headers(who))
                seen += 1
                for code in codes:
                    assert code not in response.text, (who, path)
                    assert code.replace("-", "") not in response.text, (who, path)
                assert not _TOKEN.search(response.text), (who, path)
    assert seen > 100

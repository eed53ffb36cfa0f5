"""Terminals and owner keys: keys shown once and stored hashed, revocable, and every merchant
principal confined to its own merchant's data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import func, select

from quan.domain.errors import QuanError
from quan.edge.deps import authenticate
from quan.store.merchant_tables import terminals
from quan.store.schema import metadata
from quan.store.tables import api_keys, events
from tests.conftest import World
from tests.integration.merchant_fixtures import (
    apply,
    approved,
    get_as,
    post_as,
    review,
    terminal,
)


def _snapshot(world: World) -> dict[str, int]:
    with world.runtime.db.read() as tx:
        return {
            t.name: int(tx.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
            if t.name != "throttle_counters"  # attempt counters: not the application's state
        }


def test_an_approved_merchant_adds_a_terminal_whose_key_signs_in_as_that_terminal(
    world: World,
) -> None:
    merchant, owner = approved(world)
    issued = terminal(world, merchant["id"], owner, label="前台 1 号")
    assert issued["merchant_id"] == merchant["id"]
    assert issued["terminal"]["label"] == "前台 1 号"
    assert issued["api_key"].startswith("qk_")
    mine = get_as(world, issued["api_key"], "/merchants/mine")
    assert mine.status_code == 200, mine.text
    assert mine.json()["id"] == merchant["id"]


def test_the_actor_of_a_terminal_key_carries_its_merchant(world: World) -> None:
    merchant, owner = approved(world)
    issued = terminal(world, merchant["id"], owner)

    def actor(key: str) -> Any:
        return authenticate(
            world.runtime, HTTPAuthorizationCredentials(scheme="Bearer", credentials=key)
        )

    by_terminal = actor(issued["api_key"])
    assert (by_terminal.kind, by_terminal.id, by_terminal.role, by_terminal.merchant_id) == (
        "terminal",
        issued["terminal_id"],
        "terminal",
        merchant["id"],
    )
    by_owner = actor(owner)
    assert (by_owner.kind, by_owner.role, by_owner.merchant_id) == (
        "merchant",
        "merchant",
        merchant["id"],
    )
    staff = actor(world.token("operator"))
    assert staff.merchant_id is None


def test_a_terminal_key_is_shown_once_and_stored_only_as_a_hash(world: World) -> None:
    merchant, owner = approved(world)
    issued = terminal(world, merchant["id"], owner)
    secret = issued["api_key"].rpartition("_")[2]
    listed = get_as(world, owner, f"/merchants/{merchant['id']}/terminals").json()["items"]
    assert [t["id"] for t in listed] == [issued["terminal_id"]]
    assert "api_key" not in listed[0]
    assert secret not in json.dumps(listed)
    with world.runtime.db.read() as tx:
        stored = tx.execute(
            select(api_keys).where(api_keys.c.id == issued["terminal"]["key_id"])
        ).one()
    assert (stored.owner_type, stored.owner_id) == ("terminal", issued["terminal_id"])
    assert secret not in str(tuple(stored))


@pytest.mark.parametrize(
    ("steps", "status"),
    [([], "submitted"), (["reject"], "rejected"), (["approve", "suspend"], "suspended")],
)
def test_only_an_approved_merchant_may_add_terminals(
    world: World, steps: list[str], status: str
) -> None:
    merchant, owner = apply(world)
    for step in steps:
        assert review(world, merchant["id"], step, "理由").status_code == 200
    before = _snapshot(world)
    response = post_as(world, owner, f"/merchants/{merchant['id']}/terminals", {"label": "x"})
    assert response.status_code == 409
    assert response.json()["code"] == "MERCHANT_NOT_APPROVED"
    assert response.json()["merchant_status"] == status
    assert _snapshot(world) == before


def test_a_revoked_terminal_key_stops_working_at_once(world: World) -> None:
    merchant, owner = approved(world)
    issued = terminal(world, merchant["id"], owner)
    path = f"/merchants/{merchant['id']}/terminals/{issued['terminal_id']}/revoke"
    revoked = post_as(world, owner, path)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_by"] == f"merchant:{merchant['id']}"
    refused = get_as(world, issued["api_key"], "/merchants/mine")
    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHORIZED"
    again = post_as(world, owner, path)
    assert again.status_code == 404
    types = [e for (e,) in _event_types(world, issued["terminal_id"])]
    assert types == ["api_key.created", "terminal.created", "api_key.revoked", "terminal.revoked"]


def _event_types(world: World, subject_id: str) -> list[Any]:
    with world.runtime.db.read() as tx:
        return list(
            tx.execute(
                select(events.c.type).where(events.c.subject_id == subject_id).order_by(events.c.id)
            ).all()
        )


def test_a_merchant_sees_and_touches_only_its_own_data(world: World) -> None:
    mine, my_key = approved(world)
    theirs, their_key = approved(world)
    their_terminal = terminal(world, theirs["id"], their_key)
    before = _snapshot(world)
    other = theirs["id"]
    for path in (
        f"/merchants/{other}",
        f"/merchants/{other}/terminals",
        f"/merchants/{other}/reviews",
        f"/merchants/{other}/owner-keys",
    ):
        response = get_as(world, my_key, path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "NOT_FOUND"
    for path in (
        f"/merchants/{other}/terminals",
        f"/merchants/{other}/terminals/{their_terminal['terminal_id']}/revoke",
        f"/merchants/{other}/owner-keys",
        f"/merchants/{mine['id']}/terminals/{their_terminal['terminal_id']}/revoke",
    ):
        response = post_as(world, my_key, path, {"label": "借用"})
        assert response.status_code == 404, path
    assert get_as(world, my_key, "/merchants").status_code == 403
    assert get_as(world, my_key, "/merchants/review-due").status_code == 403
    assert (
        post_as(world, my_key, f"/merchants/{mine['id']}/review", {"decision": "renew"}).status_code
        == 403
    )
    assert _snapshot(world) == before
    assert get_as(world, their_terminal["api_key"], "/merchants/mine").status_code == 200


def test_a_terminal_reads_its_own_merchant_and_manages_nothing(world: World) -> None:
    mine, owner = approved(world)
    theirs, _ = approved(world)
    key = terminal(world, mine["id"], owner)["api_key"]
    assert get_as(world, key, f"/merchants/{mine['id']}").status_code == 200
    assert get_as(world, key, f"/merchants/{theirs['id']}").status_code == 404
    for path in (f"/merchants/{mine['id']}/terminals", f"/merchants/{mine['id']}/owner-keys"):
        assert get_as(world, key, path).status_code == 403
        assert post_as(world, key, path, {"label": "自己加"}).status_code == 403
    assert get_as(world, key, f"/merchants/{mine['id']}/reviews").status_code == 403


def test_staff_see_merchants_by_issuer_and_may_not_see_through_merchant_paths(
    world: World,
) -> None:
    merchant, _ = approved(world)
    assert world.get("auditor", f"/merchants/{merchant['id']}").status_code == 200
    assert world.get("outsider", f"/merchants/{merchant['id']}").json()["code"] == "OTHER_ISSUER"
    assert world.get("agent", f"/merchants/{merchant['id']}").json()["code"] == "FORBIDDEN"
    assert world.get("operator", "/merchants/mine").status_code == 403


def test_the_issuers_operator_may_manage_a_merchants_terminals(world: World) -> None:
    merchant, _ = approved(world)
    by_operator = world.post("operator", f"/merchants/{merchant['id']}/terminals", {"label": "A"})
    assert by_operator.status_code == 201
    assert by_operator.json()["terminal"]["created_by"] == f"staff:{world.users['operator'].id}"
    outsider = world.post("outsider", f"/merchants/{merchant['id']}/terminals", {"label": "B"})
    assert outsider.status_code == 403
    assert outsider.json()["code"] == "OTHER_ISSUER"
    auditor = world.post("auditor", f"/merchants/{merchant['id']}/terminals", {"label": "C"})
    assert auditor.status_code == 403
    listed = world.get("auditor", f"/merchants/{merchant['id']}/terminals").json()["items"]
    assert [t["label"] for t in listed] == ["A"]
    revoke = f"/merchants/{merchant['id']}/terminals/{by_operator.json()['terminal_id']}/revoke"
    assert world.post("operator", revoke).status_code == 200


def test_terminal_labels_are_bounded_and_required(world: World) -> None:
    merchant, owner = approved(world)
    path = f"/merchants/{merchant['id']}/terminals"
    for label in ("", "   ", "x" * 201):
        response = post_as(world, owner, path, {"label": label})
        assert response.status_code == 422, label
        assert response.json()["code"] == "VALIDATION_FAILED"


def test_a_lost_owner_key_is_replaced_and_revoked(world: World) -> None:
    merchant, lost = apply(world)
    issued = world.post("operator", f"/merchants/{merchant['id']}/owner-keys")
    assert issued.status_code == 201, issued.text
    fresh = issued.json()["api_key"]
    keys = get_as(world, fresh, f"/merchants/{merchant['id']}/owner-keys").json()
    assert len(keys) == 2
    lost_id = keys[0]["key_id"]
    revoke = post_as(world, fresh, f"/merchants/{merchant['id']}/owner-keys/{lost_id}/revoke")
    assert revoke.status_code == 204
    assert get_as(world, lost, "/merchants/mine").status_code == 401
    assert get_as(world, fresh, "/merchants/mine").status_code == 200
    again = post_as(world, fresh, f"/merchants/{merchant['id']}/owner-keys/{lost_id}/revoke")
    assert again.status_code == 404


def test_a_merchant_cannot_revoke_another_merchants_owner_key(world: World) -> None:
    mine, my_key = apply(world)
    theirs, their_key = apply(world)
    their_keys = get_as(world, their_key, f"/merchants/{theirs['id']}/owner-keys").json()
    key_id = their_keys[0]["key_id"]
    response = post_as(world, my_key, f"/merchants/{mine['id']}/owner-keys/{key_id}/revoke")
    assert response.status_code == 404
    assert get_as(world, their_key, "/merchants/mine").status_code == 200


def test_a_terminal_of_a_terminal_row_that_disappeared_is_refused(world: World) -> None:
    """A key of owner "terminal" without its terminal row proves nothing about a merchant."""
    from quan.domain.auth import SYSTEM
    from quan.services.people import api_keys as key_service

    with world.runtime.db.write() as tx:
        _, key = key_service.create_key(
            tx,
            world.runtime.clock.now(),
            SYSTEM,
            owner_type="terminal",
            owner_id="trm_ghost",
            label="x",
        )
    with pytest.raises(QuanError) as caught:
        authenticate(world.runtime, HTTPAuthorizationCredentials(scheme="Bearer", credentials=key))
    assert caught.value.code == "UNAUTHORIZED"


def test_terminal_events_carry_no_label_text(world: World) -> None:
    merchant, owner = approved(world)
    terminal(world, merchant["id"], owner, label="张三的收银机")
    with world.runtime.db.read() as tx:
        payloads = [p for (p,) in tx.execute(select(events.c.payload))]
    assert not any("张三" in p for p in payloads)
    with world.runtime.db.read() as tx:
        assert tx.execute(select(terminals.c.label)).scalar_one() == "张三的收银机"

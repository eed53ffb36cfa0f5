"""A console create form carries an idempotency key drawn when it was shown (quan.web.once): two
posts of the same form — a double click, a resend — create one voucher type or batch, also
when they race; the second gets the first one's answer."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from quan.store.voucher_tables import batches, voucher_types
from tests.conftest import World
from tests.integration.console_fixtures import csrf, staff_session, submit
from tests.integration.issuance_fixtures import funded_program, voucher_type
from tests.race import race

TYPE_FORM = {"name": "餐饮满100减30", "kind": "fixed", "face_value": "30", "min_spend": "100",
             "categories": ["catering"], "scenes": ["offline"], "validity_preset": "short"}


def _form_key(world: World, page: str) -> str:
    found = re.search(r'name="form_key" value="([^"]+)"', world.client.get(page).text)
    assert found, f"no form key on {page}"
    return found.group(1)


def _count(world: World, table: Any) -> int:
    with world.runtime.db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(table)).scalar_one())


def test_two_posts_of_one_voucher_type_form_create_one_type(world: World) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/voucher-types/new"
    key = _form_key(world, page)
    assert key != _form_key(world, page)  # each showing of the form draws its own
    first = submit(world, f"/ops/programs/{pid}/voucher-types", {**TYPE_FORM, "form_key": key},
                   page=page)
    second = submit(world, f"/ops/programs/{pid}/voucher-types", {**TYPE_FORM, "form_key": key},
                    page=page)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(world.get("operator", f"/programs/{pid}/voucher-types").json()["items"]) == 1
    # The same form shown again is a new key: a second type on purpose is still possible.
    again = submit(world, f"/ops/programs/{pid}/voucher-types",
                   {**TYPE_FORM, "form_key": _form_key(world, page)}, page=page)
    assert again.status_code == 303
    assert _count(world, voucher_types) == 2


def test_a_used_key_with_other_content_is_refused_in_words(world: World) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/voucher-types/new"
    key = _form_key(world, page)
    made = submit(world, f"/ops/programs/{pid}/voucher-types", {**TYPE_FORM, "form_key": key},
                  page=page)
    assert made.status_code == 303
    other = submit(world, f"/ops/programs/{pid}/voucher-types",
                   {**TYPE_FORM, "name": "另一种", "form_key": key}, page=page)
    assert other.status_code == 422
    assert "该表单已提交过不同的内容，请重新打开表单后再提交。" in other.text
    assert _count(world, voucher_types) == 1


def test_racing_posts_of_one_batch_form_create_one_batch(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/batches/new"
    key = _form_key(world, page)
    token = csrf(world, page)
    form = {"csrf": token, "form_key": key, "voucher_type_id": vt["id"], "name": "第一轮",
            "quantity": "20", "allocation": "fcfs", "claim_opens_at": "2026-11-25T10:00",
            "claim_closes_at": "2026-12-01T10:00", "per_citizen_limit": "1"}

    def post() -> Any:
        return world.client.post(f"/ops/programs/{pid}/batches", data=form,
                                 follow_redirects=False)

    answers = race(post, post, post, post)
    assert [a.status_code for a in answers] == [303] * 4, answers
    assert len({a.headers["location"] for a in answers}) == 1
    assert _count(world, batches) == 1

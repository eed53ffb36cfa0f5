"""Helpers for the merchant portal's tests: applying by form, signing an owner in by SMS code
through the console's own forms, and reading the owner's SMS."""

from __future__ import annotations

import re
from itertools import count
from typing import Any

from quan.web.session import Area
from tests.conftest import World
from tests.integration.citizen_fixtures import last_code
from tests.integration.console_fixtures import csrf, submit
from tests.integration.merchant_fixtures import ACCOUNT, uscc

_phones = count(1)


def new_phone() -> str:
    """A mobile number no other call of this run returns."""
    return f"1390000{next(_phones):04d}"


def form(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "issuer_id": world.issuer.id,
        "name": "杭州西湖知味小吃店",
        "uscc": uscc(),
        "category": ["catering"],
        "region_code": "330106",
        "scenes": ["offline"],
        "bank_name": "中国工商银行杭州西湖支行",
        "account_number": ACCOUNT,
        "contact_phone": new_phone(),
        "apply_key": f"apply-{next(_phones)}-key",
    }
    body.update(overrides)
    return body


def apply_by_form(world: World, **overrides: Any) -> tuple[str, dict[str, Any]]:
    """Apply through the portal; returns the new merchant's id and the form sent. The browser
    is then signed in as that merchant."""
    sent = form(world, **overrides)
    response = submit(world, "/merchant/apply", sent, page="/merchant/apply")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/merchant?done=applied"
    return merchant_id_of_session(world), sent


def merchant_id_of_session(world: World) -> str:
    token = world.client.cookies.get(Area.OWNER.cookie)
    assert token, "no owner session"
    claims = world.runtime.tokens.verify(token, world.runtime.clock.now())
    assert claims is not None
    assert claims.subject_kind == "merchant"
    return claims.subject_id


def sign_out_owner(world: World) -> None:
    world.client.cookies.delete(Area.OWNER.cookie)


def ask_code(world: World, phone: str) -> Any:
    return submit(world, "/merchant/code", {"phone": phone}, page="/merchant/signin")


def send_code(world: World, phone: str, code: str) -> Any:
    return submit(
        world, "/merchant/session", {"phone": phone, "code": code}, page="/merchant/signin"
    )


def owner_sign_in(world: World, phone: str) -> Any:
    """Sign in by SMS code through the portal's forms; the answer to the code."""
    sign_out_owner(world)
    assert ask_code(world, phone).status_code == 200
    return send_code(world, phone, last_code(world, phone))


def approve(world: World, merchant_id: str) -> None:
    response = world.post(
        "operator", f"/merchants/{merchant_id}/review", {"decision": "approve", "reason": ""}
    )
    assert response.status_code == 200, response.text


def token_on(page: str) -> str:
    found = re.search(r'name="create_key" value="([^"]+)"', page)
    assert found
    return found.group(1)


__all__ = ["csrf"]

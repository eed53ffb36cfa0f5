"""Helpers for the merchant tests: valid applications, applying, approving, key headers."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from quan.domain.uscc import check_character
from tests.conftest import World

ACCOUNT = "6222 0212 3456 7890 123"
ACCOUNT_DIGITS = ACCOUNT.replace(" ", "")
PHONE = "13812345678"
NAME = "杭州西湖知味小吃店"

_serial = count(1)


def uscc(serial: int | None = None, prefix: str = "91330106MA") -> str:
    """A valid USCC (check character computed) that no other call of this run returns."""
    first17 = f"{prefix}{serial if serial is not None else next(_serial):07d}"
    return first17 + check_character(first17)


def application(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "issuer_id": world.issuer.id,
        "name": NAME,
        "uscc": uscc(),
        "categories": ["catering"],
        "region_code": "330106",
        "scenes": ["offline"],
        "bank_account": {"bank_name": "中国工商银行杭州西湖支行", "account_number": ACCOUNT},
        "contact_phone": PHONE,
    }
    body.update(overrides)
    return body


def apply(world: World, **overrides: Any) -> tuple[dict[str, Any], str]:
    """Apply (without signing in) and return the merchant and its owner key."""
    response = world.client.post("/api/v1/merchants", json=application(world, **overrides))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer["merchant"], answer["owner_key"]["api_key"]


def review(
    world: World, merchant_id: str, decision: str, reason: str = "", who: str = "operator"
) -> Any:
    body = {"decision": decision, "reason": reason}
    return world.post(who, f"/merchants/{merchant_id}/review", body)


def approved(world: World, **overrides: Any) -> tuple[dict[str, Any], str]:
    merchant, key = apply(world, **overrides)
    response = review(world, merchant["id"], "approve")
    assert response.status_code == 200, response.text
    approved_merchant: dict[str, Any] = response.json()
    return approved_merchant, key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def get_as(world: World, key: str, path: str, **params: Any) -> Any:
    return world.client.get(f"/api/v1{path}", params=params, headers=bearer(key))


def post_as(world: World, key: str, path: str, json: Any = None) -> Any:
    return world.client.post(f"/api/v1{path}", json=json, headers=bearer(key))


def terminal(world: World, merchant_id: str, key: str, label: str = "前台 1 号") -> dict[str, Any]:
    response = post_as(world, key, f"/merchants/{merchant_id}/terminals", {"label": label})
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def advance(world: World, days: int) -> None:
    """Move the clock; staff tokens (12 h) are signed again at the new time."""
    world.runtime.clock.advance(timedelta(days=days))  # type: ignore[attr-defined]
    world._tokens.clear()

"""Helpers for redemption, reversal, offline and settlement tests.

A :class:`Scene` is a funded, active program with an open first-come batch whose vouchers were
claimed through the API by registered citizens, and an approved merchant with one terminal — the
state in which redemption begins. Everything goes through the API except registering citizens
(the citizens service, as an operator would).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from quan.domain import offline_token
from quan.domain.voucher_type_json import parse_voucher_type
from quan.services.money.ledger_check import check_ledger
from quan.store.schema import metadata
from tests.conftest import START, World
from tests.integration import issuance_fixtures as issuance
from tests.integration import merchant_fixtures as shops
from tests.race import race as race_all

CATERING_100_30: dict[str, Any] = {
    "name": "餐饮满100减30",
    "kind": "fixed",
    "face_value_fen": 3000,
    "min_spend_fen": 10000,
    "categories": ["catering"],
    "scenes": ["offline"],
    "validity_preset": "short",
}
SPORTS_20_OFF: dict[str, Any] = {
    "name": "体育8折",
    "kind": "percent",
    "percent_off": 20,
    "cap_fen": 5000,
    "face_value_fen": None,
    "min_spend_fen": 0,
    "categories": ["sports"],
    "scenes": ["offline", "online"],
    "validity_preset": "short",
}


@dataclass(frozen=True)
class Shop:
    merchant_id: str
    owner_key: str
    terminal_id: str
    terminal_key: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.terminal_key}", **extra}


@dataclass(frozen=True)
class Scene:
    program_id: str
    batch_id: str
    voucher_type_id: str
    shop: Shop
    vouchers: list[dict[str, Any]]  # the claim receipts: id, code, valid_until ...
    citizen_ids: list[str]

    @property
    def codes(self) -> list[str]:
        return [v["code"] for v in self.vouchers]


def open_shop(world: World, reviewer: str = "operator", **application: Any) -> Shop:
    """An approved merchant (decided by ``reviewer``) with one terminal."""
    merchant, owner_key = shops.apply(world, **application)
    response = shops.review(world, merchant["id"], "approve", who=reviewer)
    assert response.status_code == 200, response.text
    issued = shops.terminal(world, merchant["id"], owner_key)
    return Shop(merchant["id"], owner_key, issued["terminal_id"], issued["api_key"])


def forged_token(voucher_id: str, *, valid_days: int = 30) -> str:
    """A well-formed token for a real voucher, signed by a key that is not the platform's."""
    key = Ed25519PrivateKey.generate()
    spec = parse_voucher_type(CATERING_100_30)
    claims = offline_token.claims_for(
        voucher_id=voucher_id,
        issuer_id="iss_any",
        spec=spec,
        valid_from=START,
        valid_until=START + timedelta(days=valid_days),
        issued_at=START,
        key_id=offline_token.key_id_of(key.public_key()),
    )
    return offline_token.sign(claims, key)


def another_terminal(world: World, shop: Shop) -> Shop:
    issued = shops.terminal(world, shop.merchant_id, shop.owner_key, label="前台 2 号")
    return Shop(shop.merchant_id, shop.owner_key, issued["terminal_id"], issued["api_key"])


def scene(
    world: World,
    *,
    holders: int = 2,
    quantity: int | None = None,
    voucher: dict[str, Any] | None = None,
    categories: list[str] | None = None,
    scenes: list[str] | None = None,
    budget_fen: int = 1_000_000,
    shop: Shop | None = None,
) -> Scene:
    """A program, a batch of ``quantity`` vouchers, ``holders`` of them claimed, and a shop."""
    pid = issuance.funded_program(world, amount_fen=budget_fen)
    definition = {**CATERING_100_30, **(voucher or {})}
    vt = issuance.voucher_type(world, pid, **definition)
    created = issuance.batch(world, pid, vt["id"], quantity=quantity or max(holders, 1))
    issuance.open_batch(world, created["id"])
    citizen_ids = issuance.register_many(world, holders) if holders else []
    receipts = []
    for citizen_id in citizen_ids:
        response = issuance.claim(world, citizen_id, created["id"])
        assert response.status_code == 201, response.text
        receipts.append(response.json())
    shop = shop or open_shop(
        world,
        categories=categories or list(definition["categories"]),
        scenes=scenes or ["offline", "online"],
    )
    return Scene(pid, created["id"], vt["id"], shop, receipts, citizen_ids)


def redeem(
    world: World,
    shop: Shop,
    *,
    code: str | None = None,
    token: str | None = None,
    amount_fen: Any = 12000,
    category: str = "catering",
    scene: str = "offline",
    key: str | None = None,
    **extra: Any,
) -> Any:
    body: dict[str, Any] = {"order_amount_fen": amount_fen, "category": category, "scene": scene}
    if code is not None:
        body["voucher_code"] = code
    if token is not None:
        body["token"] = token
    body.update(extra)
    headers = shop.headers(**({"Idempotency-Key": key} if key else {}))
    return world.client.post("/api/v1/redemptions", json=body, headers=headers)


def reverse(world: World, headers: dict[str, str], redemption_id: str, **body: Any) -> Any:
    return world.client.post(
        f"/api/v1/redemptions/{redemption_id}/reversal", json=body, headers=headers
    )


def wallet_tokens(world: World, citizen_id: str) -> dict[str, str]:
    """The QR payload of each of the citizen's vouchers, by voucher id."""
    response = world.client.get(
        "/api/v1/me/vouchers", headers=issuance.citizen_headers(world, citizen_id)
    )
    assert response.status_code == 200, response.text
    return {v["id"]: v["qr_payload"] for v in response.json()["items"]}


def rows(world: World, table: str, **where: Any) -> int:
    t = metadata.tables[table]
    query = select(func.count()).select_from(t)
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    with world.runtime.db.read() as tx:
        return int(tx.execute(query).scalar_one())


def voucher_status(world: World, voucher_id: str) -> str:
    t = metadata.tables["vouchers"]
    with world.runtime.db.read() as tx:
        return str(tx.execute(select(t.c.status).where(t.c.id == voucher_id)).scalar_one())


def assert_books_ok(world: World) -> None:
    """``quan ledger check`` passes: the ledger, redemptions and settlements agree."""
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert report.ok, report.violations


def race(count: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(i)`` in ``count`` threads released together; their results in order."""
    return race_all(*(functools.partial(attempt, i) for i in range(count)))

"""Helpers for the announcement tests: citizens holding vouchers, with and without a phone."""

from __future__ import annotations

from tests.conftest import World
from tests.integration.citizen_fixtures import person
from tests.integration.citizen_fixtures import register as register_person
from tests.integration.issuance_fixtures import claim, register_many


def holders(
    world: World, bid: str, with_phone: int, without_phone: int, seed: int = 31
) -> list[str]:
    """Citizens who claimed one voucher of ``bid`` each: ``with_phone`` registered with a phone
    (persons 0… of ``seed``), ``without_phone`` at a desk without one."""
    ids = [register_person(world, person(i, seed=seed))["id"] for i in range(with_phone)]
    ids += register_many(world, without_phone)
    for citizen_id in ids:
        assert claim(world, citizen_id, bid).status_code == 201
    return ids

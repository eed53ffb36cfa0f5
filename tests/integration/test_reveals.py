"""I4: reveals are scoped to the issuer's citizens, throttled, and bulk needs a second person.

The review revealed 300 citizens' full ID, name and phone in 1.7 s as one operator, citizens of
another issuer included.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from quan.services.runtime import Runtime
from tests.conftest import World
from tests.integration.issuance_fixtures import register_many


def reveal(world: World, who: str, cid: str, **extra: Any) -> Any:
    return world.post(who, f"/citizens/{cid}/reveal", {"purpose": "identity_check", **extra})


def _limits(runtime: Runtime, per_minute: int, daily: int) -> None:
    object.__setattr__(runtime.settings, "reveal_per_minute", per_minute)
    object.__setattr__(runtime.settings, "reveal_daily_threshold", daily)


def test_an_operator_reveals_only_citizens_of_their_issuers_region(world: World) -> None:
    (hangzhou,) = register_many(world, 1, region="330106")
    (ningbo,) = register_many(world, 1, region="330203")
    assert reveal(world, "operator", hangzhou).status_code == 200
    refused = reveal(world, "operator", ningbo)
    assert refused.status_code == 403
    assert refused.json()["code"] == "CITIZEN_OUT_OF_SCOPE"
    assert reveal(world, "outsider", hangzhou).status_code == 403
    assert reveal(world, "outsider", ningbo).status_code == 200
    assert reveal(world, "admin", ningbo).status_code == 200


def test_reveals_are_throttled_per_person(world: World) -> None:
    _limits(world.runtime, per_minute=5, daily=1000)
    ids = register_many(world, 8, region="330106")
    answers = [reveal(world, "operator", cid).status_code for cid in ids]
    assert answers == [200] * 5 + [429] * 3
    assert reveal(world, "checker", ids[0]).status_code == 200  # another person's own budget


def test_concurrent_reveals_do_not_slip_past_the_limit(world: World) -> None:
    _limits(world.runtime, per_minute=5, daily=1000)
    ids = register_many(world, 20, region="330106")
    barrier = threading.Barrier(len(ids))
    codes: list[int] = []

    def one(cid: str) -> None:
        barrier.wait()
        codes.append(reveal(world, "operator", cid).status_code)

    threads = [threading.Thread(target=one, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(200) == 5


def test_bulk_reveals_need_a_second_persons_approval(world: World) -> None:
    _limits(world.runtime, per_minute=100, daily=3)
    ids = register_many(world, 5, region="330106")
    for cid in ids[:3]:
        assert reveal(world, "operator", cid).status_code == 200
    held = reveal(world, "operator", ids[3])
    assert held.status_code == 409, held.text
    assert held.json()["code"] == "REVEAL_NEEDS_APPROVAL"
    assert "resident_id" not in held.json()
    request_id = held.json()["reveal_request_id"]
    # Not by the requester, not by another issuer's operator; by a colleague.
    assert world.post("operator", f"/reveal-requests/{request_id}/approve").status_code == 403
    assert world.post("outsider", f"/reveal-requests/{request_id}/approve").status_code == 404
    assert world.post("checker", f"/reveal-requests/{request_id}/approve").status_code == 204
    # The approval opens that reveal, once, and no other.
    wrong = reveal(world, "operator", ids[4], approval_id=request_id)
    assert wrong.json()["code"] == "REVEAL_APPROVAL_INVALID"
    assert reveal(world, "operator", ids[3], approval_id=request_id).status_code == 200
    again = reveal(world, "operator", ids[3], approval_id=request_id)
    assert again.status_code == 409
    assert again.json()["code"] == "REVEAL_APPROVAL_INVALID"


@pytest.mark.parametrize("who", ["agent", "auditor"])
def test_other_roles_still_cannot_reveal(world: World, who: str) -> None:
    (cid,) = register_many(world, 1, region="330106")
    assert reveal(world, who, cid).status_code == 403

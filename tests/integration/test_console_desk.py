"""The agent's desk in the console: issue with the citizen present, print within the act, and
refusals in words — the same rules as the API."""

from __future__ import annotations

import re

from tests.conftest import World
from tests.integration.console_fixtures import csrf, staff_session
from tests.integration.issuance_fixtures import open_fcfs_batch, register
from tests.integration.test_assisted import present


def test_an_agent_issues_at_the_desk_with_the_id_card_and_prints_once_handed_over(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world, quantity=3)
    cid = register(world)
    staff_session(world, "agent")
    page = world.client.get("/desk")
    assert page.status_code == 200
    assert bid in page.text
    token = csrf(world, "/desk")
    without = world.client.post(
        "/desk/issue", data={"csrf": token, "batch_id": bid, "citizen_id": cid}
    )
    assert without.status_code == 422
    assert "请证明居民本人在场" in without.text
    issued = world.client.post(
        "/desk/issue",
        data={"csrf": token, "batch_id": bid, "citizen_id": cid, **present(world, cid)},
    )
    assert issued.status_code == 200, issued.text
    code = re.search(r'data-test="voucher-code">([^<]+)<', issued.text)
    assert code
    link = re.search(r'href="(/desk/vouchers/[^"]+/print)"', issued.text)
    assert link
    printed = world.client.get(link.group(1))
    assert printed.headers["content-type"] == "application/pdf"
    assert f"({code.group(1)})".encode() in printed.content


def test_the_desk_is_for_agents_only(world: World) -> None:
    staff_session(world, "operator")
    assert world.client.get("/desk").status_code == 403

"""``GET /dev/outbox`` answers the list envelope every list has: ``{items, next_cursor}``."""

from __future__ import annotations

from quan.channels import outbox
from quan.services.people.citizens import CitizenKeys
from tests.conftest import World


def test_outbox_is_paged_newest_first_like_every_other_list(world: World) -> None:
    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    with world.runtime.db.write() as tx:
        ids = [
            outbox.enqueue(
                tx, world.runtime.clock.now(), keys, channel="sms", recipient=f"1380000000{i}",
                subject="", body=f"code {i}",
            )
            for i in range(5)
        ]
    newest_first = sorted(ids, reverse=True)  # ids are time-ordered (same millisecond: random)
    first = world.get("admin", "/dev/outbox", limit=3)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [m["id"] for m in page["items"]] == newest_first[:3]
    assert page["next_cursor"]
    rest = world.get("admin", "/dev/outbox", limit=3, cursor=page["next_cursor"]).json()
    assert [m["id"] for m in rest["items"]] == newest_first[3:]
    assert rest["next_cursor"] is None
    assert world.get("admin", "/dev/outbox", limit=0).status_code == 422

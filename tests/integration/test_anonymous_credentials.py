"""The anonymous bound counts a made-up credential as none (issue 13, A3's remaining gap).

It used to check only that an ``Authorization`` header or a session cookie was present, so an
anonymous flood could escape the bound by sending ``Authorization: Bearer x``. Now a request is
signed in for the bound only with a token whose signature and expiry hold, or an API key this
process found genuine recently; an unknown key is verified at once while the bound is full.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from quan.api.app import create_app
from quan.services.people import api_keys
from quan.services.people.tokens import TokenSigner
from quan.services.transparency import disclosure
from quan.web.session import Area
from tests.conftest import World
from tests.integration.merchant_fixtures import apply


@contextmanager
def _bound_full(world: World, monkeypatch: Any) -> Iterator[tuple[TestClient, str]]:
    """A client of an app whose anonymous bound (2) is taken by two held requests."""
    world.runtime.settings.anonymous_concurrency = 2
    program = world.program()
    entered = threading.Barrier(3)
    release = threading.Event()
    original = disclosure.program_disclosure

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.wait(5)
        release.wait(5)
        return original(*args, **kwargs)

    monkeypatch.setattr(disclosure, "program_disclosure", slow)
    with TestClient(create_app(runtime=world.runtime)) as client:
        path = f"/api/v1/public/programs/{program['id']}"
        held = [threading.Thread(target=client.get, args=(path,)) for _ in range(2)]
        for t in held:
            t.start()
        try:
            entered.wait(5)
            yield client, path
        finally:
            release.set()
            entered.abort()
            for t in held:
                t.join(30)


def test_a_made_up_credential_does_not_escape_the_anonymous_bound(
    world: World, monkeypatch: Any
) -> None:
    rt = world.runtime
    now = rt.clock.now()
    foreign, _ = TokenSigner(b"not this server's key" * 2, 3600).issue("staff", "usr_x", now)
    expired, _ = rt.tokens.issue("staff", world.users["operator"].id, now - timedelta(days=2))
    with _bound_full(world, monkeypatch) as (client, path):
        made_up = {
            "any bearer": {"Authorization": "Bearer x"},
            "another scheme": {"Authorization": "Basic eDp5"},
            "forged token": {"Authorization": f"Bearer {foreign}"},
            "expired token": {"Authorization": f"Bearer {expired}"},
            "made-up key": {"Authorization": "Bearer qk_key_nope_" + "0" * 64},
            "junk cookie": {"Cookie": f"{Area.STAFF.cookie}=junk"},
            "forged cookie": {"Cookie": f"{Area.CITIZEN.cookie}={foreign}"},
        }
        answers = {what: client.get(path, headers=h).status_code for what, h in made_up.items()}
        assert answers == dict.fromkeys(made_up, 503)
        # Genuine credentials still pass while anonymous callers wait.
        assert client.get("/api/v1/me", headers=world.headers("operator")).status_code == 200
        cookie = {"Cookie": f"{Area.STAFF.cookie}={world.token('operator')}"}
        assert client.get("/", headers=cookie).status_code == 200  # a public page, signed in
        assert client.get("/", headers=made_up["junk cookie"]).status_code == 503


def test_a_genuine_key_unseen_by_this_process_is_verified_when_the_bound_is_full(
    world: World, monkeypatch: Any
) -> None:
    merchant, owner_key = apply(world)
    api_keys.RECENTLY_GENUINE.forget_all()  # a fresh process: the key was never checked here
    assert not api_keys.RECENTLY_GENUINE.knows(owner_key)
    with _bound_full(world, monkeypatch) as (client, _):
        own = client.get(
            f"/api/v1/merchants/{merchant['id']}", headers={"Authorization": f"Bearer {owner_key}"}
        )
        assert own.status_code == 200, own.text
        assert api_keys.RECENTLY_GENUINE.knows(owner_key)  # later requests: one SHA-256
        again = client.get(
            f"/api/v1/merchants/{merchant['id']}", headers={"Authorization": f"Bearer {owner_key}"}
        )
        assert again.status_code == 200


def test_recently_genuine_forgets_after_its_time_and_keeps_its_size(monkeypatch: Any) -> None:
    seen = api_keys.RecentlyGenuine(ttl=60, size=2)
    clock = [1000.0]
    monkeypatch.setattr(api_keys.time, "monotonic", lambda: clock[0])
    keys = [f"qk_key_{i}_{'ab' * 32}{i}" for i in range(3)]
    for key in keys:
        seen.remember(api_keys._hash(key.rpartition("_")[2]))
    assert [seen.knows(k) for k in keys] == [False, True, True]  # the oldest dropped
    assert not seen.knows("qk_key_0_" + "ab" * 32)  # another secret
    clock[0] += 61
    assert not seen.knows(keys[2])

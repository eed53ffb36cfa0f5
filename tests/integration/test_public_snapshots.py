"""Public pages come from snapshots with ETags, and anonymous floods cannot starve the rest
(issue 13, A3)."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from quan.api.app import create_app
from quan.api.snapshots import Snapshots
from quan.services.transparency import disclosure
from tests.conftest import World


def _reads(monkeypatch: Any) -> list[str]:
    calls: list[str] = []
    original = disclosure.program_disclosure

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("read")
        return original(*args, **kwargs)

    monkeypatch.setattr(disclosure, "program_disclosure", counting)
    return calls


def test_a_flood_of_public_page_requests_reads_the_database_once(
    world: World, monkeypatch: Any
) -> None:
    world.runtime.settings.public_snapshot_seconds = 60
    program = world.program()
    reads = _reads(monkeypatch)
    with TestClient(create_app(runtime=world.runtime)) as client:
        path = f"/api/v1/public/programs/{program['id']}"
        statuses: list[int] = []
        barrier = threading.Barrier(20)

        def visit() -> None:
            barrier.wait()
            statuses.append(client.get(path).status_code)

        threads = [threading.Thread(target=visit) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 20
        assert len(reads) == 1  # single flight: the others waited for that one rendering
        page = client.get(f"/disclosure/{program['id']}")
        assert page.status_code == 200
        assert len(reads) == 1  # the console page reads the same snapshot


def test_the_public_answer_carries_an_etag_and_answers_304(world: World) -> None:
    world.runtime.settings.public_snapshot_seconds = 60
    program = world.program()
    with TestClient(create_app(runtime=world.runtime)) as client:
        path = f"/api/v1/public/programs/{program['id']}"
        first = client.get(path)
        assert first.status_code == 200
        assert first.json()["program"]["id"] == program["id"]
        assert first.headers["cache-control"] == "public, max-age=60"
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        page = client.get(f"/disclosure/{program['id']}")
        cached = client.get(
            f"/disclosure/{program['id']}", headers={"If-None-Match": page.headers["etag"]}
        )
        assert cached.status_code == 304


def test_a_stale_snapshot_is_served_while_one_refresh_runs() -> None:
    snapshots = Snapshots(max_age=0.05)
    renders: list[int] = []
    gate = threading.Event()

    def slow() -> bytes:
        renders.append(1)
        if len(renders) > 1:
            gate.wait(5)
        return str(len(renders)).encode()

    assert snapshots.get("k", slow).body == b"1"
    time.sleep(0.1)
    started = time.monotonic()
    for _ in range(10):
        assert snapshots.get("k", slow).body == b"1"  # stale, at once, not waiting
    assert time.monotonic() - started < 1
    gate.set()
    deadline = time.monotonic() + 5
    while snapshots.get("k", slow).body != b"2" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(renders) == 2  # one background refresh for the ten stale reads


def test_anonymous_requests_past_the_limit_get_503_and_signed_in_ones_pass(
    world: World, monkeypatch: Any
) -> None:
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
            entered.wait(5)  # two anonymous requests are being served
            busy = client.get(path)
            assert busy.status_code == 503
            assert busy.headers["retry-after"] == "1"
            assert client.get("/api/v1/health").status_code == 200
            assert client.get("/api/v1/me", headers=world.headers("operator")).status_code == 200
        finally:
            # Whatever failed above, the held requests finish before the client's portal stops
            # (stopping it under a request still in flight hung a loaded test run).
            release.set()
            entered.abort()
            for t in held:
                t.join(30)

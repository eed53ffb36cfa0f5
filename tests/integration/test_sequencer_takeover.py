"""A killed sequencer stalls the log for seconds, not a minute (issue 13, A6): its short lease
expires and a second sequencer takes over; a live one renews its lease and is never joined by a
second."""

from __future__ import annotations

import dataclasses
import threading
import time

from quan.clock import SystemClock
from quan.jobs import lease, sequencer
from quan.services.runtime import Runtime
from quan.store import log as log_store
from tests.conftest import World


def _queued(rt: Runtime) -> int:
    with rt.db.read() as tx:
        return log_store.queued_count(tx)


def test_a_second_sequencer_takes_over_within_seconds_of_the_first_being_killed(
    world: World,
) -> None:
    world.program()  # events queued for the log
    rt = dataclasses.replace(world.runtime, clock=SystemClock())
    assert _queued(rt) > 0
    # The first sequencer took the lease and was killed: it never renews nor releases it.
    killed_at = time.monotonic()
    assert lease.acquire(rt.db, sequencer.LEASE_NAME, "killed", rt.clock.now(), sequencer.LEASE_TTL)
    stop = threading.Event()
    second = threading.Thread(
        target=sequencer.run_forever, args=(rt, stop), kwargs={"holder": "second", "interval": 0.2}
    )
    second.start()
    try:
        while _queued(rt) > 0 and time.monotonic() - killed_at < 30:
            # Never two at once: nothing is appended while the killed holder's lease runs.
            if time.monotonic() - killed_at < sequencer.LEASE_TTL.total_seconds() - 0.5:
                assert _queued(rt) > 0
            time.sleep(0.1)
        took = time.monotonic() - killed_at
    finally:
        stop.set()
        second.join(10)
    assert _queued(rt) == 0
    assert took < sequencer.LEASE_TTL.total_seconds() + 3, took


def test_a_live_sequencer_keeps_its_short_lease_and_no_other_joins_it(world: World) -> None:
    rt = dataclasses.replace(world.runtime, clock=SystemClock())
    stop = threading.Event()
    first = threading.Thread(
        target=sequencer.run_forever, args=(rt, stop), kwargs={"holder": "first", "interval": 0.2}
    )
    first.start()
    try:
        time.sleep(0.5)
        deadline = time.monotonic() + 2 * sequencer.LEASE_TTL.total_seconds()
        while time.monotonic() < deadline:  # past two lease lifetimes: renewed all along
            assert sequencer.run_once(rt, holder="second").ran is False
            time.sleep(0.5)
    finally:
        stop.set()
        first.join(10)

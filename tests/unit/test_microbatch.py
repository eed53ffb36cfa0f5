"""The micro-batcher: requests that arrive together run together, each gets its own answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Sequence

import pytest

from quan.api.microbatch import MicroBatcher
from tests import aio


class Recorder:
    """A run function that records the groups it was given and can be held or made to fail."""

    def __init__(self) -> None:
        self.runs: list[tuple[Hashable, list[int]]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail_on: int | None = None
        self.started = 0

    def __call__(self, group: Hashable, items: Sequence[int]) -> list[int]:
        # Recorded as the run starts: runs held together finish in any order.
        self.started += 1
        self.runs.append((group, list(items)))
        self.release.wait(5)
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError("database gone")
        return [i * 10 for i in items]


async def started(run: Recorder, n: int) -> None:
    for _ in range(500):
        if run.started >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{n} runs never started")


def test_a_lone_request_runs_at_once_and_gets_its_answer() -> None:
    async def main() -> None:
        run = Recorder()
        batcher = MicroBatcher[int, int](run, max_inflight=1, max_items=10)
        assert await batcher.submit("a", 7) == 70
        assert run.runs == [("a", [7])]

    aio.run(main())


def test_requests_arriving_while_a_run_goes_join_the_next_run_of_their_group() -> None:
    async def main() -> None:
        run = Recorder()
        run.release.clear()
        batcher = MicroBatcher[int, int](run, max_inflight=1, max_items=3)
        first = asyncio.ensure_future(batcher.submit("a", 1))
        await asyncio.sleep(0.01)  # the first run has started and is held
        rest = [
            asyncio.ensure_future(batcher.submit(g, i))
            for g, i in [("a", 2), ("b", 3), ("a", 4), ("a", 5), ("a", 6)]
        ]
        await asyncio.sleep(0.01)
        run.release.set()
        answers = await asyncio.gather(first, *rest)
        assert answers == [10, 20, 30, 40, 50, 60]
        # Oldest group first, at most max_items per run, each group apart.
        assert run.runs == [("a", [1]), ("a", [2, 4, 5]), ("b", [3]), ("a", [6])]
        assert batcher.runs == 4

    aio.run(main())


def test_a_failing_run_fails_only_its_own_requests() -> None:
    async def main() -> None:
        run = Recorder()
        run.release.clear()
        run.fail_on = 2
        batcher = MicroBatcher[int, int](run, max_inflight=1, max_items=10)
        first = asyncio.ensure_future(batcher.submit("a", 1))
        await asyncio.sleep(0.01)
        doomed = [asyncio.ensure_future(batcher.submit("a", i)) for i in (2, 3)]
        other = asyncio.ensure_future(batcher.submit("b", 4))
        await asyncio.sleep(0.01)
        run.release.set()
        assert await first == 10
        for future in doomed:
            with pytest.raises(RuntimeError, match="database gone"):
                await future
        assert await other == 40  # the batcher goes on after a failed run

    aio.run(main())


def test_a_caller_that_goes_away_does_not_stop_the_others() -> None:
    async def main() -> None:
        run = Recorder()
        run.release.clear()
        batcher = MicroBatcher[int, int](run, max_inflight=1, max_items=10)
        first = asyncio.ensure_future(batcher.submit("a", 1))
        await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(batcher.submit("a", 2))
        stays = asyncio.ensure_future(batcher.submit("a", 3))
        await asyncio.sleep(0.01)
        gone.cancel()
        run.release.set()
        assert await first == 10
        assert await stays == 30
        assert gone.cancelled()

    aio.run(main())


def test_up_to_max_inflight_runs_go_at_once_and_the_rest_wait() -> None:
    async def main() -> None:
        run = Recorder()
        run.release.clear()
        batcher = MicroBatcher[int, int](run, max_inflight=2, max_items=10)
        futures = []
        for i in (1, 2):
            futures.append(asyncio.ensure_future(batcher.submit("a", i)))
            await started(run, i)  # on a loaded machine a worker thread can take a while
        for i in (3, 4):
            futures.append(asyncio.ensure_future(batcher.submit("a", i)))
        await asyncio.sleep(0.05)
        assert run.started == 2  # two runs held in the database, the others queued
        run.release.set()
        assert await asyncio.gather(*futures) == [10, 20, 30, 40]
        assert [items for _, items in run.runs] == [[1], [2], [3, 4]]  # 3 and 4 went together

    aio.run(main())

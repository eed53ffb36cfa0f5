"""Micro-batching for an async server: requests that arrive together are handled together.

Requests submit an item under a group key (for claims: the batch, and whether the work writes).
While fewer than ``max_inflight`` runs are going, a submission starts a run at once; otherwise
it waits in its group, and the next run takes up to ``max_items`` waiting items of the oldest
group. Under light load every request runs alone, with no added delay; under a flood the
waiting groups fill while the database commits, so one transaction serves many requests
(group commit). Each submitter gets its own item's answer, or the run's exception.

Runs call a blocking function in a worker thread; the event loop only queues and answers.
One batcher belongs to one event loop (each server process has its own).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio.to_thread

Item = TypeVar("Item")
Answer = TypeVar("Answer")
RunGroup = Callable[[Hashable, Sequence[Item]], Sequence[Answer]]


@dataclass(slots=True)
class _Waiting(Generic[Item, Answer]):
    item: Item
    future: asyncio.Future[Answer]


class MicroBatcher(Generic[Item, Answer]):
    def __init__(self, run: RunGroup[Item, Answer], *, max_inflight: int, max_items: int) -> None:
        self.loop = asyncio.get_running_loop()
        self._run = run
        self._max_inflight = max_inflight
        self._max_items = max_items
        self._groups: OrderedDict[Hashable, list[_Waiting[Item, Answer]]] = OrderedDict()
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        self.runs = 0  # how many runs (transactions) served the submissions: for tests and stats

    async def submit(self, group: Hashable, item: Item) -> Answer:
        future: asyncio.Future[Answer] = self.loop.create_future()
        self._groups.setdefault(group, []).append(_Waiting(item, future))
        if self._inflight < self._max_inflight:
            self._inflight += 1
            task = self.loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return await future

    async def _drain(self) -> None:
        try:
            while self._groups:
                group, waiting = next(iter(self._groups.items()))
                taken, rest = waiting[: self._max_items], waiting[self._max_items :]
                if rest:
                    self._groups[group] = rest
                    self._groups.move_to_end(group)
                else:
                    del self._groups[group]
                await self._serve(group, taken)
        finally:
            self._inflight -= 1

    async def _serve(self, group: Hashable, taken: list[_Waiting[Item, Answer]]) -> None:
        self.runs += 1
        items = [w.item for w in taken]
        try:
            answers = await anyio.to_thread.run_sync(self._run, group, items)
        except BaseException as exc:  # handed to every submitter, who answers its request
            for w in taken:
                if not w.future.done():
                    w.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if len(answers) != len(taken):  # a defect in the run function: fail loudly, hang no one
            error = RuntimeError(f"{len(answers)} answers for {len(taken)} items")
            for w in taken:
                if not w.future.done():
                    w.future.set_exception(error)
            return
        for w, answer in zip(taken, answers, strict=True):
            if not w.future.done():  # a client that went away cancelled its wait
                w.future.set_result(answer)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # Exceptions reach the submitters; retrieving it here keeps asyncio from logging it again.
        if not task.cancelled():
            task.exception()
